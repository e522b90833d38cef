"""Figures of the CKA table: strips, heatmaps, fine-tuned vs base, layer x layer, checkpoints.

Every function takes the table of ``results/cka.parquet`` (or a slice of it) and the layers it
draws (from the model spec: recorded layers in network order) and returns a plotnine figure;
CKA colour scales are fixed to [0, 1]. :func:`draw` draws a figure of
:mod:`ckaflow.figures.layout` by its options.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotnine as p9

from ..io import read_parquet
from ..model.spec import ModelSpec
from ..names import model_name, parse
from ..similarity import MODEL_GROUP
from ..stages.cka_table import (
    PAIR_CKA,
    PAIR_KEY,
    estimator_labels,
    filter_rows,
    read_cka_table,
    select_estimator,
)
from .common import MAX_PANEL_LABELS, cka_fill, framed, jittered, slanted, thinned
from .matrices import depth_matrix, layer_matrix, layer_names
from .seeds import bands, counted, note, ranges, seeds_per_family, spread, summarises


def _pairs(
    table: pd.DataFrame, a_models: list[str], b_models: list[str], groups: list[str]
) -> pd.DataFrame:
    """The rows comparing a group of ``groups`` of an ``a_models`` model with the same group of a
    ``b_models`` model, with each row's estimator label."""
    t = table[
        table["a_model"].isin(a_models)
        & table["b_model"].isin(b_models)
        & table["a_group"].isin(groups)
        & (table["a_group"] == table["b_group"])
    ].copy()
    for col in ("a_model", "b_model", "a_group", "b_group", "test_set"):
        t[col] = t[col].astype(str)
    t["estimator_label"] = estimator_labels(t)
    return t


def base_layer_strips(table: pd.DataFrame, base: list[str], layers: list[str]) -> p9.ggplot:
    """Layer CKA of every pair of base instances, per test set and layer of ``layers`` (the
    convolutions; thesis Figure 5.6): each pair a point, or, beyond
    :data:`~.seeds.MAX_SEEDS_DRAWN` seeds, the mean and range of each kind of pair."""
    t = _pairs(table, base, base, layers)
    t = t[t["a_model"] < t["b_model"]].copy()
    t["pair"] = [
        " vs ".join(sorted((parse(a).domain, parse(b).domain)))
        for a, b in zip(t["a_model"], t["b_model"], strict=True)
    ]
    t["test set"] = t["test_set"] + " test set"
    seeds = seeds_per_family(base)
    title, subtitle = f"Layer CKA between the {len(base)} base instances", None
    if summarises(seeds):
        pairs = t.drop_duplicates(["pair", "a_model", "b_model"]).groupby("pair").size()
        t = spread(t, ["estimator_label", "test set", "pair", "a_group"])
        t, x_scale = jittered(t, "a_group", layers, 0.0)
        marks = ranges(0.6)
        title += f" ({counted(pairs)} pairs of each kind)"
        subtitle = note(seeds, "pairs", "bar")
    else:
        t, x_scale = jittered(t, "a_group", layers, 0.2)
        marks = [p9.geom_point(size=1.8, alpha=0.8)]
        title += " (each point one pair)"
    return (
        p9.ggplot(t, p9.aes("x", "cka", colour="pair"))
        + marks
        + x_scale
        + p9.facet_grid("estimator_label ~ test set")
        + p9.scale_y_continuous(limits=(None, 1))
        + framed(
            (9, 2.2 + 2.2 * t["estimator_label"].nunique()),
            title=title,
            subtitle=subtitle,
            x="layer",
            y="CKA",
            colour="instances",
            theme=slanted(layers),
        )
    )


def filter_heatmap(table: pd.DataFrame, a_model: str, b_model: str, layer: str) -> p9.ggplot:
    """CKA between the filters of ``layer`` of two models (or one model with itself)."""
    t = filter_rows(table[(table["a_model"] == a_model) & (table["b_model"] == b_model)], layer)
    t["estimator_label"] = estimator_labels(t)
    t["a"], t["b"] = t["a"].map("{:02d}".format), t["b"].map("{:02d}".format)
    t["test set"] = t["test_set"].astype(str) + " test set"
    t["undefined"] = t["cka"].isna()
    fill, _ = cka_fill(t["cka"])
    what = f"within {a_model}" if a_model == b_model else f"{a_model} (rows) vs {b_model} (columns)"
    return (
        p9.ggplot(t, p9.aes("b", "a", fill="cka"))
        + p9.geom_tile()
        + p9.geom_point(
            p9.aes(x="b", y="a"), data=t[t["undefined"]], shape="x", size=1.5, inherit_aes=False
        )
        + p9.facet_grid("estimator_label ~ test set")
        + fill
        + p9.scale_x_discrete(breaks=lambda limits: thinned(sorted(limits)))
        + p9.scale_y_discrete(
            limits=sorted(t["a"].unique(), reverse=True),
            breaks=lambda limits: thinned(sorted(limits)),
        )
        + p9.coord_equal()
        + framed(
            (9, 1.5 + 3.6 * t["estimator_label"].nunique()),
            title=f"CKA between {layer} filters, {what}\n(x: undefined, a dead filter)",
            x=f"{b_model} {layer} filter",
            y=f"{a_model} {layer} filter",
            theme={"axis_text": p9.element_text(size=6)},
        )
    )


def finetuned_vs_base(
    table: pd.DataFrame, finetuned: list[str], base: list[str], layers: list[str]
) -> p9.ggplot:
    """CKA of each fine-tuned instance with every base instance per layer of ``layers`` and
    test set (thesis Figure 5.12); its base and its scratch counterpart are marked. Beyond
    :data:`~.seeds.MAX_SEEDS_DRAWN` seeds, the mean and range of each relation per family."""
    t = _pairs(table, finetuned, base, layers)
    a = t["a_model"].map(parse)
    b = t["b_model"].map(parse)
    t["relation"] = [_relation(x, y) for x, y in zip(a, b, strict=True)]
    t["fine-tuned family"] = [x.family for x in a]
    t["panel"] = t["test_set"] + " test set, " + t["estimator_label"]
    seeds = seeds_per_family(finetuned)
    title, subtitle = "Fine-tuned instances against every base instance, per layer\n", None
    if summarises(seeds):
        t = spread(t, ["panel", "relation", "fine-tuned family", "a_group"])
        t, x_scale = jittered(t, "a_group", layers, 0.0)
        t["size"] = np.where(t["relation"].isin(CLAIM_RELATIONS), 2.6, 1.4)
        marks = ranges(0.8, p9.aes(size="size"))
        title += "(large: its base and its scratch counterpart)"
        subtitle = note(seeds, "instances", "bar")
    else:
        t, x_scale = jittered(t, "a_group", layers, 0.25)
        claim = t["relation"].isin(CLAIM_RELATIONS)  # the pair claim (a) compares
        faint = p9.geom_point(data=t[~claim], size=1.2, alpha=0.45)
        marks = [faint, p9.geom_point(data=t[claim], size=2.6, alpha=0.95)]  # last: on top
        title += "(large: its base and its scratch counterpart, the pair claim (a) compares)"
    return (
        p9.ggplot(t, p9.aes("x", "cka", colour="relation", shape="fine-tuned family"))
        + marks
        + x_scale
        + p9.facet_wrap("panel", ncol=2)
        + p9.scale_colour_manual(values=RELATION_COLOURS)
        + p9.scale_size_identity()
        + framed(
            (10, 2.5 + 2.4 * t["panel"].nunique() / 2),
            title=title,
            subtitle=subtitle,
            x="layer",
            y="CKA",
            colour="base instance is",
            shape="fine-tuned",
            theme=slanted(layers),
        )
    )


RELATION_COLOURS = {
    "its base": "#d95f02",
    "its scratch": "#1b9e77",
    "other seed, same domain as base": "#fdb863",
    "other seed, target domain": "#80cdc1",
    "another domain": "#bababa",
}
CLAIM_RELATIONS = ("its base", "its scratch")  # the pair claim (a) compares


def _relation(x, y) -> str:
    """How base instance ``y`` relates to fine-tuned instance ``x`` (both parsed)."""
    if x.base == y.name:
        return "its base"
    if x.scratch == y.name:
        return "its scratch"
    if y.domain == x.source:
        return "other seed, same domain as base"
    return "other seed, target domain" if y.domain == x.domain else "another domain"


def checkpoints_vs_final(
    table: pd.DataFrame, base: list[str], early: list[str], groups: list[str]
) -> p9.ggplot:
    """CKA of each saved checkpoint ``early`` of a base instance with its final weights, per
    layer and model group of ``groups``: a line per instance, or, beyond
    :data:`~.seeds.MAX_SEEDS_DRAWN` seeds, a band per domain's instances on their own domain's
    test set (a column each)."""
    rows, order = [], list(groups)
    for inst in base:
        for c in early:
            t = table[
                (table["a_model"] == model_name(inst, c))
                & (table["b_model"] == inst)
                & table["a_group"].isin(order)
                & (table["a_group"] == table["b_group"])
            ].copy()
            t["checkpoint"], t["instance"] = c, inst
            rows.append(t)
    t = pd.concat(rows, ignore_index=True)
    t["estimator_label"] = estimator_labels(t)
    t["test set"] = t["test_set"].astype(str) + " test set"
    seeds, subtitle = seeds_per_family(base), None
    if summarises(seeds):
        own = t["test_set"] == t["instance"].map(lambda i: parse(i).domain)
        t = t[own].copy() if own.any() else t
        t["test set"] = t["test_set"] + " instances, own test set"
        t = spread(t, ["estimator_label", "test set", "checkpoint", "a_group"])
        t["line"] = t["checkpoint"]
        marks = [*bands("checkpoint"), layer_names("x", MAX_PANEL_LABELS)]  # narrower columns
        subtitle = note(seeds, "instances")
    else:
        t["line"] = t["instance"] + t["checkpoint"]
        marks = [p9.geom_line(alpha=0.6), p9.geom_point(size=1)]
    t["layer"] = pd.Categorical(t["a_group"].astype(str), categories=order)
    t["checkpoint"] = pd.Categorical(t["checkpoint"], categories=early)
    width = max(10, 1.5 + 3 * t["test set"].nunique())
    return (
        p9.ggplot(t, p9.aes("layer", "cka", colour="checkpoint", group="line"))
        + marks
        + p9.facet_grid("estimator_label ~ test set")
        + p9.scale_y_continuous(limits=(0, 1))
        + framed(
            (width, 1.5 + 2.5 * t["estimator_label"].nunique()),
            title=f"CKA of each checkpoint with the final weights, per layer ({len(base)} base "
            "instances)",
            subtitle=subtitle,
            x="layer",
            y="CKA with the final weights",
            theme={"axis_text_x": p9.element_text(rotation=45, ha="right")},
        )
    )


def draw(cka_path, options: dict, specs: dict[int, ModelSpec], intervals_path=None) -> p9.ggplot:
    """The CKA figure ``options`` describe (:func:`ckaflow.figures.layout.cka_options`: its
    ``kind`` and panels), drawn from the rows of ``results/cka.parquet`` it needs; ``specs``
    are the model specs by depth (the layers and their order); ``intervals_path``
    (``results/cka_intervals.parquet``): the permutation nulls whose cells the matrices mark.
    An unknown kind raises."""
    kind = options["kind"]
    if kind not in _FIGURES:
        raise ValueError(f"unknown CKA figure kind {kind!r}; expected one of {sorted(_FIGURES)}")
    groups = {d: [*s.recorded, MODEL_GROUP] for d, s in specs.items()}
    if kind == "filter_heatmap":
        table = read_cka_table(cka_path, models=[options["a"], options["b"]], columns=PAIR_CKA)
    elif kind == "depth_matrix":
        models = {m for a, b, _ in options["panels"].values() for m in (a, b)}
        every = sorted({g for gs in groups.values() for g in gs})
        table = read_cka_table(cka_path, groups=every, models=sorted(models), columns=PAIR_CKA)
    else:
        table = read_cka_table(cka_path, groups=groups[1], columns=PAIR_CKA)
    nulls = None
    if intervals_path is not None:
        nulls = read_parquet(intervals_path, "interval table",
                             columns=[*PAIR_KEY, "cka", "null_q95"])  # fmt: skip
    return _FIGURES[kind](table, options, specs[1], groups, nulls)


def _pairs_of(o: dict) -> dict[str, tuple[str, str]]:
    return {k: tuple(v) for k, v in o["pairs"].items()}


_FIGURES = {
    "base_layer_strips": lambda t, o, s, g, n: base_layer_strips(t, o["base"], s.conv_layers),
    "filter_heatmap": lambda t, o, s, g, n: filter_heatmap(
        t, o["a"], o["b"], s.filter_figure_layer(o["layers"])
    ),
    "finetuned_vs_base": lambda t, o, s, g, n: finetuned_vs_base(
        t, o["finetuned"], o["base"], s.conv_layers
    ),
    "layer_matrices": lambda t, o, s, g, n: layer_matrix(
        t[t["test_set"] == o["test_set"]], _pairs_of(o), o["test_set"], g[1], nulls=n
    ),
    "checkpoints_vs_final": lambda t, o, s, g, n: checkpoints_vs_final(
        t, o["base"], o["checkpoints"], g[1]
    ),
    "checkpoint_matrices": lambda t, o, s, g, n: layer_matrix(
        select_estimator(t[t["test_set"] == o["test_set"]], o["estimator"])[0],
        _pairs_of(o),
        o["test_set"],
        g[1],
        ncol=3,
        nulls=n,
    ),
    "depth_matrix": lambda t, o, s, g, n: depth_matrix(
        select_estimator(t, o["estimator"])[0], o["panels"], o["title"], g, o["ncol"], nulls=n
    ),
}
