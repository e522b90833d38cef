"""The study's findings, computed from the CKA table and the training outputs.

``table``: the rows a claim reads and thesis Figure 5.14; ``effects``: statistics of several
CKA values with their intervals, and the verdict they give; ``claims``: one verdict per claim of
the thesis; ``baselines``: what initial weights and other seeds give; ``report``: the Markdown
of ``results/findings.md``.
"""

from .claims import (
    NOT_DRAWN,
    Finding,
    bias_note,
    claim_a,
    claim_b,
    claim_c,
    claim_d,
    claim_e,
    findings,
    refuse_untrained,
    steps_to_converge,
    worse_than_constant,
)
from .effects import CONTRADICTED, INCONCLUSIVE, SUPPORTED, Effect, Values
from .report import report_markdown, weight_change_section
from .table import filter_matrix, pair_cka, summary_table

__all__ = [
    "CONTRADICTED",
    "Effect",
    "INCONCLUSIVE",
    "NOT_DRAWN",
    "SUPPORTED",
    "Values",
    "Finding",
    "bias_note",
    "claim_a",
    "claim_b",
    "claim_c",
    "claim_d",
    "claim_e",
    "filter_matrix",
    "findings",
    "pair_cka",
    "refuse_untrained",
    "report_markdown",
    "steps_to_converge",
    "summary_table",
    "weight_change_section",
    "worse_than_constant",
]
