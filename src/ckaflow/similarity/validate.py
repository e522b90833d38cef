"""Checks of the public similarity functions: ValueError naming the offending shapes or values.

Public functions validate with these; the private computations after them assume valid input.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence

import numpy as np

from .arrays import array_namespace

KERNELS = ("linear", "rbf")
CENTERINGS = ("unit", "global")
PRECISIONS = ("float32", "float64")

# The library's estimator unless told otherwise, in every function: the debiased HSIC of Song et
# al. (2012), as Nguyen, Raghu and Kornblith (2021) use it. Its CKA is near 0 for unrelated
# representations however many features they have; the biased estimator's is not (two
# independent random arrays of 256 examples and 16,384 features give about 0.98: its HSIC is
# dominated by the Grams' diagonals). The biased estimator (``debiased=False``) is Kornblith et
# al.'s (2019) and the thesis' number, the one to compare with published values.
DEBIASED = True


class PairingWarning(UserWarning):
    """Inputs whose examples are paired by position although one of them labels its examples."""


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
            + (" (debiased is the default: set debiased=False)" if debiased else "")
        )
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; expected one of {PRECISIONS}")


def check_memory_budget(memory_budget) -> int:
    """``memory_budget`` as bytes: a positive integer, or ``ValueError`` naming it."""
    if isinstance(memory_budget, bool) or not isinstance(memory_budget, int | np.integer):
        raise ValueError(
            f"memory_budget must be a number of bytes (a positive integer, e.g. 2**30), got "
            f"{memory_budget!r} ({type(memory_budget).__name__})"
        )
    if memory_budget < 1:
        raise ValueError(f"memory_budget must be a positive number of bytes, got {memory_budget}")
    return int(memory_budget)


MIN_RESAMPLES, MAX_RESAMPLES = 100, 100_000  # of a bootstrap interval


def check_confidence(confidence: float) -> float:
    if isinstance(confidence, bool) or not 0.5 < float(confidence) < 1.0:
        raise ValueError(f"confidence must lie in (0.5, 1), got {confidence!r}")
    return float(confidence)


def check_resamples(resamples: int) -> int:
    if isinstance(resamples, bool) or not isinstance(resamples, int | np.integer):
        raise TypeError(f"resamples must be an integer, got {resamples!r}")
    if not MIN_RESAMPLES <= resamples <= MAX_RESAMPLES:
        raise ValueError(
            f"resamples must lie in {MIN_RESAMPLES}..{MAX_RESAMPLES}, got {resamples}: fewer "
            "cannot place a 95% interval's ends"
        )
    return int(resamples)


def check_seed(seed, what: str = "seed"):
    """``seed`` as :func:`numpy.random.default_rng` takes it, or ``ValueError`` naming ``what``
    and saying what is accepted (a non-negative integer or a sequence of them)."""
    try:
        np.random.default_rng(seed)
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"{what} must be a non-negative integer or a sequence of them (or None, or a "
            f"numpy SeedSequence), got {seed!r}: {err}"
        ) from err
    return seed


def _items(arrays, what: str) -> list[tuple[str, object]]:
    if isinstance(arrays, Mapping):
        return [(str(k), v) for k, v in arrays.items()]
    return [(f"{what}[{i}]", a) for i, a in enumerate(arrays)]


def _labels(v):
    """The labels of the examples of a pandas object (its index), or None for an array."""
    index = getattr(v, "index", None)
    return index if index is not None and hasattr(v, "loc") else None


def align_examples(xs: Arrays, ys: Arrays | None = None) -> tuple[Arrays, Arrays | None]:
    """``xs`` and ``ys`` with the rows of every pandas object among them (a DataFrame or Series,
    whose index labels its examples) put in the order of the first one's index, so that examples
    are paired by label, not by position. ``ValueError`` naming both inputs when their indexes
    hold different labels or repeat one. Arrays without labels are left as they are."""
    named = [(what, k, v) for what, group in (("xs", xs), ("ys", ys)) if group is not None
             and not hasattr(group, "shape") for k, v in _items(group, what)]  # fmt: skip
    labelled = [(k, _labels(v)) for _, k, v in named if _labels(v) is not None]
    plain = [k for _, k, v in named if _labels(v) is None]
    if labelled and plain:
        warnings.warn(
            f"{labelled[0][0]} is labelled by its index, {plain[0]} is a plain array: their "
            "examples are paired by position, the index ignored; pass both as pandas objects "
            "to pair them by label, or both as arrays",
            PairingWarning,
            stacklevel=3,
        )
    if len(labelled) < 2:
        return xs, ys
    first, index = labelled[0]
    for k, labels in labelled:
        if not labels.is_unique:
            repeated = list(labels[labels.duplicated()][:3])
            raise ValueError(f"{k}: its index repeats the labels {repeated}; each example needs "
                             "one label to be paired with the other inputs' examples")  # fmt: skip
        if len(labels) != len(index) or not labels.isin(index).all():
            missing = list(index.difference(labels)[:3]) or list(labels.difference(index)[:3])
            raise ValueError(
                f"{k} and {first} label different examples (their indexes differ, e.g. "
                f"{missing}): CKA pairs the examples of its inputs by their index labels"
            )

    def aligned(group):
        if group is None or hasattr(group, "shape"):
            return group
        out = [(k, v.loc[index] if _labels(v) is not None else v) for k, v in _items(group, "")]
        return dict(out) if isinstance(group, Mapping) else [v for _, v in out]

    return aligned(xs), aligned(ys)


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
    named, keys = {}, {}
    for k, v in items:
        if str(k) in keys:
            raise ValueError(
                f"{what}: the keys {keys[str(k)]!r} and {k!r} both read {str(k)!r}; results are "
                "named by the keys' text, so one array would hide the other: give each its own name"
            )
        keys[str(k)] = k
        if not hasattr(v, "shape"):  # a nested list of numbers is not a list of groups
            raise ValueError(
                f"{what}: {k} is a {type(v).__name__}, not an array: pass a sequence or mapping "
                "of arrays (n, ...), e.g. [np.asarray(x)], not x.tolist()"
            )
        if isinstance(v, np.ma.MaskedArray):
            masked = int(np.ma.count_masked(v))
            if masked:
                raise ValueError(
                    f"{what}: {k} is a masked array with {masked} masked values; CKA needs every "
                    "value of every example: drop the examples with masked values from all "
                    "inputs (or fill them) first"
                )
            v = np.ma.getdata(v)
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
