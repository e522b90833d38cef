"""The measures beside CKA between the layers of every two seeds, on one test set (snakemake
rule compute_measures)."""

from ckaflow.logs import log_to
from ckaflow.provenance import run_provenance, write_parquet
from ckaflow.stages.measures import measure_table

sm = snakemake  # noqa: F821
log = log_to(sm.log[0])
p = sm.params
table = measure_table(p.folders, [tuple(pair) for pair in p.pairs], sm.wildcards.test_set,
                      list(p.measures))  # fmt: skip
write_parquet(table, sm.output[0], run_provenance(sm.config, sm.input.datasets))
log.info("%d rows, %d undefined (NaN)", len(table), int(table["value"].isna().sum()))
