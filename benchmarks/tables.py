"""The one table format every benchmark prints: measure, value, target, as Markdown."""

from __future__ import annotations


def print_table(rows: list[tuple[str, str, str]]) -> None:
    w0, w1 = max(len(r[0]) for r in rows), max(len(r[1]) for r in rows)
    print(f"\n| {'measure':<{w0}} | {'value':<{w1}} | target  |")
    print(f"|{'-' * (w0 + 2)}|{'-' * (w1 + 2)}|---------|")
    for a, b, c in rows:
        print(f"| {a:<{w0}} | {b:<{w1}} | {c:<7} |")
