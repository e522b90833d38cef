"""Per-image test loss by instance type (snakemake rule plot_test_loss)."""

from ckaflow.figures import save_figure
from ckaflow.figures.training import loss_distribution
from ckaflow.io import read_parquet
from ckaflow.logs import log_to
from ckaflow.provenance import figure_provenance

sm = snakemake  # noqa: F821
log_to(sm.log[0])
plot = loss_distribution(read_parquet(sm.input.losses, "test-loss table"), sm.params.task)
width, height = plot.theme.getp("figure_size")
save_figure(
    plot,
    sm.output.png,
    sm.output.pdf,
    width=width,
    height=height,
    provenance=figure_provenance(sm.config, sm.input),
)
