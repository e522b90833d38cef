"""The study's table (thesis Figure 5.14) and its findings, computed from the CKA table.

Each claim of the thesis gets a verdict (supported / not supported / mixed), the numbers behind
it, and the figure that shows it. Verdicts come from the data, never from the thesis.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .architecture import CONV_LAYERS
from .instances import parse

SUPPORTED, NOT_SUPPORTED, MIXED = "supported", "not supported", "mixed"
NOT_DRAWN = "not drawn"


@dataclass
class Finding:
    claim: str
    verdict: str
    numbers: str
    figure: str


def estimators_in(table: pd.DataFrame) -> list[tuple[str, str, str, float]]:
    """(kernel, estimator, centering, sigma_frac) of every estimator in the table, stable order."""
    cols = ["kernel", "estimator", "centering", "sigma_frac"]
    combos = table[cols].astype({c: str for c in cols[:3]}).drop_duplicates()
    return [tuple(r) for r in combos.sort_values(cols[:3]).itertuples(index=False)]


def _est(table: pd.DataFrame, kernel: str, estimator: str, centering: str = "unit") -> pd.DataFrame:
    return table[
        (table["kernel"].astype(str) == kernel)
        & (table["estimator"].astype(str) == estimator)
        & (table["centering"].astype(str) == centering)
    ]


def pair_cka(t: pd.DataFrame, a: str, b: str, group: str, test_set: str) -> float:
    row = t[
        (t["a_model"] == a)
        & (t["b_model"] == b)
        & (t["a_group"] == group)
        & (t["b_group"] == group)
        & (t["test_set"] == test_set)
    ]
    return float(row["cka"].iloc[0]) if len(row) else float("nan")


def _verdict(fraction: float) -> str:
    return SUPPORTED if fraction >= 0.75 else NOT_SUPPORTED if fraction <= 0.25 else MIXED


def summary_table(t: pd.DataFrame, accuracy: pd.DataFrame, finetuned: list[str]) -> pd.DataFrame:
    """Per fine-tuned instance: model CKA with its base and its scratch counterpart on both test
    sets, and the test accuracy (on the target domain) of fine-tuned, base and scratch; plus mean
    and standard deviation rows."""
    acc = accuracy.set_index(["instance", "test_set"])["accuracy"]
    rows = []
    for name in finetuned:
        inst = parse(name)
        row = {"fine-tuned": name, "base": inst.base, "scratch": inst.scratch}
        for ts in ("natural", "synth"):
            row[f"CKA base, {ts}"] = pair_cka(t, name, inst.base, "model", ts)
            row[f"CKA scratch, {ts}"] = pair_cka(t, name, inst.scratch, "model", ts)
        for who, model in (("fine-tuned", name), ("base", inst.base), ("scratch", inst.scratch)):
            row[f"accuracy {who}"] = float(acc.get((model, inst.domain), np.nan))
        rows.append(row)
    out = pd.DataFrame(rows)
    numeric = out.columns[3:]
    mean = {"fine-tuned": "mean", "base": "", "scratch": "", **out[numeric].mean().to_dict()}
    sd = {"fine-tuned": "sd", "base": "", "scratch": "", **out[numeric].std(ddof=1).to_dict()}
    return pd.concat([out, pd.DataFrame([mean, sd])], ignore_index=True)


def claim_a(t: pd.DataFrame, finetuned: list[str]) -> Finding:
    diffs = []
    for name in finetuned:
        inst = parse(name)
        for ts in ("natural", "synth"):
            diffs.append(
                pair_cka(t, name, inst.base, "model", ts)
                - pair_cka(t, name, inst.scratch, "model", ts)
            )
    diffs = np.array(diffs)
    frac = float(np.mean(diffs > 0))
    return Finding(
        "(a) Fine-tuned instances stay more similar to their base than to their same-seed "
        "scratch counterpart.",
        _verdict(frac),
        "model-level CKA(fine-tuned, base) − CKA(fine-tuned, scratch) > 0 in "
        f"{int((diffs > 0).sum())} of "
        f"{len(diffs)} (instance, test set) cases; mean difference {np.nanmean(diffs):+.4f} "
        f"(range {np.nanmin(diffs):+.4f} to {np.nanmax(diffs):+.4f})",
        "finetuned_vs_base, table_finetuning",
    )


def claim_b(t: pd.DataFrame, finetuned: list[str]) -> Finding:
    per_layer = {layer: [] for layer in CONV_LAYERS}
    conv1_highest = []
    for name in finetuned:
        for ts in ("natural", "synth"):
            vals = {layer: pair_cka(t, name, parse(name).base, layer, ts) for layer in CONV_LAYERS}
            for layer, v in vals.items():
                per_layer[layer].append(v)
            conv1_highest.append(vals["conv1"] >= max(vals.values()))
    means = {layer: float(np.nanmean(v)) for layer, v in per_layer.items()}
    monotone = means["conv1"] > means["conv2"] > means["conv3"]
    frac = float(np.mean(conv1_highest))
    verdict = SUPPORTED if frac >= 0.75 and monotone else NOT_SUPPORTED if frac <= 0.25 else MIXED
    return Finding(
        "(b) conv1 changes least; adaptation concentrates in later layers.",
        verdict,
        "mean CKA(fine-tuned, base) per layer: "
        + ", ".join(f"{layer} {v:.4f}" for layer, v in means.items())
        + f"; conv1 is the most similar layer in {int(np.sum(conv1_highest))} of "
        f"{len(conv1_highest)} cases"
        + ("" if monotone else "; similarity does not fall monotonically with depth"),
        "finetuned_vs_base, layer_matrices",
    )


def claim_c(t: pd.DataFrame, base: list[str]) -> Finding:
    s = t[
        t["a_model"].isin(base)
        & t["b_model"].isin(base)
        & (t["a_model"] < t["b_model"])
        & t["a_group"].isin(CONV_LAYERS)
        & (t["a_group"] == t["b_group"])
    ]
    means = s.groupby(["a_group", "test_set"], observed=True)["cka"].mean().unstack()
    closer = [
        bool(means.loc[layer, "synth"] > means.loc[layer, "natural"]) for layer in CONV_LAYERS
    ]
    verdict = SUPPORTED if all(closer) else NOT_SUPPORTED if not any(closer) else MIXED
    return Finding(
        "(c) CKA on the synth test set is closer to 1 than on the natural test set.",
        verdict,
        "mean layer CKA between base instances, synth vs natural test set: "
        + ", ".join(
            f"{layer} {means.loc[layer, 'synth']:.4f} vs {means.loc[layer, 'natural']:.4f}"
            for layer in CONV_LAYERS
        ),
        "base_layer_strips",
    )


def steps_to_converge(history: pd.DataFrame, domain: str, within: float = 0.05) -> int:
    """First validation step whose in-domain loss is within ``within`` (relative) of the best."""
    loss = history[f"val_loss_{domain}"].to_numpy()
    best = np.nanmin(loss)
    return int(history["step"].to_numpy()[np.argmax(loss <= best * (1 + within))])


def claim_d(histories: dict[str, pd.DataFrame], capped: dict[str, bool]) -> Finding:
    steps = {fam: [] for fam in ("natural-from-synth", "synth-from-natural")}
    for name, h in histories.items():
        inst = parse(name)
        if inst.finetuned:
            steps[inst.family].append(steps_to_converge(h, inst.domain))
    m = {fam: float(np.mean(v)) for fam, v in steps.items()}
    verdict = SUPPORTED if m["natural-from-synth"] < m["synth-from-natural"] else NOT_SUPPORTED
    n_capped = sum(capped.get(n, False) for n in histories if parse(n).finetuned)
    return Finding(
        "(d) Fine-tuning natural-from-synth converges in fewer steps than synth-from-natural.",
        verdict,
        "steps until the target-domain validation loss is within 5% of its best: "
        "natural-from-synth "
        f"{steps['natural-from-synth']} (mean {m['natural-from-synth']:.0f}), synth-from-natural "
        f"{steps['synth-from-natural']} (mean {m['synth-from-natural']:.0f})"
        + (f"; {n_capped} of 8 fine-tuning runs were cut by max_steps" if n_capped else ""),
        "loss_curves",
    )


def claim_e(accuracy: pd.DataFrame, finetuned: list[str]) -> Finding:
    acc = accuracy.set_index(["instance", "test_set"])["accuracy"]
    close, lines = [], []
    for fam in ("natural-from-synth", "synth-from-natural"):
        names = [n for n in finetuned if parse(n).family == fam]
        gap_ft = np.mean(
            [
                abs(acc[(n, parse(n).domain)] - acc[(parse(n).scratch, parse(n).domain)])
                for n in names
            ]
        )
        gap_base = np.mean(
            [
                abs(
                    acc[(parse(n).base, parse(n).domain)] - acc[(parse(n).scratch, parse(n).domain)]
                )
                for n in names
            ]
        )
        close.append(gap_ft <= 0.25 * gap_base)
        lines.append(
            f"{fam}: |fine-tuned − scratch| {gap_ft:.4f} vs |untuned base − scratch| {gap_base:.4f}"
        )
    verdict = SUPPORTED if all(close) else NOT_SUPPORTED if not any(close) else MIXED
    return Finding(
        "(e) Fine-tuned accuracy is close to scratch accuracy.",
        verdict,
        "mean accuracy gaps on the target test set, "
        + "; ".join(lines)
        + " (close: the gap is at most a quarter of the untuned base's)",
        "test_loss, table_finetuning",
    )


def bias_note(table: pd.DataFrame, base: list[str]) -> str:
    """How far the biased estimator sits above the debiased one on the same pairs."""
    t = table[
        table["a_model"].isin(base)
        & table["b_model"].isin(base)
        & (table["a_model"] != table["b_model"])
        & table["a_group"].isin(CONV_LAYERS)
        & (table["a_group"] == table["b_group"])
        & (table["kernel"].astype(str) == "linear")
        & (table["centering"].astype(str) == "unit")
    ]
    m = t.groupby("estimator", observed=True)["cka"].mean()
    if not {"biased", "debiased"} <= set(m.index.astype(str)):
        return "Only one of the biased and debiased estimators was computed."
    return (
        f"Across layer pairs of different base instances the biased estimator averages "
        f"{m['biased']:.4f} and the debiased one {m['debiased']:.4f}."
    )


def findings(
    table: pd.DataFrame,
    accuracy: pd.DataFrame,
    histories: dict[str, pd.DataFrame],
    capped: dict[str, bool],
    base: list[str],
    finetuned: list[str],
) -> dict[str, list[Finding]]:
    """Claims (a)-(c) under every estimator in the table; (d), (e) do not depend on CKA."""
    out = {}
    for kernel, est, centering, _ in estimators_in(table):
        t = _est(table, kernel, est, centering)
        label = f"{kernel}, {est}" + ("" if centering == "unit" else f", {centering} centring")
        out[label] = [claim_a(t, finetuned), claim_b(t, finetuned), claim_c(t, base)]
    out["training"] = [claim_d(histories, capped), claim_e(accuracy, finetuned)]
    return refuse_untrained(out, accuracy)


def refuse_untrained(found: dict[str, list[Finding]], accuracy: pd.DataFrame) -> dict:
    """Every finding turned into :data:`NOT_DRAWN`, saying why, when any instance does no better
    than a constant predictor on its own domain (:func:`worse_than_constant`); else as it was."""
    untrained = worse_than_constant(accuracy)
    if not untrained:
        return found
    why = (
        "no verdict from models that have not learnt their domain: "
        + ", ".join(f"{name} ({loss:.4f} vs {const:.4f})" for name, loss, const in untrained)
        + " reconstruct their own domain's test images no better than a constant predictor "
        "(the mean training image: loss in brackets); train longer or check the schedule"
    )
    return {
        label: [
            Finding(f.claim, NOT_DRAWN, f"{why}. The numbers: {f.numbers}", f.figure) for f in fs
        ]  # fmt: skip
        for label, fs in found.items()
    }


def worse_than_constant(accuracy: pd.DataFrame) -> list[tuple[str, float, float]]:
    """(instance, its in-domain test loss, the constant predictor's) of every instance that does
    no better than predicting the mean training image of its domain."""
    if "constant_loss" not in accuracy:
        return []
    own = accuracy[accuracy["test_set"] == accuracy["instance"].map(lambda i: parse(i).domain)]
    bad = own[~(own["mean_loss"] < own["constant_loss"])]
    return [(r.instance, r.mean_loss, r.constant_loss) for r in bad.itertuples()]


def weight_change_section(change: pd.DataFrame) -> list[str]:
    """Markdown lines: the mean relative weight change per family and layer (min to max), so
    that a layer's CKA is read against how far its kernels actually moved."""
    g = change.groupby(["family", "layer"], sort=False)["relative_change"]
    stats = g.agg(["mean", "min", "max"]).reset_index()
    layers = list(dict.fromkeys(change["layer"]))
    lines = [
        "## How far training moved the weights",
        "",
        "‖W_final − W_init‖ / ‖W_init‖ of each layer's kernel (Frobenius; conv*k*'s kernel is "
        "also deconv*k*'s), mean over seeds (min–max). A fine-tuned instance starts from its "
        "base's final weights. A layer whose CKA stays near 1 while its weights moved little "
        "says more about the shared start than about adaptation.",
        "",
        "| family | " + " | ".join(layers) + " |",
        "|---|" + "---|" * len(layers),
    ]
    for family, rows in stats.groupby("family", sort=False):
        cells = {r.layer: f"{r.mean:.3f} ({r.min:.3f}–{r.max:.3f})" for r in rows.itertuples()}
        lines.append(f"| {family} | " + " | ".join(cells[layer] for layer in layers) + " |")
    return [*lines, ""]


def report_markdown(
    found: dict[str, list[Finding]],
    note: str,
    primary: str,
    change: pd.DataFrame | None = None,
) -> str:
    lines = [
        "# Findings",
        "",
        "Each claim of the thesis, checked against this run. Verdicts are computed from "
        "`results/cka.parquet` and the training outputs; a contradiction is a result, "
        "not a failure.",
        "",
    ]
    main = found.get(primary) or next(iter(found.values()))
    lines += [f"## The claims ({primary}; training)", ""]
    for f in [*main, *found["training"]]:
        lines += [
            f"### {f.claim}",
            "",
            f"**{f.verdict}.** {f.numbers}.",
            "",
            f"Figure: {f.figure}.",
            "",
        ]
    if change is not None:
        lines += weight_change_section(change)
    lines += [
        "## Does the estimator change the conclusions?",
        "",
        note,
        "",
        "| estimator | (a) | (b) | (c) |",
        "|---|---|---|---|",
    ]
    for label, fs in found.items():
        if label != "training":
            lines.append(f"| {label} | " + " | ".join(f.verdict for f in fs) + " |")
    lines.append("")
    for label, fs in found.items():
        if label not in ("training", primary):
            lines += (
                [f"### {label}", ""]
                + [f"- {f.claim} **{f.verdict}**: {f.numbers}." for f in fs]
                + [""]
            )
    return "\n".join(lines)


def select_estimator(table: pd.DataFrame, name: str) -> tuple[pd.DataFrame, str]:
    """The rows of the estimator called ``name`` (e.g. ``linear-debiased``) and its label."""
    from .shards import estimator_from_dict

    kernel, _, rest = name.partition("-")
    est = estimator_from_dict(
        {
            "kernel": "rbf" if kernel.startswith("rbf") else "linear",
            "sigma_frac": float(kernel[3:]) if kernel.startswith("rbf") else 1.0,
            "debiased": rest.startswith("debiased"),
            "centering": "global" if rest.endswith("global") else "unit",
        }
    )
    if est.name != name:
        raise ValueError(
            f"figures.estimator {name!r} is not an estimator name like 'linear-debiased'"
        )
    t = _est(table, est.kernel, est.estimator, est.centering)
    if est.kernel == "rbf":
        t = t[np.isclose(t["sigma_frac"], est.sigma_frac)]
    if t.empty:
        raise ValueError(f"figures.estimator {name!r} is not among the estimators computed")
    label = f"{est.kernel}, {est.estimator}" + (
        "" if est.centering == "unit" else f", {est.centering} centring"
    )
    return t, label


def filter_matrix(
    table: pd.DataFrame, model: str, layer: str, test_set: str, estimator: str
) -> np.ndarray:
    """The (f, f) CKA matrix of one model's filters of ``layer`` on ``test_set``."""
    t, _ = select_estimator(table, estimator)
    t = t[
        (t["a_model"] == model)
        & (t["b_model"] == model)
        & (t["test_set"] == test_set)
        & t["a_group"].astype(str).str.startswith(f"{layer}/")
        & t["b_group"].astype(str).str.startswith(f"{layer}/")
    ]
    m = t.pivot(index="a_group", columns="b_group", values="cka")
    return m.sort_index().sort_index(axis=1).to_numpy()
