"""results/figures/layer_identification.{png,pdf} (rule plot_layer_identification)."""

import pandas as pd

from ckaflow.figures import save_rule_figure
from ckaflow.figures.identification import identification
from ckaflow.logs import log_to

sm = snakemake  # noqa: F821
log_to(sm.log[0])
save_rule_figure(identification(pd.read_csv(sm.input.table)), sm)
