"""TensorFlow set-up for a workflow job: the job's threads, memory growth, determinism.

Call :func:`configure` before any TensorFlow op runs.
"""

from __future__ import annotations

import logging
import os
from importlib import metadata

log = logging.getLogger(__name__)


def configure(threads: int, *, deterministic: bool = True) -> None:
    """Use ``threads`` CPU threads, grow GPU memory instead of taking it all, make ops
    deterministic (same seed, same weights on CPU), and keep TensorFloat-32 off (it costs CKA
    about three digits on recent GPUs)."""
    check_one_build()
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
    gpus = tf.config.list_physical_devices("GPU")
    names = [tf.config.experimental.get_device_details(g).get("device_name", g.name) for g in gpus]
    log.info(
        "TensorFlow %s computes on %s (%d CPU threads; TF32 off, deterministic ops %s); "
        "SLURM job %s, CUDA_VISIBLE_DEVICES=%s",
        tf.__version__,
        f"the GPU {names[0]} ({gpus[0].name})" if gpus else "the CPU (no GPU visible)",
        threads,
        "on" if deterministic else "off",
        os.environ.get("SLURM_JOB_ID", "none"),
        os.environ.get("CUDA_VISIBLE_DEVICES", "unset"),
    )


BUILDS = ("tensorflow", "tensorflow-cpu")


def check_one_build() -> None:
    """TensorFlow's CPU and GPU builds installed side by side overwrite each other's files: the
    import then fails or, worse, runs one build's Python on the other's libraries. Refuse it."""
    installed = {}
    for build in BUILDS:
        try:
            installed[build] = metadata.version(build)
        except metadata.PackageNotFoundError:
            pass
    if len(installed) > 1:
        raise RuntimeError(
            f"both TensorFlow builds are installed ({installed}): keep one, e.g. "
            "`pip uninstall tensorflow tensorflow-cpu` and then `make run` (CPU) or "
            "`make run GPU=1` (GPU)"
        )
