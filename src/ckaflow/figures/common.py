"""What every figure shares: a quiet theme and atomic PNG + PDF output."""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import plotnine as p9

from ..io import atomic_path


def cka_fill(values) -> tuple[p9.scale_fill_gradient, float]:
    """The colour scale of a CKA matrix fitted to its values: from the 2nd percentile (rounded
    down to 0.05, never above 0.95) to 1, so that a few outlying cells (a dead layer, the
    thesis' global centring) do not flatten every other cell into one colour; values below it
    keep the lightest colour (their printed numbers stay exact) and the legend says so. Shared
    by every panel of the figure; returns the scale and its low end. Values a rounding beyond 1
    keep the top colour."""
    from mizani.bounds import squish

    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    low = math.floor(min(float(np.quantile(v, 0.02)), 0.95) * 20) / 20 if v.size else 0.0
    below = "\nlower: lightest" if v.size and v.min() < low else ""
    scale = p9.scale_fill_gradient(
        low="#f7fbff", high="#08306b", limits=(low, 1.0), oob=squish,
        name=f"CKA\n(scale {low:.2f}-1{below})",
    )  # fmt: skip
    return scale, low


def ink(values, low: float) -> list[str]:
    """Text colour over each cell of a :func:`cka_fill` scale: white on the dark upper part."""
    return ["black" if pd.isna(v) or (v - low) / (1.0 - low) <= 0.6 else "white" for v in values]


PROVENANCE_KEY = "ckaflow provenance"  # the PNG text chunk; a PDF's Keywords entry


def save_figure(
    plot: p9.ggplot,
    *paths: str | os.PathLike,
    width: float,
    height: float,
    provenance: Mapping | None = None,
) -> None:
    """Write ``plot`` to each path (format from the suffix: .png at 150 dpi, .pdf), atomically,
    with ``provenance`` (:func:`ckaflow.provenance.figure_provenance`) as JSON in its metadata
    (:func:`read_figure_provenance`) and no creation date: the same inputs give the same bytes."""
    stamp = json.dumps(provenance, sort_keys=True, default=str) if provenance else ""
    for path in paths:
        pdf = Path(path).suffix.lower() == ".pdf"
        meta = {"Keywords": stamp, "CreationDate": None} if pdf else {PROVENANCE_KEY: stamp}
        with atomic_path(path) as tmp, warnings.catch_warnings():
            warnings.simplefilter("ignore", p9.exceptions.PlotnineWarning)
            plot.save(tmp, width=width, height=height, dpi=150, verbose=False, metadata=meta)


def save_rule_figure(plot: p9.ggplot, sm, size: tuple[float, float] | None = None) -> None:
    """A workflow rule's figure: ``plot`` to the rule's ``png`` and ``pdf`` outputs, ``size``
    inches (default: the plot's own ``figure_size``), stamped with the provenance of the rule's
    config and inputs."""
    from ..provenance import figure_provenance

    width, height = size or plot.theme.getp("figure_size")
    provenance = figure_provenance(sm.config, sm.input)
    save_figure(
        plot, sm.output.png, sm.output.pdf, width=width, height=height, provenance=provenance
    )


def read_figure_provenance(path: str | os.PathLike) -> dict:
    """The provenance :func:`save_figure` wrote into a PNG ({} if none). A PDF carries the same
    JSON as its document's Keywords (any PDF viewer's document properties show it)."""
    from PIL import Image

    with Image.open(path) as im:
        text = im.text.get(PROVENANCE_KEY, "")
    return json.loads(text) if text else {}


def jittered(table: pd.DataFrame, column: str, categories: list[str], width: float):
    """``table`` with an ``x`` column (each row's category of ``column`` at 1, 2, ..., moved by a
    uniform offset of at most ``width`` drawn from a fixed seed) and the scale that labels the
    categories (at most :data:`MAX_PANEL_LABELS` names, a grid line at every category): a jitter
    that draws the same bytes every time (plotnine's ``random_state`` does not hold across
    processes)."""
    position = {c: i + 1 for i, c in enumerate(categories)}
    offsets = np.random.default_rng(0).uniform(-width, width, len(table))
    out = table.assign(x=table[column].astype(str).map(position).to_numpy() + offsets)
    named = thinned(list(categories), most=MAX_PANEL_LABELS)
    every = [] if len(named) == len(categories) else list(position.values())
    scale = p9.scale_x_continuous(
        breaks=[position[c] for c in named], labels=named,
        minor_breaks=every, limits=(0.5, len(categories) + 0.5),
    )  # fmt: skip
    return out, scale


def slanted(categories: list[str]) -> dict:
    """The theme of a :func:`jittered` axis: its names slanted once it holds more categories
    than :data:`MAX_PANEL_LABELS` (names then long and close), else nothing."""
    if len(categories) <= MAX_PANEL_LABELS:
        return {}
    return {"axis_text_x": p9.element_text(rotation=45, ha="right")}


def image_frame(images: np.ndarray, **labels: object) -> pd.DataFrame:
    """Long table of pixels (x, y, value) of a stack of images (k, h, w) in [0, 1], one
    ``panel`` per image, with constant label columns added, for ``geom_raster``; RGB images
    (k, h, w, 3) get their colour as a ``fill`` column (hex) too."""
    rgb = images.ndim == 4 and images.shape[3] == 3
    k, h, w = images.shape[:3]
    panel, y, x = np.meshgrid(np.arange(k), np.arange(h), np.arange(w), indexing="ij")
    value = images.mean(axis=3) if rgb else images.reshape(k, h, w)
    frame = pd.DataFrame(
        {"panel": panel.ravel(), "x": x.ravel(), "y": y.ravel(), "value": value.ravel()}
    )
    if rgb:
        codes = np.clip(np.rint(images.reshape(-1, 3) * 255), 0, 255).astype(int)
        frame["fill"] = [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in codes]
    for name, value in labels.items():
        frame[name] = value
    return frame


def greyscale_images(facets: str, rgb: bool = False) -> list:
    """The layers that draw an :func:`image_frame` as pictures (greyscale, or in colour when
    ``rgb``), one per facet cell."""
    fill = (
        [p9.aes(fill="fill"), p9.scale_fill_identity()]
        if rgb
        else [p9.scale_fill_gradient(low="black", high="white", limits=(0, 1), name="pixel")]
    )
    return [
        p9.geom_raster(),
        p9.facet_grid(facets),
        *fill,
        p9.scale_y_reverse(),
        p9.coord_fixed(expand=False),
    ]


def framed(size: tuple[float, float], theme: dict | None = None, **labels: str) -> list:
    """The last layers of every figure: its labels (``p9.labs``), the black-and-white theme,
    its size in inches and any further ``theme`` settings."""
    return [p9.labs(**labels), p9.theme_bw(), p9.theme(figure_size=size, **(theme or {}))]


# At most this many names on a categorical axis; more are thinned to every k-th. A panel half
# a figure wide (two test sets side by side) names at most MAX_PANEL_LABELS.
MAX_AXIS_LABELS, MAX_PANEL_LABELS = 24, 12


def thinned(names: list[str], keep: tuple[str, ...] = (), most: int = MAX_AXIS_LABELS) -> list[str]:
    """Every k-th of ``names`` (and those in ``keep``), at most about ``most``: the axis names
    of a matrix of 35 layers or 64 filters that can still be read."""
    step = -(-len(names) // most)
    return [g for i, g in enumerate(names) if i % step == 0 or g in keep]
