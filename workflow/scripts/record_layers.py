"""The layers whose outputs are recorded (snakemake rule record_layers)."""

from ckaflow.logs import log_to
from ckaflow.model.build import with_recorded
from ckaflow.model.spec import read_spec, write_spec, write_table

sm = snakemake  # noqa: F821
log = log_to(sm.log[0])
spec = with_recorded(read_spec(sm.input.spec), sm.params.layers)
write_table(sm.output.table, spec)
write_spec(sm.output.spec, spec)
log.info("%d of %d layers recorded: %s", len(spec.recorded), len(spec.layers),
         ", ".join(spec.recorded))  # fmt: skip
