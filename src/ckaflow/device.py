"""Where the similarity jobs compute: config ``similarity.device`` (auto | cpu | gpu) to an array
API namespace. A GPU means CuPy with at least one visible CUDA device (the GPU install:
``make run GPU=1``); auto takes it when there is one, gpu insists on it.
"""

from __future__ import annotations

import logging
from types import ModuleType

from .similarity.arrays import array_namespace, numpy_namespace

log = logging.getLogger(__name__)

DEVICES = ("auto", "cpu", "gpu")
KEY = "similarity.device"


def gpu_namespace() -> tuple[ModuleType | None, str]:
    """(CuPy's array API namespace, its GPU's name), or (None, why there is none)."""
    try:
        import cupy
    except ImportError:
        return None, "CuPy is not installed (the GPU install is `make run GPU=1`)"
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as err:  # noqa: BLE001  no driver, no runtime: CuPy raises its own kinds
        return None, f"CuPy finds no CUDA device ({type(err).__name__}: {err})"
    if count == 0:
        return None, "CuPy finds no CUDA device"
    name = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)["name"]
    return array_namespace(cupy.empty(0)), name.decode() if isinstance(name, bytes) else name


def compute_namespace(requested: str, *, where: str = KEY, gpu=gpu_namespace) -> ModuleType:
    """The namespace a job computes in for ``requested`` (the value of config ``where``).
    ``gpu`` finds the GPU (a parameter so that tests can stand in for one)."""
    if requested not in DEVICES:
        raise ValueError(f"{where} is {requested!r}; expected one of {DEVICES}")
    if requested == "cpu":
        log.info("similarity on the CPU (NumPy): %s is cpu", where)
        return numpy_namespace()
    xp, detail = gpu()
    if xp is not None:
        log.info("similarity on the GPU %s (CuPy): %s is %s", detail, where, requested)
        return xp
    if requested == "gpu":
        raise ValueError(
            f"{where} is 'gpu' but no GPU can be used: {detail}; set it to auto or cpu"
        )
    log.info("similarity on the CPU (NumPy): %s is auto and %s", where, detail)
    return numpy_namespace()
