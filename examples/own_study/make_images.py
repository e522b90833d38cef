"""Two folders of images to try ckaflow's "your own study" on: ``photos/`` (greyscale JPEGs)
and ``paintings/`` (colour PNGs), each with one subfolder per class (``checks``, ``rings``,
``stripes``) of noisy patterns at sizes from 28 to 47 pixels. Stand-ins for your own folders.

    python examples/own_study/make_images.py data/own --per-class 120
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

CLASSES = ("checks", "rings", "stripes")


def pattern(kind: int, w: int, h: int, rng: np.random.Generator) -> np.ndarray:
    """A (h, w) image in [0, 1] of class ``kind``, at a random frequency, phase and noise."""
    yy, xx = np.mgrid[:h, :w]
    f, phase = rng.uniform(0.35, 0.9), rng.uniform(0, 2 * np.pi)
    p = (np.sin(xx * f + phase) * np.sin(yy * f + phase),
         np.cos(np.hypot(xx - w / 2, yy - h / 2) * f + phase),
         np.sin((xx * np.cos(phase) + yy * np.sin(phase)) * f))[kind]  # fmt: skip
    return np.clip((p + 1) / 2 + rng.normal(0, 0.15, p.shape), 0, 1)


def make_images(root: str | Path, per_class: int = 120, seed: int = 0) -> None:
    """Write ``root/photos/<class>/*.jpg`` and ``root/paintings/<class>/*.png``."""
    rng = np.random.default_rng(seed)
    for domain in ("photos", "paintings"):
        for kind, name in enumerate(CLASSES):
            folder = Path(root) / domain / name
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(per_class):
                w, h = (int(v) for v in rng.integers(28, 48, size=2))
                a = pattern(kind, w, h, rng)
                if domain == "paintings":  # colour, and a palette of its own
                    rgb = np.stack([a, a * rng.uniform(0.3, 1.0), 1 - a], axis=-1)
                    Image.fromarray((rgb * 255).astype(np.uint8)).save(folder / f"{i:03d}.png")
                else:
                    Image.fromarray((a * 255).astype(np.uint8)).save(folder / f"{i:03d}.jpg")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", help="the folder to write photos/ and paintings/ into")
    parser.add_argument("--per-class", type=int, default=120, help="images per class and domain")
    args = parser.parse_args()
    make_images(args.root, args.per_class)
