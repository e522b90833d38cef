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
