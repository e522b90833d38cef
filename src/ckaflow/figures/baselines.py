"""The null-baseline figure: per layer, the CKA that initial weights, training alone and other
seeds give, beside the fine-tuning comparisons, each with its interval."""

from __future__ import annotations

import textwrap

import pandas as pd
import plotnine as p9

from ..findings.baselines import COMPARISONS
from .common import framed


def null_baselines(table: pd.DataFrame, label: str) -> p9.ggplot:
    """``table``: :func:`ckaflow.findings.baselines.baseline_table` (results/tables/
    null_baselines.csv). Points are means over each comparison's pairs, bars their intervals."""
    t = table.copy()
    t["group"] = pd.Categorical(t["group"], categories=list(dict.fromkeys(t["group"])))
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
            (10, 1.5 + 2.5 * t["panel"].nunique()),
            theme={
                "legend_position": "bottom",
                "axis_text_x": p9.element_text(rotation=45, ha="right"),
            },
            title=f"Null baselines, {label}: mean CKA over pairs, bootstrap intervals",
            x="group",
            y="CKA",
            colour="pairs compared",
        )
    )


def claim_effects(table: pd.DataFrame) -> p9.ggplot:
    """Each CKA claim's effect per estimator with its interval, beside the same statistic under
    the initial weights (``table``: results/tables/claim_effects.csv). A claim is supported
    where its interval lies right of 0, contradicted where it lies left of it."""
    t = table[table["estimator"] != "training"].copy()
    if "statement" in t:  # each panel says its claim
        t["claim"] = [textwrap.fill(s, 44) for s in t["statement"]]
    else:
        t["claim"] = "claim " + t["claim"]
    dodge = p9.position_dodge(width=0.5)
    return (
        p9.ggplot(t, p9.aes("estimator", "estimate", colour="kind"))
        + p9.geom_hline(yintercept=0, linetype="dashed", colour="grey")
        + p9.geom_pointrange(p9.aes(ymin="low", ymax="high"), position=dodge)
        + p9.facet_wrap("claim", ncol=3, scales="free_x")
        + p9.coord_flip()
        + p9.scale_colour_manual(values={"effect": "#d95f02", "same at initial weights": "#7570b3"})
        + framed(
            (11, 1.5 + 0.45 * t["estimator"].nunique()),
            theme={"legend_position": "bottom", "subplots_adjust": {"wspace": 0.35}},
            title="The claims' CKA effects with their intervals (dashed: no effect)",
            x="",
            y="effect (CKA difference)",
            colour="",
        )
    )
