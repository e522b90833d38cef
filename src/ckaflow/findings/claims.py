"""Each claim of the thesis as a verdict computed from the tables, never from the thesis:
supported, contradicted or inconclusive, decided by whether the interval of the claim's effect
excludes 0 (:mod:`.effects`), printed with its interval and the seed-to-seed spread, read against
what the initial weights alone give, with the figure that shows it; not drawn at all from models
that have not learnt their domain."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..architecture import CONV_LAYERS
from ..cka_table import estimator_rows, estimators_in
from ..names import DOMAINS, FINETUNED_FAMILIES, INIT, MODEL_GROUP, model_name, parse
from .effects import (
    CONTRADICTED,
    INCONCLUSIVE,
    SUPPORTED,
    Effect,
    Values,
    difference,
    seed_interval,
    summarise,
)

NATURAL, SYNTH = DOMAINS
NATURAL_FROM_SYNTH, SYNTH_FROM_NATURAL = FINETUNED_FAMILIES
NOT_DRAWN = "not drawn"


@dataclass
class Finding:
    claim: str
    verdict: str
    numbers: str
    figure: str
    effect: Effect | None = None
    baseline: str = ""
    at_init: Effect | None = None  # the same statistic under the initial weights


def _finding(
    claim: str, effect: Effect, numbers: str, figure: str, baseline: str = "", at_init=None
) -> Finding:
    return Finding(claim, effect.verdict, numbers, figure, effect, baseline, at_init)


def effects_table(found: dict[str, list[Finding]]) -> pd.DataFrame:
    """One row per claim, estimator and kind (the effect; the same under initial weights):
    estimate, low, high, verdict. For the claim-effects figure."""
    rows = []
    for label, fs in found.items():
        for f in fs:
            for kind, e in (("effect", f.effect), ("same at initial weights", f.at_init)):
                if e is not None:
                    rows.append((label, f.claim[:3], kind, e.estimate, e.low, e.high, e.method,
                                 f.verdict))  # fmt: skip
    return pd.DataFrame(
        rows,
        columns=["estimator", "claim", "kind", "estimate", "low", "high", "method", "verdict"],
    )


def _init(instance: str) -> str:
    return model_name(instance, INIT)


def claim_a(v: Values, finetuned: list[str]) -> Finding:
    cases = [
        v(name, parse(name).base, MODEL_GROUP, ts) - v(name, parse(name).scratch, MODEL_GROUP, ts)
        for name in finetuned
        for ts in DOMAINS
    ]
    e = summarise(cases, v.confidence)
    try:
        shared = [v(_init(parse(n).base), _init(parse(n).scratch), MODEL_GROUP, NATURAL)[0]
                  for n in finetuned]  # fmt: skip
        baseline = (
            "A fine-tuned instance's base and scratch counterpart start from the same initial "
            f"weights (their model CKA at init: {min(shared):.4f} to {max(shared):.4f}), so "
            "initialisation favours neither: the difference is what the base's training left."
        )
    except KeyError:
        baseline = ""
    return _finding(
        "(a) Fine-tuned instances stay more similar to their base than to their same-seed "
        "scratch counterpart.",
        e,
        "model-level CKA(fine-tuned, base) − CKA(fine-tuned, scratch), mean over the "
        f"(instance, test set) cases: {e.text()}; {e.spread_text()}",
        "finetuned_vs_base, null_baselines, claim_effects, table_finetuning",
        baseline,
    )


def _conv1_lead(v: Values, a: str, b: str, ts: str) -> np.ndarray:
    """CKA(a, b) of conv1 minus that of the most similar later conv layer (an undefined later
    layer is passed over)."""
    later = np.fmax.reduce([v(a, b, layer, ts) for layer in CONV_LAYERS[1:]])
    return v(a, b, CONV_LAYERS[0], ts) - later


def claim_b(
    v: Values,
    finetuned: list[str],
    base: list[str] | None = None,
    change: pd.DataFrame | None = None,
) -> Finding:
    """``change``: results/tables/weight_change.csv, to say how far each layer's kernel moved
    in fine-tuning beside how similar it stayed."""
    pairs = [(name, parse(name).base, ts) for name in finetuned for ts in DOMAINS]
    cases = [_conv1_lead(v, *p) for p in pairs]
    e = summarise(cases, v.confidence)
    layers = {
        layer: summarise([v(a, b, layer, ts) for a, b, ts in pairs], v.confidence)
        for layer in CONV_LAYERS
    }
    numbers = (
        "CKA(fine-tuned, base) of conv1 minus the most similar later conv layer, mean over the "
        f"cases: {e.text()}; {e.spread_text()}. Per layer: "
        + ", ".join(
            f"{layer} {x.estimate:.4f} [{x.low:.4f}, {x.high:.4f}]" for layer, x in layers.items()
        )  # fmt: skip
    )
    baseline, b0 = "", None
    if base:
        try:
            init = [_conv1_lead(v, _init(b), b, ts) for b in base for ts in DOMAINS]
        except KeyError:
            init = None
        if init is not None:
            b0 = summarise(init, v.confidence)
            gap = difference(cases, init, v.confidence)
            baseline = (
                "Training from scratch alone: each base instance's conv1 against its own "
                f"initial weights leads the later layers by {b0.text()}. "
                + _against_baseline(e, b0, gap, "training from initial weights alone")
            )
    if change is not None:
        moved = change[change["instance"].isin(finetuned) & change["layer"].isin(CONV_LAYERS)]
        mean = moved.groupby("layer")["relative_change"].mean()
        if len(mean):
            baseline += (
                " In fine-tuning the kernels moved (‖W_final − W_base‖ / ‖W_base‖, mean): "
                + ", ".join(f"{layer} {mean[layer]:.3f}" for layer in CONV_LAYERS if layer in mean)
                + "."
            )
    return _finding(
        "(b) conv1 changes least; adaptation concentrates in later layers.",
        e,
        numbers,
        "finetuned_vs_base, layer_matrices, null_baselines, claim_effects",
        baseline,
        b0,
    )


def _against_baseline(effect: Effect, base: Effect, gap: Effect, what: str) -> str:
    """A sentence placing ``effect`` against the same statistic under the baseline ``what``."""
    if gap.low > 0:
        return f"The effect exceeds its baseline ({what}) by {gap.text()}."
    if gap.high < 0:
        return (
            f"The effect is smaller than its baseline ({what}), by {gap.text()}: "
            "within the baseline, not evidence of adaptation."
        )
    return (
        f"The effect is indistinguishable from its baseline ({what}): difference "
        f"{gap.text()}; within the baseline, not evidence of adaptation."
    )


def claim_c(v: Values, base: list[str]) -> Finding:
    pairs = [(a, b) for i, a in enumerate(base) for b in base[i + 1 :]]

    def cases(model):
        return [v(model(a), model(b), layer, SYNTH) - v(model(a), model(b), layer, NATURAL)
                for a, b in pairs for layer in CONV_LAYERS]  # fmt: skip

    trained = cases(lambda m: m)
    e = summarise(trained, v.confidence)
    per_layer = {
        layer: [summarise([v(a, b, layer, ts) for a, b in pairs], v.confidence).estimate
                for ts in (SYNTH, NATURAL)]
        for layer in CONV_LAYERS
    }  # fmt: skip
    baseline, b0 = "", None
    try:
        init = cases(_init)
    except KeyError:
        init = None
    if init is not None:
        b0 = summarise(init, v.confidence)
        gap = difference(trained, init, v.confidence)
        baseline = (
            f"At their initial weights the same pairs give {b0.text()}. "
            + _against_baseline(e, b0, gap, "the initial weights alone")
        )
    return _finding(
        "(c) CKA on the synth test set is closer to 1 than on the natural test set.",
        e,
        "layer CKA between base instances, synth minus natural test set, mean over pairs and "
        f"conv layers: {e.text()}; {e.spread_text()}. Mean per layer, synth vs natural: "
        + ", ".join(f"{layer} {s:.4f} vs {n:.4f}" for layer, (s, n) in per_layer.items()),
        "base_layer_strips, null_baselines, claim_effects",
        baseline,
        b0,
    )


def steps_to_converge(history: pd.DataFrame, domain: str, within: float = 0.05) -> int:
    """First validation step whose in-domain loss is within ``within`` (relative) of the best."""
    loss = history[f"val_loss_{domain}"].to_numpy()
    best = np.nanmin(loss)
    return int(history["step"].to_numpy()[np.argmax(loss <= best * (1 + within))])


def claim_d(
    histories: dict[str, pd.DataFrame], capped: dict[str, bool], confidence: float = 0.95
) -> Finding:
    steps = {fam: [] for fam in FINETUNED_FAMILIES}
    for name, h in histories.items():
        inst = parse(name)
        if inst.finetuned:
            steps[inst.family].append(steps_to_converge(h, inst.domain))
    e = seed_interval(steps[SYNTH_FROM_NATURAL], steps[NATURAL_FROM_SYNTH], confidence)
    tuned = [n for n in histories if parse(n).finetuned]
    n_capped = sum(capped.get(n, False) for n in tuned)
    return _finding(
        "(d) Fine-tuning natural-from-synth converges in fewer steps than synth-from-natural.",
        e,
        "steps until the target-domain validation loss is within 5% of its best: "
        + "; ".join(
            f"{fam} {steps[fam]} (mean {np.mean(steps[fam]):.0f})" for fam in FINETUNED_FAMILIES
        )
        + f"; synth-from-natural minus natural-from-synth {e.text(0)}"
        + (
            f"; {n_capped} of {len(tuned)} fine-tuning runs were cut by max_steps"
            if n_capped
            else ""
        ),
        "loss_curves",
    )


def claim_e(accuracy: pd.DataFrame, finetuned: list[str], confidence: float = 0.95) -> Finding:
    """Close: the fine-tuned-to-scratch accuracy gap is at most a quarter of the untuned
    base's; the effect per family is a quarter of the base's gap minus the fine-tuned one."""
    acc = accuracy.set_index(["instance", "test_set"])["accuracy"]
    effects, lines = [], []
    for fam in FINETUNED_FAMILIES:
        names = [parse(n) for n in finetuned if parse(n).family == fam]
        gap_ft = [abs(acc[(i.name, i.domain)] - acc[(i.scratch, i.domain)]) for i in names]
        gap_base = [abs(acc[(i.base, i.domain)] - acc[(i.scratch, i.domain)]) for i in names]
        e = seed_interval(
            [0.25 * b - f for b, f in zip(gap_base, gap_ft, strict=True)], None, confidence
        )
        effects.append(e)
        lines.append(
            f"{fam}: |fine-tuned − scratch| {np.mean(gap_ft):.4f} vs |untuned base − scratch| "
            f"{np.mean(gap_base):.4f}; a quarter of the second minus the first {e.text()}"
        )
    verdicts = {e.verdict for e in effects}
    verdict = (
        CONTRADICTED if CONTRADICTED in verdicts
        else SUPPORTED if verdicts == {SUPPORTED} else INCONCLUSIVE
    )  # fmt: skip
    return Finding(
        "(e) Fine-tuned accuracy is close to scratch accuracy.",
        verdict,
        "mean accuracy gaps on the target test set (close: the gap is at most a quarter of the "
        "untuned base's), " + "; ".join(lines),
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
    intervals: pd.DataFrame,
    accuracy: pd.DataFrame,
    histories: dict[str, pd.DataFrame],
    capped: dict[str, bool],
    base: list[str],
    finetuned: list[str],
    change: pd.DataFrame | None = None,
) -> dict[str, list[Finding]]:
    """Claims (a)-(c) under every estimator of the interval table
    (``results/cka_intervals.parquet``); (d), (e) do not depend on CKA (their intervals are
    over seeds, at the intervals' confidence)."""
    out, confidence = {}, float(intervals["confidence"].iloc[0])
    for est in estimators_in(intervals):
        v = Values(estimator_rows(intervals, est))
        out[est.label] = [
            claim_a(v, finetuned),
            claim_b(v, finetuned, base, change),
            claim_c(v, base),
        ]
    out["training"] = [
        claim_d(histories, capped, confidence),
        claim_e(accuracy, finetuned, confidence),
    ]
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
            Finding(
                f.claim,
                NOT_DRAWN,
                f"{why}. The numbers: {f.numbers}",
                f.figure,
                f.effect,
                f.baseline,
                f.at_init,
            )
            for f in fs
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
