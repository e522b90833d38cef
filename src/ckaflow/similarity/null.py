"""A permutation null for CKA: what would unrelated representations of these exact arrays give?

Shuffling the examples of one side breaks the pairing and keeps everything else: each side's
Gram matrix, its width, depth and spectrum. The CKA of x with a shuffled y is a draw from the
null of "x and y are unrelated"; its upper quantile is the bar a CKA must clear before it says
anything (similarity scores grow with width and depth by themselves: Gröger, Wen and Brbić
2026 calibrate any score against such a null). Debiased CKA's null sits near 0; the biased
estimator's does not, and can sit near 1 for wide layers and few examples.

With A and B the stored centred (or, debiased, U-centred) Grams, HSIC is proportional to
<A, B> for every estimator (:mod:`.bootstrap`), and centring commutes with a permutation P of the
examples, so each null draw costs one inner product of n x n matrices:

    CKA_P = <A, P B P'> / sqrt(<A, A> <B, B>)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .arrays import to_numpy
from .cka import packed_grams
from .hsic import _full_index, triu_indices, unpack
from .moments import DEFAULT_MEMORY_BUDGET
from .slices import named_moments
from .undefined import warn_nan
from .validate import (
    DEBIASED,
    align_examples,
    check_arrays,
    check_options,
    check_seed,
    named_arrays,
)

MIN_PERMUTATIONS, MAX_PERMUTATIONS = 19, 1_000_000


@dataclass(frozen=True)
class NullResult:
    """CKA of x and y against its permutation null.

    ``null_quantile``: the null's ``quantile`` (default 0.95) quantile; ``p_value``: (1 + number
    of null draws >= cka) / (1 + permutations); ``calibrated``: cka - null_quantile, the excess
    over the bar (> 0: the pair is more alike than unrelated arrays of these shapes would be).
    """

    cka: float
    null_quantile: float
    p_value: float
    null: np.ndarray
    quantile: float

    @property
    def calibrated(self) -> float:
        return self.cka - self.null_quantile

    @property
    def exceeds_null(self) -> bool:
        return bool(self.cka > self.null_quantile)


def cka_null(
    x,
    y,
    *,
    permutations: int = 1000,
    seed=0,
    quantile: float = 0.95,
    kernel: str = "linear",
    sigma_frac: float = 1.0,
    debiased: bool = DEBIASED,
    centering: str = "unit",
    precision: str = "float32",
    batch: int = 64,
) -> NullResult:
    """CKA between x (n, ...) and y (n, ...), the distribution of the CKA of x with y's examples
    shuffled (``permutations`` draws from ``seed``), its ``quantile`` and the p-value."""
    check_options(kernel, sigma_frac, debiased, centering, precision)
    if isinstance(permutations, bool) or not isinstance(permutations, int | np.integer):
        raise ValueError(f"permutations must be an integer, got {permutations!r}")
    if not MIN_PERMUTATIONS <= permutations <= MAX_PERMUTATIONS:
        raise ValueError(
            f"permutations must lie in {MIN_PERMUTATIONS}..{MAX_PERMUTATIONS}, got "
            f"{permutations}: fewer cannot give a p-value below 0.05"
        )
    if isinstance(quantile, bool) or not 0.5 <= float(quantile) < 1.0:
        raise ValueError(f"quantile must lie in [0.5, 1), got {quantile!r}")
    rng = np.random.default_rng(check_seed(seed))
    named = named_arrays(align_examples({"x": x, "y": y})[0], "inputs")
    n = check_arrays(named, debiased)
    m = named_moments(named, precision=precision, memory_budget=DEFAULT_MEMORY_BUDGET,
                      global_terms=centering == "global")  # fmt: skip
    packed = packed_grams(
        m, kernel=kernel, sigma_frac=sigma_frac, debiased=debiased, centering=centering
    )
    observed, draws = permutation_null(
        to_numpy(packed), np.array([[0, 1]]), n=n, permutations=permutations, rng=rng,
        batch=batch,
    )  # fmt: skip
    observed, null = float(observed[0]), draws[:, 0]
    if np.isnan(observed):  # a side that does not vary: no CKA, no null
        warn_nan("cka_null", "the CKA, its null quantile and p-value are NaN")
        nan = float("nan")
        return NullResult(nan, nan, nan, null, float(quantile))
    exceed = int(np.sum(null >= observed))
    return NullResult(
        cka=observed,
        null_quantile=float(np.quantile(null, quantile)),
        p_value=(1 + exceed) / (1 + permutations),
        null=null,
        quantile=float(quantile),
    )


def permutation_null(
    packed: np.ndarray, pairs: np.ndarray, *, n: int, permutations: int, rng, batch: int = 64
) -> tuple[np.ndarray, np.ndarray]:
    """CKA of each pair of ``packed`` centred Grams ((g, n(n+1)/2), as the Gram files store
    them) and ``permutations`` null draws of each, the second group's examples shuffled by the
    same permutations for every pair: (observed (P,), null (permutations, P)); NaN where a group
    does not vary. ``rng``: a numpy Generator; ``batch`` pairs are held at a time
    (2 x batch x n^2 floats)."""
    full = unpack(np.asarray(packed, dtype=np.float64), n)  # (g, n, n)
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    perms = np.argsort(rng.random((permutations, n)), axis=1)  # uniform permutations
    norms = np.sqrt(np.einsum("gij,gij->g", full, full))
    denom = norms[pairs[:, 0]] * norms[pairs[:, 1]]
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(denom > 0, 1.0 / np.where(denom > 0, denom, 1.0), np.nan)
    observed = np.empty(len(pairs))
    null = np.empty((permutations, len(pairs)))
    for start in range(0, len(pairs), batch):
        chunk = slice(start, start + batch)
        a, b = full[pairs[chunk, 0]], full[pairs[chunk, 1]]  # (k, n, n)
        observed[chunk] = np.einsum("kij,kij->k", a, b) * scale[chunk]
        for d, p in enumerate(perms):
            shuffled = b[:, p[:, None], p[None, :]]  # P B P'
            null[d, chunk] = np.einsum("kij,kij->k", a, shuffled) * scale[chunk]
    return observed, null


def shuffled_packed_index(n: int, perm: np.ndarray) -> np.ndarray:
    """(n(n+1)/2,) where each packed entry of P B P' sits in packed B: entry (r, c) of the
    shuffled Gram is B[perm[r], perm[c]]. A permutation keeps diagonal entries on the diagonal,
    so the packed sqrt(2) weights stay right: ``packed_b[:, index]`` is P B P' packed."""
    iu, ju = triu_indices(n)
    return _full_index(n).reshape(n, n)[perm[iu], perm[ju]]


def permutation_null_matrix(
    packed_a: np.ndarray, packed_b: np.ndarray, *, n: int, perms: np.ndarray
) -> np.ndarray:
    """The null CKA of every group of ``packed_a`` (ga, m) with every group of ``packed_b``
    (gb, m), the b side's examples shuffled by each row of ``perms`` (d, n): (d, ga, gb), one
    matrix product per permutation (the packed inner product is the Frobenius one)."""
    a = np.asarray(packed_a, dtype=np.float64)
    b = np.asarray(packed_b, dtype=np.float64)
    norm_a = np.sqrt(np.einsum("gm,gm->g", a, a))
    norm_b = np.sqrt(np.einsum("gm,gm->g", b, b))
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = 1.0 / np.outer(norm_a, norm_b)
    scale[~np.isfinite(scale)] = np.nan
    out = np.empty((len(perms), a.shape[0], b.shape[0]))
    for d, perm in enumerate(perms):
        out[d] = (a @ b[:, shuffled_packed_index(n, perm)].T) * scale
    return out


__all__ = [
    "NullResult",
    "cka_null",
    "permutation_null",
    "permutation_null_matrix",
    "shuffled_packed_index",
]
