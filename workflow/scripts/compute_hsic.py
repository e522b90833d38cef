"""HSIC and CKA of the pairs of one shard (snakemake rule compute_hsic)."""

from ckaflow.device import compute_namespace
from ckaflow.logs import log_to
from ckaflow.provenance import run_provenance, write_parquet
from ckaflow.similarity import Estimator
from ckaflow.stages.hsic import hsic_shard

sm = snakemake  # noqa: F821
log_to(sm.log[0])
table = hsic_shard(
    dict(zip(sm.params.models, sm.input.grams, strict=True)),
    test_set=sm.params.test_set,
    estimator=Estimator.from_name(sm.params.estimator),
    shard=sm.params.shard,
    shards=sm.params.shards,
    filter_models=sm.params.filter_models,
    across=sm.params.across,
    xp=compute_namespace(sm.params.device),
)
prov = run_provenance(sm.config, sm.input.datasets)
write_parquet(table, sm.output[0], {**prov, "minibatches": table.attrs["minibatches"]})
