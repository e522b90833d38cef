"""Block structure in the deeper models: do adjacent convolutions of one stage stay more alike
than adjacent convolutions across a stage boundary?

The statistic of a model of depth D >= 2 on its own domain's test set is

    S = mean CKA(within-stage adjacent pairs) - mean CKA(across-stage adjacent pairs)

over a model's adjacent convolutions (:func:`~ckaflow.model.build.adjacent_convolutions`: the
tied autoencoder's encoder and decoder, never across the bottleneck; All-CNN-C's blocks, a stage
being one resolution), with its bootstrap interval (:mod:`.effects`). Two baselines: the same
statistic at the model's initial weights (a random ReLU network's adjacent layers are alike
too: the trained model shows block structure *beyond* its initialisation only if the trained
minus initial S excludes 0), and depth 1's mean CKA of adjacent convolutions (all across a
stage boundary) for the same domain and seed.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..names import INIT, depth_of, is_final, model_name, parse
from .blocks import BLOCK_CKA, longest_block, own_test_set, share_difference
from .effects import Values, summarise

FIGURES = "depth_matrices, depth_comparison"
# Columns only a deeper model (and one with its initial weights) fills; NaN in the others.
OPTIONAL = ("effect", "low", "high", "verdict", "beyond_init", "beyond_low", "beyond_high")
# The longest block (:mod:`.blocks`) of every model, and a deeper model's share minus depth 1's.
BLOCK = (
    "convolutions",
    "block",
    "block_length",
    "block_share",
    "length_low",
    "length_high",
    "block_cka",
    "block_low",
    "block_high",
    "vs_depth1",
    "vs_low",
    "vs_high",
)


def _means(
    v: Values, model: str, pairs: list[tuple[str, str, bool]]
) -> tuple[np.ndarray | None, np.ndarray]:
    """(mean within-stage, mean across-stage) CKA vectors (1 + B,) of ``model`` (within: None at
    depth 1)."""
    ts = own_test_set(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an undefined layer: left out

        def mean(within: bool) -> np.ndarray | None:
            picked = [v(model, model, a, ts, b) for a, b, w in pairs if w == within]
            return np.nanmean(np.vstack(picked), axis=0) if picked else None

        return mean(True), mean(False)


def block_structure(
    v: Values,
    pairs: Mapping[str, list[tuple[str, str, bool]]],
    learnt: Mapping[str, bool] | None = None,
) -> pd.DataFrame:
    """One row per model of ``pairs``
    (:attr:`~ckaflow.study.comparisons.Comparisons.block_pairs`: each model's adjacent
    convolutions (first, second, within one stage)): its depth, test set, mean
    within- and across-stage adjacent CKA, and S with its interval (deeper models), and for a
    deeper model with its initial weights in ``models``, S(trained) - S(init) with its
    interval. ``learnt`` {instance: whether it beats the constant predictor on its own domain}
    (:func:`learnt_instances`) fills the ``learnt`` column of the trained models: no verdict is
    drawn from one that has not."""
    rows, models = [], list(pairs)
    columns = ["model", "depth", "test_set", "learnt", "within", "across", *OPTIONAL, *BLOCK]
    blocks = {m: longest_block(v, m, pairs[m]) for m in models}
    for model in models:
        within, across = _means(v, model, pairs[model])
        row = {
            "model": model,
            "depth": depth_of(model),
            "test_set": own_test_set(model),
            "learnt": bool(learnt[model]) if is_final(model) and learnt is not None else None,
            "within": np.nan if within is None else float(within[0]),
            "across": float(across[0]),
        }
        if within is not None:
            s = summarise([within - across], v.confidence)
            row.update(effect=s.estimate, low=s.low, high=s.high, verdict=s.verdict)
            init = model_name(model, INIT)
            if is_final(model) and init in models:
                w0, a0 = _means(v, init, pairs[init])
                d = summarise([(within - across) - (w0 - a0)], v.confidence)
                row.update(beyond_init=d.estimate, beyond_low=d.low, beyond_high=d.high)
        row.update({k: x for k, x in blocks[model].items() if k != "share"})
        shallow = parse(model).at_depth(1).name if is_final(model) else None
        if row["depth"] > 1 and shallow in blocks:
            diff = share_difference(blocks[model]["share"], blocks[shallow]["share"], v.confidence)
            row.update(zip(("vs_depth1", "vs_low", "vs_high"), diff, strict=True))
        rows.append(row)
    return pd.DataFrame(rows, columns=columns)


def _effect_text(e: float, lo: float, hi: float) -> str:
    return "–" if np.isnan(e) else f"{e:+.4f} [{lo:+.4f}, {hi:+.4f}]"


def block_section(table: pd.DataFrame, label: str, confidence: float) -> list[str]:
    """Markdown lines of the block-structure finding (``table``: :func:`block_structure`)."""
    deep = table[(table["depth"] > 1) & table["model"].map(is_final)]
    lines = [
        f"## Block structure in the deeper models ({label})",
        "",
        "Does a deeper model (config `depths`) show blocks of layers whose representations "
        "barely change, as deeper networks do in the blog's comparison of architectures? Per "
        "model, on its own domain's test set: the mean CKA of adjacent convolutions within a "
        "stage (the convolutions at one resolution: the tied autoencoder's `conv1a`–`conv1b`, "
        "`deconv2b`–`deconv2a`, ..., never across the bottleneck; All-CNN-C's blocks between "
        "its stride-2 blocks), the mean across a stage boundary, and S = within − across with "
        f"its {confidence:.0%} bootstrap interval. A random ReLU network's adjacent layers are "
        "alike too: *beyond init* is S(trained) − S(initial weights), the part of the block "
        "structure training made. The tied autoencoder has no two convolutions in a stage at "
        "depth 1: its rows give the across-stage mean for comparison. "
        f"Figures: {FIGURES}.",
        "",
        "| model | depth | test set | within | across | S = within − across | beyond init |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in table.itertuples():  # OPTIONAL columns are NaN where they do not apply
        within = "–" if np.isnan(r.within) else f"{r.within:.4f}"
        s = _effect_text(r.effect, r.low, r.high)
        beyond = _effect_text(r.beyond_init, r.beyond_low, r.beyond_high)
        lines.append(
            f"| {r.model} | {r.depth} | {r.test_set} | {within} | {r.across:.4f} | {s} | {beyond} |"
        )
    lines += ["", *_longest_lines(table, confidence), "", *_verdicts(deep)]
    lines += [*_block_verdicts(table), ""]
    return lines


def _longest_lines(table: pd.DataFrame, confidence: float) -> list[str]:
    """The longest-block table (:mod:`.blocks`)."""
    lines = [
        f"**The longest block** of each model: the most consecutive convolutions whose every two "
        f"have CKA ≥ {BLOCK_CKA} (never across the tied autoencoder's bottleneck), its share of "
        f"the model's convolutions, the range of its length over {confidence:.0%} of the "
        "bootstrap resamples (the block found again on each) and the mean CKA of its pairs. "
        "Read it against the same model at its initial weights (a random ReLU network's layers "
        "are alike) and against depth 1 trained the same way.",
        "",
        "| model | depth | longest block | length of K | length on resamples | share | mean CKA |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in table.itertuples():
        cka = "–" if np.isnan(r.block_cka) else _effect_text(r.block_cka, r.block_low, r.block_high)
        lines.append(
            f"| {r.model} | {r.depth} | {r.block} | {r.block_length} of {r.convolutions} | "
            f"{r.length_low:.0f}–{r.length_high:.0f} | {r.block_share:.2f} | "
            f"{cka.replace('+', '')} |"
        )
    return lines


def _block_verdicts(table: pd.DataFrame) -> list[str]:
    """One sentence per deeper trained model that learnt: its longest block against depth 1's
    and its initial weights'."""
    rows = {r.model: r for r in table.itertuples()}
    out = []
    for r in table[table["vs_depth1"].notna()].itertuples():
        if r.learnt is False or r.learnt == 0:
            continue
        shallow = rows[parse(r.model).at_depth(1).name]
        larger = r.vs_low > 0
        sentence = (
            f"- **{r.model}**'s longest block is {r.block}, {r.block_length} of its "
            f"{r.convolutions} convolutions ({r.block_share:.2f}), against {shallow.block_length}"
            f" of {shallow.convolutions} ({shallow.block_share:.2f}) for {shallow.model}: "
            f"share − depth 1's {_effect_text(r.vs_depth1, r.vs_low, r.vs_high)} (percentile "
            f"interval): {'block structure' if larger else 'no more block structure than depth 1'}."
        )
        init = rows.get(model_name(r.model, INIT))
        if init is not None:
            sentence += (
                f" At its initial weights the longest block is {init.block} ({init.block_length}"
                f" of {init.convolutions}): "
                + (
                    "training made the block, the untrained network had none as long."
                    if init.block_length < r.block_length
                    else "the untrained network is alike throughout, so a block is where "
                    "training left the layers alike, not a structure it built."
                )
            )
        out.append(sentence)
    return out


def _verdicts(deep: pd.DataFrame) -> list[str]:
    """One sentence per deeper trained model: block structure or not, and beyond init or not."""
    out = []
    for r in deep.itertuples():
        if r.learnt is False or r.learnt == 0:
            out.append(
                f"- **{r.model}** has not learnt its domain (no better on its own test set than "
                "the constant predictor: the mean training image, or for a classifier chance): "
                "no verdict from it."
            )
            continue
        alike = {
            "supported": "more alike than",
            "contradicted": "less alike than",
            "inconclusive": "no more and no less alike than",
        }[r.verdict]
        sentence = (
            f"**{r.model}**: adjacent convolutions within a stage are {alike} across a stage "
            f"boundary (S {_effect_text(r.effect, r.low, r.high)})"
        )
        if not np.isnan(r.beyond_init):
            made = r.beyond_low > 0 or r.beyond_high < 0
            sentence += (
                f"; training {'changed' if made else 'did not measurably change'} S from the "
                f"initial weights' (S(trained) − S(init) "
                f"{_effect_text(r.beyond_init, r.beyond_low, r.beyond_high)})"
            )
        out.append(f"- {sentence}.")
    return out


__all__ = ["block_section", "block_structure"]
