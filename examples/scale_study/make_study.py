"""The inputs of the scale study (``config.yaml`` beside this file): a domain given as .npy files
and three saved models, as a user who already has both would bring them.

    python examples/scale_study/make_study.py data/scale models/scale --images 4600

writes ``data/scale/images.npy`` (n, 16, 16, 3) uint8 and ``labels.npy`` (n,) (ten digit classes,
drawn like ckaflow's ``digits`` source) and ``models/scale/digits-{1,2,3}.keras``: the model of
``model.py``, each seed trained for ``--epochs`` epochs on another draw of ``--train-images``
images (so the study's test images are new to every model).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

SEEDS = (1, 2, 3)


def make_images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` images (n, 16, 16, 3) uint8 of ten digit classes and their labels (n,)."""
    from ckaflow.data.images import ImageSpec
    from ckaflow.data.sources import make_images as draw

    raw = draw({"source": "digits"}, n, seed, ImageSpec(16, 16, 3, "resize"), True, "digits")
    return raw.pixels, raw.labels


def make_models(folder: Path, x: np.ndarray, y: np.ndarray, epochs: int) -> None:
    """Train one model per seed on ``x`` (n, h, w, c) uint8 with labels ``y``; save each."""
    import keras

    sys.path.insert(0, str(Path(__file__).parent))
    from model import build

    folder.mkdir(parents=True, exist_ok=True)
    for seed in SEEDS:
        keras.utils.set_random_seed(seed)
        model = build(x.shape[1:], 10)
        model.compile(
            optimizer=keras.optimizers.Adam(3e-3),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
        )
        model.fit(x / 255.0, y, epochs=epochs, batch_size=64, verbose=2)
        model.save(folder / f"digits-{seed}.keras")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", help="the folder to write images.npy and labels.npy into")
    parser.add_argument("models", help="the folder to write digits-{seed}.keras into")
    parser.add_argument("--images", type=int, default=4600, help="how many images")
    parser.add_argument("--train-images", type=int, default=8000, help="training images")
    parser.add_argument("--epochs", type=int, default=20, help="training epochs per model")
    args = parser.parse_args()
    pixels, labels = make_images(args.images, seed=0)
    Path(args.data).mkdir(parents=True, exist_ok=True)
    np.save(Path(args.data) / "images.npy", pixels)
    np.save(Path(args.data) / "labels.npy", labels)
    make_models(Path(args.models), *make_images(args.train_images, seed=1), args.epochs)
