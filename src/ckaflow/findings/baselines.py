"""Null baselines: the CKA that initial weights, training alone and other seeds give, per layer,
beside the fine-tuning comparisons the claims read. Each cell is a mean over the pairs of its
kind with its bootstrap interval (:mod:`.effects`)."""

from __future__ import annotations

import pandas as pd

from ..names import INIT, model_name, parse
from .effects import Values, summarise

COMPARISONS = (
    "initial weights, same seed",
    "initial weights, different seeds",
    "initial vs final weights",
    "trained, different seeds, same domain",
    "trained, other domain, same seed",
    "fine-tuned vs its base",
    "fine-tuned vs its scratch",
)


def comparison_pairs(base: list[str], finetuned: list[str]) -> dict[str, list[tuple[str, str]]]:
    """The (a_model, b_model) pairs of each comparison."""
    pairs = [(a, b) for i, a in enumerate(base) for b in base[i + 1 :]]
    same_seed = [(a, b) for a, b in pairs if parse(a).seed == parse(b).seed]
    other_seed = [(a, b) for a, b in pairs if parse(a).seed != parse(b).seed]

    def init(ps):
        return [(model_name(a, INIT), model_name(b, INIT)) for a, b in ps]

    return {
        COMPARISONS[0]: init(same_seed),
        COMPARISONS[1]: init(other_seed),
        COMPARISONS[2]: [(model_name(b, INIT), b) for b in base],
        COMPARISONS[3]: [(a, b) for a, b in other_seed if parse(a).domain == parse(b).domain],
        COMPARISONS[4]: same_seed,
        COMPARISONS[5]: [(f, parse(f).base) for f in finetuned],
        COMPARISONS[6]: [(f, parse(f).scratch) for f in finetuned],
    }


def baseline_table(
    v: Values, base: list[str], finetuned: list[str], groups: list[str], test_sets: list[str]
) -> pd.DataFrame:
    """comparison, group, test_set, cka (mean over its pairs), low, high, pairs; ``groups``:
    the layer and model groups, in network order."""
    rows = []
    for comparison, pairs in comparison_pairs(base, finetuned).items():
        if not pairs:
            continue
        for group in groups:
            for ts in test_sets:
                e = summarise([v(a, b, group, ts) for a, b in pairs], v.confidence)
                rows.append((comparison, group, ts, e.estimate, e.low, e.high, len(pairs)))
    return pd.DataFrame(
        rows, columns=["comparison", "group", "test_set", "cka", "low", "high", "pairs"]
    )


def baseline_markdown(table: pd.DataFrame, label: str) -> list[str]:
    """Markdown lines: one table per test set, a row per comparison, a column per group."""
    lines = [
        f"## Null baselines ({label})",
        "",
        "Mean CKA over the pairs of each kind, with its interval. The base instances of one seed "
        "share their initial weights (the first row); the claims' comparisons (last rows) are "
        "evidence of training only where they differ from the rows above them.",
        "",
    ]
    groups = list(dict.fromkeys(table["group"]))
    for ts, rows in table.groupby("test_set", sort=False):
        lines += [
            f"**{ts} test set**",
            "",
            "| comparison (pairs) | " + " | ".join(groups) + " |",
            "|---|" + "---|" * len(groups),
        ]
        for comparison, r in rows.groupby("comparison", sort=False):
            cells = {x.group: f"{x.cka:.3f} [{x.low:.3f}, {x.high:.3f}]" for x in r.itertuples()}
            lines.append(
                f"| {comparison} ({r['pairs'].iloc[0]}) | "
                + " | ".join(cells[g] for g in groups)
                + " |"
            )
        lines.append("")
    return lines
