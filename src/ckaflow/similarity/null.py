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
from .hsic import unpack
from .moments import DEFAULT_MEMORY_BUDGET
from .slices import named_moments
from .validate import align_examples, check_arrays, check_options, check_seed, named_arrays

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
    debiased: bool = False,
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
    a, b = to_numpy(unpack(packed, n))  # (n, n) each, float64
    norm = np.sqrt(np.sum(a * a) * np.sum(b * b))
    if not norm > 0:  # a side that does not vary: no CKA, no null
        nan = float("nan")
        return NullResult(nan, nan, nan, np.full(permutations, np.nan), float(quantile))
    observed = float(np.sum(a * b) / norm)
    null = np.empty(permutations)
    for start in range(0, permutations, batch):
        k = min(batch, permutations - start)
        p = np.argsort(rng.random((k, n)), axis=1)  # k uniform permutations
        shuffled = b[p[:, :, None], p[:, None, :]]  # (k, n, n): P B P'
        null[start : start + k] = np.einsum("ij,kij->k", a, shuffled) / norm
    exceed = int(np.sum(null >= observed))
    return NullResult(
        cka=observed,
        null_quantile=float(np.quantile(null, quantile)),
        p_value=(1 + exceed) / (1 + permutations),
        null=null,
        quantile=float(quantile),
    )


__all__ = ["NullResult", "cka_null"]
