"""Training throughput of the tied-weight autoencoder against untied models, in one table.

Rows: the tied model (decoder kernels ARE the encoder's), the same model untied (own decoder
kernels, same ops: the price of tying alone), and a stock Keras model of the same layer shapes
(Conv2D / MaxPool2D / Conv2DTranspose layers; its deconv1 is a full 16 -> 16 transposed
convolution where the tied model's is depthwise). Each: the training step of the study (noise,
forward, MSE, backward, Adam), batch 32, timed after warm-up, best of several repeats.

    .venv/bin/python benchmarks/bench_training.py [--threads 2] [--steps 30]
"""

from __future__ import annotations

import argparse
import time

from ckaflow.tfsetup import configure


def stock_keras(seed: int):
    import keras

    from ckaflow.architecture import FILTERS

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
    import keras
    import numpy as np
    import tensorflow as tf

    from ckaflow.train import salt_and_pepper_tf

    optimizer = keras.optimizers.Adam(1e-2)

    @tf.function
    def step(x, seed):
        noisy = salt_and_pepper_tf(x, seed, 0.05, 0.05)
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(noisy, training=True) - x))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return loss

    x = tf.constant(np.random.default_rng(0).random((batch, 64, 80, 1), dtype=np.float32))
    for i in range(3):
        step(x, tf.constant([0, i]))
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for i in range(steps):
            loss = step(x, tf.constant([1, i]))
        float(loss)  # wait for the last step
        best = min(best, time.perf_counter() - t0)
    return batch * steps / best


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    configure(args.threads)
    from ckaflow.model import TiedAutoencoder

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
    print(f"\ntraining throughput, batch {args.batch}, {args.threads} threads, ", end="")
    print(f"best of {args.repeats} x {args.steps} steps")
    print(f"| {'model':<{w}} | images/s | tied slower by | target |")
    print(f"|{'-' * (w + 2)}|----------|----------------|--------|")
    for name, r in rates.items():
        cost = "" if r is tied else f"{(r / tied - 1) * 100:+.1f}%"
        target = "<= +20%" if name.startswith("untied") else ""
        print(f"| {name:<{w}} | {r:8.0f} | {cost:>14} | {target:<6} |")


if __name__ == "__main__":
    main()
