"""results/figures/null_baselines.{png,pdf} (rule plot_null_baselines)."""

import pandas as pd

from ckaflow.figures import save_rule_figure
from ckaflow.figures.baselines import null_baselines
from ckaflow.logs import log_to

sm = snakemake  # noqa: F821
log_to(sm.log[0])
plot = null_baselines(pd.read_csv(sm.input.table), sm.params.label)
save_rule_figure(plot, sm, size=(10, 6.5))
