"""The null-baseline figure: per layer, the CKA that initial weights, training alone and other
seeds give, beside the fine-tuning comparisons, each with its interval."""

from __future__ import annotations

import pandas as pd
import plotnine as p9

from ..architecture import LAYER_GROUPS
from ..findings.baselines import COMPARISONS
from .common import framed


def null_baselines(table: pd.DataFrame, label: str) -> p9.ggplot:
    """``table``: :func:`ckaflow.findings.baselines.baseline_table` (results/tables/
    null_baselines.csv). Points are means over each comparison's pairs, bars their intervals."""
    t = table.copy()
    t["group"] = pd.Categorical(t["group"], categories=list(LAYER_GROUPS))
    present = [c for c in COMPARISONS if c in set(t["comparison"])]
    t["comparison"] = pd.Categorical(t["comparison"], categories=present)
    t["panel"] = t["test_set"] + " test set"
    dodge = p9.position_dodge(width=0.75)
    return (
        p9.ggplot(t, p9.aes("group", "cka", colour="comparison"))
        + p9.geom_pointrange(p9.aes(ymin="low", ymax="high"), position=dodge, size=0.3)
        + p9.facet_wrap("panel", ncol=1)
        + p9.scale_colour_brewer(type="qual", palette="Dark2")
        + p9.guides(colour=p9.guide_legend(ncol=3))
        + framed(
            (10, 6.5),
            theme={"legend_position": "bottom"},
            title=f"Null baselines, {label}: mean CKA over pairs, bootstrap intervals",
            x="group",
            y="CKA",
            colour="pairs compared",
        )
    )
