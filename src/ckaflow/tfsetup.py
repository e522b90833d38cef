"""TensorFlow set-up for a workflow job: the job's threads, memory growth, determinism.

Call :func:`configure` before any TensorFlow op runs.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)


def configure(threads: int, *, deterministic: bool = True) -> None:
    """Use ``threads`` CPU threads, grow GPU memory instead of taking it all, make ops
    deterministic (same seed, same weights on CPU), and keep TensorFloat-32 off (it costs CKA
    about three digits on recent GPUs)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(max(1, threads))
    tf.config.threading.set_inter_op_parallelism_threads(max(1, min(2, threads)))
    for gpu in tf.config.list_physical_devices("GPU"):
        tf.config.experimental.set_memory_growth(gpu, True)
    tf.config.experimental.enable_tensor_float_32_execution(False)
    if deterministic:
        tf.config.experimental.enable_op_determinism()
    log.info(
        "TensorFlow %s: %d threads, GPUs %s; SLURM job %s, CUDA_VISIBLE_DEVICES=%s",
        tf.__version__,
        threads,
        [g.name for g in tf.config.list_physical_devices("GPU")],
        os.environ.get("SLURM_JOB_ID", "none"),
        os.environ.get("CUDA_VISIBLE_DEVICES", "unset"),
    )
