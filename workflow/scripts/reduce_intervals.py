"""Every test set's and estimator's intervals in results/cka_intervals.parquet (rule
reduce_intervals)."""

from ckaflow.logs import log_to
from ckaflow.provenance import run_provenance, write_parquet
from ckaflow.stages.intervals import reduce_intervals

sm = snakemake  # noqa: F821
log = log_to(sm.log[0])
table = reduce_intervals(list(sm.input.parts))
write_parquet(table, sm.output[0], run_provenance(sm.config, sm.input.datasets))
log.info("%d pairs with intervals", len(table))
