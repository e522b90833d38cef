"""Figures of the CKA table: strips, heatmaps, fine-tuned vs base, layer x layer, checkpoints.

Every function takes the table of ``results/cka.parquet`` (or a slice of it) and returns a
plotnine figure; CKA colour scales are fixed to [0, 1] and layers are in network order.
"""

from __future__ import annotations

import pandas as pd
import plotnine as p9

from ..model.tied_layers import CONV_LAYERS, DEPTHS, LAYER_GROUPS, layer_groups, layer_sort_key
from ..names import CHECKPOINTS, FINAL, depth_of, model_name, parse
from ..stages.cka_table import estimator_labels, filter_rows, read_cka_table, select_estimator
from .common import framed

GROUP_ORDER = list(LAYER_GROUPS)
CKA_FILL = p9.scale_fill_gradient(low="#f7fbff", high="#08306b", limits=(0, 1), name="CKA")


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


def base_layer_strips(table: pd.DataFrame, base: list[str]) -> p9.ggplot:
    """Layer CKA of every pair of base instances, per test set and conv layer (Figure 5.6)."""
    t = _pairs(table, base, base, list(CONV_LAYERS))
    t = t[t["a_model"] < t["b_model"]].copy()
    t["pair"] = [
        " vs ".join(sorted((parse(a).domain, parse(b).domain)))
        for a, b in zip(t["a_model"], t["b_model"], strict=True)
    ]
    t["layer"] = pd.Categorical(t["a_group"], categories=list(CONV_LAYERS))
    t["test set"] = t["test_set"] + " test set"
    return (
        p9.ggplot(t, p9.aes("layer", "cka", colour="pair"))
        + p9.geom_jitter(width=0.2, height=0, size=1.8, alpha=0.8, random_state=0)
        + p9.facet_grid("estimator_label ~ test set")
        + p9.scale_y_continuous(limits=(None, 1))
        + framed(
            (9, 2.2 + 2.2 * t["estimator_label"].nunique()),
            title="Layer CKA between the 8 base instances (each point one pair)",
            x="layer",
            y="CKA",
            colour="instances",
        )
    )


def filter_heatmap(
    table: pd.DataFrame, a_model: str, b_model: str, layer: str = "conv1"
) -> p9.ggplot:
    """CKA between the filters of ``layer`` of two models (or one model with itself)."""
    t = filter_rows(table[(table["a_model"] == a_model) & (table["b_model"] == b_model)], layer)
    t["estimator_label"] = estimator_labels(t)
    t["a"], t["b"] = t["a"].map("{:02d}".format), t["b"].map("{:02d}".format)
    t["test set"] = t["test_set"].astype(str) + " test set"
    t["undefined"] = t["cka"].isna()
    what = f"within {a_model}" if a_model == b_model else f"{a_model} (rows) vs {b_model} (columns)"
    return (
        p9.ggplot(t, p9.aes("b", "a", fill="cka"))
        + p9.geom_tile()
        + p9.geom_point(
            p9.aes(x="b", y="a"), data=t[t["undefined"]], shape="x", size=1.5, inherit_aes=False
        )
        + p9.facet_grid("estimator_label ~ test set")
        + CKA_FILL
        + p9.scale_y_discrete(limits=sorted(t["a"].unique(), reverse=True))
        + p9.coord_equal()
        + framed(
            (9, 1.5 + 3.6 * t["estimator_label"].nunique()),
            title=f"CKA between {layer} filters, {what}\n(x: undefined, a dead filter)",
            x=f"{b_model} {layer} filter",
            y=f"{a_model} {layer} filter",
            theme={"axis_text": p9.element_text(size=6)},
        )
    )


def finetuned_vs_base(table: pd.DataFrame, finetuned: list[str], base: list[str]) -> p9.ggplot:
    """CKA of each fine-tuned instance with every base instance per conv layer and test set
    (Figure 5.12); pairs with the same seed are marked."""
    t = _pairs(table, finetuned, base, list(CONV_LAYERS))
    a = t["a_model"].map(parse)
    b = t["b_model"].map(parse)
    t["relation"] = [
        "its base"
        if x.base == y.name
        else "its scratch"
        if x.scratch == y.name
        else "other seed, same domain as base"
        if y.domain == x.source
        else "other seed, target domain"
        for x, y in zip(a, b, strict=True)
    ]
    t["fine-tuned family"] = [x.family for x in a]
    t["layer"] = pd.Categorical(t["a_group"], categories=list(CONV_LAYERS))
    t["panel"] = t["test_set"] + " test set, " + t["estimator_label"]
    return (
        p9.ggplot(t, p9.aes("layer", "cka", colour="relation", shape="fine-tuned family"))
        + p9.geom_jitter(width=0.25, height=0, size=1.8, alpha=0.85, random_state=0)
        + p9.facet_wrap("panel", ncol=2)
        + p9.scale_colour_manual(
            values={
                "its base": "#d95f02",
                "its scratch": "#1b9e77",
                "other seed, same domain as base": "#fdb863",
                "other seed, target domain": "#80cdc1",
            }
        )
        + framed(
            (10, 2.5 + 2.4 * t["panel"].nunique() / 2),
            title="Fine-tuned instances against every base instance, per conv layer",
            x="layer",
            y="CKA",
            colour="base instance is",
            shape="fine-tuned",
        )
    )


def layer_matrix(
    table: pd.DataFrame, pairs: dict[str, tuple[str, str]], test_set: str, ncol: int | None = None
) -> p9.ggplot:
    """Layer x layer CKA (all layers and the model group) for labelled pairs of models: a row
    of panels per estimator, or (``ncol``, one estimator) a grid of ``ncol`` columns."""
    frames = []
    for label, (a, b) in pairs.items():
        t = table[
            (table["a_model"] == a)
            & (table["b_model"] == b)
            & table["a_group"].isin(GROUP_ORDER)
            & table["b_group"].isin(GROUP_ORDER)
        ].copy()
        t["pair"] = label
        frames.append(t)
    t = pd.concat(frames, ignore_index=True)
    t["estimator_label"] = estimator_labels(t)
    t["a"] = pd.Categorical(t["a_group"].astype(str), categories=GROUP_ORDER[::-1])
    t["b"] = pd.Categorical(t["b_group"].astype(str), categories=GROUP_ORDER)
    t["pair"] = pd.Categorical(t["pair"], categories=list(pairs))
    t["label"] = t["cka"].map(lambda v: "" if pd.isna(v) else f"{v:.2f}")
    t["ink"] = t["cka"].map(lambda v: "white" if v > 0.6 else "black")
    return (
        p9.ggplot(t, p9.aes("b", "a", fill="cka"))
        + p9.geom_tile()
        + p9.geom_text(p9.aes(label="label", colour="ink"), size=4.5)
        + p9.scale_colour_identity()
        + (
            p9.facet_grid("estimator_label ~ pair")
            if ncol is None
            else p9.facet_wrap("pair", ncol=ncol)
        )  # fmt: skip
        + CKA_FILL
        + p9.coord_equal()
        + framed(
            (2.5 + 3.2 * len(pairs), 1.2 + 3.2 * t["estimator_label"].nunique())
            if ncol is None
            else (2.5 + 3.2 * ncol, 1.2 + 3.2 * -(-len(pairs) // ncol)),
            title=f"Layer x layer CKA ({test_set} test set"
            + ("" if ncol is None else f", {t['estimator_label'].iloc[0]}")
            + ")",
            x="second model's layer",
            y="first model's layer",
            theme={
                "axis_text_x": p9.element_text(rotation=90, size=6),
                "axis_text_y": p9.element_text(size=6),
            },
        )
    )


def checkpoints_vs_final(table: pd.DataFrame, base: list[str]) -> p9.ggplot:
    """CKA of each saved checkpoint of a base instance with its final weights, per layer."""
    rows, early = [], [c for c in CHECKPOINTS if c != FINAL]
    for inst in base:
        for c in early:
            t = table[
                (table["a_model"] == model_name(inst, c))
                & (table["b_model"] == inst)
                & table["a_group"].isin(GROUP_ORDER)
                & (table["a_group"] == table["b_group"])
            ].copy()
            t["checkpoint"], t["instance"] = c, inst
            rows.append(t)
    t = pd.concat(rows, ignore_index=True)
    t["estimator_label"] = estimator_labels(t)
    t["layer"] = pd.Categorical(t["a_group"].astype(str), categories=GROUP_ORDER)
    t["checkpoint"] = pd.Categorical(t["checkpoint"], categories=early)
    t["line"] = t["instance"] + t["checkpoint"].astype(str)
    t["test set"] = t["test_set"].astype(str) + " test set"
    return (
        p9.ggplot(t, p9.aes("layer", "cka", colour="checkpoint", group="line"))
        + p9.geom_line(alpha=0.6)
        + p9.geom_point(size=1)
        + p9.facet_grid("estimator_label ~ test set")
        + p9.scale_y_continuous(limits=(0, 1))
        + framed(
            (10, 1.5 + 2.5 * t["estimator_label"].nunique()),
            title="CKA of each checkpoint with the final weights, per layer (8 base instances)",
            x="layer",
            y="CKA with the final weights",
            theme={"axis_text_x": p9.element_text(rotation=45, ha="right")},
        )
    )


def depth_matrix(
    table: pd.DataFrame, panels: dict[str, list[str]], title: str, ncol: int = 2
) -> p9.ggplot:
    """Layer x layer CKA of models of any depth, one panel per {title: [a_model, b_model,
    test_set]} in ``ncol`` columns, each with the layers (and the model group) of its two models
    in network order, under the one estimator of ``table``."""
    frames = []
    for label, (a, b, test_set) in panels.items():
        t = table[
            (table["a_model"] == a) & (table["b_model"] == b) & (table["test_set"] == test_set)
        ].copy()
        t = t[t["a_group"].isin(layer_groups(depth_of(a)))]
        t = t[t["b_group"].isin(layer_groups(depth_of(b)))]
        if t.empty:
            raise ValueError(f"no layer rows of {a} vs {b} on {test_set} in the CKA table")
        t["pair"] = f"{label}\n({test_set} test set)"
        frames.append(t)
    t = pd.concat(frames, ignore_index=True)
    order = sorted(set(t["a_group"]) | set(t["b_group"]), key=layer_sort_key)
    t["a"] = pd.Categorical(t["a_group"], categories=order[::-1])
    t["b"] = pd.Categorical(t["b_group"], categories=order)
    t["pair"] = pd.Categorical(t["pair"], categories=list(dict.fromkeys(t["pair"])))
    t["label"] = t["cka"].map(lambda v: "" if pd.isna(v) else f"{v:.2f}")
    t["ink"] = t["cka"].map(lambda v: "white" if v > 0.6 else "black")
    ncol = min(len(panels), ncol)
    return (
        p9.ggplot(t, p9.aes("b", "a", fill="cka"))
        + p9.geom_tile()
        + p9.geom_text(p9.aes(label="label", colour="ink"), size=4)
        + p9.scale_colour_identity()
        + p9.facet_wrap("pair", ncol=ncol, scales="free")
        + CKA_FILL
        + framed(
            (1.5 + 4.2 * ncol, 1.2 + 4.4 * -(-len(panels) // ncol)),
            title=f"{title} ({estimator_labels(t).iloc[0]})",
            x="second model's layer",
            y="first model's layer",
            theme={
                "axis_text_x": p9.element_text(rotation=90, size=6),
                "axis_text_y": p9.element_text(size=6),
                "subplots_adjust": {"wspace": 0.3, "hspace": 0.35},
            },
        )
    )


# Every layer group of every depth: what the layer-level figures read of the table.
ALL_LAYER_GROUPS = sorted({g for d in DEPTHS for g in layer_groups(d)}, key=layer_sort_key)
DEPTH_TITLES = {
    "depth_matrices": "Layer x layer CKA of each depth with itself",
    "depth_comparison": "Layer x layer CKA of depth 1 against the deeper models",
}


def draw(figure: str, cka_path, options: dict) -> p9.ggplot:
    """The CKA figure called ``figure``, drawn from the rows of ``results/cka.parquet`` it needs.

    ``options`` are its arguments: ``base`` (base_layer_strips, checkpoints_vs_final),
    ``finetuned`` and ``base`` (finetuned_vs_base), ``pairs`` and ``test_set`` (layer_matrices:
    panel title -> [model, model]), ``a`` and ``b`` (filter_heatmap), ``panels`` and
    ``estimator`` (depth_matrices, depth_comparison: panel title -> [model, model, test set]).
    An unknown name raises.
    """
    if figure not in _FIGURES:
        raise ValueError(f"unknown CKA figure {figure!r}; expected one of {sorted(_FIGURES)}")
    if figure == "filter_heatmap":
        table = read_cka_table(cka_path, models=[options["a"], options["b"]])
    elif figure in DEPTH_TITLES:
        models = {m for a, b, _ in options["panels"].values() for m in (a, b)}
        table = read_cka_table(cka_path, groups=ALL_LAYER_GROUPS, models=sorted(models))
    else:
        table = read_cka_table(cka_path, groups=LAYER_GROUPS)
    return _FIGURES[figure](table, options)


_FIGURES = {
    "base_layer_strips": lambda t, o: base_layer_strips(t, o["base"]),
    "filter_heatmap": lambda t, o: filter_heatmap(t, o["a"], o["b"]),
    "finetuned_vs_base": lambda t, o: finetuned_vs_base(t, o["finetuned"], o["base"]),
    "layer_matrices": lambda t, o: layer_matrix(
        t[t["test_set"] == o["test_set"]],
        {k: tuple(v) for k, v in o["pairs"].items()},
        o["test_set"],
    ),
    "checkpoints_vs_final": lambda t, o: checkpoints_vs_final(t, o["base"]),
    "checkpoint_matrices": lambda t, o: layer_matrix(
        select_estimator(t[t["test_set"] == o["test_set"]], o["estimator"])[0],
        {k: tuple(v) for k, v in o["pairs"].items()},
        o["test_set"],
        ncol=3,
    ),
    **{
        f: lambda t, o, f=f: depth_matrix(
            select_estimator(t, o["estimator"])[0], o["panels"], DEPTH_TITLES[f], o["ncol"]
        )
        for f in DEPTH_TITLES
    },
}
