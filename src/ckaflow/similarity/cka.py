"""Centered Kernel Alignment (Kornblith et al. 2019) for any activations.

    CKA(K, L) = HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L))

``x`` is (n, ...): n examples, everything after the first axis flattened into units. Options:

* ``kernel``: ``"linear"`` (K = Xc Xc') or ``"rbf"`` (sigma = sigma_frac * sqrt(median squared
  distance), see :mod:`.kernels`).
* ``debiased``: the unbiased HSIC estimator of Song et al. (2012) instead of the biased one. With
  n = 200 and tens of thousands of units the biased estimator is pulled towards 1 even for
  unrelated representations; the debiased one is not.
* ``centering``: ``"unit"`` (standard: each unit's mean over the examples is removed) or
  ``"global"`` (the source thesis: the mean of *all* entries is removed and the Gram is not
  centred again; linear kernel, biased estimator only; not standard CKA).

A group whose activations do not vary over the examples has undefined CKA: NaN, with an
:class:`UndefinedCKAWarning` naming the group. Never 0, never an exception.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .arrays import array_namespace, as_float64, errstate, no_tf32, scalars, to_numpy
from .hsic import hsic_matrix, hsic_scale, packed_centred, self_hsic
from .kernels import constant_groups, gram_matrices
from .moments import DEFAULT_MEMORY_BUDGET, Moments
from .precision import rounding_floor, scale_exponent, working_dtype
from .slices import named_moments
from .undefined import warn_undefined
from .validate import (
    DEBIASED,
    Arrays,
    align_examples,
    check_arrays,
    check_memory_budget,
    check_options,
    named_arrays,
)


@dataclass(frozen=True)
class CKAResult:
    """CKA of every pair with the raw HSIC components it came from.

    cka, xy : (len(xs), len(ys))    xx : (len(xs),)    yy : (len(ys),)
    Arrays of the inputs' namespace, on their device (float64).
    """

    cka: object
    xy: object
    xx: object
    yy: object
    method: str  # "gram" or "feature"

    def on_host(self) -> CKAResult:
        """The same result as NumPy arrays."""
        cka, xy, xx, yy = (to_numpy(a) for a in (self.cka, self.xy, self.xx, self.yy))
        return CKAResult(cka, xy, xx, yy, self.method)


def cka(
    x,
    y,
    *,
    kernel: str = "linear",
    sigma_frac: float = 1.0,
    debiased: bool = DEBIASED,
    centering: str = "unit",
    precision: str = "float32",
) -> float:
    """CKA between x (n, ...) and y (n, ...); NaN if either does not vary over the n examples."""
    res = cka_matrix(
        {"x": x},
        {"y": y},
        kernel=kernel,
        sigma_frac=sigma_frac,
        debiased=debiased,
        centering=centering,
        precision=precision,
        components=True,
    )
    return float(res.cka[0, 0])


def cka_matrix(
    xs: Arrays,
    ys: Arrays | None = None,
    *,
    kernel: str = "linear",
    sigma_frac: float = 1.0,
    debiased: bool = DEBIASED,
    centering: str = "unit",
    precision: str = "float32",
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    components: bool = False,
):
    """CKA of every pair (xs[i], ys[j]) -> (len(xs), len(ys)); ``ys=None`` compares xs with itself.

    ``xs`` and ``ys`` are sequences of arrays (n, ...) or mappings name -> array (names appear in
    warnings and errors). Each group's Gram matrix is computed once; all pairs then cost one matrix
    product (or, for the linear biased estimator when units are few, the feature-space form
    ||Xc'Yc||_F^2, whichever the cost model says is cheaper; the numbers are the same).
    ``components=True`` returns a :class:`CKAResult` with the HSIC components as well.

    Arrays of any array API namespace (NumPy, CuPy, PyTorch, ...; all the same one): the result
    is that namespace's, computed on the inputs' device, with float64 sums and TensorFloat-32 off.
    """
    check_options(kernel, sigma_frac, debiased, centering, precision)
    memory_budget = check_memory_budget(memory_budget)
    xs, ys = align_examples(xs, ys)
    named_x = named_arrays(xs, "xs")
    named_y = named_x if ys is None else named_arrays(ys, "ys")
    n = check_arrays(named_x | named_y, debiased)
    with no_tf32(array_namespace(*(named_x | named_y).values())):
        return _cka_matrix(named_x, named_y, ys is None, n, precision, memory_budget, components,
                           dict(kernel=kernel, sigma_frac=sigma_frac, debiased=debiased,
                                centering=centering))  # fmt: skip


def _cka_matrix(named_x, named_y, same, n, precision, memory_budget, components, opts):
    debiased, centering = opts["debiased"], opts["centering"]
    ys = None if same else named_y
    if _feature_space_is_cheaper(named_x, named_y, ys is None, n, **opts):
        xy, xx, yy = _feature_space(named_x, None if ys is None else named_y, precision)
        method = "feature"
    else:
        _check_gram_fits(n, memory_budget, debiased)
        # Channel views of one array (x[..., c]) are gathered in one pass (see .slices).
        budget = dict(
            precision=precision, memory_budget=memory_budget, global_terms=centering == "global"
        )
        a = packed_grams(named_moments(named_x, **budget), **opts)
        b = a if ys is None else packed_grams(named_moments(named_y, **budget), **opts)
        xy = hsic_matrix(a, None if ys is None else b, n=n, debiased=debiased)
        xx = self_hsic(a, n=n, debiased=debiased)
        yy = xx if ys is None else self_hsic(b, n=n, debiased=debiased)
        method = "gram"
    warn_undefined(list(named_x), xx)
    if ys is not None:
        warn_undefined(list(named_y), yy)
    result = CKAResult(cka_from_hsic(xy, xx, yy), xy, xx, yy, method)
    return result if components else result.cka


# n x n float64 arrays one group holds on the Gram path at once: its moments' Gram, the kernel
# and its centred copy (the packed half is smaller).
_GRAMS_PER_GROUP = 3


def _check_gram_fits(n: int, memory_budget: int, debiased: bool) -> None:
    need = _GRAMS_PER_GROUP * 8 * n * n
    if need > memory_budget:
        hint = (
            "minibatch_cka_matrix (the debiased estimator over batches of examples: memory "
            "independent of n)"
            if debiased
            else "minibatch_cka_matrix, or the linear biased estimator on few units (its "
            "feature-space form holds no n x n array)"
        )
        raise ValueError(
            f"n = {n} examples: one group's Gram matrices take {need / 1e6:.3g} MB, more than "
            f"memory_budget = {memory_budget / 1e6:.3g} MB; raise memory_budget or use {hint}"
        )


def packed_grams(
    m: Moments,
    *,
    kernel: str = "linear",
    sigma_frac: float = 1.0,
    debiased: bool = DEBIASED,
    centering: str = "unit",
    out=None,
):
    """The packed centred Gram of every group of ``m``: (g, n(n+1)/2), ready for HSIC products,
    written into ``out`` when given.

    A group that does not vary gives a row of zeros (and so NaN CKA).
    """
    k = gram_matrices(m, kernel=kernel, centering=centering, sigma_frac=sigma_frac)
    packed = packed_centred(k, debiased=debiased, centering=centering, out=out)
    # Undefined CKA (NaN downstream, never a number from noise): a group that does not vary, or
    # an RBF kernel whose median distance is 0 (more than half the examples coincide).
    xp = m.xp
    undefined = constant_groups(m, centering) | ~xp.all(xp.isfinite(packed), axis=1)
    packed[undefined] = 0.0
    return packed


def cka_from_hsic(xy, xx, yy):
    """Normalise HSIC to CKA: xy (a, b) / sqrt(xx (a,) outer yy (b,)); NaN where undefined."""
    xp = array_namespace(xy, xx, yy)
    denom = xp.sqrt(xx[:, None] * yy[None, :])
    with errstate(xp):
        return xp.where(denom > 0.0, xy / xp.where(denom > 0.0, denom, 1.0), xp.nan)


# -- the feature-space form (linear kernel, biased estimator, unit centring) --


def _feature_space_is_cheaper(xs, ys, same, n, *, kernel, debiased, centering, sigma_frac) -> bool:
    if kernel != "linear" or debiased or centering != "unit":
        return False
    px = np.array([math.prod(v.shape[1:]) for v in xs.values()], dtype=float)
    py = px if same else np.array([math.prod(v.shape[1:]) for v in ys.values()], dtype=float)
    gram = n * n * (px.sum() + (0 if same else py.sum())) + n * n / 2 * len(px) * len(py)
    feature = n * (px.sum() * py.sum() + (px**2).sum() + (0 if same else (py**2).sum()))
    return feature < gram


def _centred(name: str, x, precision: str):
    """x (n, p) unit-centred in float64, divided by 2^e (exact) so that its largest value is
    about 1, then rounded to ``precision``: (n, p) and e (float32 products neither overflow nor
    fall to subnormals, whatever the scale of x)."""
    xp = array_namespace(x)
    resolution = working_dtype(xp, x.dtype)  # the Gram form's, for the same rule
    x = as_float64(xp, xp.reshape(x, (x.shape[0], -1)))
    mu = xp.mean(x, axis=0)
    with errstate(xp):  # inf - inf: found just below
        xc = x - mu
        # a second pass removes what rounding left of each mean: ||Xc'Yc|| has no centring of
        # its own to remove it (at x ~ 1e13 the first pass leaves offsets of about 1e-3)
        xc = xc - xp.mean(xc, axis=0)
    amax = float(xp.max(xp.abs(xc)))
    if not math.isfinite(amax):
        bad = int(xp.sum(xp.astype(~xp.isfinite(x), xp.int64)))
        raise ValueError(f"{name} (shape {tuple(x.shape)}) has {bad} NaN or inf values")
    # The Gram form's rule for "does not vary" (kernels.constant_groups), on the same sums.
    if float(xp.sum(xc * xc)) <= rounding_floor(xp, resolution, x.shape[0], float(mu @ mu)):
        xc = xp.zeros_like(xc)
    e = scale_exponent(amax, f"{name} (shape {tuple(x.shape)})")
    return xp.astype(xc * math.ldexp(1.0, -e), getattr(xp, precision)), e


def _sq_frobenius(xp, a) -> float:
    a = as_float64(xp, a)
    return float(xp.sum(a * a))


def _feature_space(xs, ys, precision):
    """HSIC components from ||Xc'Yc||_F^2 / (n-1)^2 (the p x p products are small here),
    computed on the scaled copies and scaled back by 2^(2 ex + 2 ey)."""
    cx = [_centred(k, v, precision) for k, v in xs.items()]
    cy = cx if ys is None else [_centred(k, v, precision) for k, v in ys.items()]
    xp = array_namespace(cx[0][0])
    n = cx[0][0].shape[0]
    scale = hsic_scale(n, debiased=False)

    def sq(a, b, e):
        return math.ldexp(_sq_frobenius(xp, a.T @ b), e) * scale

    xx = [sq(a, a, 4 * e) for a, e in cx]
    yy = xx if ys is None else [sq(b, b, 4 * e) for b, e in cy]
    xy = [[sq(a, b, 2 * (ea + eb)) for b, eb in cy] for a, ea in cx]
    like = cx[0][0]
    return scalars(xp, xy, like), scalars(xp, xx, like), scalars(xp, yy, like)
