"""results/figures/claim_effects.{png,pdf} (rule plot_claim_effects)."""

import pandas as pd

from ckaflow.figures import save_rule_figure
from ckaflow.figures.baselines import claim_effects
from ckaflow.logs import log_to

sm = snakemake  # noqa: F821
log_to(sm.log[0])
table = pd.read_csv(sm.input.table)
height = 1.5 + 0.45 * table["estimator"].nunique()
save_rule_figure(claim_effects(table), sm, size=(11, height))
