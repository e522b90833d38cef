"""Build the configured model once and describe it (snakemake rule model_spec)."""

from ckaflow.backend import configure
from ckaflow.logs import log_to

sm = snakemake  # noqa: F821
log = log_to(sm.log[0])
configure(sm.threads, sm.params.backend)

from ckaflow.data import dataset_classes  # noqa: E402
from ckaflow.model.build import make_spec, with_recorded  # noqa: E402
from ckaflow.model.spec import write_spec  # noqa: E402

classes = dataset_classes(sm.input.datasets) if sm.params.task == "classify" else None
spec = make_spec(sm.params.model, depth=sm.params.depth, input_shape=sm.params.input_shape,
                 num_classes=len(classes) if classes else None, task=sm.params.task)  # fmt: skip
# model.layers is read here only to stop before any training when a layer name is wrong; it is
# no param of this job (rule record_layers records them), so choosing other layers retrains
# nothing.
with_recorded(spec, sm.config["model"]["layers"])
write_spec(sm.output[0], spec)
log.info("model %s: %d layers, output %s", spec.builder or spec.architecture or spec.pretrained,
         len(spec.layers), spec.output)  # fmt: skip
