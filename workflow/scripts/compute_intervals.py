"""Bootstrap intervals of the pairs the findings read, on one test set (rule compute_intervals)."""

from ckaflow.device import compute_namespace
from ckaflow.logs import log_to
from ckaflow.provenance import run_provenance, write_parquet
from ckaflow.similarity import Estimator
from ckaflow.stages.intervals import compute_intervals

sm = snakemake  # noqa: F821
log_to(sm.log[0])
gram_files = dict(zip(sm.params.models, sm.input.grams, strict=True))
table = compute_intervals(
    gram_files,
    test_set=sm.params.test_set,
    estimator=Estimator.from_name(sm.params.estimator),
    pairs=[tuple(p) for p in sm.params.pairs],
    rows=[tuple(r) for r in sm.params.rows],
    resamples=sm.params.resamples,
    confidence=sm.params.confidence,
    seed=sm.params.seed,
    null_permutations=sm.params.null_permutations,
    xp=compute_namespace(sm.params.device),
)
prov = run_provenance(sm.config, sm.input.datasets)
write_parquet(table, sm.output[0], {**prov, "minibatches": table.attrs["minibatches"]})
