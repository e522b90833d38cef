"""Findings verdicts come from the table: hand-made tables make each verdict come out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ckaflow.cka_table import estimators_in, select_estimator
from ckaflow.findings import MIXED, NOT_SUPPORTED, SUPPORTED, findings, summary_table
from ckaflow.findings.claims import claim_a, claim_b, claim_c, claim_d, claim_e
from ckaflow.findings.report import report_markdown
from ckaflow.names import Estimator, base_instances, finetuned_instances, parse

SEEDS = [1, 2, 3, 4]
BASE, FT = base_instances(SEEDS), finetuned_instances(SEEDS)


def hand_made(base_cka: float, scratch_cka: float, layers=None) -> pd.DataFrame:
    """Model-level (and per-layer) CKA of every fine-tuned instance with its base and scratch."""
    rows = []
    for name in FT:
        inst = parse(name)
        for ts in ("natural", "synth"):
            for other, value in ((inst.base, base_cka), (inst.scratch, scratch_cka)):
                rows.append((ts, name, "model", other, "model", value))
                for layer, v in (layers or {}).items():
                    rows.append((ts, name, layer, other, layer, v))
    t = pd.DataFrame(rows, columns=["test_set", "a_model", "a_group", "b_model", "b_group", "cka"])
    return t.assign(kernel="linear", estimator="debiased", centering="unit", sigma_frac=np.nan)


def test_claim_a_false_when_scratch_is_closer():
    assert claim_a(hand_made(0.90, 0.95), FT).verdict == NOT_SUPPORTED


def test_claim_a_true_when_base_is_closer():
    finding = claim_a(hand_made(0.97, 0.95), FT)
    assert finding.verdict == SUPPORTED and "16 of 16" in finding.numbers


def test_claim_a_mixed_when_it_depends_on_the_instance():
    t = hand_made(0.97, 0.95)
    half = t["a_model"].isin(FT[:4]) & (t["b_model"] == t["a_model"].map(lambda m: parse(m).base))
    t.loc[half, "cka"] = 0.90
    assert claim_a(t, FT).verdict == MIXED


def test_claim_b_needs_conv1_most_similar_and_falling_with_depth():
    assert (
        claim_b(hand_made(1, 1, {"conv1": 0.99, "conv2": 0.95, "conv3": 0.9}), FT).verdict
        == SUPPORTED
    )
    assert (
        claim_b(hand_made(1, 1, {"conv1": 0.8, "conv2": 0.95, "conv3": 0.99}), FT).verdict
        == NOT_SUPPORTED
    )


def test_claim_b_mixed_when_conv1_leads_in_half_the_cases():
    t = hand_made(1, 1, {"conv1": 0.99, "conv2": 0.95, "conv3": 0.9})
    half = t["a_model"].isin(FT[:4]) & (t["a_group"] == "conv1")
    t.loc[half, "cka"] = 0.5
    assert claim_b(t, FT).verdict == MIXED


def base_pairs(synth: dict[str, float], natural: dict[str, float]) -> pd.DataFrame:
    """Layer CKA of every pair of base instances: per layer, one value per test set."""
    rows = [
        (ts, a, layer, b, layer, v)
        for a in BASE
        for b in BASE
        if a < b
        for ts, values in (("synth", synth), ("natural", natural))
        for layer, v in values.items()
    ]
    t = pd.DataFrame(rows, columns=["test_set", "a_model", "a_group", "b_model", "b_group", "cka"])
    return t.assign(kernel="linear", estimator="debiased", centering="unit", sigma_frac=np.nan)


@pytest.mark.parametrize(
    "synth, verdict",
    [((0.9, 0.9, 0.9), SUPPORTED), ((0.5, 0.5, 0.5), NOT_SUPPORTED), ((0.9, 0.5, 0.9), MIXED)],
)
def test_claim_c_compares_the_test_sets_layer_by_layer(synth, verdict):
    layers = ("conv1", "conv2", "conv3")
    t = base_pairs(dict(zip(layers, synth, strict=True)), dict.fromkeys(layers, 0.7))
    assert claim_c(t, BASE).verdict == verdict


def test_claim_d_from_steps_to_converge():
    def history(best_at):
        steps = np.arange(0, 1001, 50)
        loss = np.where(steps >= best_at, 0.01, 0.5)
        return pd.DataFrame({"step": steps, "val_loss_natural": loss, "val_loss_synth": loss})

    fast = {n: history(200 if parse(n).domain == "natural" else 800) for n in FT}
    finding = claim_d(fast, dict.fromkeys(FT, False))
    assert finding.verdict == SUPPORTED and "mean 200" in finding.numbers
    slow = {n: history(800 if parse(n).domain == "natural" else 200) for n in FT}
    capped = claim_d(slow, dict.fromkeys(FT, True))
    assert capped.verdict == NOT_SUPPORTED and "8 of 8 fine-tuning runs were cut" in capped.numbers


def test_claim_e_from_accuracies():
    rows = []
    for name in BASE + FT:
        inst = parse(name)
        for ts in ("natural", "synth"):
            acc = 0.95 if ts == inst.domain else 0.80  # trained (or fine-tuned) on it: good
            rows.append((name, ts, acc))
    acc = pd.DataFrame(rows, columns=["instance", "test_set", "accuracy"])
    assert claim_e(acc, FT).verdict == SUPPORTED
    far = acc.copy()
    far.loc[far["instance"].isin(FT), "accuracy"] = 0.80  # fine-tuning did not help at all
    assert claim_e(far, FT).verdict == NOT_SUPPORTED
    one = acc.copy()  # it helped natural-from-synth only
    one.loc[one["instance"].str.startswith("synth-from"), "accuracy"] = 0.80
    assert claim_e(one, FT).verdict == MIXED


def test_summary_table_has_mean_and_sd_rows_and_report_names_verdicts():
    t = hand_made(0.97, 0.95)
    acc = pd.DataFrame(
        [(n, ts, 0.9) for n in BASE + FT for ts in ("natural", "synth")],
        columns=["instance", "test_set", "accuracy"],
    )
    acc.loc[acc["instance"].str.startswith("synth-from"), "accuracy"] = 0.7
    table = summary_table(t, acc, FT)
    labels = list(table["fine-tuned"])
    assert len(table) == 12 and labels[:4] == [n for n in FT if n.startswith("natural-from")]
    assert labels[4:6] == ["mean (natural-from-synth)", "sd (natural-from-synth)"]
    assert labels[-2:] == ["mean (synth-from-natural)", "sd (synth-from-natural)"]
    assert table["CKA base, synth"].iloc[-2] == pytest.approx(0.97)
    # each half's mean is its own domain's accuracy, never the two averaged together
    assert table["accuracy fine-tuned"].iloc[4] == pytest.approx(0.9)
    assert table["accuracy fine-tuned"].iloc[-2] == pytest.approx(0.7)
    md = report_markdown(
        {"linear, debiased": [claim_a(t, FT)], "training": []}, "note", "linear, debiased"
    )
    assert "**supported.**" in md and "(a)" in md


def test_select_estimator_names_what_is_missing():
    with pytest.raises(ValueError, match="rbf1-biased"):
        select_estimator(hand_made(1, 1), "rbf1-biased")
    with pytest.raises(ValueError, match="'linear-debaised' is not an estimator name"):
        select_estimator(hand_made(1, 1), "linear-debaised")
    rows, est = select_estimator(hand_made(1, 1), "linear-debiased")
    assert len(rows) and est.label == "linear, debiased"


def test_two_rbf_bandwidths_are_two_estimators_with_their_own_verdicts():
    """similarity.estimators may list rbf at two bandwidths: their rows never merge."""
    layers = {"conv1": 0.99, "conv2": 0.95, "conv3": 0.9}
    pairs = base_pairs(layers, layers)
    wide = pd.concat([hand_made(0.97, 0.95, layers), pairs]).assign(kernel="rbf", sigma_frac=2.0)
    narrow = pd.concat([hand_made(0.9, 0.95, layers), pairs]).assign(kernel="rbf", sigma_frac=0.5)
    table = pd.concat([wide, narrow], ignore_index=True)
    assert [e.name for e in estimators_in(table)] == ["rbf0.5-debiased", "rbf2-debiased"]
    rows, est = select_estimator(table, "rbf2-debiased")
    assert len(rows) == len(wide) and (rows["sigma_frac"] == 2.0).all()
    assert est == Estimator("rbf", True, sigma_frac=2)
    acc = _accuracy(lambda n, ts: 0.01)
    hist = {n: pd.DataFrame({"step": [0], "val_loss_natural": [1.0], "val_loss_synth": [1.0]})
            for n in FT}  # fmt: skip
    found = findings(table, acc, hist, {}, BASE, FT)
    wide_label, narrow_label = "rbf σ=2·median, debiased", "rbf σ=0.5·median, debiased"
    assert found[wide_label][0].verdict == SUPPORTED
    assert found[narrow_label][0].verdict == NOT_SUPPORTED


def test_the_report_reads_weight_change_per_family_and_layer():
    change = pd.DataFrame(
        [
            (name, parse(name).family, parse(name).seed, layer, 1.0, v, v)
            for name in [*BASE, *FT]
            for layer, v in (("conv1", 0.5 + parse(name).seed / 100), ("conv2", 2.0))
        ],
        columns=[
            "instance",
            "family",
            "seed",
            "layer",
            "init_norm",
            "change_norm",
            "relative_change",
        ],
    )
    t = hand_made(0.97, 0.95, {"conv1": 0.99, "conv2": 0.95, "conv3": 0.9})
    found = {"linear, debiased": [claim_a(t, FT)], "training": []}
    md = report_markdown(found, "note", "linear, debiased", change)
    assert "## How far training moved the weights" in md
    assert "| family | conv1 | conv2 |" in md
    assert "| synth-from-natural | 0.525 (0.510–0.540) | 2.000 (2.000–2.000) |" in md
    assert md.index("How far training") < md.index("Does the estimator")


def _accuracy(loss_of):
    rows = [
        (name, parse(name).family, parse(name).seed, ts, loss_of(name, ts), 0.05)
        for name in [*BASE, *FT]
        for ts in ("natural", "synth")
    ]
    acc = pd.DataFrame(
        rows, columns=["instance", "family", "seed", "test_set", "mean_loss", "constant_loss"]
    )
    return acc.assign(accuracy=1 - acc["mean_loss"])


def test_no_verdict_is_drawn_from_models_worse_than_a_constant_predictor():
    from ckaflow.findings import NOT_DRAWN, refuse_untrained

    t = hand_made(0.97, 0.95, {"conv1": 0.99, "conv2": 0.95, "conv3": 0.9})
    found = {"linear, debiased": [claim_a(t, FT), claim_b(t, FT)], "training": []}
    good = _accuracy(lambda n, ts: 0.01)
    assert refuse_untrained(found, good) is found
    diverged = _accuracy(lambda n, ts: 1.57 if n == "synth-3" and ts == "synth" else 0.01)
    refused = refuse_untrained(found, diverged)["linear, debiased"]
    assert [f.verdict for f in refused] == [NOT_DRAWN, NOT_DRAWN]
    assert "synth-3 (1.5700 vs 0.0500)" in refused[0].numbers
    assert "constant predictor" in refused[0].numbers and "16 of 16" in refused[0].numbers
    # natural-3 is bad only on the other domain's test set: not a reason to refuse
    cross = _accuracy(lambda n, ts: 0.9 if n == "natural-3" and ts == "synth" else 0.01)
    assert refuse_untrained(found, cross) is found


def test_an_unknown_cka_figure_is_refused_naming_the_known_ones(tmp_path):
    from ckaflow.figures.cka import draw

    with pytest.raises(ValueError, match=r"unknown CKA figure 'chekpoints'.*'checkpoints_vs"):
        draw("chekpoints", tmp_path / "cka.parquet", {})
