"""The findings, the fine-tuning table and the findings' tables (rule write_findings)."""

from ckaflow.findings.outputs import write_findings
from ckaflow.findings.verdicts import Claims
from ckaflow.logs import log_to
from ckaflow.model.spec import read_spec
from ckaflow.provenance import run_provenance
from ckaflow.similarity import MODEL_GROUP

sm = snakemake  # noqa: F821
log_to(sm.log[0])
p = sm.params
spec = next(s for s in map(read_spec, sm.input.specs) if s.depth == 1)
claims = Claims(p.base, p.finetuned, p.domains, spec.conv_layers, p.preset)
inputs = {
    key: sm.input[key] for key in ("cka", "intervals", "accuracy", "weight_change", "invariances")
}
inputs["histories"] = dict(zip(p.instances, sm.input.histories, strict=True))
inputs["provenance"] = dict(zip(p.instances, sm.input.provenance, strict=True))
inputs["measures"] = list(sm.input.measures)  # similarity.measures' tables (none by default)
write_findings(
    inputs,
    sm.output,
    claims=claims,
    estimator=p.estimator,
    groups=[*spec.recorded, MODEL_GROUP],
    invariance_model=p.invariance_model,
    block_pairs=p.block_pairs,
    run=run_provenance(sm.config, sm.input.datasets),
    resampling={"resamples": p.resamples, "confidence": p.confidence, "seed": p.seed},
)
