"""The similarity stage of the workflow: Gram files, HSIC shards, and the CKA table.

1. :func:`write_grams` (one job per instance): for each of its models (final weights and saved
   checkpoints) and each test set, the packed centred Gram of every group, per estimator, in
   ``{test_set}/{model}.npz``. Final models keep every filter, layer and the model group;
   checkpoints keep layers and the model (the figures compare checkpoints per layer).
2. :func:`hsic_shard` (config ``similarity.shards`` jobs per test set and estimator): the HSIC
   blocks of the study, each one matrix product: ``layers`` (every layer and model group of every
   model) and, per layer, the filters of that layer of every final instance.
3. :func:`reduce_cka`: every shard into one table, with a sanity check.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .activations import load_layers, split_model_name
from .architecture import LAYERS
from .io import atomic_path, check_sha256, read_parquet, reading, sha256_named
from .similarity import (
    MODEL,
    Estimator,
    cka_from_hsic,
    hsic_matrix,
    instance_moments,
    packed_grams,
    warn_undefined,
)

log = logging.getLogger(__name__)

LAYERS_BLOCK = "layers"
BLOCKS = (LAYERS_BLOCK, *LAYERS)
CKA_COLUMNS = [
    "test_set",
    "kernel",
    "estimator",
    "centering",
    "sigma_frac",
    "a_model",
    "a_group",
    "b_model",
    "b_group",
    "cka",
    "hsic_xy",
    "hsic_xx",
    "hsic_yy",
    "n",
]
PAIR_KEY = CKA_COLUMNS[:9]  # what makes a row unique: test set, estimator, the two groups
BIASED_MAX = 1.0 + 1e-9


def estimator_from_dict(d: Mapping) -> Estimator:
    return Estimator(
        kernel=d.get("kernel", "linear"),
        debiased=bool(d.get("debiased", False)),
        centering=d.get("centering", "unit"),
        sigma_frac=float(d.get("sigma_frac", 1.0)),
    )


def gram_key(test_set: str, estimator: Estimator) -> str:
    return f"{test_set}__{estimator.name}"


def write_grams(
    activation_root: str | Path,
    model: str,
    test_sets: Sequence[str],
    estimators: Sequence[Estimator],
    out_path: str | Path,
) -> None:
    """Packed centred Grams of every kept group of ``model`` on each test set, per estimator,
    in one ``.npz``: ``groups`` (names), ``n``, ``{test_set}__{estimator}`` (g, n(n+1)/2), and
    ``sha256__{name}`` of each, which :func:`read_grams` verifies."""
    final = split_model_name(model)[1] == "final"
    global_terms = any(e.centering == "global" for e in estimators)
    arrays, names, n = {}, None, None
    for test_set in test_sets:
        layers = load_layers(activation_root, model, test_set)
        groups, m = instance_moments(
            layers, channel_axis=1, global_terms=global_terms, name=f"{model}:{test_set}"
        )
        del layers
        keep = np.array([final or "/" not in g for g in groups])
        names = [g for g, k in zip(groups, keep, strict=True) if k]
        n = m.n
        for e in estimators:
            arrays[gram_key(test_set, e)] = packed_grams(m.select(keep), **e.options())
        log.info("grams of %s on %s: %d groups, n = %d", model, test_set, len(names), n)
    arrays.update(groups=np.array(names), n=np.array(n))
    hashes = {f"sha256__{k}": np.array(sha256_named({k: v})) for k, v in arrays.items()}
    with atomic_path(out_path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays, **hashes)


def read_grams(path: str | Path, key: str) -> tuple[list[str], int, np.ndarray]:
    """(groups, n, packed Grams of ``key``) from a Gram file, each checked against its SHA-256."""
    out = {}
    with reading(path, "Gram file"), np.load(path, allow_pickle=False) as z:
        for name in ("groups", "n", key):
            out[name] = z[name]
            recorded = str(z[f"sha256__{name}"]) if f"sha256__{name}" in z.files else None
            check_sha256(path, f"Gram file's {name}", sha256_named({name: out[name]}), recorded,
                         "the file itself")  # fmt: skip
    return [str(g) for g in out["groups"]], int(out["n"]), out[key]


def shard_blocks(shard: int, shards: int) -> tuple[str, ...]:
    """The blocks of shard ``shard`` (0-based) of ``shards``."""
    if not 0 <= shard < shards:
        raise ValueError(f"shard {shard} is not in 0..{shards - 1}")
    return BLOCKS[shard::shards]


def hsic_shard(
    gram_files: Mapping[str, str | Path],
    *,
    test_set: str,
    estimator: Estimator,
    blocks: Sequence[str],
    final_models: Sequence[str],
) -> pd.DataFrame:
    """HSIC and CKA of every ordered pair of groups within each block, as a table.

    ``gram_files`` maps every model to its Gram file; ``final_models`` are those whose filters
    are compared. Groups that do not vary give NaN (and a warning naming them).
    """
    labels = {b: [] for b in blocks}
    rows = {b: [] for b in blocks}
    n = None
    for model, path in gram_files.items():  # each file is read once, for all blocks
        groups, n, packed = read_grams(path, gram_key(test_set, estimator))
        for block in blocks:
            if block == LAYERS_BLOCK:
                pick = [i for i, g in enumerate(groups) if "/" not in g]
            elif model in final_models:
                pick = [i for i, g in enumerate(groups) if g.startswith(f"{block}/")]
            else:
                continue
            rows[block].append(packed[pick])
            labels[block] += [(model, groups[i]) for i in pick]
        del packed
    frames = []
    for block in blocks:
        a = np.concatenate(rows.pop(block))
        xy = hsic_matrix(a, n=n, debiased=estimator.debiased)
        del a
        xx = np.diagonal(xy).copy()
        warn_undefined([f"{m}:{x} on {test_set}" for m, x in labels[block]], xx)
        cka = cka_from_hsic(xy, xx, xx)
        g = len(labels[block])
        ia, ib = np.divmod(np.arange(g * g), g)
        models = np.array([m for m, _ in labels[block]])
        names = np.array([x for _, x in labels[block]])
        frames.append(
            pd.DataFrame(
                {
                    "a_model": models[ia],
                    "a_group": names[ia],
                    "b_model": models[ib],
                    "b_group": names[ib],
                    "cka": cka.ravel(),
                    "hsic_xy": xy.ravel(),
                    "hsic_xx": xx[ia],
                    "hsic_yy": xx[ib],
                    "n": n,
                }
            )
        )
        log.info("%s %s block %s: %d groups, %d pairs", test_set, estimator.name, block, g, g * g)
    out = pd.concat(frames, ignore_index=True)
    out.insert(0, "test_set", test_set)
    out.insert(1, "kernel", estimator.kernel)
    out.insert(2, "estimator", estimator.estimator)
    out.insert(3, "centering", estimator.centering)
    out.insert(4, "sigma_frac", estimator.sigma_frac if estimator.kernel == "rbf" else np.nan)
    return out


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
    for col in (
        "test_set",
        "kernel",
        "estimator",
        "centering",
        "a_model",
        "a_group",
        "b_model",
        "b_group",
    ):
        table[col] = table[col].astype("category")
    return table[CKA_COLUMNS]


__all__ = [
    "BLOCKS",
    "MODEL",
    "hsic_shard",
    "reduce_cka",
    "shard_blocks",
    "write_grams",
]


def read_cka_table(
    path: str | Path,
    *,
    groups: Sequence[str] | None = None,
    models: Sequence[str] | None = None,
) -> pd.DataFrame:
    """``results/cka.parquet`` with plain string columns (stored as categories to stay small).

    ``groups`` keeps only the rows whose two groups are both among them
    (``architecture.LAYER_GROUPS``: the layer and model rows, a small part of the table);
    ``models`` likewise for the two models.
    The selection happens while reading, so a figure never holds the whole table.
    """
    filters = []
    for column, keep in (("group", groups), ("model", models)):
        if keep is not None:
            filters += [(f"a_{column}", "in", list(keep)), (f"b_{column}", "in", list(keep))]
    table = read_parquet(path, "CKA table", filters=filters or None)
    for col in table.select_dtypes("category"):
        table[col] = table[col].astype(str)
    return table
