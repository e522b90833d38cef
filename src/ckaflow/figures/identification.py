"""The layer-identification figure: how often each measure finds a seed's layer in another seed
of the same domain (Kornblith et al. 2019, Table 2), trained beside initial weights, with chance.
"""

from __future__ import annotations

import pandas as pd
import plotnine as p9

from .common import framed

WEIGHTS = {"final": "trained", "init": "initial weights"}


def identification(table: pd.DataFrame) -> p9.ggplot:
    """``table``: results/tables/layer_identification.csv. One panel per domain (on its own test
    set): each measure's accuracy, trained and at initial weights, with its interval over seeds
    (none below three seeds); the dashed line is chance (one in the number of layers)."""
    t = table[table["test_set"] == table["domain"]].copy()
    t["weights"] = pd.Categorical(t["weights"].map(WEIGHTS), categories=list(WEIGHTS.values()))
    t["measure"] = pd.Categorical(t["measure"], categories=list(dict.fromkeys(t["measure"])))
    t["panel"] = t["domain"] + " (" + t["seeds"].astype(str) + " seeds, own test set)"
    chance = t.drop_duplicates("panel")[["panel", "chance"]]
    dodge = p9.position_dodge(width=0.5)
    ranged = t.dropna(subset=["low", "high"])
    return (
        p9.ggplot(t, p9.aes("measure", "accuracy", colour="weights"))
        + p9.geom_hline(p9.aes(yintercept="chance"), chance, linetype="dashed", colour="grey")
        + p9.geom_linerange(p9.aes(ymin="low", ymax="high"), ranged, position=dodge)
        + p9.geom_point(position=dodge, size=2)
        + p9.facet_wrap("panel", ncol=1)
        + p9.coord_flip()
        + p9.scale_y_continuous(limits=(0, 1), labels=lambda v: [f"{x:.0%}" for x in v])
        + p9.scale_colour_manual(values={"trained": "#d95f02", "initial weights": "#7570b3"})
        + framed(
            (9, 1.2 + (0.5 + 0.35 * t["measure"].nunique()) * t["panel"].nunique()),
            theme={"legend_position": "bottom"},
            title="Is the most similar layer of another seed the same layer?",
            x="measure",
            y="share of (seed pair, layer) identified; dashed: chance",
            colour="",
        )
    )
