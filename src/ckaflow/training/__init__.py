"""Training and fine-tuning one instance: its settings (:class:`TrainConfig`), the schedules,
the compiled step (:mod:`.loop`), the tasks' losses (:mod:`.tasks`) and the job
(:func:`train_instance`)."""

from .config import TrainConfig
from .job import train_instance
from .loop import TrainingDiverged
from .train import TrainingData, train

__all__ = ["TrainConfig", "TrainingData", "TrainingDiverged", "train", "train_instance"]
