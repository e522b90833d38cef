"""A base instance from the user's saved model (snakemake rule import_pretrained)."""

from pathlib import Path

from ckaflow.backend import configure
from ckaflow.logs import log_to

sm = snakemake  # noqa: F821
log_to(sm.log[0])
configure(sm.threads, sm.params.backend)

from ckaflow.model.spec import read_spec  # noqa: E402
from ckaflow.provenance import run_provenance  # noqa: E402
from ckaflow.training.job import import_pretrained  # noqa: E402  (after the backend's set-up)

import_pretrained(
    sm.params.instance,
    path=sm.input.saved,
    data_dirs={
        d: str(Path(p).parent) for d, p in zip(sm.params.domains, sm.input.datasets, strict=True)
    },
    out_dir=Path(sm.output.history).parent,
    model=read_spec(sm.input.spec).record(),
    run=run_provenance(sm.config, sm.input.datasets),
)
