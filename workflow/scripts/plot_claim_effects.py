"""results/figures/claim_effects.{png,pdf} (rule plot_claim_effects)."""

import pandas as pd

from ckaflow.figures.baselines import claim_effects
from ckaflow.figures.common import save_figure
from ckaflow.logs import log_to
from ckaflow.provenance import figure_provenance

sm = snakemake  # noqa: F821
log_to(sm.log[0])
table = pd.read_csv(sm.input.table)
height = 1.5 + 0.45 * table["estimator"].nunique()
save_figure(
    claim_effects(table),
    sm.output.png,
    sm.output.pdf,
    width=11,
    height=height,
    provenance=figure_provenance(sm.config, sm.input),
)
