"""The fine-tuning table and results/findings.md (rule write_findings)."""

import json
from pathlib import Path

import pandas as pd

from ckaflow.findings import (
    Values,
    bias_note,
    effects_table,
    findings,
    report_markdown,
    summary_table,
)
from ckaflow.findings.baselines import baseline_table
from ckaflow.findings.depth import block_section, block_structure, learnt_instances
from ckaflow.io import atomic_path, read_parquet
from ckaflow.logs import log_to
from ckaflow.model.tied_layers import LAYER_GROUPS
from ckaflow.provenance import footer, run_provenance, write_sidecar
from ckaflow.stages.cka_table import read_cka_table, select_estimator
from ckaflow.stages.intervals import read_intervals
from ckaflow.stages.invariance import invariance_summary

sm = snakemake  # noqa: F821
log_to(sm.log[0])
table = read_cka_table(sm.input.cka, groups=LAYER_GROUPS)
accuracy = pd.read_csv(sm.input.accuracy)
instances = sm.params.instances
histories = {
    i: read_parquet(p, "history") for i, p in zip(instances, sm.input.histories, strict=True)
}
capped = {
    i: json.loads(Path(p).read_text())["capped_by_max_steps"]
    for i, p in zip(instances, sm.input.provenance, strict=True)
}
prov = run_provenance(sm.config, sm.input.datasets)
primary, estimator = select_estimator(table, sm.params.estimator)
label = estimator.label
summary = summary_table(primary, accuracy, sm.params.finetuned)
with atomic_path(sm.output.table_csv) as tmp:
    summary.to_csv(tmp, index=False, float_format="%.4f")
with atomic_path(sm.output.table_md) as tmp:
    tmp.write_text(
        f"Fine-tuned vs base vs scratch (model-level CKA, {label}; accuracy = 1 - mean test loss "
        "on the target domain)\n\n"
        + summary.to_markdown(index=False, floatfmt=".4f")
        + "\n"
        + footer(prov)
    )
write_sidecar(sm.output.table_csv, prov)
intervals = read_intervals(sm.input.intervals)
change = pd.read_csv(sm.input.weight_change)
found = findings(
    intervals, accuracy, histories, capped, sm.params.base, sm.params.finetuned, change
)
values = Values(select_estimator(intervals, sm.params.estimator)[0])
baselines = baseline_table(values, sm.params.base, sm.params.finetuned)
# no rows without deeper models
structure = block_structure(values, sm.params.block_models, learnt_instances(accuracy))
with atomic_path(sm.output.blocks) as tmp:
    structure.to_csv(tmp, index=False, float_format="%.6f")
write_sidecar(sm.output.blocks, prov)
blocks = block_section(structure, label, values.confidence) if len(structure) else None
with atomic_path(sm.output.effects) as tmp:
    effects_table(found).to_csv(tmp, index=False, float_format="%.6f")
write_sidecar(sm.output.effects, prov)
with atomic_path(sm.output.baselines) as tmp:
    baselines.to_csv(tmp, index=False, float_format="%.6f")
write_sidecar(sm.output.baselines, prov)
invariances = (invariance_summary(pd.read_csv(sm.input.invariances)), sm.params.invariance_model)
with atomic_path(sm.output.findings) as tmp:
    note = bias_note(table, sm.params.base)
    report = report_markdown(found, note, label, change, baselines, invariances, blocks)
    tmp.write_text(report + footer(prov))
