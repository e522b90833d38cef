"""The longest block of a model: the most consecutive convolutions whose every two are alike.

A *block* of a model is a run of consecutive convolutions c_i, ..., c_j (one chain of
:func:`~ckaflow.model.build.convolution_chains`: never across the tied autoencoder's
bottleneck) in which every pair has CKA >= ``BLOCK_CKA``; the layers of a block barely change
the representation, the pattern Kornblith et al. (2019, Figure 3) and Nguyen, Raghu and
Kornblith (2021) find in deeper networks. Per model the statistic is the longest block's length
L and its share L / K of the model's K convolutions. Its uncertainty comes from the same
bootstrap resamples of the test images as every other interval: the longest block is found
again on each resample (percentile range of L), and a deeper model is compared with its depth-1
counterpart on the same resamples (the difference of the shares, a percentile interval).

A random ReLU network's layers are all alike (at initial weights every pair of an All-CNN-C
has linear CKA above 0.8): a block is read against the same model at its initial weights and
against depth 1 trained the same way, never alone.
"""

from __future__ import annotations

import itertools

import numpy as np

from ..model.build import convolution_chains
from ..names import parse, parse_model
from .effects import Values, summarise

BLOCK_CKA = 0.9  # every two convolutions of a block have at least this CKA


def own_test_set(model: str) -> str:
    """The test set of the domain ``model``'s instance was trained on."""
    return parse(parse_model(model)[0]).domain


def pair_matrix(v: Values, model: str, chain: list[str]) -> np.ndarray:
    """CKA (K, K, 1 + B) of every two convolutions of ``chain`` on ``model``'s own test set:
    the estimate, then each resample (diagonal 1)."""
    ts = own_test_set(model)
    first = v(model, model, chain[0], ts, chain[1])
    m = np.ones((len(chain), len(chain), first.size))
    for i, j in itertools.combinations(range(len(chain)), 2):
        m[i, j] = m[j, i] = v(model, model, chain[i], ts, chain[j])
    return m


def longest_runs(m: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """(length, start), each (R,): the longest run of consecutive layers whose every pair of
    ``m`` (K, K, R) is >= ``threshold`` (NaN never is), and its first layer (the earliest of
    equally long runs), per replicate r. A single layer is a run of length 1."""
    k, _, r = m.shape
    with np.errstate(invalid="ignore"):
        ok = m >= threshold
    length, start = np.ones(r, dtype=int), np.zeros(r, dtype=int)
    run = np.ones((k, r), dtype=bool)  # run[i]: layers i .. i + L - 1 form a block
    for size in range(2, k + 1):
        run = run[:-1] & run[1:] & ok[np.arange(k - size + 1), np.arange(size - 1, k)]
        found = run.any(axis=0)
        length[found], start[found] = size, run.argmax(axis=0)[found]
    return length, start


def longest_block(v: Values, model: str, pairs: list[tuple[str, str, bool]]) -> dict:
    """The longest block of ``model`` (its adjacent convolutions ``pairs``): ``convolutions`` K,
    ``block`` (first–last convolution), ``block_length`` L, ``block_share`` L / K,
    ``length_low``/``length_high`` (percentile range of L over the resamples),
    ``block_cka`` with ``block_low``/``block_high`` (mean CKA of the block's pairs, basic
    bootstrap interval) and ``share`` (L / K per replicate, (1 + B,))."""
    chains = convolution_chains(pairs)
    total = sum(len(c) for c in chains)
    found = []
    for chain in chains:
        m = pair_matrix(v, model, chain)
        found.append((chain, m, *longest_runs(m, BLOCK_CKA)))
    length = np.max([f[2] for f in found], axis=0)  # the longest over the chains, per replicate
    chain, m, _, start = max(found, key=lambda f: f[2][0])  # the estimate's: the first longest
    first, size = int(start[0]), int(length[0])
    inside = [m[i, j] for i, j in itertools.combinations(range(first, first + size), 2)]
    alpha = 1 - v.confidence
    row = {
        "convolutions": total,
        "block": f"{chain[first]}–{chain[first + size - 1]}" if size > 1 else "–",
        "block_length": size,
        "block_share": size / total,
        "length_low": float(np.quantile(length[1:], alpha / 2)),
        "length_high": float(np.quantile(length[1:], 1 - alpha / 2)),
        "block_cka": np.nan,
        "block_low": np.nan,
        "block_high": np.nan,
        "share": length / total,
    }
    if inside:
        s = summarise([np.mean(inside, axis=0)], v.confidence)
        row.update(block_cka=s.estimate, block_low=s.low, block_high=s.high)
    return row


def share_difference(deep: np.ndarray, shallow: np.ndarray, confidence: float) -> tuple:
    """(estimate, low, high): the deeper model's block share minus depth 1's, with the
    percentile interval of the resamples (both (1 + B,), on the same resamples)."""
    d = deep - shallow
    alpha = 1 - confidence
    return float(d[0]), *(float(q) for q in np.quantile(d[1:], [alpha / 2, 1 - alpha / 2]))


__all__ = ["BLOCK_CKA", "longest_block", "longest_runs", "pair_matrix", "share_difference"]
