"""Chord diagram of one instance's first-convolution filter CKA on its own domain (rule
plot_chord)."""

from ckaflow.figures import save_figure
from ckaflow.figures.chord import chord_diagram
from ckaflow.figures.cka import first_conv
from ckaflow.findings import filter_matrix
from ckaflow.logs import log_to
from ckaflow.model.checkpoints import read_checkpoint
from ckaflow.model.spec import read_spec
from ckaflow.names import parse
from ckaflow.provenance import figure_provenance
from ckaflow.stages.cka_table import read_cka_table

sm = snakemake  # noqa: F821
log_to(sm.log[0])
instance = sm.params.instance
test_set = parse(instance).domain
spec = read_spec(sm.input.spec)
layer = first_conv(spec)
table = read_cka_table(sm.input.cka, models=[instance])
matrix = filter_matrix(table, instance, layer, test_set, sm.params.estimator)
kernels = read_checkpoint(sm.input.weights)[spec.row(layer)["kernel"]].mean(axis=2)
title = f"{instance} {layer} filters, {test_set} test set: opacity = CKA ({sm.params.estimator})"
save_figure(
    chord_diagram(matrix, kernels, title),
    sm.output.png,
    sm.output.pdf,
    width=7.5,
    height=6.5,
    provenance=figure_provenance(sm.config, sm.input),
)
