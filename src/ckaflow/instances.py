"""Names of the model instances and how they relate.

Base instances ``{domain}-{seed}`` (``natural-1`` ... ``synth-4``) are trained from scratch;
fine-tuned instances ``{target}-from-{source}-{seed}`` start from the final weights of
``{source}-{seed}``. The base instance of the target domain with the same seed,
``{target}-{seed}``, is the fine-tuned instance's *scratch* counterpart. ``natural-N`` and
``synth-N`` share their initial weights (same seed), so a fine-tuned instance and its scratch
counterpart start from the same random draw.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .data import DOMAINS

_NAME = re.compile(r"^(natural|synth)(?:-from-(natural|synth))?-(\d+)$")


def other(domain: str) -> str:
    """The other domain."""
    if domain not in DOMAINS:
        raise ValueError(f"unknown domain {domain!r}; expected one of {DOMAINS}")
    return DOMAINS[1 - DOMAINS.index(domain)]


@dataclass(frozen=True)
class Instance:
    name: str
    domain: str  # the domain it was (last) trained on
    seed: int
    source: str | None = None  # the domain it was fine-tuned from, if any

    @property
    def finetuned(self) -> bool:
        return self.source is not None

    @property
    def base(self) -> str:
        """The instance it started from (itself for a base instance)."""
        return f"{self.source}-{self.seed}" if self.source else self.name

    @property
    def scratch(self) -> str:
        """The base instance of its domain with the same seed."""
        return f"{self.domain}-{self.seed}"

    @property
    def family(self) -> str:
        return f"{self.domain}-from-{self.source}" if self.source else self.domain


def parse(name: str) -> Instance:
    """The :class:`Instance` named ``name``; ``ValueError`` for a malformed name."""
    m = _NAME.match(name)
    if not m or m.group(1) == m.group(2):
        raise ValueError(
            f"bad instance name {name!r}: expected '<domain>-<seed>' or "
            "'<target>-from-<source>-<seed>' with domains natural/synth"
        )
    return Instance(name, m.group(1), int(m.group(3)), m.group(2))


def base_instances(seeds: list[int]) -> list[str]:
    return [f"{d}-{s}" for d in DOMAINS for s in seeds]


def finetuned_instances(seeds: list[int]) -> list[str]:
    return [f"{d}-from-{other(d)}-{s}" for d in DOMAINS for s in seeds]
