"""Validation loss curves of every family (snakemake rule plot_loss_curves)."""

from ckaflow.figures import save_figure
from ckaflow.figures.training import loss_curves
from ckaflow.io import read_parquet
from ckaflow.logs import log_to
from ckaflow.provenance import figure_provenance

sm = snakemake  # noqa: F821
log_to(sm.log[0])
histories = {
    i: read_parquet(p, "history")
    for i, p in zip(sm.params.instances, sm.input.histories, strict=True)
}
plot = loss_curves(histories, sm.params.task)
width, height = plot.theme.getp("figure_size")
save_figure(
    plot,
    sm.output.png,
    sm.output.pdf,
    width=width,
    height=height,
    provenance=figure_provenance(sm.config, sm.input),
)
