"""Per-image test loss of every instance on every test set (snakemake rule evaluate_test_loss)."""

from pathlib import Path

from ckaflow.backend import configure
from ckaflow.logs import log_to

sm = snakemake  # noqa: F821
log_to(sm.log[0])
configure(sm.threads, sm.params.backend)

from ckaflow.io import atomic_path  # noqa: E402
from ckaflow.model.spec import read_spec  # noqa: E402
from ckaflow.provenance import run_provenance, write_parquet, write_sidecar  # noqa: E402
from ckaflow.stages.evaluate import accuracy, constant_losses, test_losses  # noqa: E402

spec = read_spec(sm.input.spec)
checkpoints = dict(zip(sm.params.instances, sm.input.checkpoints, strict=True))
test_dirs = {d: str(Path(p).parent) for d, p in zip(sm.params.domains, sm.input.tests, strict=True)}
losses = test_losses(checkpoints, test_dirs, task=spec.task, output=spec.output)
prov = run_provenance(sm.config, sm.input.datasets)
write_parquet(losses, sm.output.losses, prov)
table = accuracy(losses, constant_losses(test_dirs, spec.task), spec.task)
with atomic_path(sm.output.accuracy) as tmp:
    table.to_csv(tmp, index=False, float_format="%.6f")
write_sidecar(sm.output.accuracy, prov)
