"""results/findings.md: the claims, how far training moved the weights, and the estimators."""

from __future__ import annotations

import pandas as pd

from .baselines import baseline_markdown
from .claims import Finding


def weight_change_section(change: pd.DataFrame) -> list[str]:
    """Markdown lines: the mean relative weight change per family and layer (min to max), so
    that a layer's CKA is read against how far its kernels actually moved."""
    g = change.groupby(["family", "layer"], sort=False)["relative_change"]
    stats = g.agg(["mean", "min", "max"]).reset_index()
    layers = list(dict.fromkeys(change["layer"]))
    lines = [
        "## How far training moved the weights",
        "",
        "‖W_final − W_init‖ / ‖W_init‖ of each layer's kernel (Frobenius; in the tied "
        "autoencoder conv*k*'s kernel is also deconv*k*'s), mean over seeds (min–max). A "
        "fine-tuned instance starts from its "
        "base's final weights. A layer whose CKA stays near 1 while its weights moved little "
        "says more about the shared start than about adaptation.",
        "",
        "| family | " + " | ".join(layers) + " |",
        "|---|" + "---|" * len(layers),
    ]
    for family, rows in stats.groupby("family", sort=False):
        cells = {r.layer: f"{r.mean:.3f} ({r.min:.3f}–{r.max:.3f})" for r in rows.itertuples()}
        row = " | ".join(cells.get(layer, "–") for layer in layers)  # a layer of another depth
        lines.append(f"| {family} | {row} |")
    return [*lines, ""]


def invariance_section(summary: pd.DataFrame, model: str) -> list[str]:
    """Markdown lines: CKA's invariances measured on the study's activations
    (:func:`ckaflow.stages.invariance.invariance_summary`)."""
    lines = [
        "## CKA's invariances, on this study's activations",
        "",
        f"CKA of each layer of {model} (both test sets) with a transformed copy of itself. "
        "Permuting the units, scaling them all by one factor and rotating them (two Householder "
        "reflections mixing every unit into every other) must leave CKA at 1; scaling each unit "
        "by its own factor (log-uniform in 0.1–10: invertible, not orthogonal) need not. The "
        "thesis (section 3.1) says CKA is invariant to every invertible linear map; the "
        "last rows measure how far it is not. Layers that do not vary have no CKA and are left "
        "out (counted in the last column).",
        "",
        "| estimator | transform | invariant? | max \\|1 − CKA\\| | CKA (min–max) | holds | "
        "undefined |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in summary.itertuples():
        lines.append(
            f"| {r.estimator} | {r.transform} | {'yes' if r.invariant else 'no'} | "
            f"{r.max_deviation:.1e} | {r.cka_min:.4f}–{r.cka_max:.4f} | "
            f"{'yes' if r.holds else '**no**'} | {r.undefined} |"
        )
    return [*lines, ""]


def report_markdown(
    found: dict[str, list[Finding]],
    note: str,
    primary: str,
    change: pd.DataFrame | None = None,
    baselines: pd.DataFrame | None = None,
    invariances: tuple[pd.DataFrame, str] | None = None,
    blocks: list[str] | None = None,
    thesis: bool = False,
) -> str:
    """The whole of findings.md; ``blocks``: the block-structure section's lines (a study with
    deeper models); ``thesis``: the claims are the thesis'."""
    main = found.get(primary) or next(iter(found.values()))
    lines = [*_intro(thesis), *_claims([*main, *found["training"]], primary)]
    if baselines is not None:
        lines += baseline_markdown(baselines, primary)
    if change is not None:
        lines += weight_change_section(change)
    if blocks:
        lines += blocks
    if invariances is not None:
        lines += invariance_section(*invariances)
    return "\n".join(lines + (_estimators(found, main, note, primary) if main else []))


def _intro(thesis: bool) -> list[str]:
    whose = "of the thesis" if thesis else "of this study"
    return [
        "# Findings",
        "",
        f"Each claim {whose}, checked against this run. A claim is *supported* when the "
        "interval of its effect lies above 0, *contradicted* when it lies below, *inconclusive* "
        "when it contains 0. A claim pooled over seeds takes its verdict from an interval over "
        "seeds and test images together (would another seed, or other test images, change "
        "it?: the seed-to-seed variance of the mean plus the image bootstrap's from "
        "`results/cka_intervals.parquet`, the image noise each seed carries counted once, a t "
        "quantile on the seeds' degrees of freedom; a claim about pairs of instances "
        "resamples pairs of seeds, pairs that share an instance taken as independent); the "
        "image-only interval, what "
        "the test images alone resolve, is printed beside it, and where the two disagree the "
        "claim says why. With one seed, seeds are not covered and the interval says so. "
        "Training effects come from the seeds themselves. Image intervals are basic bootstrap "
        "intervals, which correct for the estimator's bias: for the biased estimators, whose "
        "bias grows when a resample repeats images, an interval can sit beside its own "
        "estimate rather than around it. A contradiction is a result, not a failure.",
        "",
    ]


def _claims(claims: list[Finding], primary: str) -> list[str]:
    lines = [f"## The claims ({primary}; training)", ""]
    if not claims:
        lines += [
            "No claims: the study has no fine-tuning (finetune.enabled is false), so its "
            "findings are the baselines, the weight change and the invariances below.",
            "",
        ]
    for f in claims:
        lines += [
            f"### {f.claim}",
            "",
            f"**{f.verdict}.** {f.numbers}.",
            "",
            *([f"Against the baseline: {f.baseline}", ""] if f.baseline else []),
            f"Figure: {f.figure}.",
            "",
        ]
    return lines


def _estimators(
    found: dict[str, list[Finding]], main: list[Finding], note: str, primary: str
) -> list[str]:
    """How the verdicts change with the estimator: a table, then each other estimator's."""
    labels = [f.claim[:3] for f in main]
    lines = [
        "## Does the estimator change the conclusions?",
        "",
        note,
        "",
        "| estimator | " + " | ".join(labels) + " |",
        "|---|" + "---|" * len(labels),
    ]
    for label, fs in found.items():
        if label != "training" and fs:
            lines.append(f"| {label} | " + " | ".join(f.verdict for f in fs) + " |")
    lines.append("")
    for label, fs in found.items():
        if label not in ("training", primary):
            lines += [
                f"### {label}",
                "",
                *(f"- {f.claim} **{f.verdict}**: {f.numbers}." for f in fs),
                "",
            ]
    return lines
