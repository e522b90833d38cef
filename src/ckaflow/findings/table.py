"""The rows the findings read, and the study's table (thesis Figure 5.14)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..cka_table import filter_rows, select_estimator
from ..names import DOMAINS, MODEL_GROUP, parse


def pair_cka(t: pd.DataFrame, a: str, b: str, group: str, test_set: str) -> float:
    row = t[
        (t["a_model"] == a)
        & (t["b_model"] == b)
        & (t["a_group"] == group)
        & (t["b_group"] == group)
        & (t["test_set"] == test_set)
    ]
    return float(row["cka"].iloc[0]) if len(row) else float("nan")


def summary_table(t: pd.DataFrame, accuracy: pd.DataFrame, finetuned: list[str]) -> pd.DataFrame:
    """Per fine-tuned instance: model CKA with its base and its scratch counterpart on both test
    sets, and the test accuracy (on the target domain) of fine-tuned, base and scratch; plus mean
    and standard deviation rows."""
    acc = accuracy.set_index(["instance", "test_set"])["accuracy"]
    rows = []
    for name in finetuned:
        inst = parse(name)
        row = {"fine-tuned": name, "base": inst.base, "scratch": inst.scratch}
        for ts in DOMAINS:
            row[f"CKA base, {ts}"] = pair_cka(t, name, inst.base, MODEL_GROUP, ts)
            row[f"CKA scratch, {ts}"] = pair_cka(t, name, inst.scratch, MODEL_GROUP, ts)
        for who, model in (("fine-tuned", name), ("base", inst.base), ("scratch", inst.scratch)):
            row[f"accuracy {who}"] = float(acc.get((model, inst.domain), np.nan))
        rows.append(row)
    out = pd.DataFrame(rows)
    numeric = out.columns[3:]
    mean = {"fine-tuned": "mean", "base": "", "scratch": "", **out[numeric].mean().to_dict()}
    sd = {"fine-tuned": "sd", "base": "", "scratch": "", **out[numeric].std(ddof=1).to_dict()}
    return pd.concat([out, pd.DataFrame([mean, sd])], ignore_index=True)


def filter_matrix(
    table: pd.DataFrame, model: str, layer: str, test_set: str, estimator: str
) -> np.ndarray:
    """The (f, f) CKA matrix of one model's filters of ``layer`` on ``test_set``."""
    t, _ = select_estimator(table, estimator)
    t = filter_rows(t[(t["a_model"] == model) & (t["b_model"] == model)], layer)
    m = t[t["test_set"] == test_set].pivot(index="a", columns="b", values="cka")
    return m.sort_index().sort_index(axis=1).to_numpy()
