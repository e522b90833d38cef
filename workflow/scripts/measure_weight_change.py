"""How far each instance's layers moved from their initial weights (rule measure_weight_change)."""

from ckaflow.io import atomic_path
from ckaflow.logs import log_to
from ckaflow.model.spec import read_spec
from ckaflow.provenance import run_provenance, write_sidecar
from ckaflow.stages.evaluate import weight_change

sm = snakemake  # noqa: F821
log_to(sm.log[0])
kernels = {spec.depth: spec.kernels() for spec in map(read_spec, sm.input.specs)}
pairs = dict(zip(sm.params.instances, zip(sm.input.init, sm.input.final, strict=True), strict=True))
table = weight_change(pairs, kernels)
with atomic_path(sm.output.table) as tmp:
    table.to_csv(tmp, index=False, float_format="%.6g")
write_sidecar(sm.output.table, run_provenance(sm.config, sm.input.datasets))
