"""The rows the findings read, and the study's table (thesis Figure 5.14)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..instances import parse


def estimators_in(table: pd.DataFrame) -> list[tuple[str, str, str, float]]:
    """(kernel, estimator, centering, sigma_frac) of every estimator in the table, stable order."""
    cols = ["kernel", "estimator", "centering", "sigma_frac"]
    combos = table[cols].astype({c: str for c in cols[:3]}).drop_duplicates()
    return [tuple(r) for r in combos.sort_values(cols[:3]).itertuples(index=False)]


def estimator_rows(
    table: pd.DataFrame, kernel: str, estimator: str, centering: str = "unit"
) -> pd.DataFrame:
    return table[
        (table["kernel"].astype(str) == kernel)
        & (table["estimator"].astype(str) == estimator)
        & (table["centering"].astype(str) == centering)
    ]


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
        for ts in ("natural", "synth"):
            row[f"CKA base, {ts}"] = pair_cka(t, name, inst.base, "model", ts)
            row[f"CKA scratch, {ts}"] = pair_cka(t, name, inst.scratch, "model", ts)
        for who, model in (("fine-tuned", name), ("base", inst.base), ("scratch", inst.scratch)):
            row[f"accuracy {who}"] = float(acc.get((model, inst.domain), np.nan))
        rows.append(row)
    out = pd.DataFrame(rows)
    numeric = out.columns[3:]
    mean = {"fine-tuned": "mean", "base": "", "scratch": "", **out[numeric].mean().to_dict()}
    sd = {"fine-tuned": "sd", "base": "", "scratch": "", **out[numeric].std(ddof=1).to_dict()}
    return pd.concat([out, pd.DataFrame([mean, sd])], ignore_index=True)


def select_estimator(table: pd.DataFrame, name: str) -> tuple[pd.DataFrame, str]:
    """The rows of the estimator called ``name`` (e.g. ``linear-debiased``) and its label."""
    from ..shards import estimator_from_dict

    kernel, _, rest = name.partition("-")
    est = estimator_from_dict(
        {
            "kernel": "rbf" if kernel.startswith("rbf") else "linear",
            "sigma_frac": float(kernel[3:]) if kernel.startswith("rbf") else 1.0,
            "debiased": rest.startswith("debiased"),
            "centering": "global" if rest.endswith("global") else "unit",
        }
    )
    if est.name != name:
        raise ValueError(
            f"figures.estimator {name!r} is not an estimator name like 'linear-debiased'"
        )
    t = estimator_rows(table, est.kernel, est.estimator, est.centering)
    if est.kernel == "rbf":
        t = t[np.isclose(t["sigma_frac"], est.sigma_frac)]
    if t.empty:
        raise ValueError(f"figures.estimator {name!r} is not among the estimators computed")
    label = f"{est.kernel}, {est.estimator}" + (
        "" if est.centering == "unit" else f", {est.centering} centring"
    )
    return t, label


def filter_matrix(
    table: pd.DataFrame, model: str, layer: str, test_set: str, estimator: str
) -> np.ndarray:
    """The (f, f) CKA matrix of one model's filters of ``layer`` on ``test_set``."""
    t, _ = select_estimator(table, estimator)
    t = t[
        (t["a_model"] == model)
        & (t["b_model"] == model)
        & (t["test_set"] == test_set)
        & t["a_group"].astype(str).str.startswith(f"{layer}/")
        & t["b_group"].astype(str).str.startswith(f"{layer}/")
    ]
    m = t.pivot(index="a_group", columns="b_group", values="cka")
    return m.sort_index().sort_index(axis=1).to_numpy()
