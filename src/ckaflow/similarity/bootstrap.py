"""Bootstrap intervals for CKA, from the packed centred Gram matrices already computed.

A resample draws n of the n examples with replacement; it is held as counts w (n,), sum n (how
many times each example was drawn), and the *same* resample serves every group, so that pairs
stay paired and a difference of two CKA values has its own interval. The resampled Gram is
K* = K[idx][:, idx]; its HSIC is computed from w and the stored centred Grams A, B without
building K* (the weighted form):

    T1 = sum_ij w_i w_j A_ij B_ij,    T2 = sum_i w_i (Aw)_i (Bw)_i,    T3 = (w'Aw)(w'Bw)

    biased:    HSIC* = (T1 - 2 T2 / n + T3 / n^2) / (n - 1)^2       = tr(K* H L* H) / (n - 1)^2
    debiased:  HSIC* = (T1 + T3 / ((n - 1)(n - 2)) - 2 T2 / (n - 2)) / (n (n - 3))
    global:    HSIC* = T1 / (n - 1)^2

**Biased.** The stored HKH differs from K by terms a_i + a_j, which centring the resample (H*)
removes: the replicate *equals* the biased CKA of the resampled activations, cka(x[idx], y[idx]).

**Debiased, and duplicates.** The replicate is Song et al.'s (2012) U-statistic applied to
A[idx][:, idx] with A = U(K), the full sample's U-centred Gram (zero diagonal). Two copies of one
example meet at an off-diagonal position of K*, where the resample holds A's zero diagonal: a pair
of copies gets the value of an average pair in the centred space, so it adds nothing, and the
estimator never compares an image with its own copy (plugging K_ii in there would bring back the
bias the estimator removes; zeroing the *raw* K there would pull an RBF kernel's CKA down by
0.2). All HSICs shrink by the same ~1/n (the share of such pairs), which cancels in CKA. The
coverage of the resulting intervals is checked by simulation (tests/test_bootstrap.py).

**RBF.** The bandwidth is the full sample's (it is part of the stored Gram), not re-estimated
per resample. **Global centring** (the thesis' convention) is not re-centred either.

Cost per resample: one product of the pairs' elementwise Gram products (P, m) with the resample's
packed weights w_i w_j (m,), m = n(n+1)/2, plus g n^2 for Aw; memory holds the used groups' n x n
Grams and ``batch`` resamples at a time.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .arrays import array_namespace, as_float64, device, no_tf32, to_numpy
from .cka import packed_grams
from .hsic import hsic_scale, triu_indices, unpack
from .moments import DEFAULT_MEMORY_BUDGET
from .slices import named_moments
from .undefined import warn_nan
from .validate import (
    DEBIASED,
    align_examples,
    check_arrays,
    check_confidence,
    check_options,
    check_resamples,
    check_seed,
    named_arrays,
)

DEFAULT_RESAMPLES = 1000
DEFAULT_CONFIDENCE = 0.95


@dataclass(frozen=True)
class Bootstrap:
    """CKA of P pairs on the full sample and on each of B resamples.

    estimate : (P,)    replicates : (B, P)    NaN where a group does not vary (on that resample).
    """

    estimate: np.ndarray
    replicates: np.ndarray

    def interval(self, confidence: float = DEFAULT_CONFIDENCE) -> tuple[np.ndarray, np.ndarray]:
        """Each pair's interval (:func:`bootstrap_interval`): (low (P,), high (P,))."""
        return bootstrap_interval(self.estimate, self.replicates, confidence)

    def difference(
        self, p: int, q: int, confidence: float = DEFAULT_CONFIDENCE
    ) -> tuple[float, float, float]:
        """CKA of pair ``p`` minus pair ``q`` and its interval (both on the same resamples):
        (difference, low, high)."""
        d = self.estimate[p] - self.estimate[q]
        low, high = bootstrap_interval(d, self.replicates[:, p] - self.replicates[:, q], confidence)
        return float(d), float(low), float(high)


def cka_interval(
    x,
    y,
    *,
    resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed=0,
    kernel: str = "linear",
    sigma_frac: float = 1.0,
    debiased: bool = DEBIASED,
    centering: str = "unit",
    precision: str = "float32",
) -> tuple[float, float, float]:
    """CKA between x (n, ...) and y (n, ...) and its bootstrap interval: (cka, low, high).
    Arrays of any array API namespace, computed on their device."""
    check_options(kernel, sigma_frac, debiased, centering, precision)
    check_resamples(resamples)
    check_confidence(confidence)
    named = named_arrays(align_examples({"x": x, "y": y})[0], "inputs")
    n = check_arrays(named, debiased)
    m = named_moments(
        named,
        precision=precision,
        memory_budget=DEFAULT_MEMORY_BUDGET,
        global_terms=centering == "global",
    )
    packed = packed_grams(
        m, kernel=kernel, sigma_frac=sigma_frac, debiased=debiased, centering=centering
    )
    boot = bootstrap_cka(
        packed, np.array([[0, 1]]), resample_counts(n, resamples, seed), n=n,
        debiased=debiased, centering=centering,
    )  # fmt: skip
    low, high = boot.interval(confidence)
    if np.isnan(boot.estimate[0]):
        warn_nan("cka_interval", "the CKA and its interval are NaN")
    return float(boot.estimate[0]), float(low[0]), float(high[0])


def resample_counts(n: int, resamples: int = DEFAULT_RESAMPLES, seed=0) -> np.ndarray:
    """(resamples, n) int counts: how often each of n examples is drawn in each resample of n
    draws with replacement. ``seed``: anything :func:`numpy.random.default_rng` takes."""
    if n < 2 or resamples < 1:
        raise ValueError(f"need n >= 2 examples and a resample, got n = {n}, {resamples}")
    rng = np.random.default_rng(check_seed(seed))
    return rng.multinomial(n, np.full(n, 1.0 / n), size=resamples)


def bootstrap_cka(
    packed,
    pairs: np.ndarray,
    counts: np.ndarray,
    *,
    n: int,
    debiased: bool = DEBIASED,
    centering: str = "unit",
    batch: int = 128,
) -> Bootstrap:
    """CKA of each pair of groups on the full sample and on every resample.

    packed : (g, n(n+1)/2) packed centred Grams (:func:`~ckaflow.similarity.packed_grams`, or
        the workflow's Gram files), made with the estimator's ``debiased`` and ``centering``;
        an array of any array API namespace, where the products are computed (the result is
        small and comes back to the host as NumPy).
    pairs : (P, 2) int, rows of ``packed`` to compare.
    counts : (B, n) :func:`resample_counts`; each row sums to n.
    """
    kw = dict(n=n, debiased=debiased, centering=centering, batch=batch)
    return bootstrap_of_hsic(*bootstrap_hsic(packed, pairs, counts, **kw))


def bootstrap_hsic(
    packed, pairs, counts, *, n: int, debiased=DEBIASED, centering="unit", batch: int = 128
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`bootstrap_cka`'s HSIC: xy (1 + B, P) of each pair, xx (1 + B, g) of each group,
    on the full sample (row 0) and each resample; ``inverse`` (P, 2): each pair's columns of xx.
    Summed over minibatches, :func:`bootstrap_of_hsic` makes the minibatch CKA's replicates."""
    xp, packed, pairs, counts = _checked(packed, pairs, counts, n)
    used, inverse = np.unique(pairs, return_inverse=True)
    inverse = inverse.reshape(pairs.shape)
    on = device(packed)

    def index(values):
        return xp.asarray(np.asarray(values, dtype=np.int64), device=on)

    # The groups the pairs use (all of them, in order: no copy).
    a = packed if len(used) == packed.shape[0] else xp.take(packed, index(used), axis=0)
    g = a.shape[0]
    both = np.vstack([inverse, np.column_stack([np.arange(g), np.arange(g)])])  # pairs, then selves
    # What every resample shares, made once: each pair's elementwise Gram product (its packed
    # sqrt(2)s make the packed sum the full one) and, for the T2, T3 terms, the full Grams.
    products = _products(xp, a, both, index)
    full = None if centering == "global" else unpack(a, n)  # (g, n, n)
    terms = _Terms(xp, products, full, both, n, debiased, index)
    # The full sample: <A, B> alone, the HSIC products' own formula (T2 and T3 vanish there, up
    # to rounding that is not negligible for a group that barely varies).
    with no_tf32(xp):
        hsic = [terms.hsic(np.ones((1, n)), full_sample=True)]
        for start in range(0, len(counts), batch):
            hsic.append(terms.hsic(counts[start : start + batch].astype(np.float64)))
    hsic = np.vstack([to_numpy(h) for h in hsic])  # (1 + B, P + g)
    return hsic[:, : len(pairs)], hsic[:, len(pairs) :], inverse


def _products(xp, a, both: np.ndarray, index, chunk: int = 64):
    """(P + g, m): the elementwise product of the two rows of ``a`` each row of ``both`` names,
    written ``chunk`` rows at a time (the job then holds the products and one chunk's three
    temporaries, not two more arrays of the products' size)."""
    out = xp.empty((both.shape[0], a.shape[1]), dtype=a.dtype, device=device(a))
    for start in range(0, both.shape[0], chunk):
        rows = both[start : start + chunk]
        left = xp.take(a, index(rows[:, 0]), axis=0)
        out[start : start + len(rows), :] = left * xp.take(a, index(rows[:, 1]), axis=0)
    return out


def bootstrap_of_hsic(xy: np.ndarray, xx: np.ndarray, inverse: np.ndarray) -> Bootstrap:
    """CKA on the full sample and every resample from :func:`bootstrap_hsic` (or its sums)."""
    denom = np.sqrt(xx[:, inverse[:, 0]] * xx[:, inverse[:, 1]])
    with np.errstate(divide="ignore", invalid="ignore"):
        cka = np.where(denom > 0.0, xy / np.where(denom > 0.0, denom, 1.0), np.nan)
    return Bootstrap(cka[0], cka[1:])


def _checked(packed, pairs, counts, n: int):
    """(namespace, packed as float64, pairs (P, 2), counts (B, n)), or ``ValueError``."""
    try:
        xp = array_namespace(packed)
    except TypeError:
        packed = np.asarray(packed)
        xp = array_namespace(packed)
    packed = as_float64(xp, packed)
    pairs = np.asarray(pairs, dtype=np.intp).reshape(-1, 2)
    counts = np.asarray(counts)
    m = n * (n + 1) // 2
    if packed.ndim != 2 or packed.shape[1] != m:
        raise ValueError(f"packed Grams must be (g, {m}) for n = {n}, got {tuple(packed.shape)}")
    if counts.ndim != 2 or counts.shape[1] != n or (counts.sum(axis=1) != n).any():
        raise ValueError(f"counts must be (B, {n}) with rows summing to n, got {counts.shape}")
    if len(pairs) and not (0 <= pairs.min() and pairs.max() < packed.shape[0]):
        raise ValueError(
            f"pairs must index groups 0..{packed.shape[0] - 1}, got {pairs.tolist()[:3]}"
        )
    return xp, packed, pairs, counts


@dataclass(frozen=True)
class _Terms:
    """HSIC of each row pair of ``both`` under resampling weights, in namespace ``xp``."""

    xp: object
    products: object  # (P + g, m)
    full: object  # (g, n, n), or None: the T1 term alone (global centring)
    both: np.ndarray  # (P + g, 2)
    n: int
    debiased: bool
    index: object  # host ints -> an index array of xp on the Grams' device

    def hsic(self, w: np.ndarray, full_sample: bool = False):
        """(b, P + g) under weights w (b, n) on the host; ``full_sample``: T1 alone."""
        xp, n, both = self.xp, self.n, self.both
        iu, ju = triu_indices(n)
        on = device(self.products)
        ww = xp.asarray(w[:, iu] * w[:, ju], device=on)  # (b, m): w_i w_j in packed order
        t1 = xp.matrix_transpose(self.products @ xp.matrix_transpose(ww))  # (b, P + g)
        scale = hsic_scale(n, self.debiased)
        if self.full is None or full_sample:
            return t1 * scale
        wt = xp.asarray(w.T, device=on)  # (n, b)
        aw = self.full @ wt  # (g, n, b)
        waw = aw * wt[None, ...]  # w_i (Aw)_i
        # (b, g, g): sum_i w_i (Aw)_i (Bw)_i of every two groups
        t2_all = xp.permute_dims(waw, (2, 0, 1)) @ xp.permute_dims(aw, (2, 1, 0))
        g = t2_all.shape[1]
        t2 = xp.take(xp.reshape(t2_all, (w.shape[0], g * g)),
                     self.index(both[:, 0] * g + both[:, 1]), axis=1)  # fmt: skip
        s = xp.matrix_transpose(xp.sum(waw, axis=1))  # (b, g): w'Aw
        t3 = xp.take(s, self.index(both[:, 0]), axis=1) * xp.take(s, self.index(both[:, 1]), axis=1)
        if self.debiased:
            return (t1 + t3 / ((n - 1) * (n - 2)) - 2.0 * t2 / (n - 2)) * scale
        return (t1 - 2.0 * t2 / n + t3 / n**2) * scale


def bootstrap_interval(
    estimate: np.ndarray, replicates: np.ndarray, confidence: float = DEFAULT_CONFIDENCE
) -> tuple[np.ndarray, np.ndarray]:
    """The basic bootstrap interval of a statistic: (2 t - q_high, 2 t - q_low), t the estimate
    (...) on the full sample, q the percentile interval of its replicates (B, ...).

    Any statistic of the pairs' CKA works, computed alike on the estimate and on each replicate
    row: a difference of two pairs, a mean over seeds. Basic, not percentile: the biased estimator
    sits above the population CKA, and its replicates above it again by about as much; the
    percentile interval then covers the truth in 63% of simulated trials (10 correlated Gaussian
    units, n = 200), the basic one in 95% (98% and 97% for the debiased estimator). Unlike the
    percentile interval it can reach past 1 when n is small.
    """
    low, high = percentile_interval(replicates, confidence)
    t = np.asarray(estimate, dtype=np.float64)
    return 2.0 * t - high, 2.0 * t - low


def percentile_interval(
    replicates: np.ndarray, confidence: float = DEFAULT_CONFIDENCE
) -> tuple[np.ndarray, np.ndarray]:
    """The (1 - confidence)/2 and (1 + confidence)/2 quantiles of ``replicates`` (B, ...) over
    the resamples, ignoring NaN; NaN where more than 1 - confidence of them are NaN."""
    check_confidence(confidence)
    r = np.asarray(replicates, dtype=np.float64)
    tail = (1.0 - confidence) / 2.0
    undefined = np.isnan(r).mean(axis=0) > 1.0 - confidence
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: NaN, below
        low, high = np.nanquantile(r, [tail, 1.0 - tail], axis=0)
    return np.where(undefined, np.nan, low), np.where(undefined, np.nan, high)
