"""Every verdict of a run: the CKA claims under each estimator, the training claims, and none
at all from models that have not learnt their domain.

Which claims a study makes follows its config (:class:`Claims`): (a), (b) and (e) need
fine-tuning ((b) two recorded convolutions); (c) and (d) are the thesis' claims about its two
domains (``preset: thesis``). A study without fine-tuning makes none: its findings are the
baselines, the weight change, the invariances and (deeper models) the block structure."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ..stages.cka_table import estimator_rows, estimators_in
from .claims import NOT_DRAWN, Finding, claim_a, claim_b, claim_c
from .effects import Values
from .training import claim_d, claim_e, learnt_instances, own_domain


@dataclass(frozen=True)
class Claims:
    """What a study's findings are about: its instances, test sets, convolutions and preset."""

    base: list[str]
    finetuned: list[str]
    test_sets: list[str]
    convs: list[str] = field(default_factory=list)  # the recorded convolutions, network order
    preset: str | None = None

    @property
    def thesis(self) -> bool:
        return self.preset == "thesis"

    def cka(self, v: Values, change: pd.DataFrame | None) -> list[Finding]:
        out = []
        if self.finetuned:
            out.append(claim_a(v, self.finetuned, self.test_sets))
        if self.finetuned and len(self.convs) > 1:
            out.append(claim_b(v, self.finetuned, self.convs, self.test_sets, self.base, change))
        if self.thesis:
            out.append(claim_c(v, self.base, self.convs))
        return out


def findings(
    intervals: pd.DataFrame,
    accuracy: pd.DataFrame,
    histories: dict[str, pd.DataFrame],
    capped: dict[str, bool],
    claims: Claims,
    change: pd.DataFrame | None = None,
) -> dict[str, list[Finding]]:
    """The CKA claims under every estimator of the interval table
    (``results/cka_intervals.parquet``), then under ``"training"`` the claims that do not
    depend on CKA (their intervals are over seeds, at the intervals' confidence)."""
    out, confidence = {}, float(intervals["confidence"].iloc[0])
    for est in estimators_in(intervals):
        out[est.label] = claims.cka(Values(estimator_rows(intervals, est)), change)
    training = [claim_d(histories, capped, confidence)] if claims.thesis else []
    if claims.finetuned:
        training.append(claim_e(accuracy, claims.finetuned, confidence))
    out["training"] = training
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
        + " do no better on their own domain's test images than a constant predictor (in "
        "brackets: the loss, or a classifier's accuracy, of each and of the predictor, which "
        "knows only the training split's mean image or class frequencies); train longer or "
        "check the schedule"
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
        ]
        for label, fs in found.items()
    }


def worse_than_constant(accuracy: pd.DataFrame) -> list[tuple[str, float, float]]:
    """(instance, its in-domain score, the constant predictor's) of every instance that does no
    better than the best constant predictor of its domain (:func:`learnt_instances`): scores
    are accuracies for a classifier, losses for an autoencoder."""
    if "constant_loss" not in accuracy:
        return []
    learnt, own = learnt_instances(accuracy), own_domain(accuracy)
    bad = own[~own["instance"].map(learnt)]
    if "chance" in own:
        return [(r.instance, r.accuracy, r.chance) for r in bad.itertuples()]
    return [(r.instance, r.mean_loss, r.constant_loss) for r in bad.itertuples()]
