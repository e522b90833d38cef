"""The study's findings, computed from the CKA table and the training outputs.

``table``: the rows a claim reads and thesis Figure 5.14; ``effects``: statistics of several
CKA values with their intervals, and the verdict they give; ``claims``: the CKA claims (a)-(c);
``training``: (d) and (e); ``verdicts``: all of them for a run; ``baselines``: what initial
weights and other seeds give; ``report``: the Markdown of ``results/findings.md``.
"""

from .claims import NOT_DRAWN, Finding, bias_note, claim_a, claim_b, claim_c, effects_table
from .effects import CONTRADICTED, INCONCLUSIVE, SUPPORTED, Effect, Values
from .report import report_markdown, weight_change_section
from .table import filter_matrix, pair_cka, summary_table
from .training import claim_d, claim_e, steps_to_converge
from .verdicts import findings, refuse_untrained, worse_than_constant

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
    "effects_table",
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
