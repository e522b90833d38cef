"""``results/cka.parquet``: its columns, reading it, and selecting its rows by what they mean.

One row per ordered pair of groups, test set and estimator. Figures and findings select rows
through these functions, never by re-spelling a name convention: an estimator is matched on its
whole identity (two RBF bandwidths are two estimators), a filter by
:func:`ckaflow.names.parse_group`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..io import read_parquet
from ..similarity import Estimator, parse_group

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
ESTIMATOR_COLUMNS = CKA_COLUMNS[1:5]
PAIR_KEY = CKA_COLUMNS[:9]  # what makes a row unique: test set, estimator, the two groups
# What figures and findings read: each pair's CKA, not its HSIC terms (a third of the memory).
PAIR_CKA = [*PAIR_KEY, "cka"]


def read_cka_table(
    path: str | Path,
    *,
    groups: Sequence[str] | None = None,
    models: Sequence[str] | None = None,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """``results/cka.parquet`` with plain string columns (stored as categories to stay small).

    ``groups`` keeps only the rows whose two groups are both among them
    (``architecture.LAYER_GROUPS``: the layer and model rows, a small part of the table);
    ``models`` likewise for the two models; ``columns`` (default: all) only those columns,
    e.g. :data:`PAIR_CKA`. The selection happens while reading, so a figure never holds the
    whole table. An unknown column raises ``ValueError``.
    """
    if columns is not None:
        unknown = [c for c in columns if c not in CKA_COLUMNS]
        if unknown:
            raise ValueError(f"no columns {unknown} in the CKA table; it has {CKA_COLUMNS}")
        columns = list(columns)
    filters = []
    for column, keep in (("group", groups), ("model", models)):
        if keep is not None:
            filters += [(f"a_{column}", "in", list(keep)), (f"b_{column}", "in", list(keep))]
    table = read_parquet(path, "CKA table", columns=columns, filters=filters or None)
    for col in table.select_dtypes("category"):
        table[col] = table[col].astype(str)
    return table


def estimators_in(table: pd.DataFrame) -> list[Estimator]:
    """Every estimator with rows in ``table``, ordered by name."""
    combos = table[ESTIMATOR_COLUMNS].astype({c: str for c in ESTIMATOR_COLUMNS[:3]})
    found = {Estimator.from_columns(r) for r in combos.drop_duplicates().to_dict("records")}
    return sorted(found, key=lambda e: e.name)


def estimator_rows(table: pd.DataFrame, estimator: Estimator) -> pd.DataFrame:
    """The rows of ``estimator`` (kernel, estimator, centring and, for RBF, the bandwidth)."""
    want = estimator.columns()
    keep = np.ones(len(table), dtype=bool)
    for column in ESTIMATOR_COLUMNS[:3]:
        keep &= (table[column].astype(str) == want[column]).to_numpy()
    if estimator.kernel == "rbf":
        keep &= np.isclose(table["sigma_frac"].to_numpy(float), want["sigma_frac"])
    return table[keep]


def select_estimator(table: pd.DataFrame, name: str) -> tuple[pd.DataFrame, Estimator]:
    """The rows of the estimator called ``name`` (``figures.estimator``) and the estimator."""
    try:
        est = Estimator.from_name(name)
    except ValueError as err:
        raise ValueError(f"figures.estimator: {err}") from None
    rows = estimator_rows(table, est)
    if rows.empty:
        have = [e.name for e in estimators_in(table)]
        raise ValueError(f"figures.estimator {name!r} is not among the estimators computed {have}")
    return rows, est


def estimator_labels(table: pd.DataFrame) -> pd.Series:
    """Each row's :attr:`Estimator.label`, for figure panels."""
    combos = table[ESTIMATOR_COLUMNS].astype({c: str for c in ESTIMATOR_COLUMNS[:3]})
    return pd.Series(
        [Estimator.from_columns(r).label for r in combos.to_dict("records")], index=table.index
    )


def filter_rows(table: pd.DataFrame, layer: str) -> pd.DataFrame:
    """The rows comparing two filters of ``layer``, with their channel indices ``a``, ``b``."""
    index = {}
    for g in pd.unique(pd.concat([table["a_group"], table["b_group"]]).astype(str)):
        group = parse_group(g)
        if group.kind == "filter" and group.layer == layer:
            index[g] = group.index
    a = table["a_group"].astype(str).map(index)
    b = table["b_group"].astype(str).map(index)
    out = table[a.notna() & b.notna()].copy()
    out["a"], out["b"] = a[out.index].astype(int), b[out.index].astype(int)
    return out
