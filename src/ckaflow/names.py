"""The study's vocabulary: every name a file path, table row, figure or finding uses.

Each convention is formatted and parsed here and nowhere else; a unit test round-trips each.

* **domains** ``natural``, ``synth`` (:data:`DOMAINS`, :func:`other`); **splits** of a dataset.
* **instances**: base ``{domain}-{seed}`` (``natural-1``), trained from scratch; fine-tuned
  ``{target}-from-{source}-{seed}``, started from the final weights of ``{source}-{seed}``. The
  base instance of the target domain with the same seed is the fine-tuned instance's *scratch*
  counterpart; ``natural-N`` and ``synth-N`` share their initial weights. A deeper model puts
  its depth before the seed: ``synth-d2-1``, ``natural-from-synth-d2-1`` (depth 1, the thesis'
  model, has no depth in its name); ``natural-d2-N`` and ``synth-d2-N`` share theirs.
* **layers** of a model of depth D, in network order (:func:`layers`): per encoder stage s
  (1 to 3) D convolutions and a pool, ``conv{s}``/``pool{s}`` at depth 1 and ``conv{s}a``,
  ``conv{s}b``, ... deeper; the decoder's transposed convolutions mirror them (``deconv3``, or
  ``deconv3b``, ``deconv3a``, ...), then ``output``.
* **checkpoints**: ``init``, ``phase1``, ``phase2``, ``final`` (a fine-tuned run keeps ``init`` and
  ``final``), and a base run's early ones, ``step{N}``: the weights after N batches.
* **models**, what CKA compares: an instance at a checkpoint, ``{instance}@{checkpoint}``, and the
  bare instance name for its final weights (``synth-2``, ``synth-2@init``).
* **groups** of units of a model: a filter ``{layer}/f{index:02d}``, a layer (its name), or the
  whole model, ``model``.
* **estimators**: :class:`~ckaflow.similarity.Estimator` (``linear-debiased``, ``rbf0.5-biased``),
  defined with the engine and re-exported here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DOMAINS = ("natural", "synth")
SPLITS = ("train", "val", "test")


def other(domain: str) -> str:
    """The other domain."""
    check_domain(domain)
    return DOMAINS[1 - DOMAINS.index(domain)]


def check_domain(domain: str) -> str:
    if domain not in DOMAINS:
        raise ValueError(f"unknown domain {domain!r}; expected one of {DOMAINS}")
    return domain


# -- instances ------------------------------------------------------------------------------------

_DOMAIN = "|".join(DOMAINS)
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
    depth: int = 1  # convolutions per stage

    def __post_init__(self) -> None:
        check_domain(self.domain)
        check_depth(self.depth)
        if self.source is not None and other(check_domain(self.source)) != self.domain:
            raise ValueError(f"an instance is fine-tuned from the other domain, not {self}")

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
        """``natural``, ``synth``, ``natural-from-synth`` or ``synth-from-natural``, with
        ``-d{depth}`` for a deeper model (``synth-d2``): the instance without its seed."""
        family = f"{self.domain}-from-{self.source}" if self.source else self.domain
        return family if self.depth == 1 else f"{family}-d{self.depth}"

    def at_depth(self, depth: int) -> Instance:
        """The same domain, source and seed at another depth."""
        return Instance(self.domain, self.seed, self.source, depth)

    @property
    def checkpoints(self) -> tuple[str, ...]:
        """The checkpoints its training run saves."""
        return FINETUNE_CHECKPOINTS if self.finetuned else CHECKPOINTS


def parse(name: str) -> Instance:
    """The :class:`Instance` named ``name``; ``ValueError`` for a malformed name."""
    m = _INSTANCE.match(str(name))
    depth = int(m.group(3)) if m and m.group(3) else 1
    if not m or m.group(1) == m.group(2) or depth not in DEPTHS:
        raise ValueError(
            f"bad instance name {name!r}: expected '<domain>[-d<depth>]-<seed>' or "
            f"'<target>-from-<source>[-d<depth>]-<seed>' with domains {'/'.join(DOMAINS)} and "
            f"depth 2 to 9 (depth 1 is unnamed)"
        )
    return Instance(m.group(1), int(m.group(4)), m.group(2), depth)


def base_instances(seeds: list[int], depth: int = 1) -> list[str]:
    return [Instance(d, s, depth=depth).name for d in DOMAINS for s in seeds]


def finetuned_instances(seeds: list[int], depth: int = 1) -> list[str]:
    return [Instance(d, s, other(d), depth).name for d in DOMAINS for s in seeds]


FAMILIES = (*DOMAINS, *(Instance(d, 0, other(d)).family for d in DOMAINS))
FINETUNED_FAMILIES = FAMILIES[len(DOMAINS) :]

# -- checkpoints and models -----------------------------------------------------------------------

INIT, FINAL = "init", "final"
CHECKPOINTS = (INIT, "phase1", "phase2", FINAL)
FINETUNE_CHECKPOINTS = (INIT, FINAL)
CHECKPOINT_SEP = "@"


def phase_checkpoint(phase: int) -> str:
    """The checkpoint saved when learning-rate phase ``phase`` (1-based) ends."""
    name = f"phase{phase}"
    if name not in CHECKPOINTS:
        raise ValueError(f"no checkpoint for phase {phase}; the checkpoints are {CHECKPOINTS}")
    return name


_EARLY = re.compile(r"^step([1-9]\d*)$")


def early_checkpoint(step: int) -> str:
    """``step{N}``: the weights after N training batches (config train.early_checkpoints: a few,
    early in the first phase, where most of the movement is)."""
    if isinstance(step, bool) or not isinstance(step, int) or step < 1:
        raise ValueError(f"an early checkpoint needs a positive number of steps, not {step!r}")
    return f"step{step}"


def early_step(checkpoint: str) -> int | None:
    """N of ``step{N}``; None for any other checkpoint."""
    m = _EARLY.match(str(checkpoint))
    return int(m.group(1)) if m else None


def check_checkpoint(checkpoint: str) -> str:
    if checkpoint not in CHECKPOINTS and early_step(checkpoint) is None:
        raise ValueError(
            f"unknown checkpoint {checkpoint!r}; expected one of {CHECKPOINTS} or step<N>"
        )
    return checkpoint


def checkpoint_order(checkpoint: str) -> tuple[int, int]:
    """A sort key putting checkpoints in training order: init, step<N> by N, phase1, phase2,
    final."""
    n = early_step(checkpoint)
    if n is not None:
        return (1, n)
    return (0, 0) if checkpoint == INIT else (2, CHECKPOINTS.index(check_checkpoint(checkpoint)))


def model_name(instance: str, checkpoint: str = FINAL) -> str:
    """``synth-2`` for the final weights, ``synth-2@init`` for a checkpoint."""
    check_checkpoint(checkpoint)
    return instance if checkpoint == FINAL else f"{instance}{CHECKPOINT_SEP}{checkpoint}"


def parse_model(model: str) -> tuple[str, str]:
    """(instance, checkpoint) of a model name; ``ValueError`` for a malformed one."""
    instance, sep, checkpoint = str(model).partition(CHECKPOINT_SEP)
    checkpoint = checkpoint if sep else FINAL
    parse(instance)
    known = checkpoint in CHECKPOINTS or early_step(checkpoint) is not None
    if not known or (sep and checkpoint == FINAL):
        raise ValueError(
            f"bad model name {model!r}: expected '<instance>' (final weights) or "
            f"'<instance>{CHECKPOINT_SEP}<checkpoint>' with checkpoint one of {CHECKPOINTS[:-1]} "
            "or step<N>"
        )
    return instance, checkpoint


def is_final(model: str) -> bool:
    return parse_model(model)[1] == FINAL


def depth_of(model: str) -> int:
    """The depth of a model (an instance name, or ``instance@checkpoint``)."""
    return parse(parse_model(model)[0]).depth
