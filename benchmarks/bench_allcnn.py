"""Training throughput of All-CNN-C at the blog preset's size: the bare step against the loop.

Rows per depth (1 and 2, ``config/allcnn.yaml``: width 0.25, 32 x 32 x 3 images, 10 classes,
batch 128, SGD with momentum and decoupled weight decay): the bare training step (the library's
own loss and optimizer, one fixed batch already on the device, compiled), and the workflow's
whole loop (:func:`ckaflow.training.train`, the step schedule with its validations every
``eval_every`` batches, history, TensorBoard and checkpoint files at the preset's epochs) timed
at two lengths, so that their difference is the loop's cost per step and the rest its fixed cost
per run. One thread, as each training job runs. Target: the loop's cost per step <= +15% of
the bare step (as for the thesis' model in bench_training.py). Last, the published size (width
1) timed bare: what the real study would cost on this CPU, and the arithmetic of a forward pass
(from which a GPU's time can be estimated).

On the Keras backend ``--backend`` names (tensorflow, jax, torch), its default device.

    .venv/bin/python benchmarks/bench_allcnn.py [--backend jax] [--epochs 1 3] [--repeats 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

from ckaflow.backend import BACKENDS, configure

PRESET = Path(__file__).parents[1] / "config" / "allcnn.yaml"


def preset() -> dict:
    return yaml.safe_load(PRESET.read_text())


def _model(depth: int, config: dict):
    from ckaflow.model.all_cnn_c import all_cnn_c

    image = config["image"]
    shape = (image["height"], image["width"], image["channels"])
    return all_cnn_c(1, depth=depth, width=config["model"]["width"], input_shape=shape,
                     num_classes=10)  # fmt: skip


def forward_macs(model) -> int:
    """Multiply-accumulates of one image's forward pass through the model's convolutions
    (output positions x kernel size x input channels x filters)."""
    import keras

    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            _, h, w, c = layer.output.shape
            kh, kw, cin, _ = layer.kernel.shape
            total += h * w * c * kh * kw * cin
    return int(total)


def _train_config(config: dict, epochs: int):
    from ckaflow.training import TrainConfig

    t = config["train"]
    decay = tuple(e for e in t["decay_epochs"] if e < epochs)
    saved = tuple(e for e in t["checkpoint_epochs"] if e < epochs)
    return TrainConfig(
        task="classify", optimizer="sgd", schedule="step", epochs=epochs,
        batch_size=t["batch_size"], learning_rate=t["learning_rate"], momentum=t["momentum"],
        weight_decay=t["weight_decay"], decay_epochs=decay, checkpoint_epochs=saved,
    )  # fmt: skip


def _data(config: dict):
    """Random images and labels of the preset's split sizes (the speed does not depend on them)."""
    from ckaflow.training import TrainingData

    rng = np.random.default_rng(0)
    image = config["image"]
    shape = (image["height"], image["width"], image["channels"])
    n = config["images_per_domain"]
    n_val = round(n * config["val_fraction"]) - config["test_images"]
    n_train = n - round(n * config["val_fraction"])
    return TrainingData(
        rng.random((n_train, *shape), dtype=np.float32),
        {"digits": rng.random((n_val, *shape), dtype=np.float32)},
        rng.integers(0, 10, n_train),
        {"digits": rng.integers(0, 10, n_val)},
    )


def bare_seconds_per_step(depth: int, config: dict, steps: int, repeats: int) -> float:
    """Best time per step of the library's compiled step (:mod:`ckaflow.training.step`: its
    loss and optimizer) on one fixed batch held on the device."""
    from ckaflow.training.loop import make_optimizer
    from ckaflow.training.step import stepper
    from ckaflow.training.tasks import training_loss

    cfg = _train_config(config, 2)
    model = _model(depth, config)
    corrupt, loss = training_loss("classify", "logits", 0.0, 0.0)
    data = _data(config)
    x, y = data.train_x[: cfg.batch_size], data.train_y[: cfg.batch_size]
    step = stepper(model, make_optimizer(cfg), corrupt, loss, x, y)
    idx, seed = np.arange(cfg.batch_size, dtype=np.int32), np.zeros(2, np.int32)
    for _ in range(3):
        step(idx, seed)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(steps):
            value = step(idx, seed)
        float(value)
        best = min(best, (time.perf_counter() - t0) / steps)
    return best


def loop_seconds(depth: int, config: dict, epochs: int, repeats: int) -> tuple[float, int]:
    """Best wall time of :func:`ckaflow.training.train` for ``epochs`` epochs, and its steps."""
    from ckaflow.model.checkpoints import weights_of, write_checkpoint
    from ckaflow.training import train

    cfg, data = _train_config(config, epochs), _data(config)
    best, steps = float("inf"), epochs * (len(data.train_x) // cfg.batch_size)
    for _ in range(repeats):
        model = _model(depth, config)
        with tempfile.TemporaryDirectory() as tmp:

            def save(name, info, model=model, tmp=tmp):
                write_checkpoint(Path(tmp) / f"{name}.npz", weights_of(model), info)

            t0 = time.perf_counter()
            train(model, data, domain="digits", instance="digits-1", cfg=cfg,
                  save_checkpoint=save, tensorboard_dir=Path(tmp) / "tb",
                  output="logits")  # fmt: skip
            best = min(best, time.perf_counter() - t0)
    return best, steps


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--epochs", type=int, nargs=2, default=[1, 3], metavar=("SHORT", "LONG"))
    ap.add_argument("--steps", type=int, default=30, help="bare steps per repeat")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--depths", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--backend", default="tensorflow", choices=BACKENDS)
    args = ap.parse_args()
    configure(1, args.backend)
    config = preset()
    batch = config["train"]["batch_size"]
    print(f"All-CNN-C training on {args.backend}, {PRESET.name}: width {config['model']['width']}, "
          f"{config['image']['height']}x{config['image']['width']}x{config['image']['channels']}, "
          f"batch {batch}, 1 thread; loop timed at {args.epochs[0]} and {args.epochs[1]} epochs "
          f"(validation every {_train_config(config, 2).eval_every} steps), best of "
          f"{args.repeats}")  # fmt: skip
    print("| depth | what | ms/step | images/s | overhead | target |")
    print("|---|---|---|---|---|---|")
    for depth in args.depths:
        bare = bare_seconds_per_step(depth, config, args.steps, args.repeats)
        (short, n_short), (long, n_long) = (
            loop_seconds(depth, config, e, args.repeats) for e in args.epochs
        )
        per_step = (long - short) / (n_long - n_short)
        fixed = short - n_short * per_step
        epoch = per_step * (n_long // args.epochs[1])
        print(f"| {depth} | bare train step | {bare * 1e3:.1f} | {batch / bare:.0f} | | |")
        over = f"{(per_step / bare - 1) * 100:+.1f}%"
        print(f"| {depth} | train() loop, per step | {per_step * 1e3:.1f} | "
              f"{batch / per_step:.0f} | {over} | <= +15% |")  # fmt: skip
        print(f"| {depth} | train() loop, fixed cost per run | {fixed:.1f} s | | | |")
        print(f"| {depth} | one epoch of the preset ({n_long // args.epochs[1]} steps) | "
              f"{epoch:.1f} s | | | |")  # fmt: skip
    published(config, args)


def published(config: dict, args) -> None:
    """The published study's step (width 1, CIFAR-10's 50,000 training images, 350 epochs) on
    this CPU: its measured rate, and what one model's training would take here."""
    full = {**config, "model": {**config["model"], "width": 1.0}}
    batch = config["train"]["batch_size"]
    print(f"\nthe published size (width 1, batch {batch}, 1 thread): bare step on this CPU")
    print("| depth | forward GMAC/image | images/s | one epoch (50,000 images) | 350 epochs |")
    print("|---|---|---|---|---|")
    for depth in args.depths:
        bare = bare_seconds_per_step(depth, full, max(args.steps // 3, 3), args.repeats)
        epoch = 50_000 / (batch / bare)
        macs = forward_macs(_model(depth, full)) / 1e9
        print(f"| {depth} | {macs:.2f} | {batch / bare:.0f} | {epoch / 60:.0f} min | "
              f"{epoch * 350 / 86400:.1f} days |")  # fmt: skip


if __name__ == "__main__":
    main()
