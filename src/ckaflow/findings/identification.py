"""Can the measure tell the layers apart? Kornblith et al.'s layer-identification test.

Kornblith et al. (2019, §6.1, Table 2) train networks from different seeds and ask, for each
layer L of network a and each other network b: is the layer of b most similar to a's L
(argmax over b's layers M of s(a:L, b:M)) the same layer L? The share of (a, b, L) for which it
is, over every ordered pair of distinct seeds, is the measure's accuracy; chance is one in the
number of layers compared. Their 10-layer CNNs on CIFAR-10 reach 99.3% with linear CKA and 1.4%
with CCA's mean correlation (9 layers, chance 11.1%).

Here, from a table of similarities in long form (:data:`LONG`: one row per measure, test set
and ordered pair of layers; the CKA table's layer rows under each estimator by :func:`cka_long`,
other measures beside them): the final weights of each domain's base instances (depth 1), on
each test set, under each measure. The interval is over networks: the seeds are
resampled with replacement and the accuracy recomputed over the ordered pairs of distinct seeds
drawn (:func:`seed_resampled_accuracy`; a draw of a single network, which has no pair, is left
out), so it says how far another draw of seeds could move the number; fewer than three seeds
give no interval.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..names import FINAL, INIT, model_name, parse
from ..similarity import parse_group, percentile_interval
from ..stages.cka_table import estimator_rows, estimators_in
from ..stages.measures import reduction_note

MIN_SEEDS = 2  # one ordered pair of distinct seeds
MIN_SEEDS_INTERVAL = 3  # with two, every resample draws the same pair or none

# A similarity table in long form: the value of ``measure`` (higher: more similar) between a_model's
# a_group and b_model's b_group on test_set; a measure that is not symmetric has both orders.
LONG = ["measure", "test_set", "a_model", "a_group", "b_model", "b_group", "value"]
COLUMNS = ["measure", "test_set", "domain", "weights", "seeds", "layers", "pairs", "accuracy",
           "low", "high", "chance"]  # fmt: skip
WEIGHTS = (FINAL, INIT)  # trained, and the baseline: the same seeds at their initial weights
# Kornblith et al. (2019) Table 2: accuracy (%) of ten 10-layer CNNs on CIFAR-10, 9 layers compared
# (chance 11.1%), by the names this study gives those measures (CKA there is the biased estimator).
PAPER = {"cca-rho": 1.4, "cca-r2": 10.6, "svcca-rho": 9.9, "svcca-r2": 15.1, "pwcca": 11.1,
         "linreg": 45.4, "linear-biased": 99.3, "rbf0.2-biased": 80.6, "rbf0.4-biased": 99.1,
         "rbf0.8-biased": 99.3}  # fmt: skip
CCA_FAMILY = ("cca-rho", "cca-r2", "svcca-rho", "svcca-r2", "pwcca")


def layer_hits(similar: pd.DataFrame, a: str, b: str, layers: Sequence[str]) -> np.ndarray:
    """(L,) for each of ``layers`` of model ``a``: 1.0 if the most similar of ``layers`` of
    model ``b`` is the same layer, 0.0 if another, NaN if a's row has no value (the CKA of a
    dead layer is undefined). ``similar``: one measure's, one test set's rows (:data:`LONG`)."""
    m = matching_matrix(similar, a, b, layers)
    hits = np.full(len(layers), np.nan)
    for i, row in enumerate(m):
        if np.isfinite(row).any():
            hits[i] = float(np.nanargmax(row) == i)
    return hits


def matching_matrix(similar: pd.DataFrame, a: str, b: str, layers: Sequence[str]) -> np.ndarray:
    """(L, L): the similarity of a's layer i with b's layer j (NaN where the table has none):
    the rows of a with b, else those of b with a (a symmetric measure is stored once)."""
    index = {name: i for i, name in enumerate(layers)}
    out = np.full((len(layers), len(layers)), np.nan)
    for first, second, flip in ((b, a, True), (a, b, False)):
        rows = similar[(similar["a_model"] == first) & (similar["b_model"] == second)]
        i = rows["a_group"].map(index).to_numpy()
        j = rows["b_group"].map(index).to_numpy()
        keep = ~(pd.isna(i) | pd.isna(j))
        i, j = i[keep].astype(int), j[keep].astype(int)
        values = rows["value"].to_numpy(float)[keep]
        if flip:
            i, j = j, i
        out[i, j] = values
    return out


def seed_resampled_accuracy(hits: np.ndarray, resamples: int, seed) -> np.ndarray:
    """(B,) the accuracy of ``resamples`` draws of the k networks with replacement
    (:func:`pair_accuracy` of each draw's counts); hits (k, k): each ordered pair's mean hit."""
    k = hits.shape[0]
    counts = np.random.default_rng(seed).multinomial(k, np.full(k, 1.0 / k), size=resamples)
    return pair_accuracy(hits, counts)


def pair_accuracy(hits: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """(B,) the mean hit over the ordered pairs of distinct networks of each draw: hits (k, k)
    (the diagonal and dead rows NaN), counts (B, k) how often each network was drawn; a pair
    (i, j) of distinct networks counts c_i c_j times. A draw of one network only: NaN."""
    valid = np.isfinite(hits)
    h = np.where(valid, hits, 0.0)
    weights = counts[:, :, None] * counts[:, None, :] * valid  # (B, k, k)
    total = weights.sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (weights * h).sum(axis=(1, 2)) / total, np.nan)


def cka_long(table: pd.DataFrame) -> pd.DataFrame:
    """The CKA table's rows in long form (:data:`LONG`), one measure per estimator (its name)."""
    parts = [
        estimator_rows(table, est).assign(measure=est.name).rename(columns={"cka": "value"})
        for est in estimators_in(table)
    ]
    return pd.concat(parts, ignore_index=True)[LONG] if parts else pd.DataFrame(columns=LONG)


def identification_table(
    similar: pd.DataFrame,
    base: Sequence[str],
    layers: Sequence[str],
    *,
    resamples: int = 1000,
    confidence: float = 0.95,
    seed=0,
) -> pd.DataFrame:
    """One row per measure, test set, domain with at least two seeds and weights (final, and
    initial: what the architecture alone gives): the layer-identification accuracy over every
    ordered pair of the domain's ``base`` instances and every one of ``layers``, its interval
    over seeds, and chance (1 / layers). ``similar``: layer similarities in long form
    (:data:`LONG`, e.g. :func:`cka_long`); weights it has no rows of are skipped."""
    by_domain: dict[str, list[str]] = {}
    for name in base:
        by_domain.setdefault(parse(name).domain, []).append(name)
    rows = []
    groups = similar.groupby(["measure", "test_set"], sort=False)
    for ((measure, test_set), values), ((domain, seeds), weights) in itertools.product(
        groups, itertools.product(by_domain.items(), WEIGHTS)
    ):
        models = [model_name(i, weights) for i in seeds]
        if len(seeds) < MIN_SEEDS or not values["a_model"].isin(models).any():
            continue
        where = {"measure": measure, "test_set": test_set, "domain": domain, "weights": weights}
        rows.append(where | _row(values, models, layers, resamples, confidence, seed))
    return pd.DataFrame(rows, columns=COLUMNS)


def _row(similar, seeds, layers, resamples, confidence, seed) -> dict:
    k = len(seeds)
    # the rows between these seeds only, once, not a scan of every model's per pair
    similar = similar[similar["a_model"].isin(seeds) & similar["b_model"].isin(seeds)]
    hits = np.full((k, k), np.nan)
    counted = []
    for i, a in enumerate(seeds):
        for j, b in enumerate(seeds):
            if i != j:
                h = layer_hits(similar, a, b, layers)
                counted.append(h)
                hits[i, j] = np.nanmean(h) if np.isfinite(h).any() else np.nan
    every = np.concatenate(counted)
    accuracy = float(np.nanmean(every)) if np.isfinite(every).any() else np.nan
    low = high = np.nan
    if k >= MIN_SEEDS_INTERVAL:
        reps = seed_resampled_accuracy(hits, resamples, seed)
        # a draw of one network has no pair: it is drawn again (left out of the percentiles)
        low, high = percentile_interval(reps[np.isfinite(reps)], confidence)
    return {"seeds": k, "layers": len(layers), "pairs": k * (k - 1), "accuracy": accuracy,
            "low": float(low), "high": float(high), "chance": 1.0 / len(layers)}  # fmt: skip


def layers_in(table: pd.DataFrame, order: Sequence[str] | None = None) -> list[str]:
    """The layer groups of ``table`` (not filters, not the whole model), in ``order`` where
    given (the recorded layers in network order)."""
    found = {g for g in pd.unique(table["a_group"].astype(str)) if parse_group(g).kind == "layer"}
    if order is None:
        return sorted(found)
    return [g for g in order if g in found]


def identification_section(found: pd.DataFrame) -> list[str]:
    """Markdown lines of the layer-identification finding (none without two seeds of a domain):
    each estimator's accuracy on each domain's own test set, trained beside initial weights."""
    own = found[found["test_set"] == found["domain"]]
    if own.empty:
        return []
    first = own.iloc[0]
    lines = [
        "## Can the measures tell the layers apart?",
        "",
        "Kornblith et al.'s (2019, Table 2) layer-identification test: for each recorded layer of "
        "each seed, is the other seed's most similar layer the same layer? The share of "
        f"(seed pair, layer) that is, over {first.pairs} ordered pairs of {first.seeds} seeds "
        f"and {first.layers} layers (chance {first.chance:.1%}), on each domain's own test set, "
        "with a 95% interval over seeds (networks resampled). Beside it the same seeds at their "
        "initial weights: what the architecture alone identifies. Kornblith et al.'s ten "
        "10-layer CNNs on CIFAR-10 reach 99.3% with linear CKA (chance 11.1%). Per test set: "
        "`results/tables/layer_identification.csv`.",
        "",
        "| measure | domain | trained | interval | initial weights | chance | Kornblith et al. |",
        "|---|---|---|---|---|---|---|",
    ]
    for (measure, domain), g in own.groupby(["measure", "domain"], sort=False):
        by = g.set_index("weights")
        trained = by.loc[FINAL] if FINAL in by.index else None
        init = by.loc[INIT] if INIT in by.index else None
        paper = f"{PAPER[measure]:.1f}%" if measure in PAPER else ""
        lines.append(
            f"| {measure} | {domain} | {_share(trained)} | {_interval(trained)} | {_share(init)} "
            f"| {g['chance'].iloc[0]:.1%} | {paper} |"
        )
    lines += ranking_lines(own)
    lines += reduction_note(own["measure"])  # how the CCA family met wide layers, if computed
    return [*lines, ""]


def ranking_lines(own: pd.DataFrame) -> list[str]:
    """Whether Kornblith et al.'s ranking holds on each domain, trained: linear CKA above linear
    regression above every measure of the CCA family (none without the three)."""
    trained = own[own["weights"] == FINAL]
    lines = []
    for domain, g in trained.groupby("domain", sort=False):
        acc = g.set_index("measure")["accuracy"]
        family = acc[acc.index.isin(CCA_FAMILY)]
        if "linear-biased" not in acc or "linreg" not in acc or family.empty:
            continue
        cka, linreg, best = acc["linear-biased"], acc["linreg"], family.max()
        holds = cka > linreg > best
        lines.append(
            f"- **{domain}**: Kornblith et al.'s ranking (CKA above linear regression above the "
            f"CCA family) {'holds' if holds else 'does not hold'}: linear CKA {cka:.1%}, linear "
            f"regression {linreg:.1%}, the best of the CCA family {best:.1%} "
            f"({family.idxmax()})."
        )
    return ["", *lines] if lines else []


def _share(row) -> str:
    return "—" if row is None or pd.isna(row["accuracy"]) else f"{row['accuracy']:.1%}"


def _interval(row) -> str:
    if row is None or pd.isna(row["low"]):
        return "— (fewer than 3 seeds)"
    return f"[{row['low']:.1%}, {row['high']:.1%}]"
