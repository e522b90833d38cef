"""Activations of an instance's models on both test sets (snakemake rule extract_activations)."""

from pathlib import Path

from ckaflow.logs import log_to
from ckaflow.tfsetup import configure

sm = snakemake  # noqa: F821
log_to(sm.log[0])
configure(sm.threads)

from ckaflow.activations import extract, model_name  # noqa: E402
from ckaflow.data import load_split  # noqa: E402
from ckaflow.io import atomic_dir  # noqa: E402

domains = ("natural", "synth")
tests = {d: load_split(Path(sm.input[d]).parent, "test") for d in domains}
# The instance's folder appears, complete, only when every model's layers are written.
with atomic_dir(sm.output[0]) as folder:
    for checkpoint, path in sm.input.items():
        if checkpoint not in domains:
            extract(path, tests, folder / model_name(sm.wildcards.instance, checkpoint))
