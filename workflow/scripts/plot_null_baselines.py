"""results/figures/null_baselines.{png,pdf} (rule plot_null_baselines)."""

import pandas as pd

from ckaflow.figures.baselines import null_baselines
from ckaflow.figures.common import save_figure
from ckaflow.logs import log_to
from ckaflow.provenance import figure_provenance

sm = snakemake  # noqa: F821
log_to(sm.log[0])
plot = null_baselines(pd.read_csv(sm.input.table), sm.params.label)
save_figure(
    plot,
    sm.output.png,
    sm.output.pdf,
    width=10,
    height=6.5,
    provenance=figure_provenance(sm.config, sm.input),
)
