"""CKA's invariances on one instance's activations, both test sets (rule check_invariances)."""

import pandas as pd

from ckaflow.io import atomic_path
from ckaflow.logs import log_to
from ckaflow.provenance import run_provenance, write_sidecar
from ckaflow.similarity import Estimator
from ckaflow.stages.activations import load_layers
from ckaflow.stages.invariance import invariance_table

sm = snakemake  # noqa: F821
log_to(sm.log[0])
estimators = [Estimator.from_name(e) for e in sm.params.estimators]
parts = [
    invariance_table(
        load_layers(sm.input.activations, sm.params.model, test_set),
        model=sm.params.model,
        test_set=test_set,
        estimators=estimators,
        seed=sm.params.seed,
    )
    for test_set in sm.params.test_sets
]
table = pd.concat(parts, ignore_index=True)
with atomic_path(sm.output.table) as tmp:
    table.to_csv(tmp, index=False)
write_sidecar(sm.output.table, run_provenance(sm.config, sm.input.datasets))
