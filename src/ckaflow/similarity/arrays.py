"""The engine's arrays: one code path for NumPy, CuPy, PyTorch or any array API namespace.

The similarity engine is written against the Python array API standard through
``array_api_compat``: it computes in the namespace (and on the device) of the arrays it is given,
so a library user's PyTorch or CuPy activations on a GPU stay there. The few things the standard
lacks are here: a host copy (:func:`to_numpy`), the median, NumPy's floating-point error state,
and a guard that TensorFloat-32 is off (it rounds float32 products to 10 bits, which costs CKA
about three digits).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from types import ModuleType

import array_api_compat
import numpy as np
from array_api_compat import array_namespace, device, is_numpy_namespace, is_torch_namespace

__all__ = [
    "array_namespace",
    "as_float64",
    "device",
    "errstate",
    "is_numpy_namespace",
    "median",
    "numpy_namespace",
    "release",
    "scalars",
    "to_numpy",
    "no_tf32",
]


def numpy_namespace() -> ModuleType:
    """The array API namespace of NumPy arrays (``array_api_compat.numpy``)."""
    return array_namespace(np.empty(0))


def to_numpy(x) -> np.ndarray:
    """A host NumPy copy (or view) of any supported array."""
    if isinstance(x, np.ndarray):
        return x
    if array_api_compat.is_cupy_array(x):
        return x.get()
    if array_api_compat.is_torch_array(x):
        return x.detach().cpu().numpy()
    return np.from_dlpack(x)


def scalars(xp: ModuleType, values, like) -> object:
    """Host numbers (a list or NumPy array) as a float64 array of ``xp`` on ``like``'s device."""
    return xp.asarray(np.asarray(values, dtype=np.float64), device=device(like))


def as_float64(xp: ModuleType, x):
    return x if x.dtype == xp.float64 else xp.astype(x, xp.float64)


def median(xp: ModuleType, x):
    """The median over the last axis (the standard has no median): (..., m) -> (...)."""
    s = xp.sort(x, axis=-1)
    m = s.shape[-1]
    return (s[..., (m - 1) // 2] + s[..., m // 2]) / 2.0


def release(xp: ModuleType | None) -> None:
    """Hand a GPU library's cached memory back to the device. CuPy keeps what it frees in a pool;
    a TensorFlow job sharing the card (memory growth on) would starve beside it. No-op else."""
    if xp is not None and array_api_compat.is_cupy_namespace(xp):
        import cupy

        cupy.get_default_memory_pool().free_all_blocks()
        cupy.get_default_pinned_memory_pool().free_all_blocks()


@contextlib.contextmanager
def errstate(xp: ModuleType) -> Iterator[None]:
    """NumPy's warnings for overflow, underflow, 0/0 off (the engine detects those itself);
    other namespaces do not warn."""
    if is_numpy_namespace(xp):
        with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
            yield
    else:
        yield


@contextlib.contextmanager
def no_tf32(xp: ModuleType) -> Iterator[None]:
    """Float32 products without TensorFloat-32: off for PyTorch inside the block (restored
    after); CuPy uses it only when ``CUPY_TF32=1``, which is refused."""
    if os.environ.get("CUPY_TF32", "0") not in ("", "0") and array_api_compat.is_cupy_namespace(xp):
        raise ValueError(
            "CUPY_TF32 is set: CuPy would round float32 products to TensorFloat-32 (10 bits), "
            "which costs CKA about three digits; unset it"
        )
    if not is_torch_namespace(xp):
        yield
        return
    import torch

    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved
