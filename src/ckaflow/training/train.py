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
  phases) and ``final``, written by :mod:`ckaflow.model.checkpoints`.
* A loss that is not finite, or a run that ends above 1, fails (:class:`TrainingDiverged`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..names import FINAL, INIT, early_checkpoint, phase_checkpoint
from ..schema import schema_default
from .loop import Loop, TrainingDiverged, instance_key  # noqa: F401  (re-exported)
from .schedule import PHASES, PatienceSchedule

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
    # steps after which the weights are also saved (checkpoints step<N>); base runs only
    early_checkpoints: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        for key in ("batch_size", "patience", "eval_every", "max_steps"):
            if getattr(self, key) < 1:
                raise ValueError(f"train.{key} must be >= 1, got {getattr(self, key)}")
        if not 0 <= self.start_phase < PHASES:
            raise ValueError(f"start_phase must be 0, 1 or 2, got {self.start_phase}")
        if self.learning_rate <= 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}")
        bad = [s for s in self.early_checkpoints if s % self.eval_every or s >= self.max_steps]
        if bad:
            raise ValueError(
                f"train.early_checkpoints {bad}: each must be a multiple of eval_every "
                f"({self.eval_every}) and below max_steps ({self.max_steps})"
            )


@dataclass
class Result:
    history: pd.DataFrame
    steps: int
    capped: bool
    best_loss: float


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
    while the model holds those weights (``info``: step, phase, losses), and with ``step<N>``
    after N batches for each N of ``cfg.early_checkpoints`` (the weights of that moment, before
    any restore; a run that ends sooner saves its final weights there, marked not reached).
    When ``cfg.start_phase``
    skips phases, their checkpoints hold the starting weights. A loss that is not finite, or a final
    in-domain validation loss above :data:`MAX_LOSS`, raises :class:`TrainingDiverged` naming the
    instance, the step and the loss (and no ``final`` checkpoint is written).
    """
    if domain not in val:
        raise ValueError(f"no validation set for the training domain {domain!r}: {sorted(val)}")
    if len(train_x) < cfg.batch_size:
        raise ValueError(f"{len(train_x)} training images < batch_size {cfg.batch_size}")
    loop = Loop(model, train_x, val, instance, cfg, tensorboard_dir)
    schedule = PatienceSchedule(cfg.patience, cfg.learning_rate, phase=cfg.start_phase)
    _start(loop, schedule, save_checkpoint)
    best_weights = loop.weights()
    while True:
        step = loop.run(min(cfg.eval_every, cfg.max_steps - loop.step))
        capped = step >= cfg.max_steps
        losses = loop.record(schedule)
        if step in cfg.early_checkpoints:
            save_checkpoint(early_checkpoint(step), _info(step, schedule, losses))
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
    for later in (s for s in cfg.early_checkpoints if s > step):  # the run ended before them
        save_checkpoint(early_checkpoint(later), {**_info(step, schedule, final), "reached": False})
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


def _info(step: int, schedule: PatienceSchedule, losses: dict[str, float]) -> dict:
    return {
        "step": step,
        "phase": min(schedule.phase, PHASES - 1),
        "val_loss": losses,
        "phases_ended": schedule.ended,
    }


def config_dict(cfg: TrainConfig) -> dict:
    return asdict(cfg)
