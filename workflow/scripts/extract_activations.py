"""Activations of an instance's models on every test set (snakemake rule extract_activations)."""

from pathlib import Path

from ckaflow.backend import configure
from ckaflow.logs import log_to

sm = snakemake  # noqa: F821
log_to(sm.log[0])
configure(sm.threads, sm.params.backend)

from ckaflow.data import load_split  # noqa: E402
from ckaflow.io import atomic_dir  # noqa: E402
from ckaflow.model.spec import read_spec  # noqa: E402
from ckaflow.stages.activations import extract  # noqa: E402

layers = read_spec(sm.input.spec).recorded_shapes()
tests = {
    d: load_split(Path(p).parent, "test")
    for d, p in zip(sm.params.test_sets, sm.input.tests, strict=True)
}
# The instance's folder appears, complete, only when every model's layers are written.
with atomic_dir(sm.output[0]) as folder:
    for model, path in zip(sm.params.models, sm.input.checkpoints, strict=True):
        extract(path, tests, folder / model, layers)
