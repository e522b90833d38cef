"""Findings verdicts come from the table: hand-made tables make each verdict come out."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotnine as p9
import pytest

from ckaflow.findings import (
    CONTRADICTED,
    INCONCLUSIVE,
    SUPPORTED,
    Values,
    claim_a,
    claim_b,
    claim_c,
    claim_d,
    claim_e,
    findings,
    summary_table,
)
from ckaflow.findings.baselines import COMPARISONS, baseline_table
from ckaflow.findings.effects import seed_interval, summarise
from ckaflow.findings.report import report_markdown
from ckaflow.findings.verdicts import Claims
from ckaflow.names import Instance, model_name, parse
from ckaflow.similarity import Estimator
from ckaflow.stages.cka_table import estimators_in, select_estimator

SEEDS = [1, 2, 3, 4]
TEST_SETS = ["natural", "synth"]
BASE = [Instance(d, s).name for d in TEST_SETS for s in SEEDS]
FT = [Instance(t, s, f).name for t in TEST_SETS for f in TEST_SETS if f != t for s in SEEDS]
CONVS = ["conv1", "conv2", "conv3"]  # the thesis' model's recorded convolutions
COLUMNS = ["test_set", "a_model", "a_group", "b_model", "b_group", "cka"]
NOISE = 0.002  # sd of a hand-made CKA's bootstrap replicates


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
    return _estimator_columns(pd.DataFrame(rows, columns=COLUMNS))


def _estimator_columns(t: pd.DataFrame) -> pd.DataFrame:
    return t.assign(kernel="linear", estimator="debiased", centering="unit", sigma_frac=np.nan)


def with_replicates(t: pd.DataFrame, resamples: int = 300, seed: int = 0) -> pd.DataFrame:
    """An interval table: each CKA with replicates scattered by NOISE around it."""
    rng = np.random.default_rng(seed)
    return t.assign(
        confidence=0.95,
        replicates=[c + NOISE * rng.normal(size=resamples) for c in t["cka"]],
    )


def values(t: pd.DataFrame) -> Values:
    return Values(with_replicates(t))


@pytest.mark.parametrize(
    "scratch, verdict", [(0.95, SUPPORTED), (0.99, CONTRADICTED), (0.97, INCONCLUSIVE)]
)
def test_claim_a_reads_the_interval_of_base_minus_scratch(scratch, verdict):
    finding = claim_a(values(hand_made(0.97, scratch)), FT, TEST_SETS)
    assert finding.verdict == verdict
    assert "95% seeds-and-images (4 seeds) interval" in finding.numbers
    assert "(images only: " in finding.numbers


def test_a_verdict_the_seeds_do_not_share_is_inconclusive_and_the_findings_say_why():
    """Three seeds favour the base by 0.02, one the scratch model by 0.03: the test images
    resolve the mean (+0.0075) tightly, the seeds do not. The verdict comes from the interval
    over seeds and images; the image-only interval is printed beside it."""
    t = hand_made(0.97, 0.95)
    seed4 = t["a_model"].map(lambda m: parse(m).seed == 4) & (t["b_model"] == t["a_model"].map(
        lambda m: parse(m).base))  # fmt: skip
    t.loc[seed4, "cka"] = 0.92
    finding = claim_a(values(t), FT, TEST_SETS)
    assert finding.effect.image_verdict == SUPPORTED and finding.verdict == INCONCLUSIVE
    assert finding.effect.low < 0 < finding.effect.image_low
    assert "The images alone would call it supported: the seeds disagree (12 of 16" in (
        finding.numbers
    )


def test_claim_a_counts_cases_and_shows_their_spread():
    t = hand_made(0.97, 0.95)
    half = t["a_model"].isin(FT[:4]) & (t["b_model"] == t["a_model"].map(lambda m: parse(m).base))
    t.loc[half, "cka"] = 0.90  # base closer for half the instances, scratch for the other half
    finding = claim_a(values(t), FT, TEST_SETS)
    assert "8 of 16 positive" in finding.numbers and "sd over the 16 cases 0.0" in finding.numbers
    assert finding.verdict == CONTRADICTED  # mean -0.025: pooled over seeds, not a vote


LAYERS_DOWN = {"conv1": 0.99, "conv2": 0.95, "conv3": 0.9}


@pytest.mark.parametrize(
    "layers, verdict",
    [
        (LAYERS_DOWN, SUPPORTED),
        ({"conv1": 0.8, "conv2": 0.95, "conv3": 0.99}, CONTRADICTED),
        ({"conv1": 0.95, "conv2": 0.95, "conv3": 0.9}, INCONCLUSIVE),
    ],
)
def test_claim_b_reads_conv1_against_the_most_similar_later_layer(layers, verdict):
    assert claim_b(values(hand_made(1, 1, layers)), FT, CONVS, TEST_SETS).verdict == verdict


def test_claim_b_is_read_against_training_from_initial_weights():
    """If each base instance's conv1 also stays closest to its own initial weights, by as much,
    the claim's effect is said to be within that baseline."""
    init = [
        (ts, model_name(b, "init"), layer, b, layer, v)
        for b in BASE
        for ts in ("natural", "synth")
        for layer, v in LAYERS_DOWN.items()
    ]
    t = pd.concat(
        [hand_made(1, 1, LAYERS_DOWN), _estimator_columns(pd.DataFrame(init, columns=COLUMNS))]
    )
    change = pd.DataFrame(
        [
            (n, layer, r)
            for n in FT
            for layer, r in (("conv1", 0.05), ("conv2", 0.2), ("conv3", 0.1))
        ],
        columns=["instance", "layer", "relative_change"],
    )
    finding = claim_b(values(t), FT, CONVS, TEST_SETS, BASE, change)
    assert finding.verdict == SUPPORTED
    assert "the kernels moved (‖W_final − W_base‖ / ‖W_base‖, mean): conv1 0.050, conv2 0.200" in (
        finding.baseline
    )
    assert (
        "indistinguishable from its baseline (training from initial weights alone)"
        in finding.baseline
    )


def base_pairs(synth: dict[str, float], natural: dict[str, float], init: bool = False):
    """Layer CKA of every pair of base instances (at init: of their initial weights)."""
    name = (lambda m: model_name(m, "init")) if init else (lambda m: m)
    rows = [
        (ts, name(a), layer, name(b), layer, v)
        for i, a in enumerate(BASE)
        for b in BASE[i + 1 :]
        for ts, values in (("synth", synth), ("natural", natural))
        for layer, v in values.items()
    ]
    return _estimator_columns(pd.DataFrame(rows, columns=COLUMNS))


CONV = ("conv1", "conv2", "conv3")


@pytest.mark.parametrize(
    "synth, verdict",
    [
        ((0.9, 0.9, 0.9), SUPPORTED),
        ((0.5, 0.5, 0.5), CONTRADICTED),
        ((0.9, 0.5, 0.7), INCONCLUSIVE),
    ],
)
def test_claim_c_compares_the_test_sets(synth, verdict):
    t = base_pairs(dict(zip(CONV, synth, strict=True)), dict.fromkeys(CONV, 0.7))
    assert claim_c(values(t), BASE, CONVS).verdict == verdict


def test_claim_c_reports_an_effect_initial_weights_give_as_well():
    trained = base_pairs(dict.fromkeys(CONV, 0.9), dict.fromkeys(CONV, 0.7))
    same_at_init = base_pairs(dict.fromkeys(CONV, 0.8), dict.fromkeys(CONV, 0.6), init=True)
    finding = claim_c(values(pd.concat([trained, same_at_init])), BASE, CONVS)
    assert finding.verdict == SUPPORTED and "within the baseline" in finding.baseline
    smaller_at_init = base_pairs(dict.fromkeys(CONV, 0.7), dict.fromkeys(CONV, 0.7), init=True)
    finding = claim_c(values(pd.concat([trained, smaller_at_init])), BASE, CONVS)
    assert "exceeds its baseline (the initial weights alone)" in finding.baseline


def _history(best_at):
    steps = np.arange(0, 1001, 50)
    loss = np.where(steps >= best_at, 0.01, 0.5)
    return pd.DataFrame({"step": steps, "val_loss_natural": loss, "val_loss_synth": loss})


def test_claim_d_from_steps_to_converge_with_an_interval_over_seeds():
    fast = {n: _history(200 + 50 * parse(n).seed if parse(n).domain == "natural" else 800)
            for n in FT}  # fmt: skip
    finding = claim_d(fast, dict.fromkeys(FT, False))
    assert finding.verdict == SUPPORTED and "Welch t over seeds" in finding.numbers
    slow = {n: _history(800 if parse(n).domain == "natural" else 200 + 50 * parse(n).seed)
            for n in FT}  # fmt: skip
    capped = claim_d(slow, dict.fromkeys(FT, True))
    assert capped.verdict == CONTRADICTED and "8 of 8 fine-tuning runs were cut" in capped.numbers
    noisy = {n: _history(200 + 200 * parse(n).seed) for n in FT}
    assert claim_d(noisy, {}).verdict == INCONCLUSIVE


def _accuracies(ft_acc):
    rows = []
    for name in BASE + FT:
        inst = parse(name)
        for ts in ("natural", "synth"):
            acc = 0.95 if ts == inst.domain else 0.80  # trained (or fine-tuned) on it: good
            if inst.finetuned and ts == inst.domain:
                acc = ft_acc(inst)
            rows.append((name, ts, acc))
    return pd.DataFrame(rows, columns=["instance", "test_set", "accuracy"])


def test_claim_e_from_accuracies():
    def jitter(i):
        return 0.002 * i.seed

    assert claim_e(_accuracies(lambda i: 0.95 - jitter(i)), FT).verdict == SUPPORTED
    # fine-tuning did not help at all
    assert claim_e(_accuracies(lambda i: 0.80 + jitter(i)), FT).verdict == CONTRADICTED
    # it helped by about a quarter of the gap, give or take the seeds
    spread = _accuracies(lambda i: 0.95 - 0.15 * 0.25 + 0.03 * (i.seed - 2.5))
    assert claim_e(spread, FT).verdict == INCONCLUSIVE


def test_pooled_effects_skip_undefined_cases_and_welch_matches_scipy():
    from scipy import stats

    cases = [np.array([0.1, 0.1, 0.1]), np.array([np.nan, np.nan, np.nan])]
    e = summarise(cases, 0.95)
    assert e.estimate == pytest.approx(0.1) and e.cases == 1
    a, b = [3.0, 4.0, 6.0], [1.0, 1.5, 1.0, 2.0]
    e = seed_interval(a, b, 0.9)
    ref = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.9)
    assert (e.low, e.high) == pytest.approx((ref.low, ref.high))


def test_the_null_baselines_have_every_comparison_with_intervals():
    init_same = base_pairs(dict.fromkeys(CONV, 1.0), dict.fromkeys(CONV, 1.0), init=True)
    trained = base_pairs(dict.fromkeys(CONV, 0.9), dict.fromkeys(CONV, 0.7))
    own = _estimator_columns(pd.DataFrame(
        [(ts, model_name(b, "init"), g, b, g, 0.5) for b in BASE for ts in ("natural", "synth")
         for g in CONV], columns=COLUMNS))  # fmt: skip
    t = pd.concat([init_same, trained, own, hand_made(0.97, 0.95, LAYERS_DOWN)])
    with pytest.raises(KeyError, match="pool1"):  # a group the table lacks is named
        baseline_table(values(t), BASE, FT, [*CONV, "pool1"], TEST_SETS)
    table = baseline_table(values(t), BASE, FT, CONV, TEST_SETS)
    assert list(dict.fromkeys(table["comparison"])) == list(COMPARISONS)
    row = table[(table["comparison"] == "initial vs final weights") & (table["group"] == "conv1")]
    assert list(row["cka"]) == pytest.approx([0.5, 0.5]) and (row["low"] < 0.5).all()
    assert (table["pairs"][table["comparison"] == "initial weights, same seed"] == 4).all()


def test_summary_table_has_mean_and_sd_rows_and_report_names_verdicts():
    t = hand_made(0.97, 0.95)
    acc = pd.DataFrame(
        [(n, ts, 0.9) for n in BASE + FT for ts in ("natural", "synth")],
        columns=["instance", "test_set", "accuracy"],
    )
    acc.loc[acc["instance"].str.startswith("synth-from"), "accuracy"] = 0.7
    table = summary_table(t, acc, FT, TEST_SETS)
    labels = list(table["fine-tuned"])
    assert len(table) == 12 and labels[:4] == [n for n in FT if n.startswith("natural-from")]
    assert labels[4:6] == ["mean (natural-from-synth)", "sd (natural-from-synth)"]
    assert labels[-2:] == ["mean (synth-from-natural)", "sd (synth-from-natural)"]
    assert table["CKA base, synth"].iloc[-2] == pytest.approx(0.97)
    # each half's mean is its own domain's accuracy, never the two averaged together
    assert table["accuracy fine-tuned"].iloc[4] == pytest.approx(0.9)
    assert table["accuracy fine-tuned"].iloc[-2] == pytest.approx(0.7)
    md = report_markdown(
        {"linear, debiased": [claim_a(values(t), FT, TEST_SETS)], "training": []},
        "note",
        "linear, debiased",
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
    found = findings(
        with_replicates(table), acc, hist, {}, Claims(BASE, FT, TEST_SETS, CONVS, "thesis")
    )
    wide_label, narrow_label = "rbf σ=2·median, debiased", "rbf σ=0.5·median, debiased"
    assert found[wide_label][0].verdict == SUPPORTED
    assert found[narrow_label][0].verdict == CONTRADICTED


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
    found = {"linear, debiased": [claim_a(values(t), FT, TEST_SETS)], "training": []}
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
    v = values(t)
    found = {
        "linear, debiased": [claim_a(v, FT, TEST_SETS), claim_b(v, FT, CONVS, TEST_SETS)],
        "training": [],
    }
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

    with pytest.raises(ValueError, match=r"unknown CKA figure kind 'chekpoints'.*'checkpoints_vs"):
        draw(tmp_path / "cka.parquet", {"kind": "chekpoints"}, {})


def _adjacent(model: str, within: float, across: float, farther: float = 0.5) -> list[tuple]:
    """Interval rows of a model's convolutions on its domain's test set: adjacent ones (within
    a stage, across a boundary) and the farther pairs of each chain (Comparisons.interval_rows)."""
    from ckaflow.model.build import convolution_chains
    from ckaflow.model.tied_layers import adjacent_convolutions
    from ckaflow.names import depth_of

    ts = parse(model.partition("@")[0]).domain
    pairs = adjacent_convolutions(depth_of(model))
    rows = [(ts, model, a, model, b, within if w else across) for a, b, w in pairs]
    for chain in convolution_chains(pairs):
        rows += [(ts, model, a, model, b, farther)
                 for i, a in enumerate(chain) for b in chain[i + 2 :]]  # fmt: skip
    return rows


def tied_pairs(*models: str) -> dict[str, list[tuple[str, str, bool]]]:
    """The tied autoencoder's adjacent convolutions of each model (Comparisons.block_pairs)."""
    from ckaflow.model.build import adjacent_convolutions
    from ckaflow.names import depth_of

    tied = {"architecture": "tied_autoencoder"}
    return {m: adjacent_convolutions(tied, depth_of(m)) for m in models}


@pytest.mark.parametrize(
    "within, verdict", [(0.95, SUPPORTED), (0.85, CONTRADICTED), (0.9005, INCONCLUSIVE)]
)
def test_block_structure_is_within_minus_across_stage_against_initial_weights(within, verdict):
    """S = mean CKA of adjacent convolutions within a stage - across a stage boundary, with its
    interval; beyond init is S(trained) - S(init); depth 1 reports its across-stage mean."""
    from ckaflow.findings.depth import block_section, block_structure

    rows = _adjacent("synth-d2-1", within, 0.9) + _adjacent("synth-d2-1@init", 0.93, 0.9)
    rows += _adjacent("synth-1", 0, 0.8)
    t = pd.DataFrame(rows, columns=COLUMNS)
    v = values(_estimator_columns(t))
    learnt = {"synth-1": True, "synth-d2-1": True}
    got = block_structure(v, tied_pairs("synth-1", "synth-d2-1", "synth-d2-1@init"), learnt)
    got = got.set_index("model")
    assert got.loc["synth-d2-1", "effect"] == pytest.approx(within - 0.9)
    assert got.loc["synth-d2-1", "verdict"] == verdict
    assert got.loc["synth-d2-1", "beyond_init"] == pytest.approx(within - 0.9 - 0.03)
    assert got.loc["synth-d2-1@init", "effect"] == pytest.approx(0.03)
    assert np.isnan(got.loc["synth-1", "within"]) and got.loc["synth-1", "across"] == 0.8
    assert got.loc["synth-d2-1", "low"] <= got.loc["synth-d2-1", "effect"] <= got.loc[
        "synth-d2-1", "high"]  # fmt: skip
    text = "\n".join(block_section(got.reset_index(), "linear, debiased", 0.95))
    shows = {SUPPORTED: "more alike than", CONTRADICTED: "less alike than",
             INCONCLUSIVE: "no more and no less alike than"}  # fmt: skip
    assert f"**synth-d2-1**: adjacent convolutions within a stage are {shows[verdict]}" in text
    assert "| synth-1 | 1 | synth | – |" in text


def test_no_block_structure_verdict_from_a_deeper_model_that_has_not_learnt():
    from ckaflow.findings.depth import block_section, block_structure
    from ckaflow.findings.training import learnt_instances

    accuracy = pd.DataFrame(
        [("synth-d2-1", "synth", 0.098, 0.097), ("synth-d2-1", "natural", 0.01, 0.02)],
        columns=["instance", "test_set", "mean_loss", "constant_loss"],
    )
    learnt = learnt_instances(accuracy)
    assert learnt == {"synth-d2-1": False}  # judged on its own domain only
    t = pd.DataFrame(_adjacent("synth-d2-1", 0.99, 0.9), columns=COLUMNS)
    got = block_structure(values(_estimator_columns(t)), tied_pairs("synth-d2-1"), learnt)
    text = "\n".join(block_section(got, "linear, debiased", 0.95))
    assert "**synth-d2-1** has not learnt its domain" in text
    assert "alike than" not in text and "longest block is" not in text


def _chain_matrix(cka: np.ndarray, model: str = "m-d2-1") -> pd.DataFrame:
    """Interval rows of every two convolutions conv1..convK of ``model`` with CKA ``cka``."""
    k = len(cka)
    return pd.DataFrame(
        [("m", model, f"conv{i + 1}", model, f"conv{j + 1}", cka[i, j])
         for i in range(k) for j in range(i + 1, k)],
        columns=COLUMNS,
    )  # fmt: skip


def test_the_longest_block_is_the_longest_run_whose_every_pair_is_alike():
    """A run counts only if every two of its layers (not only neighbours) reach BLOCK_CKA."""
    from ckaflow.findings.blocks import BLOCK_CKA, longest_runs

    hi, lo = BLOCK_CKA + 0.05, BLOCK_CKA - 0.05
    m = np.full((6, 6), hi)
    m[0, 3] = m[3, 0] = lo  # breaks 0..3: the neighbours alone would make 0..5 one block
    m[1, 5] = m[5, 1] = lo
    length, start = longest_runs(m[..., None], BLOCK_CKA)
    assert (length[0], start[0]) == (4, 1)  # layers 1..4 (0..2 and 2..5 are 3 long)
    m[2, 3] = m[3, 2] = np.nan  # an undefined pair never joins a block
    assert longest_runs(m[..., None], BLOCK_CKA)[0][0] == 3  # 0..2 or 3..5, no longer
    assert longest_runs(np.full((3, 3, 1), lo), BLOCK_CKA)[0][0] == 1
    rng = np.random.default_rng(0)  # against every run checked by brute force
    for _ in range(50):
        r = rng.uniform(0.7, 1.0, size=(7, 7))
        r = (r + r.T) / 2
        np.fill_diagonal(r, 1.0)
        want = max(j - i + 1 for i in range(7) for j in range(i, 7)
                   if (r[i:j + 1, i:j + 1] >= BLOCK_CKA).all() or i == j)  # fmt: skip
        assert longest_runs(r[..., None], BLOCK_CKA)[0][0] == want


def test_a_deeper_models_block_is_read_against_depth_1_and_its_initial_weights():
    from ckaflow.findings.depth import block_section, block_structure
    from ckaflow.model.build import adjacent_convolutions

    def matrix(k, block):  # CKA 0.5 apart from one block of alike layers
        m = np.full((k, k), 0.5)
        m[block, block] = 0.97
        return m

    rows = [_chain_matrix(matrix(17, slice(3, 11)), "m-d2-1"),  # conv4-conv11
            _chain_matrix(matrix(9, slice(0, 2)), "m-1"),
            _chain_matrix(np.full((17, 17), 0.98), "m-d2-1@init")]  # fmt: skip
    v = values(pd.concat(rows))
    net = {"architecture": "all_cnn_c", "width": 0.25}
    pairs = {m: adjacent_convolutions(net, d) for m, d in (("m-1", 1), ("m-d2-1", 2),
                                                             ("m-d2-1@init", 2))}  # fmt: skip
    got = block_structure(v, pairs, {"m-1": True, "m-d2-1": True}).set_index("model")
    deep = got.loc["m-d2-1"]
    assert (deep["block"], deep["block_length"], deep["convolutions"]) == ("conv4–conv11", 8, 17)
    assert deep["block_cka"] == pytest.approx(0.97, abs=0.01)
    assert deep["vs_depth1"] == pytest.approx(8 / 17 - 2 / 9) and deep["vs_low"] > 0
    assert got.loc["m-d2-1@init", "block_length"] == 17
    assert np.isnan(got.loc["m-1", "vs_depth1"])
    text = "\n".join(block_section(got.reset_index(), "linear, biased", 0.95))
    assert "**m-d2-1**'s longest block is conv4–conv11, 8 of its 17 convolutions" in text
    assert "block structure. At its initial weights the longest block is conv1–conv17" in text
    assert "not a structure it built" in text


def test_a_classifier_has_learnt_when_it_beats_chance_whatever_its_loss():
    """Cross-entropy punishes confident mistakes: a classifier right 70% of the time can lose
    more than the class frequencies do. Accuracy against chance decides."""
    from ckaflow.findings import worse_than_constant
    from ckaflow.findings.training import learnt_instances

    columns = ["instance", "family", "seed", "test_set", "mean_loss", "accuracy",
               "constant_loss", "chance", "metric"]  # fmt: skip
    acc = pd.DataFrame(
        [("a-1", "a", 1, "a", 2.3, 0.70, 1.1, 1 / 3, "classification accuracy"),
         ("a-1", "a", 1, "b", 0.5, 0.20, 1.1, 1 / 3, "classification accuracy"),
         ("b-1", "b", 1, "b", 0.9, 0.30, 1.1, 1 / 3, "classification accuracy")],
        columns=columns,
    )  # fmt: skip
    assert learnt_instances(acc) == {"a-1": True, "b-1": False}
    assert worse_than_constant(acc) == [("b-1", 0.30, 1 / 3)]


def test_a_figure_carries_its_provenance_and_the_same_inputs_draw_the_same_bytes(tmp_path):
    """Every figure says what made it (the commit, the config's digest, the SHA-256 of each
    file it was drawn from) in its PNG and PDF metadata; redrawn, it is the same file."""
    import hashlib

    import plotnine as p9

    from ckaflow.figures.common import read_figure_provenance, save_figure
    from ckaflow.provenance import config_sha256, figure_provenance

    table = tmp_path / "cka.csv"
    table.write_text("x,y\n0,1\n1,3\n")
    config = {"seed": 0, "domains": {"a": {"source": "digits"}}}
    plot = p9.ggplot(pd.read_csv(table), p9.aes("x", "y")) + p9.geom_line()
    digests = []
    for n in (1, 2):
        paths = (tmp_path / f"f{n}.png", tmp_path / f"f{n}.pdf")
        save_figure(plot, *paths, width=3, height=2,
                    provenance=figure_provenance(config, [str(table), str(tmp_path)]))  # fmt: skip
        digests.append([hashlib.sha256(p.read_bytes()).hexdigest() for p in paths])
    got = read_figure_provenance(tmp_path / "f1.png")
    assert got["config_sha256"] == config_sha256(config)
    assert got["inputs"] == {str(table): hashlib.sha256(table.read_bytes()).hexdigest()}
    assert (
        got["code"]["git"] and config_sha256(config).encode() in (tmp_path / "f1.pdf").read_bytes()
    )
    assert digests[0] == digests[1]


def test_the_jittered_figures_draw_the_same_bytes_every_time(tmp_path):
    """base_layer_strips and finetuned_vs_base jitter their points: from a fixed seed, so that
    the same table always draws the same file (plotnine's random_state did not hold)."""
    import hashlib

    from ckaflow.figures.cka import base_layer_strips, finetuned_vs_base
    from ckaflow.figures.common import save_figure

    rng = np.random.default_rng(0)
    rows = [("synth", a, layer, b, layer, float(rng.uniform(0.8, 1.0)))
            for a in BASE + FT for b in BASE for layer in CONVS if a != b]  # fmt: skip
    table = _estimator_columns(pd.DataFrame(rows, columns=COLUMNS))
    for name, plot in (("strips", lambda: base_layer_strips(table, BASE, CONVS)),
                       ("ft", lambda: finetuned_vs_base(table, FT, BASE, CONVS))):  # fmt: skip
        digests = set()
        for i in range(2):
            path = tmp_path / f"{name}{i}.png"
            save_figure(plot(), path, width=6, height=4)
            digests.add(hashlib.sha256(path.read_bytes()).hexdigest())
        assert len(digests) == 1, name


def test_the_findings_set_every_pair_against_its_null_and_name_those_below_it():
    from ckaflow.findings.null import null_section, null_table

    t = with_replicates(hand_made(0.97, 0.95))
    t["null_q95"] = 0.5
    t.loc[t.index[:3], "null_q95"] = 0.99  # three pairs do not clear their null
    t["p_value"] = 0.01
    table = null_table(t)
    assert table.loc[0, "pairs"] == len(t) and table.loc[0, "above_null"] == len(t) - 3
    assert table.loc[0, "min_calibrated"] == pytest.approx(0.95 - 0.99)
    text = "\n".join(null_section(t))
    assert "## Every comparison against its permutation null" in text
    assert "**linear, debiased**: not above their null: " in text and "≤ 0.990" in text
    assert null_section(t.drop(columns=["null_q95", "p_value"])) == []


def test_claim_a_states_its_two_ckas_against_their_nulls():
    t = with_replicates(hand_made(0.97, 0.95)).assign(null_q95=0.40, p_value=0.005)
    finding = claim_a(Values(t), FT, TEST_SETS)
    assert "with the base +0.5700, with the scratch counterpart +0.5500" in finding.numbers
    assert "Calibrated" not in claim_a(values(hand_made(0.97, 0.95)), FT, TEST_SETS).numbers


def test_matrix_cells_not_above_their_null_are_marked():
    from ckaflow.figures.matrices import below_null_cells, layer_matrix

    rows = [("synth", a, g, b, h, 0.9) for a, b in (("synth-1", "synth-2"),)
            for g in CONVS for h in CONVS]  # fmt: skip
    t = _estimator_columns(pd.DataFrame(rows, columns=COLUMNS))
    nulls = t[t["a_group"] == t["b_group"]].assign(null_q95=[0.5, 0.95, 0.5])  # conv2 fails
    plot = layer_matrix(t, {"pair": ("synth-1", "synth-2")}, "synth", CONVS, nulls=nulls)
    assert "x: not above its permutation null" in plot.labels.title
    assert len(plot.layers) == 4  # tiles, numbers, the marks, the row maxima
    labelled = t.assign(estimator_label="linear, debiased")
    assert list(below_null_cells(labelled, nulls)["a_group"]) == ["conv2"]
    assert below_null_cells(labelled, None).empty
    plain = layer_matrix(t, {"pair": ("synth-1", "synth-2")}, "synth", CONVS)
    assert len(plain.layers) == 3 and "null" not in plain.labels.title  # no marks
    # each row's most similar layer of the other model is framed: conv2's is conv3
    peaked = t.assign(cka=np.where(t["a_group"] == t["b_group"], 0.9, 0.5))
    peaked.loc[(peaked["a_group"] == "conv2") & (peaked["b_group"] == "conv3"), "cka"] = 0.95
    framed = layer_matrix(peaked, {"pair": ("synth-1", "synth-2")}, "synth", CONVS).layers[-1]
    got = sorted(zip(framed._data["a_group"], framed._data["b_group"], strict=True))
    assert got == sorted((g, "conv3" if g == "conv2" else g) for g in CONVS)


def test_with_one_seed_the_interval_says_seeds_are_not_covered():
    one = [name for name in FT if parse(name).seed == 1]
    finding = claim_a(values(hand_made(0.97, 0.95)), one, TEST_SETS)
    assert "bootstrap over images (one seed: seeds not covered)" in finding.numbers


def test_a_matrix_of_many_layers_reads_by_its_colours():
    """50 layers: no numbers in cells too small to read them, at most 24 names per axis (the
    model group always among them); 6 layers keep both."""
    from ckaflow.figures.common import MAX_AXIS_LABELS
    from ckaflow.figures.matrices import layer_matrix

    def plot(layers):
        groups = [*layers, "model"]
        rows = [("synth", "synth-1", g, "synth-2", h, 0.5) for g in groups for h in groups]
        t = _estimator_columns(pd.DataFrame(rows, columns=COLUMNS))
        return layer_matrix(t, {"pair": ("synth-1", "synth-2")}, "synth", groups)

    layers = [f"conv{i}" for i in range(50)]
    many = plot(layers)
    assert not any(isinstance(layer.geom, p9.geoms.geom_text) for layer in many.layers)
    breaks = many.scales.get_scales("x").breaks([*layers, "model"])
    assert len(breaks) <= MAX_AXIS_LABELS and breaks[0] == "conv0" and breaks[-1] == "model"
    few = plot(layers[:6])
    assert any(isinstance(layer.geom, p9.geoms.geom_text) for layer in few.layers)
    assert len(few.scales.get_scales("x").breaks([*layers[:6], "model"])) == 7


def test_a_depth_matrix_of_panels_with_other_layers_draws_to_pdf(tmp_path):
    """Free facets hold different layers: each panel's names are thinned from its own."""
    from ckaflow.figures.matrices import depth_matrix

    groups = {1: ["conv1", "pool1", "conv2", "model"],
              2: ["conv1", "conv1b", "pool1", "conv2", "conv2b", "model"]}  # fmt: skip
    rows = [("synth", a, g, b, h, 0.5) for a, b, d in (("synth-1", "synth-2", 1),
            ("synth-d2-1", "synth-1", 2)) for g in groups[d] for h in groups[1]]  # fmt: skip
    t = _estimator_columns(pd.DataFrame(rows, columns=COLUMNS))
    panels = {
        "seeds": ["synth-1", "synth-2", "synth"],
        "depths": ["synth-d2-1", "synth-1", "synth"],
    }
    depth_matrix(t, panels, "Depth", groups).save(tmp_path / "d.pdf", verbose=False)
    assert (tmp_path / "d.pdf").stat().st_size > 5_000


def test_a_layer_matrix_whose_groups_include_one_without_rows_draws_to_pdf(tmp_path):
    """Names are thinned from the layers the panel draws, not from every layer asked for."""
    from ckaflow.figures.matrices import layer_matrix

    drawn = [f"conv{i}" for i in range(30)] + ["model"]
    rows = [("synth", "synth-1", g, "synth-2", h, 0.5) for g in drawn for h in drawn]
    t = _estimator_columns(pd.DataFrame(rows, columns=COLUMNS))
    plot = layer_matrix(t, {"pair": ("synth-1", "synth-2")}, "synth", ["input", *drawn])
    plot.save(tmp_path / "m.pdf", verbose=False)
    assert (tmp_path / "m.pdf").stat().st_size > 5_000
