"""Every HSIC shard into results/cka.parquet, with the sanity check (snakemake rule reduce_cka)."""

from ckaflow.logs import log_to
from ckaflow.provenance import read_parquet_provenance, run_provenance, write_parquet
from ckaflow.stages.hsic import reduce_cka

sm = snakemake  # noqa: F821
log = log_to(sm.log[0])
table = reduce_cka(list(sm.input.shards))
batches = read_parquet_provenance(sm.input.shards[0]).get("minibatches")  # the shards': one
write_parquet(table, sm.output[0], {**run_provenance(sm.config, sm.input.datasets),
                                    "minibatches": batches})  # fmt: skip
log.info("%d rows, %d undefined", len(table), int(table["cka"].isna().sum()))
