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

from ..names import INIT, depth_of, is_final, model_name, parse, parse_model
from .effects import Values, summarise

FIGURES = "depth_matrices, depth_comparison"
# Columns only a deeper model (and one with its initial weights) fills; NaN in the others.
OPTIONAL = ("effect", "low", "high", "verdict", "beyond_init", "beyond_low", "beyond_high")


def _own_test_set(model: str) -> str:
    return parse(parse_model(model)[0]).domain


def _means(
    v: Values, model: str, pairs: list[tuple[str, str, bool]]
) -> tuple[np.ndarray | None, np.ndarray]:
    """(mean within-stage, mean across-stage) CKA vectors (1 + B,) of ``model`` (within: None at
    depth 1)."""
    ts = _own_test_set(model)
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
    """One row per model of ``pairs`` (:attr:`~ckaflow.study.plan.Plan.block_pairs`: each
    model's adjacent convolutions (first, second, within one stage)): its depth, test set, mean
    within- and across-stage adjacent CKA, and S with its interval (deeper models), and for a
    deeper model with its initial weights in ``models``, S(trained) - S(init) with its
    interval. ``learnt`` {instance: whether it beats the constant predictor on its own domain}
    (:func:`learnt_instances`) fills the ``learnt`` column of the trained models: no verdict is
    drawn from one that has not."""
    rows, models = [], list(pairs)
    columns = ["model", "depth", "test_set", "learnt", "within", "across", *OPTIONAL]
    for model in models:
        within, across = _means(v, model, pairs[model])
        row = {
            "model": model,
            "depth": depth_of(model),
            "test_set": _own_test_set(model),
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
    lines += ["", *_verdicts(deep), ""]
    return lines


def _verdicts(deep: pd.DataFrame) -> list[str]:
    """One sentence per deeper trained model: block structure or not, and beyond init or not."""
    out = []
    for r in deep.itertuples():
        if r.learnt is False or r.learnt == 0:
            out.append(
                f"- **{r.model}** has not learnt its domain (its test loss is no better than "
                "predicting the mean training image): no verdict from it."
            )
            continue
        shows = {
            "supported": "shows",
            "contradicted": "shows the reverse of",
            "inconclusive": "shows no measurable",
        }[r.verdict]
        sentence = (
            f"**{r.model}** {shows} block structure (S {_effect_text(r.effect, r.low, r.high)})"
        )
        if not np.isnan(r.beyond_init):
            made = r.beyond_low > 0 or r.beyond_high < 0
            sentence += (
                f"; training {'changed' if made else 'did not measurably change'} it from the "
                f"initial weights' (S(trained) − S(init) "
                f"{_effect_text(r.beyond_init, r.beyond_low, r.beyond_high)})"
            )
        out.append(f"- {sentence}.")
    return out


__all__ = ["block_section", "block_structure"]
