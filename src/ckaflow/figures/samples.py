"""Sample images of every domain, clean and (denoising) as the model sees them in training."""

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
    noise: bool = True,
    pepper: float = schema_default("noise.pepper"),
    salt: float = schema_default("noise.salt"),
    seed: int = schema_default("seed"),
) -> p9.ggplot:
    """Rows: each domain clean and (``noise``) with the training noise; columns:
    ``per_domain`` images.

    ``domains`` maps a domain name to its images, (n, h, w, c) float in [0, 1].
    """
    rng = np.random.default_rng(seed)
    frames, rows = [], []
    first = next(iter(domains.values()))
    h, w, c = first.shape[1:]
    for name, images in domains.items():
        pick = images[
            np.sort(rng.choice(len(images), size=min(per_domain, len(images)), replace=False))
        ]
        pick = pick[..., 0] if c == 1 else pick
        kinds = [("clean", pick)]
        if noise:
            noisy = salt_and_pepper(pick, rng, pepper=pepper, salt=salt)
            kinds.append((f"noisy ({pepper:.0%} to 0, {salt:.0%} to 1)", noisy))
        for kind, stack in kinds:
            row = f"{name}\n{kind}" if noise else name
            rows.append(row)
            frames.append(image_frame(stack, row=row))
    data = pd.concat(frames, ignore_index=True)
    data["row"] = pd.Categorical(data["row"], categories=rows)
    return (
        p9.ggplot(data, p9.aes("x", "y", fill="value"))
        + greyscale_images("row ~ panel", rgb=c == 3)
        + p9.labs(
            title="Test images of every domain"
            + (", clean and with the training noise" if noise else "")
            + f" ({w} x {h} pixels)"
        )
        + p9.theme_void()
        + p9.theme(
            strip_text_x=p9.element_blank(),
            strip_text_y=p9.element_text(size=8, angle=0, ha="left"),
            plot_title=p9.element_text(size=10, ha="left"),
            panel_spacing=0.01,
            figure_size=(9, 0.6 + len(rows) * 8.5 / max(per_domain, 1) * h / w),
        )
    )
