"""The Keras 3 backend a workflow job trains, scores and records with (TensorFlow, JAX or
PyTorch), and its set-up: the job's threads, GPU memory, determinism, TensorFloat-32 off.

Which backend: config ``backend`` when set, else the environment's ``KERAS_BACKEND``, else
TensorFlow (:func:`resolve`, at the workflow's load: the choice is a parameter of every job that
runs a model, so changing it retrains). Call :func:`configure` before Keras is imported.
"""

from __future__ import annotations

import logging
import os
import sys
from importlib import metadata

log = logging.getLogger(__name__)

BACKENDS = ("tensorflow", "jax", "torch")
DEFAULT = "tensorflow"
KEY = "backend"


def resolve(requested: str | None, environ=os.environ) -> str:
    """The backend of a study: config ``backend`` (``requested``) when set, else
    ``$KERAS_BACKEND``, else TensorFlow; an unknown name is an error naming where it came from."""
    where, name = f"config {KEY}", requested
    if name is None:
        where, name = "the environment's KERAS_BACKEND", environ.get("KERAS_BACKEND") or DEFAULT
    if name not in BACKENDS:
        raise ValueError(f"{where} is {name!r}; expected one of {BACKENDS}")
    return name


def configure(threads: int, backend: str | None = None, *, deterministic: bool = True) -> None:
    """Select ``backend`` for Keras (before it is imported) and set it up: ``threads`` CPU
    threads, GPU memory grown rather than taken whole, deterministic ops (same seed, same weights
    on the same machine type), TensorFloat-32 off (it costs CKA about three digits on recent
    GPUs). ``backend`` None: ``$KERAS_BACKEND``, else TensorFlow. Logs the device it computes
    on."""
    backend = resolve(backend)
    _select(backend)
    setup = {"tensorflow": _tensorflow, "jax": _jax, "torch": _torch}[backend]
    version, device = setup(max(1, threads), deterministic)
    log.info(
        "Keras %s on %s %s computes on %s (%d CPU threads; TF32 off, deterministic ops %s); "
        "SLURM job %s, CUDA_VISIBLE_DEVICES=%s",
        metadata.version("keras"),
        backend,
        version,
        device,
        threads,
        "on" if deterministic else "off",
        os.environ.get("SLURM_JOB_ID", "none"),
        os.environ.get("CUDA_VISIBLE_DEVICES", "unset"),
    )


def check_installed(backend: str, where: str = f"config {KEY}") -> str:
    """``backend``, when its package can be imported here; else a ``ValueError`` saying how to
    install it (at the workflow's load, before any job)."""
    import importlib.util

    if importlib.util.find_spec(backend) is None:
        raise ValueError(
            f"{where} is {backend!r} but {backend} is not installed in this environment: "
            f"`make run BACKEND={backend}` installs it (GPU=1 for its CUDA build)"
        )
    return backend


def current() -> str:
    """The backend Keras runs on in this process."""
    import keras

    return keras.backend.backend()


def _select(backend: str) -> None:
    if "keras" in sys.modules and sys.modules["keras"].backend.backend() != backend:
        raise RuntimeError(
            f"Keras was imported with the {sys.modules['keras'].backend.backend()} backend "
            f"before the job chose {backend}: configure the backend before importing keras"
        )
    os.environ["KERAS_BACKEND"] = backend


def _tensorflow(threads: int, deterministic: bool) -> tuple[str, str]:
    check_one_build()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(min(2, threads))
    gpus = tf.config.list_physical_devices("GPU")
    for gpu in gpus:
        tf.config.experimental.set_memory_growth(gpu, True)
    tf.config.experimental.enable_tensor_float_32_execution(False)
    if deterministic:
        tf.config.experimental.enable_op_determinism()
    names = [tf.config.experimental.get_device_details(g).get("device_name", g.name) for g in gpus]
    return tf.__version__, f"the GPU {names[0]} ({gpus[0].name})" if gpus else _NO_GPU


def _jax(threads: int, deterministic: bool) -> tuple[str, str]:
    flags = os.environ.get("XLA_FLAGS", "").split()
    if threads == 1:  # XLA's CPU client takes every core unless told to run on one
        flags.append("--xla_cpu_multi_thread_eigen=false")
    else:
        log.info("JAX: XLA's CPU client uses every core; %d threads asked", threads)
    if deterministic:
        flags.append("--xla_gpu_deterministic_ops=true")
    os.environ["XLA_FLAGS"] = " ".join(flags)
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    import jax

    jax.config.update("jax_default_matmul_precision", "highest")  # no TF32 on the GPU
    gpus = [d for d in jax.devices() if d.platform == "gpu"]
    return jax.__version__, f"the GPU {gpus[0].device_kind}" if gpus else _NO_GPU


def _torch(threads: int, deterministic: bool) -> tuple[str, str]:
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # deterministic cuBLAS
    import torch

    torch.set_num_threads(threads)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    if deterministic:
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False
    gpu = torch.cuda.is_available()
    return torch.__version__, f"the GPU {torch.cuda.get_device_name(0)}" if gpu else _NO_GPU


_NO_GPU = "the CPU (no GPU visible)"

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
