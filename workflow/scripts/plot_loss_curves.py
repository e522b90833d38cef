"""Validation loss curves of every family (snakemake rule plot_loss_curves)."""

from ckaflow.figures import save_rule_figure
from ckaflow.figures.training import loss_curves
from ckaflow.io import read_parquet
from ckaflow.logs import log_to

sm = snakemake  # noqa: F821
log_to(sm.log[0])
histories = {
    i: read_parquet(p, "history")
    for i, p in zip(sm.params.instances, sm.input.histories, strict=True)
}
plot = loss_curves(histories, sm.params.task)
save_rule_figure(plot, sm)
