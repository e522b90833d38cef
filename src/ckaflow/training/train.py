"""Training and fine-tuning of one instance, by either schedule.

* ``patience`` (the thesis; :class:`PatienceSchedule`): when the in-domain validation loss has
  not improved for ``patience`` batches (checked every ``eval_every``) the best weights of the
  phase are restored and the rate is multiplied by sqrt(0.1); three phases; ``max_steps`` caps a
  run, with a warning and ``capped_by_max_steps`` in the provenance. Checkpoints ``init``,
  ``phase1``, ``phase2``, ``final``, and ``step<N>`` for ``early_checkpoints``.
* ``step`` (:class:`StepSchedule`): ``epochs`` epochs, the rate lowered after ``decay_epochs``,
  validation every ``eval_every`` batches for the history; checkpoints ``init``, ``epoch<N>``
  for ``checkpoint_epochs``, ``final`` (the last weights).

A loss that is not finite, or (autoencoders) a run that ends above 1, fails
(:class:`TrainingDiverged`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..names import FINAL, INIT, early_checkpoint, phase_checkpoint
from .config import TrainConfig
from .loop import Loop
from .schedule import PHASES, PatienceSchedule, StepSchedule

log = logging.getLogger(__name__)

# Images lie in [0, 1]: a mean squared error above 1 is worse than any output inside [0, 1], so
# an autoencoder that ends there has blown up (learning_rate 1.0 ends at 1.6 to 2.9). A
# fine-tuning's first steps can pass above it (2.3 seen at a rate of 1e-2) and recover: only the
# end is judged. A classifier's cross-entropy has no such bound: only finiteness is checked.
MAX_LOSS = 1.0


@dataclass
class TrainingData:
    """What a run trains and validates on: images (n, h, w, c) float32, labels (classify)."""

    train_x: np.ndarray
    val: dict[str, np.ndarray]
    train_y: np.ndarray | None = None
    val_y: dict[str, np.ndarray] | None = None

    def __post_init__(self) -> None:
        self.val_y = self.val_y or {}


@dataclass
class Result:
    history: pd.DataFrame
    steps: int
    capped: bool
    best_loss: float


def train(
    model,
    data: TrainingData,
    *,
    domain: str,
    instance: str,
    cfg: TrainConfig,
    save_checkpoint: Callable[[str, dict], None],
    tensorboard_dir: str | Path | None = None,
    output: str = "image",
) -> Result:
    """Train ``model`` on ``data`` by ``cfg.schedule``; the patience schedule watches the
    validation loss of ``domain``.

    ``save_checkpoint(name, info)`` is called while the model holds each checkpoint's weights
    (``info``: step, phase, losses). A run that ends before an early checkpoint saves its final
    weights there, marked not reached. A loss that is not finite, or an autoencoder's final
    in-domain validation loss above :data:`MAX_LOSS`, raises :class:`TrainingDiverged` naming the
    instance, the step and the loss (and no ``final`` checkpoint is written).
    """
    if domain not in data.val:
        raise ValueError(
            f"no validation set for the training domain {domain!r}: {sorted(data.val)}"
        )
    if len(data.train_x) < cfg.batch_size:
        raise ValueError(f"{len(data.train_x)} training images < batch_size {cfg.batch_size}")
    loop = Loop(model, data, instance, cfg, tensorboard_dir, output)
    run = _patience if cfg.schedule == "patience" else _steps
    step, capped, best, info = run(loop, cfg, domain, save_checkpoint)
    final = loop.val_losses()
    if cfg.task != "classify" and not final[domain] <= MAX_LOSS:  # ending above 1 is blown up
        loop.diverged(
            f"the best {domain} validation loss is {final[domain]:.4g} (above "
            f"{MAX_LOSS}, worse than any output in [0, 1])",
            info(final)["phase"],
            loop.rate,
        )
    for later in (s for s in cfg.early_checkpoints if s > step):  # the run ended before them
        save_checkpoint(early_checkpoint(later), {**info(final), "reached": False})
    save_checkpoint(FINAL, {**info(final), "capped_by_max_steps": capped})
    loop.close()
    return Result(pd.DataFrame(loop.rows), step, capped, best)


def _patience(loop: Loop, cfg: TrainConfig, domain: str, save) -> tuple:
    """(steps, capped, best loss, the checkpoint record of given losses) of a patience run."""
    schedule = PatienceSchedule(cfg.patience, cfg.learning_rate, phase=cfg.start_phase)
    _start(loop, schedule.rate, schedule.phase, save)
    best_weights = loop.weights()
    while True:
        step = loop.run(min(cfg.eval_every, cfg.max_steps - loop.step))
        capped = step >= cfg.max_steps
        losses = loop.record(schedule.phase, schedule.rate)
        if step in cfg.early_checkpoints:
            save(early_checkpoint(step), _info(step, schedule, losses))
        event = schedule.observe(step, losses[domain])
        if event == "improved":
            best_weights = loop.weights()
        loop.log_record(event)
        if event in ("phase_end", "done") or capped:
            loop.restore(best_weights)
        if event == "phase_end":
            loop.set_rate(schedule.rate)
            save(phase_checkpoint(schedule.phase), _info(step, schedule, loop.val_losses()))
        if event == "done":
            break
        if capped:
            _end_capped(loop, schedule, step, cfg.max_steps, save)
            break
    return step, capped, schedule.best, lambda losses: _info(step, schedule, losses)


def _steps(loop: Loop, cfg: TrainConfig, domain: str, save) -> tuple:
    """(steps, capped (never), best loss, the checkpoint record) of a step-schedule run."""
    if loop.steps_per_epoch < 1:
        raise ValueError(f"{loop.n} training images make no batch of {cfg.batch_size}")
    schedule = StepSchedule(
        cfg.learning_rate,
        cfg.epochs,
        loop.steps_per_epoch,
        tuple(cfg.decay_epochs),
        cfg.decay_factor,
    )
    _start(loop, schedule.rate(0), 0, save)
    best, marks = math.inf, _step_marks(cfg, schedule)
    while loop.step < schedule.total_steps:
        step = loop.run(marks[loop.step] - loop.step)
        if step % cfg.eval_every == 0 or step == schedule.total_steps:
            losses = loop.record(schedule.phase(step - 1), schedule.rate(step - 1))
            best = min(best, losses[domain])
            loop.log_record(f"epoch {step / schedule.steps_per_epoch:.2f}")
        epoch, end = divmod(step, schedule.steps_per_epoch)
        if end == 0 and epoch in cfg.checkpoint_epochs:
            save(
                early_checkpoint(epoch, "epoch"),
                {"step": step, "epoch": epoch, "val_loss": loop.val_losses()},
            )
        if step in cfg.early_checkpoints:
            save(early_checkpoint(step), {"step": step, "val_loss": loop.val_losses()})
        loop.set_rate(schedule.rate(step))
    phase = schedule.phase(loop.step - 1)
    return (
        loop.step,
        False,
        best,
        lambda losses: {"step": loop.step, "phase": phase, "epoch": cfg.epochs, "val_loss": losses},
    )


def _step_marks(cfg: TrainConfig, schedule: StepSchedule) -> dict[int, int]:
    """For each step, the next step at which the step schedule must stop to validate, save or
    change the rate."""
    spe, total = schedule.steps_per_epoch, schedule.total_steps
    stops = {total, *range(cfg.eval_every, total, cfg.eval_every), *cfg.early_checkpoints}
    stops |= {e * spe for e in (*cfg.checkpoint_epochs, *cfg.decay_epochs) if e * spe < total}
    ordered = sorted(s for s in stops if 0 < s <= total)
    marks, j = {}, 0
    for step in range(total):
        while ordered[j] <= step:
            j += 1
        marks[step] = ordered[j]
    return marks


def _start(loop, rate: float, phase: int, save) -> None:
    """The initial weights are checkpoint ``init``, and those of the phases skipped
    (``cfg.start_phase``) too."""
    loop.set_rate(rate)
    info = {"step": 0, "phase": phase, "val_loss": loop.val_losses()}
    save(INIT, info)
    for skipped in range(phase):
        save(phase_checkpoint(skipped + 1), {**info, "skipped": True})
    log.info("%s: training on %d images, phase %d, rate %.2e", loop.instance, loop.n, phase, rate)


def _end_capped(loop, schedule, step: int, max_steps: int, save) -> None:
    """The run reached max_steps before its schedule ended: the phases it did not reach get the
    best weights so far (restored already) as their checkpoints."""
    log.warning(
        "%s: max_steps=%d reached in phase %d before the schedule ended; keeping the best "
        "weights so far",
        loop.instance,
        max_steps,
        schedule.phase,
    )
    info = {**_info(step, schedule, loop.val_losses()), "capped_by_max_steps": True}
    for later in range(schedule.phase + 1, PHASES):
        save(phase_checkpoint(later), info)


def _info(step: int, schedule: PatienceSchedule, losses: dict[str, float]) -> dict:
    return {
        "step": step,
        "phase": min(schedule.phase, PHASES - 1),
        "val_loss": losses,
        "phases_ended": schedule.ended,
    }
