"""Layer x layer CKA matrices: every layer (and the whole model) of one model against every
layer of another, for labelled pairs of models, in network order."""

from __future__ import annotations

import pandas as pd
import plotnine as p9

from ..names import depth_of
from ..similarity import MODEL_GROUP
from ..stages.cka_table import estimator_labels
from .common import MAX_AXIS_LABELS, cka_fill, framed, ink, thinned

# The side of one panel (inches): of a layer matrix, of a depth matrix.
PANEL_INCHES, DEPTH_PANEL_INCHES = 3.2, 4.2
NULL_KEY = ["test_set", "estimator_label", "a_model", "a_group", "b_model", "b_group"]


def layer_names(axis: str = "x", most: int = MAX_AXIS_LABELS) -> p9.scale_x_discrete:
    """A discrete ``axis`` scale naming at most about ``most`` of each panel's layers: every
    k-th and the model group (a function of each panel's own layers: free facets hold
    different ones, and a break outside a panel's layers is a tick a PDF cannot hold)."""
    scale = p9.scale_x_discrete if axis == "x" else p9.scale_y_discrete
    return scale(breaks=lambda limits: thinned(list(limits), keep=(MODEL_GROUP,), most=most))


def below_null_cells(t: pd.DataFrame, nulls: pd.DataFrame | None) -> pd.DataFrame:
    """The cells of ``t`` whose pair has a permutation null (``nulls``: rows of
    results/cka_intervals.parquet with ``null_q95``) that their CKA does not exceed."""
    if nulls is None or "null_q95" not in nulls or nulls["null_q95"].isna().all():
        return t.iloc[:0]
    n = nulls[nulls["null_q95"].notna()].copy()
    n["estimator_label"] = estimator_labels(n)
    swap = {"a_model": "b_model", "b_model": "a_model", "a_group": "b_group", "b_group": "a_group"}
    both = pd.concat([n, n.rename(columns=swap)])[[*NULL_KEY, "null_q95"]]
    both = both.astype({c: str for c in NULL_KEY}).drop_duplicates(NULL_KEY)
    cells = t.astype({c: str for c in NULL_KEY}).merge(both, on=NULL_KEY, how="inner")
    return cells[cells["cka"] <= cells["null_q95"]]


def _null_marks(below: pd.DataFrame) -> list:
    """A red x on each cell not above its null (nothing when none is)."""
    if below.empty:
        return []
    return [p9.geom_point(p9.aes("b", "a"), data=below, shape="x", colour="#d7301f", size=3,
                          inherit_aes=False)]  # fmt: skip


def _row_maxima(t: pd.DataFrame) -> list:
    """A frame on each row's most similar layer of the other model (the whole model left out):
    where it sits off the diagonal, the layer-identification test misses that layer."""
    layers = t[(t["a_group"] != MODEL_GROUP) & (t["b_group"] != MODEL_GROUP) & t["cka"].notna()]
    keys = ["estimator_label", "pair", "a_group"]
    best = layers.loc[layers.groupby(keys, observed=True)["cka"].idxmax()]
    return [p9.geom_tile(p9.aes("b", "a"), data=best, fill="none", colour="black", size=0.6,
                         inherit_aes=False)]  # fmt: skip


def _null_note(below: pd.DataFrame) -> str:
    return "; x: not above its permutation null" if len(below) else ""


# A cell shows its value when it is at least this wide (inches, 11.5 points): "0.93" in
# 4.5-point type is about 10 points wide. A 3.2-inch panel labels up to 20 layers.
LABEL_CELL_INCHES = 0.16


def _scale() -> list:
    """Axis names that read at a glance whatever the number of layers: at most about
    :data:`~.common.MAX_AXIS_LABELS` per axis, every k-th layer's and the model group's."""
    return [layer_names("x"), layer_names("y")]


def _cell_text(t: pd.DataFrame, order: list[str], panel_inches: float, size: float) -> list:
    """The values printed in the cells, when the cells are wide enough to read them
    (:data:`LABEL_CELL_INCHES`): a matrix of 35 layers is read by its colours."""
    if panel_inches / max(len(order), 1) < LABEL_CELL_INCHES:
        return []
    # group=1: plotnine draws a text layer one group at a time, and without it every distinct
    # label is a group of its own (a 30 x 30 matrix: 900 draws, 16x slower, the same pixels).
    return [p9.geom_text(p9.aes(label="label", colour="ink", group=1), data=t, size=size)]


def _pair_rows(table: pd.DataFrame, pairs: dict, order: list[str]) -> pd.DataFrame:
    """The rows of each labelled pair of models (a column ``pair``) between groups of ``order``."""
    frames = []
    for label, (a, b) in pairs.items():
        keep = (table["a_model"] == a) & (table["b_model"] == b)
        keep &= table["a_group"].isin(order) & table["b_group"].isin(order)
        frames.append(table[keep].assign(pair=label))
    return pd.concat(frames, ignore_index=True)


def layer_matrix(
    table: pd.DataFrame,
    pairs: dict[str, tuple[str, str]],
    test_set: str,
    groups: list[str],
    ncol: int | None = None,
    nulls: pd.DataFrame | None = None,
) -> p9.ggplot:
    """Layer x layer CKA (``groups``: the layers and the model group, in network order) for
    labelled pairs of models: a row of panels per estimator, or (``ncol``, one estimator) a
    grid of ``ncol`` columns. Cells of pairs whose permutation null (``nulls``) they do not
    exceed are marked."""
    order = list(groups)
    ncol = ncol and min(ncol, len(pairs))  # one checkpoint: one panel wide, not three
    t = _pair_rows(table, pairs, order)
    t["estimator_label"] = estimator_labels(t)
    t["a"] = pd.Categorical(t["a_group"].astype(str), categories=order[::-1])
    t["b"] = pd.Categorical(t["b_group"].astype(str), categories=order)
    t["pair"] = pd.Categorical(t["pair"], categories=list(pairs))
    t["label"] = t["cka"].map(lambda v: "" if pd.isna(v) else f"{v:.2f}")
    fill, low = cka_fill(t["cka"])
    t["ink"] = ink(t["cka"], low)
    below = below_null_cells(t, nulls)
    return (
        p9.ggplot(t, p9.aes("b", "a", fill="cka"))
        + p9.geom_tile()
        + _cell_text(t, order, PANEL_INCHES, 4.5)
        + _scale()
        + _null_marks(below)
        + _row_maxima(t)
        + p9.scale_colour_identity()
        + (
            p9.facet_grid("estimator_label ~ pair")
            if ncol is None
            else p9.facet_wrap("pair", ncol=ncol)
        )
        + fill
        + p9.coord_equal()
        + framed(
            (2.5 + PANEL_INCHES * len(pairs), 1.2 + PANEL_INCHES * t["estimator_label"].nunique())
            if ncol is None
            else (2.5 + PANEL_INCHES * ncol, 1.2 + PANEL_INCHES * -(-len(pairs) // ncol)),
            title=f"Layer x layer CKA ({test_set} test set"
            + ("" if ncol is None else f", {t['estimator_label'].iloc[0]}")
            + _null_note(below)
            + "; framed: each row's most similar layer)",
            x="second model's layer",
            y="first model's layer",
            theme={
                "axis_text_x": p9.element_text(rotation=90, size=6),
                "axis_text_y": p9.element_text(size=6),
            },
        )
    )


def depth_matrix(
    table: pd.DataFrame,
    panels: dict[str, list[str]],
    title: str,
    groups: dict[int, list[str]],
    ncol: int = 2,
    nulls: pd.DataFrame | None = None,
) -> p9.ggplot:
    """Layer x layer CKA of models of any depth, one panel per {title: [a_model, b_model,
    test_set]} in ``ncol`` columns, each with the layers (and the model group) of its two models
    (``groups``: per depth, in network order), under the one estimator of ``table``."""
    frames = []
    for label, (a, b, test_set) in panels.items():
        t = table[
            (table["a_model"] == a) & (table["b_model"] == b) & (table["test_set"] == test_set)
        ].copy()
        t = t[t["a_group"].isin(groups[depth_of(a)])]
        t = t[t["b_group"].isin(groups[depth_of(b)])]
        if t.empty:
            raise ValueError(f"no layer rows of {a} vs {b} on {test_set} in the CKA table")
        t["pair"] = f"{label}\n({test_set} test set)"
        frames.append(t)
    t = pd.concat(frames, ignore_index=True)
    order = list(dict.fromkeys(g for d in sorted(groups) for g in groups[d] if g != MODEL_GROUP))
    order = [g for g in order if g in set(t["a_group"]) | set(t["b_group"])] + [MODEL_GROUP]
    t["a"] = pd.Categorical(t["a_group"], categories=order[::-1])
    t["b"] = pd.Categorical(t["b_group"], categories=order)
    t["pair"] = pd.Categorical(t["pair"], categories=list(dict.fromkeys(t["pair"])))
    t["label"] = t["cka"].map(lambda v: "" if pd.isna(v) else f"{v:.2f}")
    fill, low = cka_fill(t["cka"])
    t["ink"] = ink(t["cka"], low)
    t["estimator_label"] = estimator_labels(t)
    below = below_null_cells(t, nulls)
    ncol = min(len(panels), ncol)
    return (
        p9.ggplot(t, p9.aes("b", "a", fill="cka"))
        + p9.geom_tile()
        + _cell_text(t, order, DEPTH_PANEL_INCHES, 4)
        + _scale()
        + _null_marks(below)
        + p9.scale_colour_identity()
        + p9.facet_wrap("pair", ncol=ncol, scales="free")
        + fill
        + framed(
            (1.5 + DEPTH_PANEL_INCHES * ncol, 1.2 + 4.4 * -(-len(panels) // ncol)),
            title=f"{title} ({t['estimator_label'].iloc[0]}{_null_note(below)})",
            x="second model's layer",
            y="first model's layer",
            theme={
                "axis_text_x": p9.element_text(rotation=90, size=6),
                "axis_text_y": p9.element_text(size=6),
                "subplots_adjust": {"wspace": 0.3, "hspace": 0.35},
            },
        )
    )
