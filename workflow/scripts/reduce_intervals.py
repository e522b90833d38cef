"""Every test set's and estimator's intervals in results/cka_intervals.parquet (rule
reduce_intervals)."""

from ckaflow.logs import log_to
from ckaflow.provenance import read_parquet_provenance, run_provenance, write_parquet
from ckaflow.stages.intervals import reduce_intervals

sm = snakemake  # noqa: F821
log = log_to(sm.log[0])
table = reduce_intervals(list(sm.input.parts))
batches = read_parquet_provenance(sm.input.parts[0]).get("minibatches")  # the parts': one
write_parquet(table, sm.output[0], {**run_provenance(sm.config, sm.input.datasets),
                                    "minibatches": batches})  # fmt: skip
log.info("%d pairs with intervals", len(table))
