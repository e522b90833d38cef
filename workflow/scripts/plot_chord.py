"""Chord diagram of one instance's conv1 filter CKA on its own domain (rule plot_chord)."""

from ckaflow.figures import save_figure
from ckaflow.figures.chord import chord_diagram
from ckaflow.findings import filter_matrix
from ckaflow.logs import log_to
from ckaflow.model.checkpoints import read_checkpoint
from ckaflow.names import parse
from ckaflow.stages.cka_table import read_cka_table

sm = snakemake  # noqa: F821
log_to(sm.log[0])
instance = sm.params.instance
test_set = parse(instance).domain
matrix = filter_matrix(
    read_cka_table(sm.input.cka, models=[instance]),
    instance,
    "conv1",
    test_set,
    sm.params.estimator,
)
kernels = read_checkpoint(sm.input.weights)["conv1_kernel"][:, :, 0, :]
title = f"{instance} conv1 filters, {test_set} test set: opacity = CKA ({sm.params.estimator})"
save_figure(
    chord_diagram(matrix, kernels, title), sm.output.png, sm.output.pdf, width=7.5, height=6.5
)
