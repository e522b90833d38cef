"""Everything the findings stage writes (rule ``write_findings``): findings.md, the fine-tuning
table (thesis Figure 5.14), the null baselines, the claims' effects and the block structure,
each with its provenance."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from ..io import atomic_path, read_json, read_parquet
from ..provenance import footer, write_sidecar
from ..stages.cka_table import PAIR_CKA, read_cka_table, select_estimator
from ..stages.intervals import read_intervals
from ..stages.invariance import invariance_summary
from .baselines import baseline_table
from .claims import bias_note, effects_table
from .depth import block_section, block_structure
from .effects import Values
from .identification import (
    LONG,
    cka_long,
    identification_section,
    identification_table,
    layers_in,
)
from .null import null_section
from .report import report_markdown
from .table import summary_table
from .training import learnt_instances
from .verdicts import Claims, findings


def write_findings(
    inputs: Mapping,
    outputs: Mapping,
    *,
    claims: Claims,
    estimator: str,
    groups: list[str],
    invariance_model: str,
    block_pairs: Mapping[str, list[tuple[str, str, bool]]],
    run: Mapping,
    resampling: Mapping | None = None,
) -> None:
    """Read the run's tables (``inputs``: cka, intervals, accuracy, weight_change, invariances,
    {instance: path} histories and provenance, measures: the measure tables) and write every
    findings output to ``outputs`` (findings, findings_html, table_md, table_csv, baselines,
    effects, blocks); ``groups`` the layer and model groups in network order, ``run`` the
    provenance every output carries, ``resampling`` the seeds' resamples, confidence and seed."""
    table = read_cka_table(inputs["cka"], groups=groups, columns=PAIR_CKA)
    accuracy = pd.read_csv(inputs["accuracy"])
    primary, est = select_estimator(table, estimator)
    _summary(
        summary_table(primary, accuracy, claims.finetuned, claims.test_sets),
        est.label,
        accuracy,
        outputs,
        run,
    )
    intervals = read_intervals(inputs["intervals"])
    change = pd.read_csv(inputs["weight_change"])
    histories = {i: read_parquet(p, "history") for i, p in inputs["histories"].items()}
    capped = {
        i: read_json(p, "checkpoint record")["capped_by_max_steps"]
        for i, p in inputs["provenance"].items()
    }
    found = findings(intervals, accuracy, histories, capped, claims, change)
    values = Values(select_estimator(intervals, estimator)[0])
    present = [g for g in groups if g in set(intervals["a_group"])]
    baselines = baseline_table(values, claims.base, claims.finetuned, present, claims.test_sets)
    structure = block_structure(values, block_pairs, learnt_instances(accuracy))
    for key, frame in (
        ("blocks", structure),
        ("effects", effects_table(found)),
        ("baselines", baselines),
    ):
        _csv(frame, outputs[key], run, "%.6f")
    blocks = block_section(structure, est.label, values.confidence) if len(structure) else None
    identified = _identification(table, inputs, claims.base, groups, outputs, run, resampling)
    blocks = [*(blocks or []), *null_section(intervals), *identified] or None
    invariances = (invariance_summary(pd.read_csv(inputs["invariances"])), invariance_model)
    note = bias_note(table, claims.base, claims.convs)
    report = report_markdown(
        found, note, est.label, change, baselines, invariances, blocks, thesis=claims.thesis
    )
    text = report + footer(run)
    with atomic_path(outputs["findings"]) as tmp:
        tmp.write_text(text)
    with atomic_path(outputs["findings_html"]) as tmp:
        tmp.write_text(findings_html(text))


def findings_html(markdown_text: str) -> str:
    """findings.md as an HTML fragment (headings, paragraphs, tables) for the report's first
    page, its tables bordered so that rows read apart."""
    import markdown

    body = markdown.markdown(markdown_text, extensions=["tables"])
    style = (
        "<style>.ckaflow-findings table{border-collapse:collapse;font-size:0.85em;margin:0.5em 0}"
        ".ckaflow-findings th,.ckaflow-findings td{border:1px solid #ccc;padding:2px 6px}</style>"
    )
    return f'{style}<div class="ckaflow-findings">\n{body}\n</div>\n'


def _summary(summary: pd.DataFrame, label: str, accuracy: pd.DataFrame, outputs, run) -> None:
    """The fine-tuning table as CSV and Markdown."""
    _csv(summary, outputs["table_csv"], run, "%.4f")
    metric = accuracy["metric"].iloc[0] if "metric" in accuracy else "1 - mean test loss"
    body = summary.to_markdown(index=False, floatfmt=".4f") if len(summary) else "(no fine-tuning)"
    with atomic_path(outputs["table_md"]) as tmp:
        tmp.write_text(
            f"Fine-tuned vs base vs scratch (model-level CKA, {label}; accuracy = {metric} on "
            "the target domain)\n\n" + body + "\n" + footer(run)
        )


def _identification(table, inputs, base, groups, outputs, run, resampling) -> list[str]:
    """The layer-identification table (when the rule asks for it) and its findings section:
    every CKA estimator's, and every measure's of ``inputs["measures"]`` (the measure tables,
    none without similarity.measures)."""
    if "identification" not in outputs.keys():
        return []
    measures = [read_parquet(p, "measure table", columns=LONG) for p in inputs.get("measures", ())]
    similar = pd.concat([cka_long(table), *measures], ignore_index=True)
    found = identification_table(similar, base, layers_in(table, groups), **(resampling or {}))
    _csv(found, outputs["identification"], run, "%.6f")
    return identification_section(found)


def _csv(frame: pd.DataFrame, path, run: Mapping, float_format: str) -> None:
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, float_format=float_format)
    write_sidecar(path, run)
