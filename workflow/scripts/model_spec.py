"""Build the configured model once and write its layer table (snakemake rule model_spec)."""

from ckaflow.logs import log_to
from ckaflow.tfsetup import configure

sm = snakemake  # noqa: F821
log = log_to(sm.log[0])
configure(sm.threads)

from ckaflow.data import dataset_classes  # noqa: E402
from ckaflow.model.build import make_spec  # noqa: E402
from ckaflow.model.spec import write_spec, write_table  # noqa: E402

classes = dataset_classes(sm.input.datasets) if sm.params.task == "classify" else None
spec = make_spec(
    sm.params.model,
    depth=sm.params.depth,
    input_shape=sm.params.input_shape,
    num_classes=len(classes) if classes else None,
    task=sm.params.task,
    seed=sm.params.seed,
)
write_table(sm.output.table, spec)
write_spec(sm.output.spec, spec)
log.info(
    "model %s: %d layers, %d recorded: %s",
    spec.builder or spec.architecture,
    len(spec.layers),
    len(spec.recorded),
    ", ".join(spec.recorded),
)
