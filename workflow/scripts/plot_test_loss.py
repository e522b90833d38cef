"""Per-image test loss by instance type (snakemake rule plot_test_loss)."""

from ckaflow.figures import save_rule_figure
from ckaflow.figures.training import loss_distribution
from ckaflow.io import read_parquet
from ckaflow.logs import log_to

sm = snakemake  # noqa: F821
log_to(sm.log[0])
plot = loss_distribution(read_parquet(sm.input.losses, "test-loss table"), sm.params.task)
save_rule_figure(plot, sm)
