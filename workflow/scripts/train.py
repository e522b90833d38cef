"""Train a base instance or fine-tune one (snakemake rules train_base and finetune)."""

from pathlib import Path

from ckaflow.backend import configure
from ckaflow.logs import log_to

sm = snakemake  # noqa: F821
log_to(sm.log[0])
configure(sm.threads, sm.params.backend)

from ckaflow.model.spec import read_spec  # noqa: E402
from ckaflow.provenance import run_provenance  # noqa: E402
from ckaflow.training import TrainConfig, train_instance  # noqa: E402  (after the backend's set-up)

train_instance(
    sm.params.instance,
    data_dirs={
        d: str(Path(p).parent) for d, p in zip(sm.params.domains, sm.input.datasets, strict=True)
    },
    out_dir=Path(sm.output.history).parent,
    cfg=TrainConfig(**sm.params.train),
    model=read_spec(sm.input.spec).record(),
    init_from=sm.input.get("init"),
    train_images=sm.params.train_images,
    checkpoints=tuple(sm.params.checkpoints),
    run=run_provenance(sm.config, sm.input.datasets),
)
