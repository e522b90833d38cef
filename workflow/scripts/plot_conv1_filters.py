"""The first convolution's kernels of one instance at init and trained (rule
plot_conv1_filters)."""

from ckaflow.figures import save_rule_figure
from ckaflow.figures.training import conv1_filters
from ckaflow.logs import log_to
from ckaflow.model.checkpoints import read_checkpoint
from ckaflow.model.spec import read_spec

sm = snakemake  # noqa: F821
log_to(sm.log[0])
spec = read_spec(sm.input.spec)
layer = spec.first_conv
key = spec.row(layer)["kernel"]
kernels = {
    "init": read_checkpoint(sm.input.init)[key],
    "trained": read_checkpoint(sm.input.final)[key],
}
plot = conv1_filters(kernels, sm.params.instance, layer)
save_rule_figure(plot, sm)
