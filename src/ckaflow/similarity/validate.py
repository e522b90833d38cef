"""Checks of the public similarity functions: ValueError naming the offending shapes or values.

Public functions validate with these; the private computations after them assume valid input.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from .arrays import array_namespace

KERNELS = ("linear", "rbf")
CENTERINGS = ("unit", "global")
PRECISIONS = ("float32", "float64")

Arrays = Sequence | Mapping[str, object]  # of arrays (n, ...) of one array API namespace


def check_options(kernel, sigma_frac, debiased, centering, precision) -> None:
    if not isinstance(debiased, bool | np.bool_):
        raise ValueError(f"debiased must be True or False, got {debiased!r}")
    if kernel not in KERNELS:
        raise ValueError(f"unknown kernel {kernel!r}; expected one of {KERNELS}")
    real = isinstance(sigma_frac, int | float | np.integer | np.floating)
    if not (
        real and not isinstance(sigma_frac, bool) and np.isfinite(sigma_frac) and sigma_frac > 0
    ):
        raise ValueError(f"sigma_frac must be a positive number, got {sigma_frac!r}")
    if centering not in CENTERINGS:
        raise ValueError(f"unknown centering {centering!r}; expected one of {CENTERINGS}")
    if centering == "global" and (kernel != "linear" or debiased):
        raise ValueError(
            "centering='global' (the thesis' convention) is defined for the linear kernel and the "
            f"biased estimator only, got kernel={kernel!r}, debiased={debiased}"
        )
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; expected one of {PRECISIONS}")


def named_arrays(arrays: Arrays, what: str) -> dict:
    """{name: array}: arrays of an array API namespace are kept as they are (on their device);
    anything else with a shape (a list of memory maps, an h5py dataset) becomes a NumPy array."""
    if hasattr(arrays, "shape"):
        raise ValueError(
            f"{what} must be a sequence or mapping of arrays, got one array {tuple(arrays.shape)}"
        )
    items = (
        arrays.items()
        if isinstance(arrays, Mapping)
        else ((f"{what}[{i}]", a) for i, a in enumerate(arrays))
    )
    named = {}
    for k, v in items:
        if not hasattr(v, "shape"):  # a nested list of numbers is not a list of groups
            raise ValueError(
                f"{what}: {k} is a {type(v).__name__}, not an array: pass a sequence or mapping "
                "of arrays (n, ...), e.g. [np.asarray(x)], not x.tolist()"
            )
        try:
            array_namespace(v)
        except TypeError:
            v = np.asarray(v)
        named[str(k)] = v
    if not named:
        raise ValueError(f"{what} is empty")
    return named


def check_arrays(named: dict, debiased: bool) -> int:
    """n, after checking shapes, dtypes and that every array is of one namespace."""
    try:
        xp = array_namespace(*named.values())
    except TypeError as err:
        kinds = sorted({f"{type(v).__module__}.{type(v).__name__}" for v in named.values()})
        raise ValueError(f"inputs must all be arrays of one library, got {kinds}: {err}") from err
    shapes = {k: tuple(v.shape) for k, v in named.items()}
    for k, v in named.items():
        units = math.prod(v.shape[1:]) if len(v.shape) >= 1 and v.shape[0] > 0 else 0
        if units == 0:
            raise ValueError(f"{k} has shape {shapes[k]}; expected (n, ...) with at least one unit")
        if not xp.isdtype(v.dtype, ("integral", "real floating")):
            raise ValueError(f"{k} has dtype {v.dtype}; expected real numbers")
    ns = {v.shape[0] for v in named.values()}
    if len(ns) > 1:
        raise ValueError(f"all inputs must have the same number of examples n, got shapes {shapes}")
    n = ns.pop()
    need = 4 if debiased else 2
    if n < need:
        raise ValueError(
            f"{'the debiased estimator' if debiased else 'CKA'} needs n >= {need} examples, "
            f"got n = {n} (shapes {shapes})"
        )
    # NaN and inf are found where the activations are first read (kernels.filter_moments, from
    # the unit means; the feature-space form, from the centred values): no extra pass here.
    return n
