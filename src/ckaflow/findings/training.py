"""The claims about training, not CKA: (d) how fast fine-tuning converges (the thesis' claim
about its two domains), (e) how close the fine-tuned accuracy comes to scratch (any study with
fine-tuning). Their intervals are over seeds (Welch's t), since no test-set resample reaches
them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..names import parse
from .claims import NATURAL, SYNTH, Finding, _finding
from .effects import CONTRADICTED, INCONCLUSIVE, SUPPORTED, seed_interval


def own_domain(accuracy: pd.DataFrame) -> pd.DataFrame:
    """The rows of results/tables/test_accuracy.csv of each instance on its own domain."""
    pairs = zip(accuracy["instance"], accuracy["test_set"], strict=True)
    return accuracy[[parse(i).domain == t for i, t in pairs]]


def learnt_instances(accuracy: pd.DataFrame) -> dict[str, bool]:
    """{instance: it does better on its own domain's test set than the best constant predictor}
    from results/tables/test_accuracy.csv: a classifier by accuracy (above ``chance``, the
    majority class's share; cross-entropy punishes confident mistakes, so a classifier that
    learnt can still have a higher loss), an autoencoder by loss (below ``constant_loss``, the
    mean training image's)."""
    own = own_domain(accuracy)
    if "chance" in own:
        return {r.instance: bool(r.accuracy > r.chance) for r in own.itertuples()}
    return {r.instance: bool(r.mean_loss < r.constant_loss) for r in own.itertuples()}


def steps_to_converge(history: pd.DataFrame, domain: str, within: float = 0.05) -> int:
    """First validation step whose in-domain loss is within ``within`` (relative) of the best."""
    loss = history[f"val_loss_{domain}"].to_numpy()
    best = np.nanmin(loss)
    return int(history["step"].to_numpy()[np.argmax(loss <= best * (1 + within))])


def claim_d(
    histories: dict[str, pd.DataFrame], capped: dict[str, bool], confidence: float = 0.95
) -> Finding:
    """The thesis' claim is about its model: depth 1's fine-tuned instances only."""
    natural_from_synth, synth_from_natural = f"{NATURAL}-from-{SYNTH}", f"{SYNTH}-from-{NATURAL}"
    families = (natural_from_synth, synth_from_natural)
    tuned = [n for n in histories if parse(n).finetuned and parse(n).depth == 1]
    steps = {fam: [] for fam in families}
    for name in tuned:
        inst = parse(name)
        steps[inst.family].append(steps_to_converge(histories[name], inst.domain))
    e = seed_interval(steps[synth_from_natural], steps[natural_from_synth], confidence)
    n_capped = sum(capped.get(n, False) for n in tuned)
    return _finding(
        "(d) Fine-tuning natural-from-synth converges in fewer steps than synth-from-natural.",
        e,
        "steps until the target-domain validation loss is within 5% of its best: "
        + "; ".join(f"{fam} {steps[fam]} (mean {np.mean(steps[fam]):.0f})" for fam in families)
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
    metric = accuracy["metric"].iloc[0] if "metric" in accuracy else "accuracy"
    effects, lines = [], []
    for fam in dict.fromkeys(parse(n).family for n in finetuned):
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
        CONTRADICTED
        if CONTRADICTED in verdicts
        else SUPPORTED
        if verdicts == {SUPPORTED}
        else INCONCLUSIVE
    )
    return Finding(
        "(e) Fine-tuned accuracy is close to scratch accuracy.",
        verdict,
        f"mean accuracy gaps on the target test set (accuracy: {metric}; close: the gap is at "
        "most a quarter of the untuned base's), " + "; ".join(lines),
        "test_loss, table_finetuning",
    )
