"""Every verdict of a run: claims (a)-(c) under each estimator, (d) and (e), and none at all
from models that have not learnt their domain."""

from __future__ import annotations

import pandas as pd

from ..names import parse
from ..stages.cka_table import estimator_rows, estimators_in
from .claims import NOT_DRAWN, Finding, claim_a, claim_b, claim_c
from .effects import Values
from .training import claim_d, claim_e


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
