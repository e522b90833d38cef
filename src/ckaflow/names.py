"""The study's vocabulary: every name a file path, table row, figure or finding uses.

Each convention is formatted and parsed here and nowhere else; a unit test round-trips each.
Nothing here knows which domains a study has: the config names them and the plan
(:mod:`ckaflow.study.plan`) checks them; names only need to be well formed.

* **domains**: names the config picks (:func:`check_domain_name`: lower case letters, digits and
  ``_``, starting with a letter), e.g. ``natural``, ``synth``, ``photos``; **splits** of a dataset.
* **instances**: base ``{domain}-{seed}`` (``natural-1``), trained from scratch; fine-tuned
  ``{target}-from-{source}-{seed}``, started from the final weights of ``{source}-{seed}``. The
  base instance of the target domain with the same seed is the fine-tuned instance's *scratch*
  counterpart; base instances of one seed share their initial weights. A deeper model puts its
  depth before the seed: ``synth-d2-1``, ``natural-from-synth-d2-1`` (depth 1 is unnamed).
* **checkpoints**: ``init``, ``phase1``, ``phase2``, ``final``, and the weights after N batches
  (``step{N}``) or N epochs (``epoch{N}``).
* **models**, what CKA compares: an instance at a checkpoint, ``{instance}@{checkpoint}``, and the
  bare instance name for its final weights (``synth-2``, ``synth-2@init``).
* **groups** of units (``conv1/f07``, ``conv1``, ``model``) and **estimators**
  (``linear-debiased``) are the engine's names (:mod:`ckaflow.similarity`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SPLITS = ("train", "val", "test")
_DOMAIN = r"[a-z][a-z0-9_]*"
_RESERVED = re.compile(r"^(from|model|layers|d\d+)$")


def check_domain_name(name: str, where: str = "domain") -> str:
    """``name`` if it can name a domain (it becomes part of instance names, file paths and
    table columns), else ``ValueError`` naming ``where`` it came from."""
    if not isinstance(name, str) or not re.fullmatch(_DOMAIN, name) or _RESERVED.match(name):
        raise ValueError(
            f"{where}: {name!r} cannot name a domain: use lower case letters, digits and '_', "
            "starting with a letter (not 'from', 'model', 'layers' or d<number>)"
        )
    return name


# -- instances ------------------------------------------------------------------------------------

_INSTANCE = re.compile(rf"^({_DOMAIN})(?:-from-({_DOMAIN}))?(?:-d([2-9]))?-(\d+)$")
DEPTHS = range(1, 10)  # a model's depth, as its architecture counts it (1: unnamed)


def check_depth(depth: int) -> int:
    if isinstance(depth, bool) or depth not in DEPTHS:
        raise ValueError(f"bad model depth {depth!r}; expected 1 to 9")
    return depth


@dataclass(frozen=True)
class Instance:
    domain: str  # the domain it was (last) trained on
    seed: int
    source: str | None = None  # the domain it was fine-tuned from, if any
    depth: int = 1  # as the architecture counts it

    def __post_init__(self) -> None:
        check_domain_name(self.domain)
        check_depth(self.depth)
        if self.source is not None and check_domain_name(self.source) == self.domain:
            raise ValueError(f"an instance is fine-tuned from another domain, not {self}")

    @property
    def name(self) -> str:
        return f"{self.family}-{self.seed}"

    @property
    def finetuned(self) -> bool:
        return self.source is not None

    @property
    def base(self) -> str:
        """The instance it started from (itself for a base instance)."""
        return Instance(self.source, self.seed, depth=self.depth).name if self.source else self.name

    @property
    def scratch(self) -> str:
        """The base instance of its domain with the same seed (and depth)."""
        return Instance(self.domain, self.seed, depth=self.depth).name

    @property
    def family(self) -> str:
        """``natural``, ``natural-from-synth``, ``synth-d2``: the instance without its seed."""
        family = f"{self.domain}-from-{self.source}" if self.source else self.domain
        return family if self.depth == 1 else f"{family}-d{self.depth}"

    def at_depth(self, depth: int) -> Instance:
        """The same domain, source and seed at another depth."""
        return Instance(self.domain, self.seed, self.source, depth)


def parse(name: str) -> Instance:
    """The :class:`Instance` named ``name``; ``ValueError`` for a malformed name."""
    m = _INSTANCE.match(str(name))
    if not m or m.group(1) == m.group(2) or _RESERVED.match(m.group(1)):
        raise ValueError(
            f"bad instance name {name!r}: expected '<domain>[-d<depth>]-<seed>' or "
            "'<target>-from-<source>[-d<depth>]-<seed>' (depth 2 to 9; depth 1 is unnamed)"
        )
    return Instance(m.group(1), int(m.group(4)), m.group(2), int(m.group(3) or 1))


# -- checkpoints and models -----------------------------------------------------------------------

INIT, FINAL = "init", "final"
PHASE_CHECKPOINTS = ("phase1", "phase2")
CHECKPOINT_SEP = "@"
_COUNTED = re.compile(r"^(step|epoch)([1-9]\d*)$")


def phase_checkpoint(phase: int) -> str:
    """The checkpoint saved when learning-rate phase ``phase`` (1-based) of the patience
    schedule ends."""
    name = f"phase{phase}"
    if name not in PHASE_CHECKPOINTS:
        raise ValueError(
            f"no checkpoint for phase {phase}; the phase checkpoints are {PHASE_CHECKPOINTS}"
        )
    return name


def early_checkpoint(step: int, unit: str = "step") -> str:
    """``step{N}`` (the weights after N training batches) or ``epoch{N}`` (after N epochs)."""
    if unit not in ("step", "epoch"):
        raise ValueError(f"a checkpoint is counted in steps or epochs, not {unit!r}")
    if isinstance(step, bool) or not isinstance(step, int) or step < 1:
        raise ValueError(f"an early checkpoint needs a positive number of {unit}s, not {step!r}")
    return f"{unit}{step}"


def early_step(checkpoint: str, unit: str = "step") -> int | None:
    """N of ``step{N}`` (``unit`` "epoch": of ``epoch{N}``); None for any other checkpoint."""
    m = _COUNTED.match(str(checkpoint))
    return int(m.group(2)) if m and m.group(1) == unit else None


def check_checkpoint(checkpoint: str) -> str:
    if checkpoint not in (INIT, *PHASE_CHECKPOINTS, FINAL) and not _COUNTED.match(str(checkpoint)):
        raise ValueError(
            f"unknown checkpoint {checkpoint!r}; expected init, step<N>, epoch<N>, phase1, "
            "phase2 or final"
        )
    return checkpoint


def checkpoint_order(checkpoint: str) -> tuple[int, int]:
    """A sort key putting checkpoints in training order: init, step<N> by N, epoch<N> by N,
    phase1, phase2, final (a study counts its early checkpoints in one unit: the config
    refuses both)."""
    m = _COUNTED.match(str(checkpoint))
    if m:
        return (1 if m.group(1) == "step" else 2, int(m.group(2)))
    order = (INIT, *PHASE_CHECKPOINTS, FINAL)
    rank = order.index(check_checkpoint(checkpoint))
    return (0, 0) if rank == 0 else (3, rank)


def model_name(instance: str, checkpoint: str = FINAL) -> str:
    """``synth-2`` for the final weights, ``synth-2@init`` for a checkpoint."""
    check_checkpoint(checkpoint)
    return instance if checkpoint == FINAL else f"{instance}{CHECKPOINT_SEP}{checkpoint}"


def parse_model(model: str) -> tuple[str, str]:
    """(instance, checkpoint) of a model name; ``ValueError`` for a malformed one."""
    instance, sep, checkpoint = str(model).partition(CHECKPOINT_SEP)
    checkpoint = checkpoint if sep else FINAL
    parse(instance)
    try:
        check_checkpoint(checkpoint)
    except ValueError:
        checkpoint = ""
    if not checkpoint or (sep and checkpoint == FINAL):
        raise ValueError(
            f"bad model name {model!r}: expected '<instance>' (final weights) or "
            f"'<instance>{CHECKPOINT_SEP}<checkpoint>' with checkpoint init, step<N>, epoch<N>, "
            "phase1 or phase2"
        )
    return instance, checkpoint


def is_final(model: str) -> bool:
    return parse_model(model)[1] == FINAL


def depth_of(model: str) -> int:
    """The depth of a model (an instance name, or ``instance@checkpoint``)."""
    return parse(parse_model(model)[0]).depth
