"""A chord ("clock") diagram of a filter-CKA matrix (thesis Figure 5.8, right).

The filters sit round a circle, each drawn with its kernel weights; every pair is joined by a
chord whose opacity is their CKA, so groups of similar filters show as dense bundles.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotnine as p9

_GLYPH_RADIUS = 1.22  # where the kernels are drawn, the chords end on the unit circle
_LABEL_RADIUS = 1.5


def chord_diagram(cka: np.ndarray, kernels: np.ndarray, title: str) -> p9.ggplot:
    """cka (f, f) filter CKA (NaN = undefined); kernels (k, k, f), one kernel per filter."""
    f = cka.shape[0]
    if kernels.shape[-1] != f:
        raise ValueError(f"{f} filters in the CKA matrix but {kernels.shape[-1]} kernels")
    theta = np.pi / 2 - 2 * np.pi * np.arange(f) / f
    ends = np.stack([np.cos(theta), np.sin(theta)], axis=1)  # (f, 2)
    chord_frame = _chords(cka, ends)
    cell = 0.045
    glyph_frame = _glyphs(kernels, ends, cell)
    limit = float(np.abs(kernels).max()) or 1.0
    dead = [i for i in range(f) if not np.isfinite(cka[i, i])]
    labels = pd.DataFrame(
        {
            "x": _LABEL_RADIUS * ends[:, 0],
            "y": _LABEL_RADIUS * ends[:, 1],
            "label": [f"f{i:02d}" + (" (dead)" if i in dead else "") for i in range(f)],
        }
    )
    return (
        p9.ggplot()
        + p9.geom_path(
            p9.aes("x", "y", group="pair", alpha="cka"),
            data=chord_frame,
            colour="#08306b",
            size=0.6,
        )
        + p9.geom_tile(p9.aes("x", "y", fill="weight"), data=glyph_frame, width=cell, height=cell)
        + p9.geom_text(p9.aes("x", "y", label="label"), data=labels, size=7)
        + p9.scale_alpha_continuous(limits=(0, 1), range=(0, 0.9), name="CKA")
        + p9.scale_fill_gradient2(
            low="#2166ac", mid="white", high="#b2182b", limits=(-limit, limit), name="weight"
        )
        + p9.coord_equal(xlim=(-1.7, 1.7), ylim=(-1.7, 1.7))
        + p9.labs(title=title)
        + p9.theme_void()
        + p9.theme(figure_size=(7.5, 6.5), plot_title=p9.element_text(size=10))
    )


def _chords(cka: np.ndarray, ends: np.ndarray) -> pd.DataFrame:
    """One path per pair of filters with a defined CKA: (x, y, pair, cka)."""
    t = np.linspace(0, 1, 24)[:, None]
    chords = []
    for i in range(len(ends)):
        for j in range(i + 1, len(ends)):
            if not np.isfinite(cka[i, j]):
                continue
            # Quadratic Bezier through a control point pulled towards the centre.
            ctrl = 0.15 * (ends[i] + ends[j])
            path = (1 - t) ** 2 * ends[i] + 2 * t * (1 - t) * ctrl + t**2 * ends[j]
            chords.append(
                pd.DataFrame(
                    {"x": path[:, 0], "y": path[:, 1], "pair": f"{i}-{j}", "cka": cka[i, j]}
                )
            )
    if not chords:
        return pd.DataFrame(columns=["x", "y", "pair", "cka"])
    return pd.concat(chords, ignore_index=True)


def _glyphs(kernels: np.ndarray, ends: np.ndarray, cell: float) -> pd.DataFrame:
    """Each filter's kernel (k, k) as tiles of side ``cell`` beside its end: (x, y, weight)."""
    k = kernels.shape[0]
    offsets = (np.arange(k) - (k - 1) / 2) * cell
    gx, gy = np.meshgrid(offsets, -offsets)
    glyphs = []
    for i, (cx, cy) in enumerate(_GLYPH_RADIUS * ends):
        glyphs.append(
            pd.DataFrame(
                {"x": (cx + gx).ravel(), "y": (cy + gy).ravel(), "weight": kernels[:, :, i].ravel()}
            )
        )
    return pd.concat(glyphs, ignore_index=True)
