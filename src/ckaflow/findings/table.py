"""The rows the findings read, and the study's table (thesis Figure 5.14)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..names import parse
from ..similarity import MODEL_GROUP
from ..stages.cka_table import filter_rows, select_estimator


def pair_cka(t: pd.DataFrame, a: str, b: str, group: str, test_set: str) -> float:
    row = t[
        (t["a_model"] == a)
        & (t["b_model"] == b)
        & (t["a_group"] == group)
        & (t["b_group"] == group)
        & (t["test_set"] == test_set)
    ]
    return float(row["cka"].iloc[0]) if len(row) else float("nan")


def summary_table(
    t: pd.DataFrame, accuracy: pd.DataFrame, finetuned: list[str], test_sets: list[str]
) -> pd.DataFrame:
    """Thesis Figure 5.14, one part per fine-tuned family (natural-from-synth, then
    synth-from-natural): per fine-tuned instance, model CKA with its base and its scratch
    counterpart on every test set and the test accuracy (on the target domain) of fine-tuned,
    base and scratch; each part ends with its mean and standard deviation rows (accuracies of
    different domains never averaged). Empty without fine-tuned instances."""
    acc = accuracy.set_index(["instance", "test_set"])["accuracy"]
    halves = []
    for family in dict.fromkeys(parse(n).family for n in finetuned):
        rows = [_summary_row(t, acc, n, test_sets) for n in finetuned if parse(n).family == family]
        if not rows:
            continue
        half = pd.DataFrame(rows)
        numeric = half.columns[3:]
        label = {"base": "", "scratch": ""}
        mean = {"fine-tuned": f"mean ({family})", **label, **half[numeric].mean().to_dict()}
        sd = {"fine-tuned": f"sd ({family})", **label, **half[numeric].std(ddof=1).to_dict()}
        halves += [half, pd.DataFrame([mean, sd])]
    if not halves:
        return pd.DataFrame(columns=["fine-tuned", "base", "scratch"])
    return pd.concat(halves, ignore_index=True)


def _summary_row(t: pd.DataFrame, acc: pd.Series, name: str, test_sets: list[str]) -> dict:
    inst = parse(name)
    row = {"fine-tuned": name, "base": inst.base, "scratch": inst.scratch}
    for ts in test_sets:
        row[f"CKA base, {ts}"] = pair_cka(t, name, inst.base, MODEL_GROUP, ts)
        row[f"CKA scratch, {ts}"] = pair_cka(t, name, inst.scratch, MODEL_GROUP, ts)
    for who, model in (("fine-tuned", name), ("base", inst.base), ("scratch", inst.scratch)):
        row[f"accuracy {who}"] = float(acc.get((model, inst.domain), np.nan))
    return row


def filter_matrix(
    table: pd.DataFrame, model: str, layer: str, test_set: str, estimator: str
) -> np.ndarray:
    """The (f, f) CKA matrix of one model's filters of ``layer`` on ``test_set``."""
    t, _ = select_estimator(table, estimator)
    t = filter_rows(t[(t["a_model"] == model) & (t["b_model"] == model)], layer)
    m = t[t["test_set"] == test_set].pivot(index="a", columns="b", values="cka")
    return m.sort_index().sort_index(axis=1).to_numpy()
