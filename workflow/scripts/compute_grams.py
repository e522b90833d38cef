"""Packed centred Grams of every group of one model, on minibatches when the study needs them
(snakemake rule compute_grams)."""

from pathlib import Path

from ckaflow.device import compute_namespace
from ckaflow.logs import log_to
from ckaflow.model.spec import read_spec
from ckaflow.similarity import Estimator
from ckaflow.stages.grams import write_grams
from ckaflow.study.budget import gram_batch_size

sm = snakemake  # noqa: F821
log_to(sm.log[0])
write_grams(
    Path(sm.input.activations),
    sm.params.model,
    sm.params.test_sets,
    [Estimator.from_name(e) for e in sm.params.estimators],
    sm.output[0],
    xp=compute_namespace(sm.params.device),
    filter_layers=read_spec(sm.input.spec).filter_layers(sm.params.filter_layers),
    batch_size=gram_batch_size(sm.config, {s.depth: s for s in map(read_spec, sm.input.specs)}),
)
