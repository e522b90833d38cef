"""Intervals over seeds and test images together: would another seed, or other test images,
change the answer?

A statistic pooled over S seeds (instances) is the mean of their values theta_s, each computed
on the same n test images. Two random factors move it: the seeds (theta_s = mu + u_s + ...,
var(u) = sigma_u^2) and the images, whose noise has a part shared by every seed (the same images
for all: sigma_sh^2) and a part of each seed's own (sigma_ind^2):

    var(mean) = sigma_u^2 / S + sigma_sh^2 + sigma_ind^2 / S

The seed-to-seed variance s^2 of the S values estimates (sigma_u^2 + sigma_ind^2); the image
bootstrap of the mean (shared resamples) estimates sigma_sh^2 + sigma_ind^2 / S; adding the two
would count sigma_ind^2 / S twice (the double counting of resampling both factors that
rsatoolbox's dual bootstrap corrects for, Schütt et al. 2023). The image bootstrap of each
seed's deviation from the mean estimates sigma_ind^2 (S - 1) / S, so

    V = s^2 / S + max(V_image(mean) - sigma_ind^2 / S, 0)

and the interval is mean +- t q with t on the Welch-Satterthwaite degrees of freedom of the
seed term (the image term is known to many resamples' precision). With one seed there is no
seed term: the image-only basic bootstrap interval, flagged as not covering seeds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .bootstrap import (
    DEFAULT_CONFIDENCE,
    DEFAULT_RESAMPLES,
    bootstrap_cka,
    bootstrap_interval,
    resample_counts,
)
from .cka import packed_grams
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
    named_arrays,
)


@dataclass(frozen=True)
class SeedImageInterval:
    """A statistic pooled over seeds with its two-factor interval.

    ``seeds_covered`` is False with one seed (the interval is then the image bootstrap's);
    ``seed_variance`` (s^2 / S) and ``image_variance`` (the corrected shared image term) are the
    two parts of the interval's variance; ``df`` the degrees of freedom of its t quantile.
    """

    estimate: float
    low: float
    high: float
    seeds: int
    seeds_covered: bool
    seed_variance: float
    image_variance: float
    df: float
    confidence: float

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


def seed_image_interval(
    values: np.ndarray, confidence: float = DEFAULT_CONFIDENCE
) -> SeedImageInterval:
    """The two-factor interval of the mean over seeds of ``values`` (S, 1 + B): per seed, the
    statistic on the full test set and then on each of B image resamples shared by all seeds
    (pairs stay paired). Seeds whose value is undefined (NaN) are left out."""
    confidence = check_confidence(confidence)
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 2 or v.shape[1] < 3:
        raise ValueError(f"values must be (seeds, 1 + resamples), got shape {v.shape}")
    undefined = np.flatnonzero(np.isnan(v[:, 0]))
    if len(undefined):
        warn_nan(
            "the seed interval",
            f"seed {', '.join(map(str, undefined))} (row of values, pair of "
            f"cka_interval_seeds) left out: {v.shape[0] - len(undefined)} of {v.shape[0]} seeds "
            "remain",
        )
    v = v[~np.isnan(v[:, 0])]
    s = v.shape[0]
    if s == 0:
        nan = float("nan")
        return SeedImageInterval(nan, nan, nan, 0, False, nan, nan, nan, confidence)
    with np.errstate(invalid="ignore"):
        pooled = np.nanmean(v, axis=0)  # (1 + B,)
    estimate = float(pooled[0])
    replicates = pooled[1:][~np.isnan(pooled[1:])]
    if s == 1:
        low, high = bootstrap_interval(estimate, replicates, confidence)
        image = float(np.var(replicates, ddof=1))
        return SeedImageInterval(
            estimate, float(low), float(high), 1, False, 0.0, image, float("inf"), confidence
        )
    seed = float(np.var(v[:, 0], ddof=1)) / s
    reps = v[:, 1:]
    keep = ~np.isnan(reps).any(axis=0)
    reps = reps[:, keep]
    own = float(np.mean(np.var(reps - reps.mean(axis=0), axis=1, ddof=1))) * s / (s - 1)
    image = max(float(np.var(reps.mean(axis=0), ddof=1)) - own / s, 0.0)
    total = seed + image
    df = total**2 / (seed**2 / (s - 1)) if seed > 0 else float("inf")
    half = t_quantile(confidence, df) * np.sqrt(total)
    return SeedImageInterval(
        estimate, estimate - half, estimate + half, s, True, seed, image, float(df), confidence
    )


def cka_interval_seeds(
    pairs,
    *,
    resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed=0,
    kernel: str = "linear",
    sigma_frac: float = 1.0,
    debiased: bool = DEBIASED,
    centering: str = "unit",
    precision: str = "float32",
) -> SeedImageInterval:
    """The mean CKA over seeds and its interval over seeds and test images together.

    ``pairs``: one (x, y) per seed (instance), every array (n, ...) on the same n test images in
    the same order (pandas inputs are paired by their index). Each seed's CKA is computed on
    the full test set and on ``resamples`` image resamples shared by all seeds;
    :func:`seed_image_interval` combines them. With one pair, the image-only interval,
    ``seeds_covered`` False."""
    check_options(kernel, sigma_frac, debiased, centering, precision)
    check_resamples(resamples)
    check_confidence(confidence)
    pairs = list(pairs)
    if not pairs or any(len(p) != 2 for p in pairs):
        raise ValueError("pairs must be one (x, y) per seed, at least one")
    given = {f"{k}[{i}]": a for i, (x, y) in enumerate(pairs) for k, a in (("x", x), ("y", y))}
    arrays = named_arrays(align_examples(given)[0], "pairs")  # pandas: every seed by label
    n = check_arrays(arrays, debiased)
    m = named_moments(arrays, precision=precision, memory_budget=DEFAULT_MEMORY_BUDGET,
                      global_terms=centering == "global")  # fmt: skip
    packed = packed_grams(
        m, kernel=kernel, sigma_frac=sigma_frac, debiased=debiased, centering=centering
    )
    index = np.arange(2 * len(pairs)).reshape(-1, 2)
    boot = bootstrap_cka(packed, index, resample_counts(n, resamples, seed), n=n,
                         debiased=debiased, centering=centering)  # fmt: skip
    values = np.column_stack([boot.estimate, boot.replicates.T])  # (S, 1 + B)
    return seed_image_interval(values, confidence)


__all__ = ["SeedImageInterval", "cka_interval_seeds", "seed_image_interval"]


def t_quantile(confidence: float, df: float) -> float:
    """The two-sided ``confidence`` quantile of Student's t with ``df`` degrees of freedom (the
    normal's at df = inf). scipy.stats is imported here: it takes seconds, and most jobs that
    import this module never ask for a quantile."""
    from scipy import stats

    return float(stats.t.ppf(0.5 + confidence / 2, df))
