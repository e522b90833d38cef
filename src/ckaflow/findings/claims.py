"""Each claim of the thesis as a verdict computed from the tables, never from the thesis:
supported, not supported or mixed, with the numbers behind it and the figure that shows it;
not drawn at all from models that have not learnt their domain."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..architecture import CONV_LAYERS
from ..cka_table import estimator_rows, estimators_in
from ..names import DOMAINS, FINETUNED_FAMILIES, MODEL_GROUP, parse
from .table import pair_cka

SUPPORTED, NOT_SUPPORTED, MIXED = "supported", "not supported", "mixed"
NATURAL, SYNTH = DOMAINS
NATURAL_FROM_SYNTH, SYNTH_FROM_NATURAL = FINETUNED_FAMILIES
NOT_DRAWN = "not drawn"


@dataclass
class Finding:
    claim: str
    verdict: str
    numbers: str
    figure: str


def _verdict(fraction: float) -> str:
    return SUPPORTED if fraction >= 0.75 else NOT_SUPPORTED if fraction <= 0.25 else MIXED


def claim_a(t: pd.DataFrame, finetuned: list[str]) -> Finding:
    diffs = []
    for name in finetuned:
        inst = parse(name)
        for ts in DOMAINS:
            diffs.append(
                pair_cka(t, name, inst.base, MODEL_GROUP, ts)
                - pair_cka(t, name, inst.scratch, MODEL_GROUP, ts)
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
        for ts in DOMAINS:
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
    closer = [bool(means.loc[layer, SYNTH] > means.loc[layer, NATURAL]) for layer in CONV_LAYERS]
    verdict = SUPPORTED if all(closer) else NOT_SUPPORTED if not any(closer) else MIXED
    return Finding(
        "(c) CKA on the synth test set is closer to 1 than on the natural test set.",
        verdict,
        "mean layer CKA between base instances, synth vs natural test set: "
        + ", ".join(
            f"{layer} {means.loc[layer, SYNTH]:.4f} vs {means.loc[layer, NATURAL]:.4f}"
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
    steps = {fam: [] for fam in FINETUNED_FAMILIES}
    for name, h in histories.items():
        inst = parse(name)
        if inst.finetuned:
            steps[inst.family].append(steps_to_converge(h, inst.domain))
    m = {fam: float(np.mean(v)) for fam, v in steps.items()}
    verdict = SUPPORTED if m[NATURAL_FROM_SYNTH] < m[SYNTH_FROM_NATURAL] else NOT_SUPPORTED
    tuned = [n for n in histories if parse(n).finetuned]
    n_capped = sum(capped.get(n, False) for n in tuned)
    return Finding(
        "(d) Fine-tuning natural-from-synth converges in fewer steps than synth-from-natural.",
        verdict,
        "steps until the target-domain validation loss is within 5% of its best: "
        + "; ".join(f"{fam} {steps[fam]} (mean {m[fam]:.0f})" for fam in FINETUNED_FAMILIES)
        + (
            f"; {n_capped} of {len(tuned)} fine-tuning runs were cut by max_steps"
            if n_capped
            else ""
        ),
        "loss_curves",
    )


def claim_e(accuracy: pd.DataFrame, finetuned: list[str]) -> Finding:
    acc = accuracy.set_index(["instance", "test_set"])["accuracy"]
    close, lines = [], []
    for fam in FINETUNED_FAMILIES:
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
    for est in estimators_in(table):
        t = estimator_rows(table, est)
        out[est.label] = [claim_a(t, finetuned), claim_b(t, finetuned), claim_c(t, base)]
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
