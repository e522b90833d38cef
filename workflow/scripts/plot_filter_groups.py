"""Groups of alike filters in one instance's first convolution, on its own domain's test set: a
dendrogram of the filter CKA with each kernel under its leaf (rule plot_filter_groups)."""

from ckaflow.figures import save_rule_figure
from ckaflow.figures.filter_groups import filter_groups
from ckaflow.findings import filter_matrix
from ckaflow.logs import log_to
from ckaflow.model.checkpoints import read_checkpoint
from ckaflow.model.spec import read_spec
from ckaflow.names import parse
from ckaflow.stages.cka_table import PAIR_CKA, read_cka_table

sm = snakemake  # noqa: F821
log_to(sm.log[0])
instance = sm.params.instance
test_set = parse(instance).domain
spec = read_spec(sm.input.spec)
layer = spec.filter_figure_layer(sm.params.filter_layers)
table = read_cka_table(sm.input.cka, models=[instance], columns=PAIR_CKA)
matrix = filter_matrix(table, instance, layer, test_set, sm.params.estimator)
kernels = read_checkpoint(sm.input.weights)[spec.row(layer)["kernel"]].mean(axis=2)
title = f"{instance} {layer} filters grouped by CKA ({sm.params.estimator}, {test_set} test set)"
save_rule_figure(filter_groups(matrix, kernels, title), sm, size=(7.5, 5.0))
