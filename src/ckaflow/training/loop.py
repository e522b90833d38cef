"""The compiled training step of one run and its bookkeeping (history rows, TensorBoard, the
divergence check), driven by :func:`ckaflow.training.train`."""

from __future__ import annotations

import logging
import math
import zlib
from typing import TYPE_CHECKING

import numpy as np

from ..data.noise import salt_and_pepper_tf

if TYPE_CHECKING:
    from .schedule import PatienceSchedule
    from .train import TrainConfig

log = logging.getLogger("ckaflow.training")  # one logger for the whole training job's lines


def instance_key(instance: str) -> int:
    """A stable integer per instance name, for its noise and batch order."""
    return zlib.crc32(instance.encode())


class TrainingDiverged(RuntimeError):
    """A loss that is not finite, or a run that ends above MAX_LOSS: the weights have blown up."""


class Loop:
    """The compiled parts of one training run and its bookkeeping.

    The training images live on the device once; a step gathers its batch there. Batch losses
    stay tensors until a validation reads them, and validation runs as one compiled call per
    domain (eager calls cost about 3x the compiled one on a CPU). Nothing is retraced: every
    call has the same shapes.
    """

    def __init__(self, model, train_x, val, instance, cfg: TrainConfig, tensorboard_dir):
        import keras
        import tensorflow as tf

        self.model, self.instance, self.cfg = model, instance, cfg
        self.key = instance_key(instance)
        self.rng = np.random.default_rng([self.key, 1])
        self.n = len(train_x)
        self.order, self.pos, self.step = self.rng.permutation(self.n), 0, 0
        self.train_x = tf.constant(train_x)
        self.val = {d: tf.constant(v) for d, v in val.items()}
        self.optimizer = keras.optimizers.Adam(learning_rate=cfg.learning_rate)
        self.writer = (
            tf.summary.create_file_writer(str(tensorboard_dir)) if tensorboard_dir else None
        )
        self.batch_losses, self.rows, self.last = [], [], {}
        variables = model.trainable_variables

        @tf.function(jit_compile=False)  # XLA: 20x slower on a CPU, and not deterministic
        def train_step(idx, seed):
            x = tf.gather(self.train_x, idx)
            noisy = salt_and_pepper_tf(x, seed, cfg.pepper, cfg.salt)
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(model(noisy, training=True) - x))
            grads = tape.gradient(loss, variables)
            self.optimizer.apply_gradients(zip(grads, variables, strict=True))
            return loss

        self.train_step = train_step

    def run(self, steps: int) -> int:
        """``steps`` batches; returns the step count so far."""
        import tensorflow as tf

        b = self.cfg.batch_size
        for _ in range(steps):
            if self.pos + b > self.n:
                self.order, self.pos = self.rng.permutation(self.n), 0
            idx = np.sort(self.order[self.pos : self.pos + b])
            self.pos += b
            seed = tf.constant([self.key % 2**31, self.step], tf.int32)
            self.batch_losses.append(self.train_step(tf.constant(idx, tf.int32), seed))
            self.step += 1
        return self.step

    def val_losses(self) -> dict[str, float]:
        from ..model.tied_autoencoder import per_image_loss

        return {d: float(np.mean(per_image_loss(self.model, v))) for d, v in self.val.items()}

    def record(self, schedule: PatienceSchedule) -> dict[str, float]:
        """Validate on every domain, append a history row and the summaries; check finiteness."""
        train_loss = float(np.mean([float(x) for x in self.batch_losses]))
        self.batch_losses = []
        losses = self.val_losses()
        for what, value in {"train": train_loss, **losses}.items():
            if not math.isfinite(value):  # nothing recovers from NaN or inf weights
                self.diverged(f"the {what} loss is {value}", schedule)
        row = (self.step, schedule.phase, schedule.rate, train_loss,
               losses.get("natural", math.nan), losses.get("synth", math.nan))  # fmt: skip
        self.rows.append(row)
        self.last = losses
        _summaries(self.writer, self.step, schedule.rate, train_loss, losses)
        return losses

    def diverged(self, what: str, schedule: PatienceSchedule) -> None:
        raise TrainingDiverged(
            f"{self.instance}: {what} at step {self.step} (phase {schedule.phase}, rate "
            f"{schedule.rate:.2e}): training diverged; lower train.learning_rate"
        )

    def log_record(self, event: str) -> None:
        step, phase, rate, train_loss = self.rows[-1][:4]
        val = " ".join(f"{d}={v:.5f}" for d, v in self.last.items())
        log.info("%s step %d phase %d rate %.2e train %.5f val %s %s",
                 self.instance, step, phase, rate, train_loss, val, event)  # fmt: skip

    def weights(self) -> list[np.ndarray]:
        return [w.numpy() for w in self.model.weights]

    def restore(self, weights: list[np.ndarray]) -> None:
        for w, best in zip(self.model.weights, weights, strict=True):
            w.assign(best)

    def set_rate(self, rate: float) -> None:
        self.optimizer.learning_rate.assign(rate)

    def close(self) -> None:
        if self.writer:
            self.writer.close()


def _summaries(writer, step, rate, train_loss, losses) -> None:
    if writer is None:
        return
    import tensorflow as tf

    with writer.as_default(step=step):
        tf.summary.scalar("learning_rate", rate)
        tf.summary.scalar("loss/train", train_loss)
        for d, v in losses.items():
            tf.summary.scalar(f"loss/val_{d}", v)
