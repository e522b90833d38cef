"""conv1 kernels of one instance at init and trained (snakemake rule plot_conv1_filters)."""

from ckaflow.figures import save_figure
from ckaflow.figures.training import conv1_filters
from ckaflow.logs import log_to
from ckaflow.model.checkpoints import read_checkpoint

sm = snakemake  # noqa: F821
log_to(sm.log[0])
kernels = {
    "init": read_checkpoint(sm.input.init)["conv1_kernel"],
    "trained": read_checkpoint(sm.input.final)["conv1_kernel"],
}
plot = conv1_filters(kernels, sm.params.instance)
save_figure(plot, sm.output.png, sm.output.pdf, width=11, height=2.6)
