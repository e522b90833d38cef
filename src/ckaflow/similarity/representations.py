"""Two representations of the same examples, as the measures beside CKA take them.

The measures of :mod:`.cca`, :mod:`.procrustes`, :mod:`.linreg` and :mod:`.rsa` check their
inputs as :func:`~ckaflow.similarity.cka` does (:mod:`.validate`: matching n, real dtypes, one
array library; pandas objects paired by their index; (n, ...) flattened into units) and then
compute in NumPy float64 on the host. Every one of them is unchanged by scaling a representation,
so each is first divided by a power of two (exact) that brings its largest value near 1: nothing
overflows or falls to subnormals, whatever the scale of the activations.

When a measure is undefined for an input that carries no information (a representation that
does not vary) it returns NaN with an :class:`UndefinedMeasureWarning` naming the measure, the
input and the reason, as CKA does; a misuse the caller must change (too few examples, CCA on
more features than examples) raises ``ValueError``.
"""

from __future__ import annotations

import math
import sys
import warnings
from dataclasses import dataclass

import numpy as np

from .arrays import numpy_namespace, to_numpy
from .precision import ROUNDING, rounding_floor, working_dtype
from .validate import align_examples, check_arrays, named_arrays

_EPS64 = float(np.finfo(np.float64).eps)


class UndefinedMeasureWarning(RuntimeWarning):
    """A measure is undefined for an input (NaN), or takes a stated reduction of it."""


def warn_measure(measure: str, message: str) -> None:
    """Warn that ``measure``: ``message``, pointing at the caller's line outside the engine."""
    frame, level = sys._getframe(), 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith(__package__ + "."):
        frame, level = frame.f_back, level + 1
    warnings.warn(f"{measure}: {message}", UndefinedMeasureWarning, stacklevel=level)


def undefined(measure: str, name: str, reason: str) -> float:
    """NaN, after warning that ``measure`` is undefined for input ``name`` because ``reason``."""
    warn_measure(measure, f"undefined for {name}: {reason}; the result is NaN")
    return math.nan


@dataclass(frozen=True)
class Representation:
    """One validated input: ``values`` (n, p) float64 on the host, divided by a power of two so
    that the largest is about 1; ``dtype`` the NumPy dtype whose resolution the input's values
    have (float32 activations: eps 1.2e-7; float64 or integer data: 2.2e-16); ``shape`` as given.
    """

    name: str
    values: np.ndarray
    dtype: np.dtype
    shape: tuple

    @property
    def n(self) -> int:
        return self.values.shape[0]

    @property
    def eps(self) -> float:
        return float(np.finfo(self.dtype).eps)

    def centred(self) -> tuple[np.ndarray, np.ndarray]:
        """xc (n, p), each unit's mean over the examples removed, and (p,) bool: the units that
        do not vary, whose columns of xc are set to 0.

        A unit does not vary when its spread is within the rounding of its own values,
        (16 eps)^2 n mu^2: the rule CKA applies to a group (``kernels.constant_groups``).
        """
        x = self.values
        mu = x.mean(axis=0)  # (p,)
        xc = x - mu
        xc -= xc.mean(axis=0)  # a second pass removes what rounding left of a large mean
        floor = rounding_floor(numpy_namespace(), self.dtype, self.n, mu * mu)
        constant = np.sum(xc * xc, axis=0) <= floor
        xc[:, constant] = 0.0
        return xc, constant

    def varying_units(self) -> tuple[np.ndarray, int]:
        """The centred units that vary, (n, p'), and how many do not (p - p')."""
        xc, constant = self.centred()
        return xc[:, ~constant], int(constant.sum())

    def basis(self, *, equilibrate: bool) -> tuple[np.ndarray, np.ndarray]:
        """An orthonormal basis of the span of the centred units, from their SVD: U (n, r) and
        the singular values s (r,), r the numerical rank: directions within the rounding of the
        input's values (16 ulps) or of the SVD (max(n, p) float64 ulps of the largest) are not
        directions of the data. ``equilibrate`` (for measures that do not depend on the units'
        scales: CCA, the predictors of a regression): each unit scaled to norm 1 first, so that
        units of small spread are not lost below the rounding of large ones."""
        xc, constant = self.centred()
        scale = np.ones(xc.shape[1])
        if equilibrate:
            scale[~constant] = np.linalg.norm(xc[:, ~constant], axis=0)
        xc /= scale
        u, s = left_singular(xc)
        if s.size == 0 or s[0] == 0.0:
            return u[:, :0], s[:0]
        rounding = (
            ROUNDING * self.eps * np.linalg.norm(self.values[:, ~constant] / scale[~constant])
        )
        r = int(np.sum(s > max(rounding, s[0] * max(xc.shape) * _EPS64)))
        return u[:, :r], s[:r]


def left_singular(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """U (n, k) and s (k,) of a (n, p) = U diag(s) V', k = min(n, p), without V. A wide a goes
    through the QR of a' (a' = Q R, so a = R' Q', and R' (n, n) has a's U and s): five times
    faster than the SVD of a at n = 200, p = 20,000, and as accurate (QR is backward stable)."""
    if a.shape[1] > a.shape[0]:
        a = np.linalg.qr(a.T, mode="r").T  # (n, n)
    u, s, _ = np.linalg.svd(a, full_matrices=False)
    return u, s


def representations(measure: str, x, y, min_n: int) -> tuple[Representation, Representation]:
    """x and y checked as CKA checks its inputs, then as :class:`Representation`: ``ValueError``
    naming the measure and the offending shapes or values."""
    xs, ys = align_examples({"x": x}, {"y": y})
    named = named_arrays(xs, measure) | named_arrays(ys, measure)
    shapes = {k: tuple(v.shape) for k, v in named.items()}
    ns = {s[0] for s in shapes.values() if len(s) >= 1}
    # Before check_arrays, whose minimum is CKA's: this measure's own minimum, named.
    if len(ns) == 1 and all(len(s) >= 1 for s in shapes.values()) and min(ns) < min_n:
        raise ValueError(
            f"{measure} needs n >= {min_n} examples, got n = {min(ns)} (shapes {shapes})"
        )
    check_arrays(named, debiased=False)
    return tuple(_representation(measure, k, v) for k, v in named.items())


def _representation(measure: str, name: str, v) -> Representation:
    a = to_numpy(v)
    dtype = working_dtype(numpy_namespace(), a.dtype)
    a = np.asarray(a, dtype=np.float64).reshape(a.shape[0], -1)
    if not np.isfinite(a).all():
        bad = int(np.sum(~np.isfinite(a)))
        raise ValueError(f"{measure}: {name} (shape {tuple(v.shape)}) has {bad} NaN or inf values")
    amax = float(np.max(np.abs(a)))
    # Scale-free measures: a power of two (exact) keeps every sum below float64's overflow.
    a = np.ldexp(a, -math.frexp(amax)[1]) if amax > 0 else a
    return Representation(name, a, np.dtype(dtype), tuple(v.shape))


STATISTICS = ("r2", "rho")


def check_statistic(measure: str, statistic) -> str:
    if statistic not in STATISTICS:
        raise ValueError(
            f"{measure}: unknown statistic {statistic!r}; expected one of {STATISTICS}"
        )
    return statistic


def check_flag(measure: str, name: str, value) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"{measure}: {name} must be True or False, got {value!r}")
    return bool(value)
