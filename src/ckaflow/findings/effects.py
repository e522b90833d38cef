"""Effects with intervals, and the verdict they give.

An effect is a statistic of several CKA values (a difference, a mean over seeds and test sets).
Each CKA value is carried as one vector: its estimate, then its bootstrap replicates
(``results/cka_intervals.parquet``). Any arithmetic on the vectors computes the statistic on the
full test set and on every resample at once, and :func:`summarise` turns the result into an
estimate with its bootstrap interval. Pairs on one test set share their resamples (so their
differences are paired); the two test sets' resamples are independent, and combining replicate
b of one with replicate b of the other is a draw from the joint bootstrap distribution.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..similarity import bootstrap_interval
from ..similarity.seeds import seed_image_interval, t_quantile

SUPPORTED, CONTRADICTED, INCONCLUSIVE = "supported", "contradicted", "inconclusive"


@dataclass(frozen=True)
class Effect:
    """A pooled effect: its estimate, interval, the spread of the cases it pools (sd over seeds
    and test sets), how many cases point the claimed way, and the method of the interval."""

    estimate: float
    low: float
    high: float
    spread: float
    positive: int
    cases: int
    confidence: float
    method: str = "bootstrap"
    # With seeds: the interval above is over seeds and images together; this is the image-only
    # one (what the test images alone can resolve), NaN otherwise.
    image_low: float = float("nan")
    image_high: float = float("nan")

    @property
    def verdict(self) -> str:
        """Supported if the interval lies above 0, contradicted if below, else inconclusive."""
        if self.low > 0:
            return SUPPORTED
        if self.high < 0:
            return CONTRADICTED
        return INCONCLUSIVE

    @property
    def image_verdict(self) -> str | None:
        """The verdict the image-only interval gives (None without one)."""
        if np.isnan(self.image_low):
            return None
        if self.image_low > 0:
            return SUPPORTED
        return CONTRADICTED if self.image_high < 0 else INCONCLUSIVE

    def text(self, digits: int = 4) -> str:
        f = f"{{:+.{digits}f}}"
        out = (
            f"{f.format(self.estimate)} [{self.confidence:.0%} {self.method} interval "
            f"{f.format(self.low)} to {f.format(self.high)}]"
        )
        if not np.isnan(self.image_low):
            out += f" (images only: {f.format(self.image_low)} to {f.format(self.image_high)})"
        return out

    def spread_text(self, digits: int = 4) -> str:
        return (
            f"sd over the {self.cases} cases {self.spread:.{digits}f}; "
            f"{self.positive} of {self.cases} positive"
        )


class Values:
    """The CKA vectors (estimate, *replicates) of one estimator's rows of the interval table."""

    def __init__(self, table: pd.DataFrame):
        if table.empty:
            raise ValueError("no intervals for this estimator")
        self.confidence = float(table["confidence"].iloc[0])
        self._rows = {
            (r.a_model, r.a_group, r.b_model, r.b_group, r.test_set): np.concatenate(
                [[r.cka], r.replicates]
            )
            for r in table.itertuples()
        }
        has_null = "null_q95" in table
        self._null = {
            (r.a_model, r.a_group, r.b_model, r.b_group, r.test_set): float(r.null_q95)
            for r in table.itertuples()
            if has_null
        }

    def calibrated(self, a: str, b: str, group: str, test_set: str) -> float:
        """CKA of (a, b) on ``group`` and ``test_set`` minus its permutation null's 95th
        percentile (NaN without a null)."""
        null = self._null.get((a, group, b, group, test_set))
        null = self._null.get((b, group, a, group, test_set)) if null is None else null
        return float(self(a, b, group, test_set)[0] - null) if null is not None else np.nan

    def __call__(
        self, a: str, b: str, group: str, test_set: str, b_group: str | None = None
    ) -> np.ndarray:
        """CKA of (a, b) on ``group`` (of both, or ``group`` of a and ``b_group`` of b) and
        ``test_set`` as (1 + B,); CKA is symmetric."""
        b_group = group if b_group is None else b_group
        v = self._rows.get((a, group, b, b_group, test_set))
        v = self._rows.get((b, b_group, a, group, test_set)) if v is None else v
        if v is None:
            where = group if b_group == group else f"{group} vs {b_group}"
            raise KeyError(f"no interval for {a} vs {b}, {where} on {test_set}")
        return v


def summarise(cases: list[np.ndarray], confidence: float, seeds: list | None = None) -> Effect:
    """The mean of ``cases`` (each (1 + B,)) with its basic bootstrap interval. A case that is
    undefined (NaN: a group that does not vary) is left out of the mean, on the full sample and
    on each resample alike; ``cases`` counts the defined ones. With ``seeds`` (the seed, or the
    pair of seeds, of each case) the interval is over seeds and images together
    (:func:`~ckaflow.similarity.seeds.seed_image_interval`: each seed's mean case, then the
    seeds), the image-only one kept beside it."""
    if seeds is not None:
        return _over_seeds(cases, confidence, seeds)
    c = np.vstack(cases)
    defined = ~np.isnan(c[:, 0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: NaN
        pooled = np.nanmean(c[defined], axis=0) if defined.any() else np.full(c.shape[1], np.nan)
    low, high = bootstrap_interval(pooled[0], pooled[1:], confidence)
    est = c[defined, 0]
    return Effect(
        float(pooled[0]),
        float(low),
        float(high),
        float(np.std(est, ddof=1)) if len(est) > 1 else 0.0,
        int((est > 0).sum()),
        len(est),
        confidence,
    )


def _per_seed(cases: list[np.ndarray], seeds: list) -> dict:
    """{seed label: the mean of its cases (1 + B,)}, undefined cases left out."""
    if len(seeds) != len(cases):
        raise ValueError(f"{len(seeds)} seed labels for {len(cases)} cases")
    c = np.vstack(cases)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a seed with no defined case: NaN
        return {s: np.nanmean(c[[s == x for x in seeds]], axis=0) for s in dict.fromkeys(seeds)}


def _seed_effect(per_seed: dict, confidence: float, image: Effect) -> Effect:
    """``image`` (the image-only effect) with its interval over seeds and images instead,
    the image-only interval kept beside it."""
    both = seed_image_interval(np.vstack(list(per_seed.values())), confidence)
    # a label "1-2" is a pair of seeds (claim (c)'s unit), a number one seed
    unit = "seed pairs" if all(isinstance(s, str) for s in per_seed) else "seeds"
    if not both.seeds_covered:
        one = "seed pair" if unit == "seed pairs" else "seed"
        return dataclasses.replace(
            image, method=f"bootstrap over images (one {one}: seeds not covered)"
        )
    return dataclasses.replace(
        image,
        estimate=both.estimate,
        low=both.low,
        high=both.high,
        method=f"seeds-and-images ({both.seeds} {unit})",
        image_low=image.low,
        image_high=image.high,
    )


def _over_seeds(cases: list[np.ndarray], confidence: float, seeds: list) -> Effect:
    return _seed_effect(_per_seed(cases, seeds), confidence, summarise(cases, confidence))


def difference(
    effect: list[np.ndarray],
    baseline: list[np.ndarray],
    confidence: float,
    seeds: list | None = None,
    baseline_seeds: list | None = None,
) -> Effect:
    """The pooled ``effect`` minus the pooled ``baseline`` (vectors on the same resamples); with
    ``seeds`` (and ``baseline_seeds``, default the same labels) over seeds and images: per seed,
    its effect minus its baseline."""
    image = _image_difference(effect, baseline, confidence)
    if seeds is None:
        return image
    per_e = _per_seed(effect, seeds)
    per_b = _per_seed(baseline, seeds if baseline_seeds is None else baseline_seeds)
    gap = {s: per_e[s] - per_b[s] for s in per_e if s in per_b}
    return _seed_effect(gap, confidence, image) if gap else image


def _image_difference(effect, baseline, confidence: float) -> Effect:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        gap = np.nanmean(np.vstack(effect), axis=0) - np.nanmean(np.vstack(baseline), axis=0)
    return summarise([gap], confidence)


def seed_interval(a: list[float], b: list[float] | None, confidence: float) -> Effect:
    """mean(a) - mean(b) (or mean(a)) over seeds with Welch's t interval: for the effects that
    no test-set resample reaches (training steps, accuracy gaps), the seeds are the sample."""
    a = np.asarray(a, dtype=np.float64)
    b = None if b is None else np.asarray(b, dtype=np.float64)
    est = a.mean() - (0.0 if b is None else b.mean())
    va = a.var(ddof=1) / len(a) if len(a) > 1 else 0.0
    vb = 0.0 if b is None else (b.var(ddof=1) / len(b) if len(b) > 1 else 0.0)
    se = np.sqrt(va + vb)
    if se > 0:
        dfs = [(va, len(a))] + ([] if b is None else [(vb, len(b))])
        df = se**4 / sum(v**2 / (k - 1) for v, k in dfs if k > 1 and v > 0)
        half = t_quantile(confidence, df) * se
    else:
        half = 0.0 if len(a) > 1 else np.inf
    above = a > (0.0 if b is None else b.mean())  # one-sample: a > 0; two: a above mean(b)
    return Effect(
        float(est),
        float(est - half),
        float(est + half),
        float(a.std(ddof=1)) if len(a) > 1 else 0.0,
        int(above.sum()),
        len(a),
        confidence,
        method="Welch t over seeds",
    )
