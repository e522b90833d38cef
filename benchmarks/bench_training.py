"""Training throughput of the tied-weight autoencoder against untied models, in one table.

Table 1 rows: the tied model (decoder kernels ARE the encoder's), the same model untied (own
decoder kernels, same ops: the price of tying alone), and a stock Keras model of the same layer
shapes (Conv2D / MaxPool2D / Conv2DTranspose layers; its deconv1 is a full 16 -> 16 transposed
convolution where the tied model's is depthwise). Each: the training step of the study (noise,
forward, MSE, backward, Adam), batch 32, timed after warm-up, best of several repeats.

Table 2: the workflow's whole training loop (:func:`ckaflow.training.train` with the default
config's batch size, eval_every and patience: batch sampling, validation on both domains,
history, TensorBoard, checkpoint files, tracing) against the bare step on one thread, as each
training job runs: timed at two lengths, the difference is the loop's cost per step and the rest
its fixed cost per run. Target: the per-step overhead <= 15% of the bare step time.

Every row runs on the Keras backend ``--backend`` names (tensorflow, jax, torch), with the
library's own compiled step (:mod:`ckaflow.training.step`) on its default device.

    .venv/bin/python benchmarks/bench_training.py [--backend jax] [--threads 2] [--steps 30]
        [--loop-steps 1200]
"""

from __future__ import annotations

import argparse
import time

from ckaflow.backend import BACKENDS, configure


def stock_keras(seed: int):
    import keras

    from ckaflow.model.tied_layers import FILTERS

    init = keras.initializers.HeNormal
    layers = keras.layers
    inputs = keras.Input((64, 80, 1))
    h = inputs
    for i, k in enumerate((7, 5, 3)):
        h = layers.Conv2D(
            FILTERS, k, padding="same", activation="relu", kernel_initializer=init(seed + i)
        )(h)
        h = layers.MaxPool2D(2)(h)
    for i, k in enumerate((3, 5, 7)):
        h = layers.Conv2DTranspose(
            FILTERS, k, 2, padding="same", activation="relu", kernel_initializer=init(seed + 3 + i)
        )(h)
    outputs = layers.Conv2D(1, 1, kernel_initializer=init(seed + 6))(h)
    return keras.Model(inputs, outputs, name="stock_keras")


def images_per_second(model, batch: int, steps: int, repeats: int) -> float:
    """The study's training step (noise, forward, MSE, backward, Adam) on one batch held on the
    device, compiled on the backend: images per second, best of ``repeats``."""
    import keras
    import numpy as np

    from ckaflow.training.step import stepper
    from ckaflow.training.tasks import training_loss

    x = np.random.default_rng(0).random((batch, 64, 80, 1), dtype=np.float32)
    corrupt, loss = training_loss("denoise", "image", 0.05, 0.05)
    step = stepper(model, keras.optimizers.Adam(1e-2), corrupt, loss, x, np.zeros(batch))
    idx = np.arange(batch, dtype=np.int32)
    for i in range(3):
        step(idx, np.array([0, i], np.int32))
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for i in range(steps):
            value = step(idx, np.array([1, i], np.int32))
        float(value)  # wait for the last step
        best = min(best, time.perf_counter() - t0)
    return batch * steps / best


def loop_seconds(steps: int, repeats: int) -> tuple[float, dict]:
    """Best wall time of :func:`ckaflow.training.train` run to ``steps`` batches on the default
    config's batch size and eval_every (patience unbounded), with checkpoint files and TensorBoard
    written to a temporary folder; and those settings."""
    import tempfile
    from pathlib import Path

    import numpy as np
    import yaml

    from ckaflow.model.checkpoints import write_checkpoint
    from ckaflow.model.tied_autoencoder import TiedAutoencoder
    from ckaflow.training import TrainConfig, TrainingData, train

    default = yaml.safe_load(Path(__file__).parents[1].joinpath("config/config.yaml").read_text())
    t = default["train"]
    cfg = TrainConfig(
        batch_size=t["batch_size"],
        learning_rate=t["learning_rate"],
        patience=10**9,  # run to max_steps: the loop's cost, not the schedule's length
        eval_every=t["eval_every"],
        max_steps=steps,
    )
    rng = np.random.default_rng(0)
    images = 1600, 200  # the default config's training and validation split sizes
    train_x = rng.random((images[0], 64, 80, 1), dtype=np.float32)
    val = {d: rng.random((images[1], 64, 80, 1), dtype=np.float32) for d in ("natural", "synth")}
    best = float("inf")
    for _ in range(repeats):
        model = TiedAutoencoder(seed=1)
        with tempfile.TemporaryDirectory() as tmp:

            def save(name, info, model=model, tmp=tmp):
                write_checkpoint(Path(tmp) / f"{name}.npz", model.get_weights_dict(), info)

            t0 = time.perf_counter()
            train(model, TrainingData(train_x, val), domain="synth", instance="synth-1",
                  cfg=cfg, save_checkpoint=save, tensorboard_dir=Path(tmp) / "tb")  # fmt: skip
            best = min(best, time.perf_counter() - t0)
    return best, {"batch_size": cfg.batch_size, "eval_every": cfg.eval_every}


def validation_seconds(repeats: int = 5) -> float:
    """Best wall time of one validation as the loop runs it (:func:`ckaflow.training.tasks.scores`
    on both domains' 200 validation images, compiled once), on the tied model."""
    import numpy as np

    from ckaflow.model.tied_autoencoder import TiedAutoencoder
    from ckaflow.training.tasks import scores

    model = TiedAutoencoder(seed=1)
    rng = np.random.default_rng(0)
    val = [rng.random((200, 64, 80, 1), dtype=np.float32) for _ in ("natural", "synth")]
    scores(model, val[0], task="denoise")  # traced once, as in the loop
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for x in val:
            scores(model, x, task="denoise")
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--backend", default="tensorflow", choices=BACKENDS)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--loop-steps", type=int, default=1200)
    args = ap.parse_args()
    if args.loop_steps:  # the workflow's loop runs one thread per job: measure it alone, first
        import subprocess
        import sys

        argv = [sys.executable, __file__, "--loop-only", str(args.loop_steps), args.backend]
        print(subprocess.run(argv, check=True, capture_output=True, text=True).stdout, end="")
    configure(args.threads, args.backend)
    from ckaflow.model.tied_autoencoder import TiedAutoencoder

    with _cpu():  # these rows are the CPU's, GPU or not
        models = {
            "tied (the study's model)": TiedAutoencoder(seed=1),
            "untied, same ops": TiedAutoencoder(seed=1, tied=False),
            "stock Keras layers, same shapes": stock_keras(1),
        }
        rates = {
            name: images_per_second(m, args.batch, args.steps, args.repeats)
            for name, m in models.items()
        }
    tied = rates["tied (the study's model)"]
    w = max(map(len, rates))
    print(f"\ntraining throughput on {args.backend}, batch {args.batch}, {args.threads} threads, ",
          end="")  # fmt: skip
    print(f"best of {args.repeats} x {args.steps} steps")
    print(f"| {'model':<{w}} | images/s | tied slower by | target |")
    print(f"|{'-' * (w + 2)}|----------|----------------|--------|")
    for name, r in rates.items():
        cost = "" if r is tied else f"{(r / tied - 1) * 100:+.1f}%"
        target = "<= +20%" if name.startswith("untied") else ""
        print(f"| {name:<{w}} | {r:8.0f} | {cost:>14} | {target:<6} |")
    print_gpu(args, tied)


def _cpu():
    """A context that places TensorFlow's models and steps on the CPU; JAX and PyTorch put them
    on their default device (``JAX_PLATFORMS=cpu``, ``CUDA_VISIBLE_DEVICES=`` keep a GPU out)."""
    import contextlib

    import keras

    if keras.backend.backend() != "tensorflow":
        return contextlib.nullcontext()
    import tensorflow as tf

    return tf.device("/CPU:0")


def print_gpu(args, cpu_rate: float) -> None:
    """The tied model's training step on the GPU against the CPU rate above (same batch), and at
    a batch of 256; "no GPU" where TensorFlow sees none (TensorFlow only: on JAX and PyTorch run
    the benchmark twice, with and without a GPU visible)."""
    import keras

    if keras.backend.backend() != "tensorflow":
        return
    import tensorflow as tf

    from ckaflow.model.tied_autoencoder import TiedAutoencoder

    gpus = tf.config.list_physical_devices("GPU")
    print(f"\ntraining on the GPU (TensorFlow {tf.__version__}, TF32 off, deterministic ops)")
    print("| what | images/s | GPU / CPU |")
    print("|---|---|---|")
    if not gpus:
        print("| GPU | no GPU: TensorFlow sees none (the GPU build is `make run GPU=1`) | |")
        return
    name = tf.config.experimental.get_device_details(gpus[0]).get("device_name", gpus[0].name)
    for batch in (args.batch, 256):
        with tf.device("/GPU:0"):
            rate = images_per_second(TiedAutoencoder(seed=1), batch, args.steps, args.repeats)
        print(f"| tied model on {name}, batch {batch} | {rate:.0f} | {rate / cpu_rate:.1f}x |")


def print_loop(loop_steps: int, backend: str) -> None:
    """The loop at two lengths: their difference is the cost per step (validation, sampling,
    bookkeeping included), the rest the fixed cost of a run (tracing, first validation, files).
    The validations' share of a step (one validation timed alone, over eval_every) is shown
    apart: work the schedule asks for (it reads the in-domain loss), not the loop's own."""
    configure(1, backend)
    from ckaflow.model.tied_autoencoder import TiedAutoencoder

    short = max(loop_steps // 5, 100)
    t_short, cfg = loop_seconds(short, repeats=2)
    t_long, _ = loop_seconds(loop_steps, repeats=2)
    step = (t_long - t_short) / (loop_steps - short)
    fixed = t_short - short * step
    bare = cfg["batch_size"] / images_per_second(TiedAutoencoder(seed=1), cfg["batch_size"], 100, 2)
    print(f"\ntraining loop vs bare step on {backend}, 1 thread (as a training job), batch "
          f"{cfg['batch_size']}, validation every {cfg['eval_every']} steps on both domains (200 "
          f"images each), checkpoints and TensorBoard written; loop timed at {short} and "
          f"{loop_steps} steps, best of 2")  # fmt: skip
    print("| what                                | ms/step | steps/s | overhead | target  |")
    print("|-------------------------------------|---------|---------|----------|---------|")
    row = "| {:<35} | {:7.1f} | {:7.1f} | {:>8} | {:<7} |"
    print(row.format("bare train step", bare * 1e3, 1 / bare, "", ""))
    over = f"{(step / bare - 1) * 100:+.1f}%"
    print(row.format("train() loop, per step", step * 1e3, 1 / step, over, "<= +15%"))
    val = validation_seconds() / cfg["eval_every"]  # the validations' share of each step
    print(row.format("  of which validation, both domains", val * 1e3, float("nan"),
                     f"{val / bare * 100:+.1f}%", "").replace("nan", "   "))  # fmt: skip
    rest = step - val
    print(row.format("  the rest: sampling, bookkeeping", rest * 1e3, float("nan"),
                     f"{(rest / bare - 1) * 100:+.1f}%", "").replace("nan", "   "))  # fmt: skip
    print(row.format("train() loop, fixed cost per run (s)", fixed, float("nan"), "", "")
          .replace("nan", "   "))  # fmt: skip
    print(f"| {'train() loop, whole ' + str(loop_steps) + '-step run':<35} | "
          f"{t_long / loop_steps * 1e3:7.1f} | {loop_steps / t_long:7.1f} | "
          f"{(t_long / loop_steps / bare - 1) * 100:+7.1f}% |         |")  # fmt: skip


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] == ["--loop-only"]:
        print_loop(int(sys.argv[2]), sys.argv[3])
    else:
        main()
