"""Sample images of both domains, clean and as the model sees them in training (noisy)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotnine as p9

from ..data.noise import salt_and_pepper
from ..schema import schema_default
from .common import greyscale_images, image_frame


def sample_grid(
    domains: dict[str, np.ndarray],
    *,
    per_domain: int = schema_default("figures.samples_per_domain"),
    pepper: float = schema_default("noise.pepper"),
    salt: float = schema_default("noise.salt"),
    seed: int = schema_default("seed"),
) -> p9.ggplot:
    """Rows: each domain clean and with training noise; columns: ``per_domain`` images.

    ``domains`` maps a domain name to its images, (n, 64, 80) float in [0, 1].
    """
    rng = np.random.default_rng(seed)
    frames, rows = [], []
    for name, images in domains.items():
        pick = images[
            np.sort(rng.choice(len(images), size=min(per_domain, len(images)), replace=False))
        ]
        noisy = salt_and_pepper(pick, rng, pepper=pepper, salt=salt)
        for kind, stack in (
            ("clean", pick),
            (f"noisy ({pepper:.0%} to 0, {salt:.0%} to 1)", noisy),
        ):
            row = f"{name}\n{kind}"
            rows.append(row)
            frames.append(image_frame(stack, row=row))
    data = pd.concat(frames, ignore_index=True)
    data["row"] = pd.Categorical(data["row"], categories=rows)
    return (
        p9.ggplot(data, p9.aes("x", "y", fill="value"))
        + greyscale_images("row ~ panel")
        + p9.labs(title="Both domains, clean and with the training noise (80 x 64 pixels)")
        + p9.theme_void()
        + p9.theme(
            strip_text_x=p9.element_blank(),
            strip_text_y=p9.element_text(size=8, angle=0, ha="left"),
            plot_title=p9.element_text(size=10, ha="left"),
            panel_spacing=0.01,
            figure_size=(9, 4.6),
        )
    )
