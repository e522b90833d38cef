"""Figures of the training stage: loss curves, reconstructions, test-loss distributions, filters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotnine as p9

from ..names import parse
from ..training.tasks import LOSS
from .common import framed, greyscale_images, image_frame
from .seeds import bands, curve_spread, note, seeds_per_family, summarises


def loss_curves(histories: dict[str, pd.DataFrame], task: str = "denoise") -> p9.ggplot:
    """Validation loss on every domain vs step, one panel per family, seeds overlaid; beyond
    :data:`~.seeds.MAX_SEEDS_DRAWN` seeds per family, their median with a band from the
    lowest to the highest seed.

    ``histories``: each instance's history.parquet by name; an instance that was not trained
    (imported from a saved model) has none and no panel.
    """
    history = pd.concat(
        [
            h.assign(instance=i, family=parse(i).family, seed=parse(i).seed)
            for i, h in histories.items()
            if len(h)
        ]
    )
    curves = [c for c in history.columns if c.startswith("val_loss_")]
    long = history.melt(
        id_vars=["instance", "family", "seed", "step", "phase"],
        value_vars=curves,
        var_name="validation set",
        value_name="loss",
    )
    long["validation set"] = long["validation set"].str.replace("val_loss_", "")
    seeds = seeds_per_family(history["instance"].unique())
    title, subtitle = "Validation loss during training", None
    deep = long["family"].str.contains("-d[0-9]$").any()
    if summarises(seeds):
        long = curve_spread(long, ["family", "validation set"], "step", "loss")
        long["curve"] = long["validation set"]
        lines = bands("validation set", points=False)
        title += " (-d2: depth 2)" if deep else ""
        subtitle = note(seeds, "seeds still training", centre="median")
    else:
        long["curve"] = long["instance"] + long["validation set"]
        long["seed"] = long["seed"].astype(str)
        lines = [p9.geom_line(p9.aes(linetype="seed"), size=0.5, alpha=0.85)]
        title += " (seeds overlaid" + ("; -d2: depth 2)" if deep else ")")
    rows = -(-long["family"].nunique() // 2)
    return (
        p9.ggplot(long, p9.aes("step", "loss", colour="validation set", group="curve"))
        + lines
        + p9.facet_wrap("family", ncol=2, scales="free_x")
        + p9.scale_y_log10()
        + p9.scale_colour_brewer(type="qual", palette="Dark2")
        + p9.scale_fill_brewer(type="qual", palette="Dark2")
        + framed(
            (9, max(4.5, 1.2 + 2.4 * rows) + (0.3 if subtitle else 0)),  # room for the y label
            title=title,
            subtitle=subtitle,
            x="training step (batches)",
            y=f"validation loss, log scale\n({LOSS[task]})",
        )
    )


def reconstruction_grid(columns: dict[str, np.ndarray], title: str) -> p9.ggplot:
    """Images in rows, one column per source: ``columns`` maps a label to (k, h, w) images
    (or (k, h, w, 3) in colour)."""
    labels = list(columns)
    rgb = next(iter(columns.values())).ndim == 4
    frames = [image_frame(np.clip(v, 0, 1), column=label) for label, v in columns.items()]
    data = pd.concat(frames, ignore_index=True)
    data["column"] = pd.Categorical(data["column"], categories=labels)
    return (
        p9.ggplot(data, p9.aes("x", "y", fill="value"))
        + greyscale_images("panel ~ column", rgb=rgb)
        + p9.labs(title=title)
        + p9.theme_void()
        + p9.theme(
            strip_text_y=p9.element_blank(),
            strip_text_x=p9.element_text(size=7),
            plot_title=p9.element_text(size=10, ha="left"),
            figure_size=(2 + 1.6 * len(labels), 1.5 + 1.15 * len(columns[labels[0]])),
        )
    )


def instance_type(instance: str, test_set: str) -> str:
    """How an instance relates to a test set, for grouping losses."""
    inst = parse(instance)
    if not inst.finetuned:
        return "base, trained on it" if inst.domain == test_set else "base, trained on another"
    if inst.domain == test_set:
        return "fine-tuned to it"
    return "fine-tuned away from it" if inst.source == test_set else "fine-tuned, another domain"


TYPES = [
    "base, trained on it",
    "fine-tuned to it",
    "base, trained on another",
    "fine-tuned away from it",
    "fine-tuned, another domain",
]


def loss_distribution(losses: pd.DataFrame, task: str = "denoise") -> p9.ggplot:
    """Per-image test loss by instance type, one panel per test set (thesis Figure 5.5), and a
    row of panels per model depth when the study has deeper models."""
    data = losses.copy()
    data["type"] = pd.Categorical(
        [instance_type(i, t) for i, t in zip(data["instance"], data["test_set"], strict=True)],
        categories=[
            t
            for t in TYPES
            if t
            in {
                instance_type(i, ts)
                for i, ts in zip(data["instance"], data["test_set"], strict=True)
            }
        ],
    )
    data["test set"] = data["test_set"] + " test set"
    depths = [parse(i).depth for i in data["instance"]]
    data["depth"] = pd.Categorical([f"depth {d}" for d in depths])
    deep = data["depth"].nunique() > 1
    seeds = data[data["depth"] == "depth 1"]["instance"].map(lambda i: parse(i).seed).nunique()
    return (
        p9.ggplot(data, p9.aes("type", "loss", fill="type"))
        + p9.geom_boxplot(outlier_size=0.4, outlier_alpha=0.4)
        + (p9.facet_grid("depth ~ test set") if deep else p9.facet_wrap("test set"))
        + p9.scale_y_log10()
        + framed(
            (9, 5 + 3 * (data["depth"].nunique() - 1)),
            title="Per-image test loss by how the instance relates to the test set "
            f"({seeds} seeds each at depth 1)",
            x="",
            y=f"loss per image ({LOSS[task]}, log scale)",
            theme={
                "axis_text_x": p9.element_text(rotation=20, ha="right"),
                "legend_position": "none",
            },
        )
    )


PER_ROW = 16  # kernels per row of the filter figure


def conv1_filters(kernels: dict[str, np.ndarray], instance: str, layer: str = "conv1") -> p9.ggplot:
    """The first convolution's kernels (kh, kw, c_in, f) per checkpoint (rows of at most 16),
    each checkpoint's ordered by mean weight; several input channels are averaged."""
    frames, limit = [], 0.0
    for label, k in kernels.items():
        k = k.mean(axis=2)  # (kh, kw, f): one input channel, or their mean
        order = np.argsort(k.mean(axis=(0, 1)))
        stack = np.moveaxis(k[:, :, order], -1, 0)  # (f, kh, kw), by rank
        frame = image_frame(stack)
        frame["checkpoint"] = [
            label if len(order) <= PER_ROW else f"{label} {p // PER_ROW + 1}"
            for p in frame["panel"]
        ]
        frame["filter"] = [f"#{order[p]}" for p in frame["panel"]]
        frame["panel"] = frame["panel"] % PER_ROW
        frames.append(frame)
        limit = max(limit, float(np.abs(k).max()))
    data = pd.concat(frames, ignore_index=True)
    data["checkpoint"] = pd.Categorical(
        data["checkpoint"], categories=list(dict.fromkeys(data["checkpoint"]))
    )
    labels = data.groupby(["checkpoint", "panel"], observed=True)["filter"].first().reset_index()
    kh, kw, c_in, f = next(iter(kernels.values())).shape
    labels["x"], labels["y"] = (kw - 1) / 2, -0.6 - 0.1 * kh
    return (
        p9.ggplot(data, p9.aes("x", "y", fill="value"))
        + p9.geom_raster()
        + p9.geom_text(  # one group: drawn at once (matrices._cell_text)
            p9.aes(x="x", y="y", label="filter", group=1), data=labels, size=6, inherit_aes=False
        )
        + p9.facet_grid("checkpoint ~ panel")
        + p9.scale_fill_gradient2(
            low="#2166ac", mid="white", high="#b2182b", limits=(-limit, limit), name="weight"
        )
        + p9.scale_y_reverse()
        + p9.coord_fixed(expand=True)
        + p9.labs(
            title=f"{instance}: {layer} kernels ({kh} x {kw}"
            + (f", mean of {c_in} input channels" if c_in > 1 else "")
            + "), each row ordered by mean weight"
        )
        + p9.theme_void()
        + p9.theme(
            strip_text_x=p9.element_blank(),
            strip_text_y=p9.element_text(size=8, angle=0),
            plot_title=p9.element_text(size=10, ha="left"),
            figure_size=(11, 0.8 + 0.9 * data["checkpoint"].nunique()),
        )
    )
