"""Groups of alike filters: a dendrogram of one layer's filter-CKA matrix with each filter's
kernel under its leaf (in place of the thesis' chord diagram, Figure 5.8 right, which draws
every pair and turns into a solid star when all filters are alike).

Filters join in the order of average-linkage clustering on 1 - CKA; the height at which two
groups join is the mean CKA between their filters, so a group that joins near the top (CKA
near 1) is a set of redundant filters, and the lower a join, the more the two groups differ.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotnine as p9

_READING = "the higher two groups join, the more alike; a group joined near 1 is redundant"


def filter_groups(cka: np.ndarray, kernels: np.ndarray, title: str) -> p9.ggplot:
    """cka (f, f) filter CKA (NaN diagonal = a dead filter, left out of the tree and named in
    the subtitle); kernels (k, k, f), one kernel per filter, drawn under the leaves."""
    f = cka.shape[0]
    if cka.shape != (f, f):
        raise ValueError(f"the filter CKA matrix must be square, got shape {cka.shape}")
    if kernels.shape[-1] != f:
        raise ValueError(f"{f} filters in the CKA matrix but {kernels.shape[-1]} kernels")
    live = [i for i in range(f) if np.isfinite(cka[i, i])]
    dead = [i for i in range(f) if i not in live]
    branches, leaves = _tree(cka, live)
    low = math.floor(min([0.95, *branches["cka"].dropna()]) * 20) / 20
    band = 0.28 * (1.0 - low)  # the height of the kernels' row, below the tree
    glyphs = _glyphs(kernels, leaves, top=low - 0.04 * (1 - low), height=band)
    limit = float(np.abs(kernels).max()) or 1.0
    labels = pd.DataFrame(
        {
            "x": np.arange(len(leaves)),
            "y": low - 0.08 * (1 - low) - band,
            "label": [f"f{i:02d}" for i in leaves],
        }
    )
    note = (
        f"dead (constant) filters, not drawn: {', '.join(f'f{i:02d}' for i in dead)}"
        if dead
        else ""
    )
    return (
        p9.ggplot()
        + p9.geom_path(
            p9.aes("x", "cka", group="branch"), data=branches, colour="#08306b", size=0.7
        )
        + p9.geom_tile(
            p9.aes("x", "y", fill="weight"), data=glyphs,
            width=glyphs.attrs["w"], height=glyphs.attrs["h"],
        )
        + p9.geom_text(  # one group: drawn at once (matrices._cell_text)
            p9.aes("x", "y", label="label", group=1), data=labels, va="top", **_leaf_text(leaves)
        )
        + p9.scale_fill_gradient2(
            low="#2166ac", mid="white", high="#b2182b", limits=(-limit, limit),
            name="kernel\nweight",
        )
        + p9.scale_y_continuous(
            breaks=list(np.round(np.arange(low, 1.0001, 0.05 if 1 - low <= 0.3 else 0.1), 2)),
            limits=(low - 0.16 * (1 - low) - band, 1.0), name="mean CKA between the joined groups",
        )
        + p9.scale_x_continuous(breaks=[], limits=(-0.6, max(len(leaves), 1) - 0.4), name="")
        + p9.labs(title=title, subtitle=note or _READING)
        + p9.theme_minimal()
        + p9.theme(
            figure_size=(7.5, 5.0), plot_title=p9.element_text(size=10),
            plot_subtitle=p9.element_text(size=8), panel_grid_major_x=p9.element_blank(),
            panel_grid_minor=p9.element_blank(),
        )
    )  # fmt: skip


def _leaf_text(leaves: list[int]) -> dict:
    """The leaves' names: across under a few leaves, small and upright under many (64 filters
    side by side read as one smudge across)."""
    return {"size": 7} if len(leaves) <= 24 else {"size": 5, "angle": 90}


def _tree(cka: np.ndarray, live: list[int]) -> tuple[pd.DataFrame, list[int]]:
    """The dendrogram's branches as paths (x, cka, branch) over leaf positions 0..len-1, and
    the filters in leaf order. Average linkage on 1 - CKA; an undefined pair counts as CKA 0."""
    from scipy.cluster.hierarchy import dendrogram, linkage
    from scipy.spatial.distance import squareform

    if len(live) < 2:
        return pd.DataFrame({"x": [], "cka": [], "branch": []}), live
    sub = cka[np.ix_(live, live)]
    sub = np.nan_to_num((sub + sub.T) / 2, nan=0.0)
    distance = np.clip(1.0 - sub, 0.0, None)
    np.fill_diagonal(distance, 0.0)
    tree = dendrogram(linkage(squareform(distance, checks=False), "average"), no_plot=True)
    paths = [
        pd.DataFrame({"x": (np.asarray(xs) - 5) / 10, "cka": 1.0 - np.asarray(ys), "branch": b})
        for b, (xs, ys) in enumerate(zip(tree["icoord"], tree["dcoord"], strict=True))
    ]
    return pd.concat(paths, ignore_index=True), [live[i] for i in tree["leaves"]]


def _glyphs(kernels: np.ndarray, leaves: list[int], top: float, height: float) -> pd.DataFrame:
    """Each leaf's kernel (k, k) as tiles (x, y, weight): centred on its leaf, 0.8 wide, its
    top row at ``top``, ``height`` high; tile sizes in ``attrs``."""
    k = kernels.shape[0]
    w, h = 0.8 / k, height / k
    rows, cols = np.meshgrid(np.arange(k), np.arange(k), indexing="ij")
    parts = [
        pd.DataFrame(
            {
                "x": (pos - 0.4 + (cols + 0.5) * w).ravel(),
                "y": (top - (rows + 0.5) * h).ravel(),
                "weight": kernels[:, :, i].ravel(),
            }
        )
        for pos, i in enumerate(leaves)
    ]
    out = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame({"x": [], "y": [], "weight": []})
    )
    out.attrs.update(w=w, h=h)
    return out
