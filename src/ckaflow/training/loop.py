"""One training run's compiled step (:mod:`ckaflow.training.step`, on the job's Keras backend) and
its bookkeeping (history rows, TensorBoard, the divergence check), driven by
:func:`ckaflow.training.train.train`."""

from __future__ import annotations

import logging
import math
import zlib
from typing import TYPE_CHECKING

import numpy as np

from ..backend import current
from .step import stepper
from .tasks import scores, training_loss

if TYPE_CHECKING:
    from .config import TrainConfig

log = logging.getLogger("ckaflow.training")  # one logger for the whole training job's lines


def instance_key(instance: str) -> int:
    """A stable integer per instance name, for its noise and batch order."""
    return zlib.crc32(instance.encode())


class TrainingDiverged(RuntimeError):
    """A loss that is not finite, or a run that ends above MAX_LOSS: the weights have blown up."""


def make_optimizer(cfg: TrainConfig):
    """Adam (the thesis), or SGD with momentum; ``weight_decay`` is Keras' (decoupled: each
    step shrinks every weight by rate x decay)."""
    import keras

    decay = cfg.weight_decay or None
    if cfg.optimizer == "sgd":
        return keras.optimizers.SGD(cfg.learning_rate, momentum=cfg.momentum, weight_decay=decay)
    return keras.optimizers.Adam(learning_rate=cfg.learning_rate, weight_decay=decay)


class Loop:
    """The compiled parts of one training run and its bookkeeping.

    The training images (and labels) live on the device once; a step gathers its batch there.
    Batch losses stay tensors until a validation reads them, and validation runs as one
    compiled call per domain (eager calls cost about 3x the compiled one on a CPU). Nothing is
    retraced: every call has the same shapes.
    """

    def __init__(self, model, data, instance, cfg: TrainConfig, tensorboard_dir, output="image"):
        self.model, self.instance, self.cfg, self.output = model, instance, cfg, output
        self.key = instance_key(instance)
        self.rng = np.random.default_rng([self.key, 1])
        self.n = len(data.train_x)
        self.order, self.pos, self.step = self.rng.permutation(self.n), 0, 0
        self.val, self.val_y = data.val, data.val_y
        self.optimizer = make_optimizer(cfg)
        self.writer = _summary_writer(tensorboard_dir)
        self.batch_losses, self.rows, self.last = [], [], {}
        train_y = data.train_y if data.train_y is not None else np.zeros(self.n)
        corrupt, loss = training_loss(cfg.task, output, cfg.pepper, cfg.salt)
        self.train_step = stepper(model, self.optimizer, corrupt, loss, data.train_x, train_y)

    @property
    def steps_per_epoch(self) -> int:
        return self.n // self.cfg.batch_size

    def run(self, steps: int) -> int:
        """``steps`` batches; returns the step count so far. The model then holds the weights
        trained so far."""
        b = self.cfg.batch_size
        for _ in range(steps):
            if self.pos + b > self.n:
                self.order, self.pos = self.rng.permutation(self.n), 0
            idx = np.sort(self.order[self.pos : self.pos + b])
            self.pos += b
            seed = np.array([self.key % 2**31, self.step], np.int32)
            self.batch_losses.append(self.train_step(idx, seed))
            self.step += 1
        self.train_step.sync()
        return self.step

    def val_scores(self) -> dict[str, dict[str, float]]:
        """Per validation domain: its mean ``loss`` and, for classify, ``accuracy``."""
        out = {}
        for d, x in self.val.items():
            s = scores(self.model, x, self.val_y.get(d), task=self.cfg.task, output=self.output)
            out[d] = {"loss": float(np.mean(s["loss"]))}
            if s["correct"] is not None:
                out[d]["accuracy"] = float(np.mean(s["correct"]))
        return out

    def val_losses(self) -> dict[str, float]:
        return {d: s["loss"] for d, s in self.val_scores().items()}

    def record(self, phase: int, rate: float) -> dict[str, float]:
        """Validate on every domain, append a history row and the summaries; check finiteness."""
        train_loss = float(np.mean([float(x) for x in self.batch_losses]))
        self.batch_losses = []
        val = self.val_scores()
        losses = {d: s["loss"] for d, s in val.items()}
        for what, value in {"train": train_loss, **losses}.items():
            if not math.isfinite(value):  # nothing recovers from NaN or inf weights
                self.diverged(f"the {what} loss is {value}", phase, rate)
        row = {"step": self.step, "phase": phase, "learning_rate": rate, "train_loss": train_loss}
        row.update({f"val_loss_{d}": v for d, v in losses.items()})
        row.update({f"val_accuracy_{d}": s["accuracy"] for d, s in val.items() if "accuracy" in s})
        self.rows.append(row)
        self.last = losses
        _summaries(self.writer, self.step, rate, train_loss, val)
        return losses

    def diverged(self, what: str, phase: int, rate: float) -> None:
        raise TrainingDiverged(
            f"{self.instance}: {what} at step {self.step} (phase {phase}, rate {rate:.2e}): "
            "training diverged; lower train.learning_rate"
        )

    def log_record(self, event: str) -> None:
        r = self.rows[-1]
        val = " ".join(f"{d}={v:.5f}" for d, v in self.last.items())
        log.info(
            "%s step %d phase %d rate %.2e train %.5f val %s %s",
            self.instance,
            r["step"],
            r["phase"],
            r["learning_rate"],
            r["train_loss"],
            val,
            event,
        )

    def weights(self) -> list[np.ndarray]:
        return [w.numpy() for w in self.model.weights]

    def restore(self, weights: list[np.ndarray]) -> None:
        for w, best in zip(self.model.weights, weights, strict=True):
            w.assign(best)
        self.train_step.load()

    def set_rate(self, rate: float) -> None:
        self.optimizer.learning_rate.assign(rate)
        self.train_step.load()

    @property
    def rate(self) -> float:
        return float(np.asarray(self.optimizer.learning_rate))

    def close(self) -> None:
        if self.writer:
            self.writer.close()


def _summary_writer(folder):
    """A TensorBoard writer for ``folder`` (none without a folder). TensorBoard's summaries are
    TensorFlow's: on another backend they are written where TensorFlow is installed, and skipped
    with a log line where it is not."""
    if not folder:
        return None
    try:
        import tensorflow as tf
    except ImportError:
        log.info("TensorFlow is not installed: no TensorBoard summaries in %s", folder)
        return None
    if current() != "tensorflow":  # writing events needs no GPU: leave it to JAX
        tf.config.set_visible_devices([], "GPU")  # or PyTorch, before TensorFlow takes it
    return tf.summary.create_file_writer(str(folder))


def _summaries(writer, step, rate, train_loss, val) -> None:
    if writer is None:
        return
    import tensorflow as tf

    with writer.as_default(step=step):
        tf.summary.scalar("learning_rate", rate)
        tf.summary.scalar("loss/train", train_loss)
        for d, s in val.items():
            for what, v in s.items():
                tf.summary.scalar(f"{what}/val_{d}", v)
