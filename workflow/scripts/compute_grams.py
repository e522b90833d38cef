"""Packed centred Grams of every group of one model (snakemake rule compute_grams)."""

from pathlib import Path

from ckaflow.logs import log_to
from ckaflow.shards import estimator_from_dict, write_grams

sm = snakemake  # noqa: F821
log_to(sm.log[0])
write_grams(
    Path(sm.input.activations),
    sm.wildcards.model,
    sm.params.test_sets,
    [estimator_from_dict(e) for e in sm.params.estimators],
    sm.output[0],
)
