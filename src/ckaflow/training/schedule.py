"""The thesis' patience schedule, driven by validation losses alone (no TensorFlow inside).

Adam at the initial rate; when the in-domain validation loss has not improved for ``patience``
batches the phase ends, its best weights are restored and the rate is multiplied by sqrt(0.1);
the end of the third phase ends training.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

PHASES = 3


def phase_rate(initial: float, phase: int) -> float:
    """The learning rate of ``phase`` (0, 1, 2): initial * sqrt(0.1)^phase, as 10^(-phase/2)."""
    return initial * 10 ** (-phase / 2)


@dataclass
class PatienceSchedule:
    """The three-phase patience schedule, driven by validation losses; no TensorFlow inside.

    :meth:`observe` returns ``"improved"`` (keep these weights as the phase's best), ``"wait"``,
    ``"phase_end"`` (restore the best weights; the rate is now lower) or ``"done"``.
    """

    patience: int
    learning_rate: float = 1e-2
    phase: int = 0
    best: float = math.inf
    best_step: int = 0
    ended: list = field(default_factory=list)  # (phase, step, best loss) of every phase ended

    @property
    def rate(self) -> float:
        return phase_rate(self.learning_rate, self.phase)

    @property
    def done(self) -> bool:
        return self.phase >= PHASES

    def observe(self, step: int, loss: float) -> str:
        if self.done:
            raise RuntimeError("the schedule has already ended")
        if loss < self.best:
            self.best, self.best_step = loss, step
            return "improved"
        if step - self.best_step < self.patience:
            return "wait"
        self.ended.append((self.phase, step, self.best))
        self.phase += 1
        self.best_step = step  # the counter restarts; the restored weights keep their best loss
        return "done" if self.done else "phase_end"


@dataclass(frozen=True)
class StepSchedule:
    """A fixed number of epochs, the rate multiplied by ``factor`` after each epoch of
    ``decay_epochs`` (the blog's SGD schedule: x0.1 after 200, 250 and 300 of 350 epochs)."""

    learning_rate: float
    epochs: int
    steps_per_epoch: int
    decay_epochs: tuple[int, ...] = ()
    factor: float = 0.1

    @property
    def total_steps(self) -> int:
        return self.epochs * self.steps_per_epoch

    def phase(self, step: int) -> int:
        """How many decays have happened before batch ``step + 1``."""
        return sum(step >= e * self.steps_per_epoch for e in self.decay_epochs)

    def rate(self, step: int) -> float:
        return self.learning_rate * self.factor ** self.phase(step)
