"""Train a base instance or fine-tune one (snakemake rules train_base and finetune)."""

from pathlib import Path

from ckaflow.logs import log_to
from ckaflow.tfsetup import configure

sm = snakemake  # noqa: F821
log_to(sm.log[0])
configure(sm.threads)

from ckaflow.provenance import run_provenance  # noqa: E402
from ckaflow.runs import train_instance  # noqa: E402  (after TensorFlow is configured)
from ckaflow.train import TrainConfig  # noqa: E402

names = tuple(Path(p).stem for p in sm.output.checkpoints if p.endswith(".npz"))
train_instance(
    sm.params.instance,
    data_dirs={d: str(Path(sm.input[d]).parent) for d in ("natural", "synth")},
    out_dir=Path(sm.output.history).parent,
    cfg=TrainConfig(**sm.params.train),
    init_from=sm.input.get("init"),
    train_images=sm.params.get("train_images"),
    checkpoints=names,
    run=run_provenance(sm.config, [sm.input.natural, sm.input.synth]),
)
