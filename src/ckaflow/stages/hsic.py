"""The HSIC stage of the workflow: HSIC shards of the Gram files, and the CKA table.

1. Gram files (:mod:`.grams`): per model, the packed centred Grams of its groups.
2. :func:`hsic_shard` (config ``similarity.shards`` jobs per test set and estimator): the HSIC
   blocks of the study, each one matrix product: ``layers`` (every layer and model group of every
   model) and the compared filters (``similarity.filters``): per layer, that layer's filters of
   every compared instance (``across``), or of each compared instance on its own.
3. :func:`reduce_cka`: every shard into one table, with a sanity check.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..io import REBUILD, CorruptFileError, read_parquet, reading
from ..npz import read_npz_array
from ..similarity import (
    Estimator,
    block_cka,
    block_cka_of_hsic,
    block_hsic,
    is_filter,
    parse_group,
)
from ..similarity.arrays import release
from .cka_table import CKA_COLUMNS, PAIR_KEY
from .grams import batch_keys, read_batches

log = logging.getLogger(__name__)

LAYERS_BLOCK = "layers"  # the HSIC block of every layer and model group
BIASED_MAX = 1.0 + 1e-9


def shard_blocks(shard: int, shards: int, blocks: Sequence[str]) -> tuple[str, ...]:
    """The blocks of shard ``shard`` (0-based) of ``shards``, dealt out from ``blocks``."""
    if not 0 <= shard < shards:
        raise ValueError(f"shard {shard} is not in 0..{shards - 1}")
    return tuple(blocks[shard::shards])


def hsic_shard(
    gram_files: Mapping[str, str | Path],
    *,
    test_set: str,
    estimator: Estimator,
    shard: int,
    shards: int,
    filter_models: Sequence[str],
    across: bool = True,
    xp=None,
) -> pd.DataFrame:
    """HSIC and CKA of every ordered pair of groups within each block of shard ``shard`` of
    ``shards``, as a table.

    The blocks are the ``layers`` block (every layer and model group of every model) and, per
    layer with filters in the Gram files, that layer's filters of every model of
    ``filter_models`` (``across``) or of each of them alone (one block per layer and model), in
    the order the Gram files first name them (:func:`blocks_of`). ``gram_files`` maps every
    model to its Gram file. Groups that do not vary give NaN (and a warning naming them). Each
    block's product is computed in the array namespace ``xp`` (default NumPy; CuPy's: on the
    GPU).
    """
    groups, bounds = _file_groups(gram_files)
    blocks = shard_blocks(shard, shards, blocks_of(groups, filter_models, across))
    keys = batch_keys(test_set, estimator, bounds)
    if len(keys) > 1:
        results = _batched(gram_files, groups, keys, bounds, blocks, filter_models, across,
                           test_set, estimator, xp)  # fmt: skip
    else:
        results = []
        rows, labels = _read_blocks(gram_files, groups, keys[0], bounds[-1], blocks,
                                    filter_models, across)  # fmt: skip
        for block in blocks:
            names = [f"{m}:{g} on {test_set}" for m, g in labels[block]]
            packed = rows.pop(block) if xp is None else xp.asarray(rows.pop(block))
            res = block_cka(packed, names, bounds[-1], estimator)
            results.append((labels[block], res.on_host()))
            del packed, res
            release(xp)
            _log_block(test_set, estimator, block, len(names))
    out = _pair_frame(results, bounds[-1])
    out.attrs["minibatches"] = bounds  # recorded in the table's provenance
    constants = {"test_set": test_set, **estimator.columns()}
    for i, (column, value) in enumerate(constants.items()):
        if isinstance(value, str):  # one category: no string per row
            value = pd.Categorical.from_codes(np.zeros(len(out), int), [value])
        out.insert(i, column, value)
    return out


def _batched(gram_files, groups, keys, bounds, blocks, filter_models, across, test_set,
             estimator, xp):  # fmt: skip
    """[(labels, CKAResult)] of each block from Grams on minibatches: each batch's HSIC of every
    pair, one batch held at a time, averaged over the batches (Nguyen et al. 2021), then
    normalised; the HSIC columns are the batch means."""
    sums, labels = {}, None
    for j, key in enumerate(keys):
        size = bounds[j + 1] - bounds[j]
        rows, labels = _read_blocks(gram_files, groups, key, size, blocks, filter_models, across)
        for block in blocks:
            packed = rows.pop(block) if xp is None else xp.asarray(rows.pop(block))
            xy = block_hsic(packed, size, estimator)
            sums[block] = xy if j == 0 else sums[block] + xy
            del packed
            release(xp)
    results = []
    for block in blocks:
        names = [f"{m}:{g} on {test_set}" for m, g in labels[block]]
        res = block_cka_of_hsic(sums.pop(block) / len(keys), names)
        results.append((labels[block], res.on_host()))
        _log_block(test_set, estimator, block, len(names), len(keys))
    return results


def _log_block(test_set, estimator, block, g: int, batches: int = 1) -> None:
    log.info("%s %s block %s: %d groups, %d pairs, %d minibatch(es)", test_set, estimator.name,
             block, g, g * g, batches)  # fmt: skip


def blocks_of(
    groups: Mapping[str, list[str]], filter_models: Sequence[str], across: bool = True
) -> list[str]:
    """The HSIC blocks of a study whose Gram files hold ``groups`` {model: group names}: the
    layers block, then each layer that has filter groups in a model of ``filter_models``, in
    first-seen order (``across``), or each such layer of each such model (``model:layer``)."""
    blocks = dict.fromkeys(
        _block_of(m, g, across) for m in filter_models for g in groups.get(m, []) if is_filter(g)
    )
    return [LAYERS_BLOCK, *blocks]


def _block_of(model: str, group: str, across: bool) -> str:
    """The HSIC block a group of ``model`` belongs to: for a filter its layer (``across``) or
    ``model:layer``, else the layers block."""
    if not is_filter(group):
        return LAYERS_BLOCK
    layer = parse_group(group).layer
    return layer if across else f"{model}:{layer}"


def _file_groups(gram_files) -> tuple[dict[str, list[str]], list[int]]:
    """({model: its Gram file's group names}, the minibatch bounds), every file checked to hold
    Grams of the same images in the same minibatches."""
    out, bounds, first = {}, None, None
    for model, path in gram_files.items():
        with reading(path, "Gram file"):
            out[model] = [str(g) for g in read_npz_array(path, "groups")]
        file_bounds = read_batches(path)
        if bounds is not None and file_bounds != bounds:
            raise ValueError(
                f"{path}: Grams of n = {file_bounds[-1]} images in {len(file_bounds) - 1} "
                f"minibatch(es); {first} has n = {bounds[-1]} in {len(bounds) - 1}: {REBUILD}"
            )
        bounds, first = file_bounds, first or path
    return out, bounds


def _read_blocks(gram_files, file_groups, key, examples, blocks, filter_models, across):
    """The packed Grams ``key`` (of ``examples`` images) of every block's groups, each file's
    rows read straight into their block's array (no per-file copy, no concatenation): rows
    {block: (g, m)} and labels {block: [(model, group)]}."""
    labels = {b: [] for b in blocks}
    runs = {}  # model -> [(block, first row in the file, rows)]
    for model, path in gram_files.items():
        groups = file_groups[model]
        where = np.array([_block_of(model, g, across) for g in groups])
        runs[model] = []
        for block in blocks:
            if block != LAYERS_BLOCK and model not in filter_models:
                continue
            pick = np.flatnonzero(where == block)
            if len(pick) and pick[-1] - pick[0] + 1 != len(pick):
                raise CorruptFileError(f"{path}: the groups of block {block} are not contiguous")
            if len(pick):
                runs[model].append((block, int(pick[0]), len(pick)))
            labels[block] += [(model, groups[i]) for i in pick]
    rows = {b: np.empty((len(labels[b]), examples * (examples + 1) // 2)) for b in blocks}
    filled = dict.fromkeys(blocks, 0)
    for model, path in gram_files.items():
        into = []
        for block, first, count in sorted(runs[model], key=lambda r: r[1]):
            into.append((first, rows[block][filled[block] : filled[block] + count]))
            filled[block] += count
        if into:
            with reading(path, "Gram file"):
                read_npz_array(path, key, into=into)
    return rows, labels


def _pair_frame(results, n: int) -> pd.DataFrame:
    """One row per ordered pair of each block's groups; ``results`` holds (labels, CKAResult) per
    block. Names are categoricals: one copy of each string, codes per row."""
    if not results:  # a shard with no block (more shards than blocks): an empty table
        empty = pd.Categorical([])
        return pd.DataFrame(
            {
                "a_model": empty,
                "a_group": empty,
                "b_model": empty,
                "b_group": empty,
                **{k: np.zeros(0) for k in CKA_COLUMNS[9:13]},
                "n": np.zeros(0, int),
            }
        )
    pairs = [label for labels, _ in results for label in labels]  # (model, group) of every row
    models, model_codes = np.unique([m for m, _ in pairs], return_inverse=True)
    groups, group_codes = np.unique([g for _, g in pairs], return_inverse=True)
    ia, ib, columns, start = [], [], {"cka": [], "hsic_xy": [], "hsic_xx": [], "hsic_yy": []}, 0
    for labels, res in results:
        g = len(labels)
        a, b = np.divmod(np.arange(g * g), g)
        ia.append(start + a)
        ib.append(start + b)
        columns["cka"].append(res.cka.ravel())
        columns["hsic_xy"].append(res.xy.ravel())
        columns["hsic_xx"].append(res.xx[a])
        columns["hsic_yy"].append(res.yy[b])
        start += g
    ia, ib = np.concatenate(ia), np.concatenate(ib)

    def names(codes, categories, index):
        return pd.Categorical.from_codes(codes[index], categories=categories)

    return pd.DataFrame(
        {
            "a_model": names(model_codes, models, ia),
            "a_group": names(group_codes, groups, ia),
            "b_model": names(model_codes, models, ib),
            "b_group": names(group_codes, groups, ib),
            **{k: np.concatenate(v) for k, v in columns.items()},
            "n": n,
        }
    )


def reduce_cka(shards: Sequence[str | Path]) -> pd.DataFrame:
    """All shards in one table; fails if a defined biased CKA lies outside [0, 1 + 1e-9].

    NaN values (groups that do not vary over a test set) are counted and logged by group.
    """
    table = pd.concat([read_parquet(p, "HSIC shard") for p in shards], ignore_index=True)
    dup = table.duplicated(subset=PAIR_KEY)
    if dup.any():
        raise ValueError(
            f"{int(dup.sum())} duplicate pairs across shards, e.g. {table[dup].iloc[0].to_dict()}"
        )
    biased = table[(table["estimator"] == "biased") & table["cka"].notna()]
    bad = biased[(biased["cka"] < 0) | (biased["cka"] > BIASED_MAX)]
    if len(bad):
        raise ValueError(
            f"{len(bad)} biased CKA values outside [0, {BIASED_MAX}], e.g. {bad.iloc[0].to_dict()}"
        )
    undefined = int(table["cka"].isna().sum())
    if undefined:
        dead = table.loc[~(table["hsic_xx"] > 0), ["test_set", "a_model", "a_group"]]
        dead = dead.drop_duplicates()
        per_set = dead.groupby("test_set", observed=True).size().to_dict()
        log.warning(
            "%d CKA values undefined (NaN): %d groups do not vary on a test set %s: %s",
            undefined,
            len(dead),
            per_set,
            ", ".join(f"{r.test_set} {r.a_model}:{r.a_group}" for r in dead.itertuples()),
        )
    return _ordered_categories(table[CKA_COLUMNS])


def _ordered_categories(table: pd.DataFrame) -> pd.DataFrame:
    """The label columns as ordered categories (small on disk and in memory): each a/b pair
    shares one category list, so ``a_model == b_model`` compares row by row, and ``<`` reads
    in the order the plan made them (models in study order; layers in network order, then each
    layer's filters); the estimator columns in alphabetical order."""
    for col in ("test_set", "kernel", "estimator", "centering"):
        table[col] = pd.Categorical(table[col], sorted(pd.unique(table[col])), ordered=True)
    for kind in ("model", "group"):
        a, b = table[f"a_{kind}"], table[f"b_{kind}"]
        order = list(pd.unique(pd.concat([a, b], ignore_index=True)))
        for col in (a.name, b.name):
            table[col] = pd.Categorical(table[col], order, ordered=True)
    return table
    return table[CKA_COLUMNS]


__all__ = ["LAYERS_BLOCK", "blocks_of", "hsic_shard", "reduce_cka", "shard_blocks"]
