"""Each CKA claim as a verdict computed from the tables, never from a paper: supported,
contradicted or inconclusive, decided by whether the interval of the claim's effect excludes 0
(:mod:`.effects`), printed with its interval and the seed-to-seed spread, read against what the
initial weights alone give, with the figure that shows it; not drawn at all from models that
have not learnt their domain.

(a) and (b) hold for any study with fine-tuning, stated with its domain and layer names; (c) is
the thesis' claim about its two domains (``preset: thesis``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..names import INIT, model_name, parse
from ..similarity import MODEL_GROUP
from .effects import Effect, Values, difference, summarise

NATURAL, SYNTH = "natural", "synth"  # the thesis' domains (its claims (c) and (d))
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
    """A finding whose verdict is its effect's; where the image-only interval (the verdict
    before seeds were resampled) says otherwise, the numbers say why."""
    was = effect.image_verdict
    if was is not None and was != effect.verdict:
        numbers += (
            f". The images alone would call it {was}: the seeds disagree "
            f"({effect.positive} of {effect.cases} cases positive), so another seed could "
            "change the answer"
        )
    return Finding(claim, effect.verdict, numbers, figure, effect, baseline, at_init)


def _seeds(names) -> list[int]:
    """The seed of each instance named (the unit the two-factor intervals resample)."""
    return [parse(n).seed for n in names]


def effects_table(found: dict[str, list[Finding]]) -> pd.DataFrame:
    """One row per claim, estimator and kind (the effect; the same under initial weights):
    estimate, low, high (over seeds and images where the claim pools seeds), method, the
    image-only interval (image_low, image_high; NaN where low and high are already it) and
    verdict. For the claim-effects figure."""
    rows = []
    for label, fs in found.items():
        for f in fs:
            for kind, e in (("effect", f.effect), ("same at initial weights", f.at_init)):
                if e is not None:
                    rows.append((label, f.claim[:3], f.claim, kind, e.estimate, e.low, e.high,
                                 e.method, e.image_low, e.image_high, f.verdict))  # fmt: skip
    columns = ["estimator", "claim", "statement", "kind", "estimate", "low", "high", "method",
               "image_low", "image_high", "verdict"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def _init(instance: str) -> str:
    return model_name(instance, INIT)


def claim_a(v: Values, finetuned: list[str], test_sets: list[str]) -> Finding:
    cases = [
        v(name, parse(name).base, MODEL_GROUP, ts) - v(name, parse(name).scratch, MODEL_GROUP, ts)
        for name in finetuned
        for ts in test_sets
    ]
    e = summarise(cases, v.confidence, _seeds(n for n in finetuned for _ in test_sets))
    try:
        shared = [
            v(_init(parse(n).base), _init(parse(n).scratch), MODEL_GROUP, test_sets[0])[0]
            for n in finetuned
        ]
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
        f"(instance, test set) cases: {e.text()}; {e.spread_text()}"
        + _calibrated_text(v, finetuned, test_sets),
        "finetuned_vs_base, null_baselines, claim_effects, table_finetuning",
        baseline,
    )


def _calibrated_text(v: Values, finetuned: list[str], test_sets: list[str]) -> str:
    """Claim (a)'s two CKAs against their permutation nulls (none without nulls)."""
    means = []
    for other in ("base", "scratch"):
        c = [v.calibrated(n, getattr(parse(n), other), MODEL_GROUP, ts)
             for n in finetuned for ts in test_sets]  # fmt: skip
        means.append(float(np.nanmean(c)) if not np.isnan(c).all() else np.nan)
    if np.isnan(means).any():
        return ""
    return (
        ". Calibrated (each CKA minus its permutation null's 95th percentile, mean over the "
        f"cases): with the base {means[0]:+.4f}, with the scratch counterpart {means[1]:+.4f}"
    )


def _conv1_lead(v: Values, a: str, b: str, ts: str, convs: list[str]) -> np.ndarray:
    """CKA(a, b) of the first convolution minus that of the most similar later one (an
    undefined later layer is passed over)."""
    later = np.fmax.reduce([v(a, b, layer, ts) for layer in convs[1:]])
    return v(a, b, convs[0], ts) - later


def claim_b(
    v: Values,
    finetuned: list[str],
    convs: list[str],
    test_sets: list[str],
    base: list[str] | None = None,
    change: pd.DataFrame | None = None,
) -> Finding:
    """``convs``: the recorded convolutions in network order (two or more); ``change``:
    results/tables/weight_change.csv, to say how far each layer's kernel moved in fine-tuning
    beside how similar it stayed."""
    pairs = [(name, parse(name).base, ts) for name in finetuned for ts in test_sets]
    cases = [_conv1_lead(v, *p, convs) for p in pairs]
    seeds = _seeds(name for name, _, _ in pairs)
    e = summarise(cases, v.confidence, seeds)
    layers = {
        layer: summarise([v(a, b, layer, ts) for a, b, ts in pairs], v.confidence)
        for layer in convs
    }
    numbers = (
        f"CKA(fine-tuned, base) of {convs[0]} minus the most similar later conv layer, mean over "
        f"the cases: {e.text()}; {e.spread_text()}. Per layer: "
        + ", ".join(
            f"{layer} {x.estimate:.4f} [{x.low:.4f}, {x.high:.4f}]" for layer, x in layers.items()
        )
    )
    baseline, b0 = (
        _read_against(
            v,
            e,
            cases,
            lambda: [
                _conv1_lead(v, _init(b), b, ts, convs) for b in (base or []) for ts in test_sets
            ],
            f"Training from scratch alone: each base instance's {convs[0]} against its own initial "
            "weights leads the later layers by {}. ",
            "training from initial weights alone",
            (seeds, _seeds(b for b in (base or []) for _ in test_sets)),
        )
        if base
        else ("", None)
    )
    if change is not None:
        moved = change[change["instance"].isin(finetuned) & change["layer"].isin(convs)]
        mean = moved.groupby("layer")["relative_change"].mean()
        if len(mean):
            baseline += (
                " In fine-tuning the kernels moved (‖W_final − W_base‖ / ‖W_base‖, mean): "
                + ", ".join(f"{layer} {mean[layer]:.3f}" for layer in convs if layer in mean)
                + "."
            )
    return _finding(
        f"(b) {convs[0]} changes least; adaptation concentrates in later layers.",
        e,
        numbers,
        "finetuned_vs_base, layer_matrices, null_baselines, claim_effects",
        baseline,
        b0,
    )


def _read_against(
    v: Values, effect: Effect, cases, baseline_cases, intro: str, what: str, seeds=(None, None)
):
    """(sentences, baseline Effect) placing ``effect`` (pooled from ``cases``) against the same
    statistic under a baseline; ``baseline_cases()`` gives its cases, or raises KeyError when
    the table lacks them (then ("", None)). ``intro`` has a {} for the baseline's value;
    ``seeds``: the seed labels of the cases and of the baseline's cases (two-factor
    intervals)."""
    try:
        init = baseline_cases()
    except KeyError:
        return "", None
    b0 = summarise(init, v.confidence, seeds[1])
    gap = difference(cases, init, v.confidence, *seeds)
    return intro.format(b0.text()) + _against_baseline(gap, what), b0


def _against_baseline(gap: Effect, what: str) -> str:
    """A sentence placing an effect against the same statistic under the baseline ``what``,
    from ``gap``: the effect minus the baseline."""
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


def claim_c(v: Values, base: list[str], convs: list[str]) -> Finding:
    """The thesis' claim about its two test sets."""
    pairs = [(a, b) for i, a in enumerate(base) for b in base[i + 1 :]]

    def cases(model):
        return [
            v(model(a), model(b), layer, SYNTH) - v(model(a), model(b), layer, NATURAL)
            for a, b in pairs
            for layer in convs
        ]

    # the unit resampled: a pair of seeds (pairs sharing an instance are not independent: an
    # approximation, stated in the findings)
    seeds = [f"{min(s)}-{max(s)}" for a, b in pairs for s in [_seeds((a, b))] for _ in convs]
    trained = cases(lambda m: m)
    e = summarise(trained, v.confidence, seeds)
    per_layer = {
        layer: [
            summarise([v(a, b, layer, ts) for a, b in pairs], v.confidence).estimate
            for ts in (SYNTH, NATURAL)
        ]
        for layer in convs
    }
    baseline, b0 = _read_against(
        v,
        e,
        trained,
        lambda: cases(_init),
        "At their initial weights the same pairs give {}. ",
        "the initial weights alone",
        (seeds, seeds),
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


def bias_note(table: pd.DataFrame, base: list[str], convs: list[str]) -> str:
    """How far the biased estimator sits above the debiased one on the same pairs."""
    t = table[
        table["a_model"].isin(base)
        & table["b_model"].isin(base)
        & (table["a_model"] != table["b_model"])
        & table["a_group"].isin(convs)
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
