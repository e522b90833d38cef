"""Figures at many seeds: every seed drawn up to a few, summarised beyond.

Up to :data:`MAX_SEEDS_DRAWN` seeds per family (a domain's base instances, or one fine-tuned
family) a figure draws every instance or pair of instances, as it always has. With more
(Kornblith et al. train 10 per network), each comparison becomes its mean (a loss curve: its
median) over the seeds' instances or pairs with their range, lowest to highest: a figure of 10
seeds has as many marks and panels as one of 4, and its subtitle says how many seeds and what
the band is.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable

import numpy as np
import pandas as pd
import plotnine as p9

from ..names import parse

# More seeds per family than this and a figure summarises them (mean and min-max band): the
# thesis' 4 seeds (the default study) and every smaller preset draw each seed as before.
MAX_SEEDS_DRAWN = 4


def seeds_per_family(instances: Iterable[str]) -> int:
    """The most seeds any family (``natural``, ``natural-from-synth``) has among ``instances``."""
    seeds: dict[str, set[int]] = {}
    for name in instances:
        inst = parse(name)
        seeds.setdefault(inst.family, set()).add(inst.seed)
    return max(map(len, seeds.values()), default=0)


def summarises(seeds: int) -> bool:
    """Whether a figure of ``seeds`` seeds per family draws their summary, not each seed."""
    return seeds > MAX_SEEDS_DRAWN


def spread(t: pd.DataFrame, by: list[str], value: str = "cka") -> pd.DataFrame:
    """One row per group of ``by``: the mean of ``value`` over the group's rows (named
    ``value``), its lowest and highest (``low``, ``high``) and how many rows are defined
    (``n``). An undefined value (NaN: a dead layer) counts in none of them."""
    g = t.groupby(by, observed=True, sort=False)[value]
    out = g.agg(["mean", "min", "max", "count"]).reset_index()
    return out.rename(columns={"mean": value, "min": "low", "max": "high", "count": "n"})


def ranges(width: float = 0.7, point: p9.aes | None = None) -> list:
    """Each summary row (:func:`spread`) as a bar from ``low`` to ``high`` with a point at the
    mean (``point``: its further aesthetics), the groups of one x dodged side by side over
    ``width``."""
    dodge = p9.position_dodge(width=width)
    size = {} if point is not None and "size" in point else {"size": 2}
    return [
        p9.geom_linerange(p9.aes(ymin="low", ymax="high"), position=dodge, size=1.1, alpha=0.45),
        p9.geom_point(point, position=dodge, **size),
    ]


def bands(colour: str, points: bool = True) -> list:
    """Each summary row (:func:`spread`) on a line through the means (with ``points``), in a
    band from ``low`` to ``high`` filled by ``colour``'s column."""
    return [
        p9.geom_ribbon(p9.aes(ymin="low", ymax="high", fill=colour), alpha=0.18, colour="none"),
        p9.geom_line(size=0.8),
        *([p9.geom_point(size=1.2)] if points else []),
    ]


def note(seeds: int, over: str, band: str = "band", centre: str = "mean") -> str:
    """The subtitle of a summarised figure: ``seeds`` seeds per family, their ``centre``
    over what (``"instances"``, ``"45 pairs of each kind"``) and what its ``band`` spans."""
    return (
        f"{seeds} seeds per family summarised: {centre} over the {over}, {band}: lowest to highest"
    )


def counted(counts: pd.Series) -> str:
    """``45`` or ``45-100``: the smallest and largest of ``counts``."""
    low, high = int(counts.min()), int(counts.max())
    return f"{low}" if low == high else f"{low}-{high}"


def curve_spread(long: pd.DataFrame, by: list[str], x: str, value: str) -> pd.DataFrame:
    """Curves of ``value`` over ``x`` (one per ``instance``) summarised per group of ``by``:
    on the union of the curves' ``x``, each curve interpolated within its own range, the
    median (named ``value``), lowest and highest (``low``, ``high``) and how many curves
    reach that ``x`` (``n``): a seed that stopped early leaves the band where it ends."""
    parts = []
    for key, g in long.groupby(by, observed=True, sort=False):
        curves = [
            c.sort_values(x).drop_duplicates(x, keep="last") for _, c in g.groupby("instance")
        ]
        grid = np.unique(np.concatenate([c[x].to_numpy(float) for c in curves]))
        stack = np.full((len(curves), len(grid)), np.nan)  # (curves, grid)
        for row, c in zip(stack, curves, strict=True):
            xs, ys = c[x].to_numpy(float), c[value].to_numpy(float)
            inside = (grid >= xs[0]) & (grid <= xs[-1])
            row[inside] = np.interp(grid[inside], xs, ys)
        with warnings.catch_warnings():  # a point no curve defines (a NaN loss) stays NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            centre, low, high = (f(stack, axis=0) for f in (np.nanmedian, np.nanmin, np.nanmax))
        part = pd.DataFrame({x: grid, value: centre, "low": low, "high": high})
        part["n"] = np.isfinite(stack).sum(axis=0)
        labels = key if isinstance(key, tuple) else (key,)
        parts.append(part.assign(**dict(zip(by, labels, strict=True))))
    return pd.concat(parts, ignore_index=True)
