"""The interval stage: bootstrap intervals of every CKA pair the findings and baselines read.

The rows are the layer and model groups of the model pairs the claims and the baselines read
(:attr:`ckaflow.study.comparisons.Comparisons.interval_pairs`; the layers are those the two
models' Gram files share) and explicit rows of two groups
(:attr:`~ckaflow.study.comparisons.Comparisons.interval_rows`: the adjacent convolutions of the
block-structure finding). :func:`compute_intervals`
(one job per test set and estimator) resamples the test images from the Gram files the HSIC jobs
read, never from the activations: one resample serves every pair, the estimators of a test set
share their resamples, and the two test sets' resamples are independent. The table it writes
holds each pair's CKA, its interval and its replicates, so that any statistic of several pairs
(a difference, a mean over seeds) gets its own interval (:mod:`ckaflow.findings.effects`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..io import REBUILD, read_parquet, reading
from ..npz import read_npz_array
from ..similarity import Estimator, bootstrap_cka, hsic_scale, is_filter, resample_counts
from ..similarity.arrays import release
from ..similarity.bootstrap import bootstrap_hsic, bootstrap_of_hsic
from ..similarity.null import permutation_null_matrix, shuffled_packed_index
from ..similarity.validate import check_confidence, check_resamples
from .cka_table import PAIR_KEY
from .grams import batch_keys, read_batches, read_grams

log = logging.getLogger(__name__)

ROW_COLUMNS = ("a_model", "a_group", "b_model", "b_group")
INTERVAL_COLUMNS = [*PAIR_KEY, "cka", "low", "high", "confidence", "resamples", "replicates",
                    "null_q95", "p_value"]  # fmt: skip


def compute_intervals(
    gram_files: Mapping[str, str | Path],
    *,
    test_set: str,
    estimator: Estimator,
    pairs: Sequence[tuple[str, str]] = (),
    rows: Sequence[tuple[str, str, str, str]] = (),
    resamples: int,
    confidence: float,
    seed: int | Sequence[int],
    null_permutations: int = 0,
    xp=None,
) -> pd.DataFrame:
    """One row per layer and model group of each (a_model, b_model) of ``pairs`` and per
    (a_model, a_group, b_model, b_group) of ``rows``, on ``test_set``: CKA, the bootstrap
    interval at ``confidence`` from ``resamples`` resamples of the test images, the replicates.

    ``gram_files`` maps each model to its Gram file. The resamples depend on ``seed`` only (the
    workflow gives the config's seed and the test set's place among the domains: every
    estimator of a test set sees the same resamples, the test sets independent ones). The
    resampled products are computed in the array namespace ``xp`` (default NumPy; CuPy's: on
    the GPU). With ``null_permutations``, each row also gets its permutation null (the test
    images of the second group shuffled, the same permutations for every row: the null's 95th
    percentile ``null_q95`` and ``p_value``; NaN columns without).
    """
    check_resamples(resamples)
    check_confidence(confidence)
    rows = [*layer_rows(gram_files, pairs), *rows]
    if not rows:
        raise ValueError(f"{test_set}: no pairs and no rows to compute intervals of (pairs "
                         f"{list(pairs)} share no layer)")  # fmt: skip
    bounds = _common_bounds(gram_files, rows)
    n, keys = bounds[-1], batch_keys(test_set, estimator, bounds)
    run = _batched if len(keys) > 1 else _whole
    boot, null_q95, p_value = run(gram_files, rows, keys, bounds, estimator, resamples, seed,
                                  null_permutations, xp)  # fmt: skip
    release(xp)
    low, high = boot.interval(confidence)
    log.info("%s %s: %d pairs, %d resamples of n = %d in %d minibatch(es)", test_set,
             estimator.name, len(rows), resamples, n, len(keys))  # fmt: skip
    out = pd.DataFrame(
        {
            "test_set": test_set,
            **estimator.columns(),
            **{c: [r[i] for r in rows] for i, c in enumerate(ROW_COLUMNS)},
            "cka": boot.estimate,
            "low": low,
            "high": high,
            "confidence": confidence,
            "resamples": resamples,
            "replicates": list(boot.replicates.T),
            "null_q95": null_q95,
            "p_value": p_value,
        }
    )[INTERVAL_COLUMNS]
    out.attrs["minibatches"] = bounds  # recorded in the table's provenance
    return out


def _whole(gram_files, rows, keys, bounds, estimator, resamples, seed, permutations, xp):
    """(bootstrap, null_q95, p_value) from Grams of all test images at once."""
    grams, index, n = _row_grams(gram_files, rows, keys[0])
    counts = resample_counts(n, resamples, seed=seed)
    packed = grams if xp is None else xp.asarray(grams)
    boot = bootstrap_cka(
        packed, index, counts, n=n, debiased=estimator.debiased, centering=estimator.centering
    )
    del packed
    return (boot, *_null(grams, index, boot.estimate, n, permutations, seed))


def _null(grams, index, observed, n: int, permutations: int, seed):
    """(null_q95, p_value) of each row's pair under ``permutations`` shuffles of the second
    group's test images (drawn from ``seed`` and a stream of their own), or NaN columns."""
    if not permutations:
        return np.full(len(index), np.nan), np.full(len(index), np.nan)
    seeds = list(seed) if isinstance(seed, Sequence) else [seed]
    rng = np.random.default_rng([*seeds, 7])  # not the resamples' stream
    perms = np.argsort(rng.random((permutations, n)), axis=1)
    a_rows, a_at = np.unique(index[:, 0], return_inverse=True)
    b_rows, b_at = np.unique(index[:, 1], return_inverse=True)
    null = permutation_null_matrix(grams[a_rows], grams[b_rows], n=n, perms=perms)
    return _null_stats(null[:, a_at, b_at], observed, permutations)


def _null_stats(draws, observed, permutations: int):
    """(null_q95, p_value) of each row from its null draws (permutations, rows)."""
    with np.errstate(invalid="ignore"):
        q95 = np.quantile(draws, 0.95, axis=0)
        p = (1 + np.sum(draws >= observed[None, :], axis=0)) / (1 + permutations)
    undefined = np.isnan(observed)
    return np.where(undefined, np.nan, q95), np.where(undefined, np.nan, p)


def _common_bounds(gram_files, rows) -> list[int]:
    """The minibatch bounds of the Gram files ``rows`` read, checked to be one."""
    models = dict.fromkeys(m for a, _, b, _ in rows for m in (a, b))
    missing = [m for m in models if m not in gram_files]
    if missing:
        raise ValueError(f"no Gram file for {missing}")
    found = {m: read_batches(gram_files[m]) for m in models}
    first = next(iter(found.values()), [0, 0])
    odd = [m for m, b in found.items() if b != first]
    if odd:
        raise ValueError(f"{gram_files[odd[0]]}: Grams on other minibatches than the other "
                         f"models' ({found[odd[0]]} vs {first}): {REBUILD}")  # fmt: skip
    return first


def _batched(gram_files, rows, keys, bounds, estimator, resamples, seed, permutations, xp):
    """(bootstrap, null_q95, p_value) from Grams on minibatches (Nguyen et al. 2021): each
    batch's HSIC of every pair, on the full batch and on each resample of its own images
    (a stratified bootstrap: batches are independent, so their sums' spread is the sum of
    theirs), summed over batches and normalised; the null shuffles images within each batch
    (the same permutations for every row), its HSIC summed over batches alike."""
    seeds = list(seed) if isinstance(seed, Sequence) else [seed]
    xy = xx = num = norm_a = norm_b = None
    for j, key in enumerate(keys):
        size = bounds[j + 1] - bounds[j]
        grams, index, _ = _row_grams(gram_files, rows, key)
        counts = resample_counts(size, resamples, seed=[*seeds, j])
        packed = grams if xp is None else xp.asarray(grams)
        bxy, bxx, inverse = bootstrap_hsic(packed, index, counts, n=size,
                                           debiased=estimator.debiased,
                                           centering=estimator.centering)  # fmt: skip
        del packed
        xy, xx = (bxy, bxx) if xy is None else (xy + bxy, xx + bxx)
        if permutations:
            rng = np.random.default_rng([*seeds, 7, j])  # not the resamples' stream
            perms = np.argsort(rng.random((permutations, size)), axis=1)
            a_rows, a_at = np.unique(index[:, 0], return_inverse=True)
            b_rows, b_at = np.unique(index[:, 1], return_inverse=True)
            scale = hsic_scale(size, estimator.debiased)
            a, b = grams[a_rows], grams[b_rows]
            part = np.stack([a @ b[:, shuffled_packed_index(size, p)].T for p in perms]) * scale
            na, nb = np.einsum("gm,gm->g", a, a) * scale, np.einsum("gm,gm->g", b, b) * scale
            num = part if num is None else num + part
            norm_a, norm_b = (na, nb) if norm_a is None else (norm_a + na, norm_b + nb)
            del a, b, part
        del grams  # one batch's Grams in memory at a time: freed before the next is read
    boot = bootstrap_of_hsic(xy, xx, inverse)
    if not permutations:
        return boot, np.full(len(index), np.nan), np.full(len(index), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        null = num / np.sqrt(np.outer(norm_a, norm_b))[None]
    null[:, ~(np.outer(norm_a, norm_b) > 0)] = np.nan
    q95, p = _null_stats(null[:, a_at, b_at], boot.estimate, permutations)
    return boot, q95, p


def layer_rows(gram_files: Mapping[str, str | Path], pairs) -> list[tuple[str, str, str, str]]:
    """(a, group, b, group) for every layer and model group the Gram files of a and b share,
    in a's order."""
    groups, out = {}, []
    for a, b in pairs:
        for m in (a, b):
            if m not in groups:
                if m not in gram_files:
                    raise ValueError(f"no Gram file for {m}")
                with reading(gram_files[m], "Gram file"):
                    names = read_npz_array(gram_files[m], "groups")
                groups[m] = [str(g) for g in names if not is_filter(str(g))]
        shared = set(groups[b])
        out += [(a, g, b, g) for g in groups[a] if g in shared]
    return out


def _row_grams(gram_files, rows, key):
    """The packed Grams of the groups ``rows`` read: (Grams (r, m), each row's pair of indices
    into them (len(rows), 2), n)."""
    wanted = {}  # model -> its groups, in first-use order
    for a, ga, b, gb in rows:
        wanted.setdefault(a, {})[ga] = None
        wanted.setdefault(b, {})[gb] = None
    missing = [m for m in wanted if m not in gram_files]
    if missing:
        raise ValueError(f"no Gram file for {missing}")
    grams, where, n = _layer_grams(gram_files, wanted, key)
    return grams, np.array([(where[a, ga], where[b, gb]) for a, ga, b, gb in rows]), n


def _layer_grams(gram_files, wanted, key):
    """The packed Grams of the groups ``wanted`` {model: groups}: rows (r, m), where
    {(model, group): row} and n. Only the wanted rows are kept, copied into one array, each
    file's other groups (its filters) freed as soon as it is read."""
    rows, where, n = None, {}, None
    total = sum(len(g) for g in wanted.values())
    for model, groups_wanted in wanted.items():
        groups, n, packed = read_grams(gram_files[model], key)
        lacking = [g for g in groups_wanted if g not in groups]
        if lacking:
            raise ValueError(
                f"{gram_files[model]}: no Gram of {lacking} for {model} ({key}); delete it and "
                "rerun the workflow to rebuild it"
            )
        if rows is None:  # float64, as the bootstrap computes
            rows = np.empty((total, packed.shape[1]), dtype=np.float64)
        for g in groups_wanted:
            where[model, g] = len(where)
            rows[where[model, g]] = packed[groups.index(g)]
        del packed
    return rows, where, n


def reduce_intervals(parts: Sequence[str | Path]) -> pd.DataFrame:
    """Every (test set, estimator) part in one table; fails on a pair given twice."""
    table = pd.concat([read_parquet(p, "interval table") for p in parts], ignore_index=True)
    key = PAIR_KEY
    dup = table.duplicated(subset=key)
    if dup.any():
        raise ValueError(f"{int(dup.sum())} pairs given twice, e.g. {table[dup].iloc[0][key]}")
    return table


def read_intervals(path: str | Path) -> pd.DataFrame:
    """``results/cka_intervals.parquet``, its replicates as float64 arrays."""
    table = read_parquet(path, "interval table")
    table["replicates"] = [np.asarray(r, dtype=np.float64) for r in table["replicates"]]
    return table
