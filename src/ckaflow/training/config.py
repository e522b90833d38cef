"""The plain values of one training run (filled from Snakemake params)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..schema import schema_default
from .schedule import PHASES
from .tasks import ACCURACY

TASKS = tuple(ACCURACY)  # denoise, reconstruct, classify
OPTIMIZERS = ("adam", "sgd")
SCHEDULES = ("patience", "step")


@dataclass(frozen=True)
class TrainConfig:
    """One run's settings; every default is the config schema's.

    ``schedule`` ``patience`` (the thesis): ``learning_rate`` until the validation loss has not
    improved for ``patience`` batches, then x sqrt(0.1), three phases, at most ``max_steps``.
    ``step``: ``epochs`` epochs, the rate x ``decay_factor`` after each of ``decay_epochs``.
    """

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
    task: str = "denoise"
    optimizer: str = schema_default("train.optimizer")
    momentum: float = schema_default("train.momentum")
    weight_decay: float = schema_default("train.weight_decay")
    schedule: str = schema_default("train.schedule")
    epochs: int = schema_default("train.epochs")
    decay_epochs: tuple[int, ...] = schema_default("train.decay_epochs")
    decay_factor: float = schema_default("train.decay_factor")
    checkpoint_epochs: tuple[int, ...] = ()  # epochs after which the weights are saved (epoch<N>)

    def __post_init__(self) -> None:
        for key in ("batch_size", "patience", "eval_every", "max_steps", "epochs"):
            if getattr(self, key) < 1:
                raise ValueError(f"train.{key} must be >= 1, got {getattr(self, key)}")
        for key, allowed in (("task", TASKS), ("optimizer", OPTIMIZERS), ("schedule", SCHEDULES)):
            if getattr(self, key) not in allowed:
                raise ValueError(
                    f"train.{key} is {getattr(self, key)!r}; expected one of {allowed}"
                )
        if not 0 <= self.start_phase < PHASES:
            raise ValueError(f"start_phase must be 0, 1 or 2, got {self.start_phase}")
        if self.learning_rate <= 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}")
        if not (0 <= self.momentum < 1 and self.weight_decay >= 0 and 0 < self.decay_factor <= 1):
            raise ValueError(
                f"train.momentum {self.momentum} must lie in [0, 1), weight_decay "
                f"{self.weight_decay} be >= 0 and decay_factor {self.decay_factor} in (0, 1]"
            )
        patience = self.schedule == "patience"
        bad = [s for s in self.early_checkpoints
               if s % self.eval_every or (patience and s >= self.max_steps)]  # fmt: skip
        if bad:
            raise ValueError(
                f"train.early_checkpoints {bad}: each must be a multiple of eval_every "
                f"({self.eval_every}) and, with the patience schedule, below max_steps "
                f"({self.max_steps})"
            )
        late = [e for e in self.checkpoint_epochs if not 0 < e < self.epochs]
        if late:
            raise ValueError(
                f"train.checkpoint_epochs {late}: each must lie between 0 and epochs "
                f"({self.epochs}), exclusive (the last epoch's weights are checkpoint final)"
            )


def config_dict(cfg: TrainConfig) -> dict:
    return asdict(cfg)
