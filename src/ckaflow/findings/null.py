"""Every compared pair against its permutation null: is a CKA more than unrelated
representations of those exact layers would give?

The interval stage shuffles the test images of one side of each pair of
``results/cka_intervals.parquet`` (:func:`~ckaflow.similarity.null.permutation_null_matrix`):
``null_q95`` is the 95th percentile of the CKA of the two layers' unrelated pairings, and the
*calibrated score* CKA - null_q95 says by how much a pair clears that bar (> 0: it does). The
biased estimator's null sits high for wide layers and 200 images; the debiased one's near 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..similarity import Estimator
from ..stages.cka_table import ESTIMATOR_COLUMNS

SHOWN = 6  # the pairs below their null named in the text, per estimator


def null_table(intervals: pd.DataFrame) -> pd.DataFrame:
    """Per estimator: the pairs with a null, how many exceed their null's 95th percentile, the
    mean of that percentile and of the calibrated score; empty without nulls."""
    t = intervals[intervals["null_q95"].notna()] if "null_q95" in intervals else intervals[:0]
    rows = []
    for _, g in t.groupby(ESTIMATOR_COLUMNS, dropna=False, sort=True):
        est = Estimator.from_columns(g.iloc[0].to_dict())
        calibrated = g["cka"] - g["null_q95"]
        rows.append({
            "estimator": est.label,
            "pairs": len(g),
            "above_null": int((calibrated > 0).sum()),
            "mean_null_q95": float(g["null_q95"].mean()),
            "mean_calibrated": float(calibrated.mean()),
            "min_calibrated": float(calibrated.min()),
        })  # fmt: skip
    return pd.DataFrame(rows)


def below_null(intervals: pd.DataFrame, estimator_label: str) -> pd.DataFrame:
    """The pairs of one estimator whose CKA does not exceed their null's 95th percentile."""
    t = intervals[intervals["null_q95"].notna()]
    labels = [Estimator.from_columns(r).label for r in t[ESTIMATOR_COLUMNS].to_dict("records")]
    t = t[np.array(labels) == estimator_label]
    return t[t["cka"] <= t["null_q95"]].sort_values("cka")


def null_section(intervals: pd.DataFrame) -> list[str]:
    """Markdown lines of the permutation-null finding (none without nulls)."""
    table = null_table(intervals)
    if table.empty:
        return []
    lines = [
        "## Every comparison against its permutation null",
        "",
        "Each pair of the interval table with the test images of one side shuffled "
        "(`similarity.null_permutations` times): the null's 95th percentile is what unrelated "
        "representations of those exact layers give, and the *calibrated score* CKA − that "
        "percentile says by how much a pair clears it (> 0: it does). The biased estimator's "
        "null sits high for wide layers and few images, the debiased one's near 0: a biased "
        "CKA of 0.9 can be no more than chance. Per pair: `null_q95` and `p_value` in "
        "`results/cka_intervals.parquet`.",
        "",
        "| estimator | pairs | above their null | mean null 95th percentile | mean calibrated "
        "| lowest calibrated |",
        "|---|---|---|---|---|---|",
    ]
    for r in table.itertuples():
        lines.append(
            f"| {r.estimator} | {r.pairs} | {r.above_null} | {r.mean_null_q95:.4f} | "
            f"{r.mean_calibrated:+.4f} | {r.min_calibrated:+.4f} |"
        )
    lines.append("")
    for r in table.itertuples():
        low = below_null(intervals, r.estimator)
        if len(low):
            named = ", ".join(
                f"{p.a_model} {p.a_group} vs {p.b_model} {p.b_group} on {p.test_set} "
                f"({p.cka:.3f} ≤ {p.null_q95:.3f})"
                for p in low.head(SHOWN).itertuples()
            )
            more = f" and {len(low) - SHOWN} more" if len(low) > SHOWN else ""
            lines.append(f"- **{r.estimator}**: not above their null: {named}{more}.")
    return [*lines, ""]


__all__ = ["below_null", "null_section", "null_table"]
