"""Training and fine-tuning of one autoencoder instance.

* Denoising: salt-and-pepper noise on the input during training only (``pepper`` of the pixels to
  0, ``salt`` to 1), fresh each batch from the instance's key and the step; the loss is the mean
  squared error against the clean image.
* Schedule (:class:`PatienceSchedule`): Adam at ``learning_rate`` (the thesis: 1e-2; the default
  config: 5e-3); when the in-domain validation loss has not improved for ``patience`` batches
  (checked every ``eval_every`` batches) the best weights of the phase are restored and the rate
  is multiplied by sqrt(0.1); three phases, the end of the third ends training. ``max_steps``
  caps a run, with a warning and ``capped_by_max_steps`` in the provenance.
* Checkpoints: ``init`` (before the first step), ``phase1`` and ``phase2`` (end of the first two
  phases) and ``final``, written by :mod:`ckaflow.checkpoints`.
* A loss that is not finite, or a run that ends above 1, fails (:class:`TrainingDiverged`).
"""

from __future__ import annotations

import logging
import math
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .data.noise import salt_and_pepper_tf
from .names import FINAL, INIT, phase_checkpoint
from .schedule import PHASES, PatienceSchedule
from .schema import schema_default

log = logging.getLogger(__name__)

# Images lie in [0, 1]: a mean squared error above 1 is worse than any output inside [0, 1], so
# a run that ends there has blown up (learning_rate 1.0 ends at 1.6 to 2.9). A fine-tuning's first
# steps can pass above it (2.3 seen at a rate of 1e-2) and recover: only the end is judged.
MAX_LOSS = 1.0
HISTORY_COLUMNS = (
    "step",
    "phase",
    "learning_rate",
    "train_loss",
    "val_loss_natural",
    "val_loss_synth",
)


@dataclass(frozen=True)
class TrainConfig:
    """Plain values of one training run (filled from Snakemake params); every default is the
    config schema's (:func:`ckaflow.study.schema_default`)."""

    batch_size: int = schema_default("train.batch_size")
    learning_rate: float = schema_default("train.learning_rate")
    patience: int = schema_default("train.patience")  # batches without improvement: rate drops
    eval_every: int = schema_default("train.eval_every")  # batches between validations
    max_steps: int = schema_default("train.max_steps")  # cap on batches, whatever the schedule
    pepper: float = schema_default("noise.pepper")
    salt: float = schema_default("noise.salt")
    start_phase: int = 0  # 2: the thesis' fine-tuning mode, only the final low-rate phase

    def __post_init__(self) -> None:
        for key in ("batch_size", "patience", "eval_every", "max_steps"):
            if getattr(self, key) < 1:
                raise ValueError(f"train.{key} must be >= 1, got {getattr(self, key)}")
        if not 0 <= self.start_phase < PHASES:
            raise ValueError(f"start_phase must be 0, 1 or 2, got {self.start_phase}")
        if self.learning_rate <= 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}")


def instance_key(instance: str) -> int:
    """A stable integer per instance name, for its noise and batch order."""
    return zlib.crc32(instance.encode())


@dataclass
class Result:
    history: pd.DataFrame
    steps: int
    capped: bool
    best_loss: float


class TrainingDiverged(RuntimeError):
    """A loss that is not finite, or a run that ends above MAX_LOSS: the weights have blown up."""


def train(
    model,
    train_x: np.ndarray,
    val: dict[str, np.ndarray],
    *,
    domain: str,
    instance: str,
    cfg: TrainConfig,
    save_checkpoint: Callable[[str, dict], None],
    tensorboard_dir: str | Path | None = None,
) -> Result:
    """Train ``model`` on ``train_x`` (N, 64, 80, 1) with the patience schedule.

    ``val`` maps each domain to its validation images; the schedule watches ``val[domain]``.
    ``save_checkpoint(name, info)`` is called with ``init``, ``phase1``, ``phase2`` and ``final``
    while the model holds those weights (``info``: step, phase, losses). When ``cfg.start_phase``
    skips phases, their checkpoints hold the starting weights. A loss that is not finite, or a final
    in-domain validation loss above :data:`MAX_LOSS`, raises :class:`TrainingDiverged` naming the
    instance, the step and the loss (and no ``final`` checkpoint is written).
    """
    if domain not in val:
        raise ValueError(f"no validation set for the training domain {domain!r}: {sorted(val)}")
    if len(train_x) < cfg.batch_size:
        raise ValueError(f"{len(train_x)} training images < batch_size {cfg.batch_size}")
    loop = _Loop(model, train_x, val, instance, cfg, tensorboard_dir)
    schedule = PatienceSchedule(cfg.patience, cfg.learning_rate, phase=cfg.start_phase)
    _start(loop, schedule, save_checkpoint)
    best_weights = loop.weights()
    while True:
        step = loop.run(min(cfg.eval_every, cfg.max_steps - loop.step))
        capped = step >= cfg.max_steps
        losses = loop.record(schedule)
        event = schedule.observe(step, losses[domain])
        if event == "improved":
            best_weights = loop.weights()
        loop.log_record(event)
        if event in ("phase_end", "done") or capped:
            loop.restore(best_weights)
        if event == "phase_end":
            loop.set_rate(schedule.rate)
            save_checkpoint(
                phase_checkpoint(schedule.phase), _info(step, schedule, loop.val_losses())
            )
        if event == "done":
            break
        if capped:
            _end_capped(loop, schedule, step, cfg.max_steps, save_checkpoint)
            break
    final = loop.val_losses()
    if not final[domain] <= MAX_LOSS:  # a passing spike early on is fine; ending there is not
        loop.diverged(
            f"the best {domain} validation loss is {final[domain]:.4g} (above {MAX_LOSS}, worse "
            "than any output in [0, 1])",
            schedule,
        )
    save_checkpoint(FINAL, {**_info(step, schedule, final), "capped_by_max_steps": capped})
    loop.close()
    return Result(pd.DataFrame(loop.rows, columns=HISTORY_COLUMNS), step, capped, schedule.best)


def _start(loop, schedule, save_checkpoint) -> None:
    """The initial weights are checkpoint ``init``, and those of the phases skipped
    (``cfg.start_phase``) too."""
    loop.set_rate(schedule.rate)
    info = {"step": 0, "phase": schedule.phase, "val_loss": loop.val_losses()}
    save_checkpoint(INIT, info)
    for skipped in range(schedule.phase):
        save_checkpoint(phase_checkpoint(skipped + 1), {**info, "skipped": True})
    log.info("%s: training on %d images, phase %d, rate %.2e", loop.instance, loop.n,
             schedule.phase, schedule.rate)  # fmt: skip


def _end_capped(loop, schedule, step: int, max_steps: int, save_checkpoint) -> None:
    """The run reached max_steps before its schedule ended: the phases it did not reach get the
    best weights so far (restored already) as their checkpoints."""
    log.warning(
        "%s: max_steps=%d reached in phase %d before the schedule ended; keeping the best "
        "weights so far", loop.instance, max_steps, schedule.phase
    )  # fmt: skip
    info = {**_info(step, schedule, loop.val_losses()), "capped_by_max_steps": True}
    for later in range(schedule.phase + 1, PHASES):
        save_checkpoint(phase_checkpoint(later), info)


class _Loop:
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
        from .model import per_image_loss

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


def _info(step: int, schedule: PatienceSchedule, losses: dict[str, float]) -> dict:
    return {
        "step": step,
        "phase": min(schedule.phase, PHASES - 1),
        "val_loss": losses,
        "phases_ended": schedule.ended,
    }


def _summaries(writer, step, rate, train_loss, losses) -> None:
    if writer is None:
        return
    import tensorflow as tf

    with writer.as_default(step=step):
        tf.summary.scalar("learning_rate", rate)
        tf.summary.scalar("loss/train", train_loss)
        for d, v in losses.items():
            tf.summary.scalar(f"loss/val_{d}", v)


def config_dict(cfg: TrainConfig) -> dict:
    return asdict(cfg)
