"""What every figure shares: a quiet theme and atomic PNG + PDF output."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pandas as pd
import plotnine as p9

from ..io import atomic_path


def save_figure(plot: p9.ggplot, *paths: str | os.PathLike, width: float, height: float) -> None:
    """Write ``plot`` to each path (format from the suffix: .png at 150 dpi, .pdf), atomically."""
    for path in paths:
        with atomic_path(path) as tmp, warnings.catch_warnings():
            warnings.simplefilter("ignore", p9.exceptions.PlotnineWarning)
            plot.save(tmp, width=width, height=height, dpi=150, verbose=False)


def image_frame(images: np.ndarray, **labels: object) -> pd.DataFrame:
    """Long table of pixels (x, y, value) of a stack of images (k, h, w), one ``panel`` per image,
    with constant label columns added, for ``geom_raster``.
    """
    k, h, w = images.shape
    panel, y, x = np.meshgrid(np.arange(k), np.arange(h), np.arange(w), indexing="ij")
    frame = pd.DataFrame(
        {"panel": panel.ravel(), "x": x.ravel(), "y": y.ravel(), "value": images.ravel()}
    )
    for name, value in labels.items():
        frame[name] = value
    return frame


def greyscale_images(facets: str) -> list:
    """The layers that draw an :func:`image_frame` as greyscale pictures, one per facet cell."""
    return [
        p9.geom_raster(),
        p9.facet_grid(facets),
        p9.scale_fill_gradient(low="black", high="white", limits=(0, 1), name="pixel"),
        p9.scale_y_reverse(),
        p9.coord_fixed(expand=False),
    ]


def framed(size: tuple[float, float], theme: dict | None = None, **labels: str) -> list:
    """The last layers of every figure: its labels (``p9.labs``), the black-and-white theme,
    its size in inches and any further ``theme`` settings."""
    return [p9.labs(**labels), p9.theme_bw(), p9.theme(figure_size=size, **(theme or {}))]
