"""What a config trains and records: the instances, their checkpoints and the models of a study.

The study is read by question: this module says what is trained and recorded;
:mod:`.comparisons` what is compared (filters, interval pairs, estimators); :mod:`.params` what
each job is given; :mod:`.paths` where each file is. The workflow's ``common.smk`` builds one
:class:`Plan` from the (checked) config; nothing here knows a path, so the whole plan is
unit-tested without Snakemake. The names themselves are :mod:`ckaflow.names`'; the figures'
layout is :mod:`ckaflow.figures.layout`'s.

A base instance per (domain, seed) (``{domain}-{seed}``); with ``finetune.enabled`` each base is
fine-tuned on every other domain (``{target}-from-{source}-{seed}``) and compared with that
domain's scratch instance of the same seed; the tied autoencoder's deeper models
(``model.depths``) for ``model.deep_seeds``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

from ..names import (
    FINAL,
    INIT,
    PHASE_CHECKPOINTS,
    Instance,
    checkpoint_order,
    early_checkpoint,
    early_step,
    model_name,
    parse,
)
from .config import check_config


@dataclass(frozen=True)
class Plan:
    """The study of one config (see :meth:`from_config`): what is trained and recorded.
    What is compared is :mod:`.comparisons`'; what each job is given, :mod:`.params`'."""

    config: Mapping

    @classmethod
    def from_config(cls, config: Mapping, schema: Mapping | None = None) -> Plan:
        """The plan of a schema-validated config, after
        :func:`~ckaflow.study.config.check_config`."""
        check_config(config, schema)
        return cls(config)

    # -- what is trained --

    @cached_property
    def domains(self) -> list[str]:
        """The domains, in config order (the test sets too)."""
        return list(self.config["domains"])

    @property
    def task(self) -> str:
        return self.config["task"]

    @property
    def finetunes(self) -> bool:
        return bool(self.config["finetune"]["enabled"])

    @cached_property
    def seeds(self) -> list[int]:
        return list(self.config["seeds"])

    @cached_property
    def depths(self) -> list[int]:
        """The depths trained, 1 first."""
        return sorted(self.config["model"]["depths"])

    @cached_property
    def deep_depths(self) -> list[int]:
        return [d for d in self.depths if d > 1]

    @cached_property
    def deep_seeds(self) -> list[int]:
        """The seeds of the deeper instances (model.deep_seeds; the first seed if null)."""
        return list(self.config["model"]["deep_seeds"] or self.seeds[:1])

    def base_at(self, seeds: list[int], depth: int = 1) -> list[str]:
        return [Instance(d, s, depth=depth).name for d in self.domains for s in seeds]

    def finetuned_at(self, seeds: list[int], depth: int = 1) -> list[str]:
        """Each base of ``seeds`` fine-tuned on every other domain, by target domain."""
        if not self.finetunes:
            return []
        return [
            Instance(t, s, src, depth).name
            for t in self.domains
            for src in self.domains
            if src != t
            for s in seeds
        ]

    @cached_property
    def base(self) -> list[str]:
        return self.base_at(self.seeds)

    @cached_property
    def finetuned(self) -> list[str]:
        return self.finetuned_at(self.seeds)

    @cached_property
    def deep_base(self) -> list[str]:
        return [i for d in self.deep_depths for i in self.base_at(self.deep_seeds, d)]

    @cached_property
    def deep_finetuned(self) -> list[str]:
        return [i for d in self.deep_depths for i in self.finetuned_at(self.deep_seeds, d)]

    @cached_property
    def instances(self) -> list[str]:
        """Every instance trained: depth 1's (the claims are about them), then the deeper ones."""
        return self.base + self.finetuned + self.deep_base + self.deep_finetuned

    @cached_property
    def trained(self) -> list[str]:
        """The instances that are trained (not imported from model.pretrained)."""
        return [i for i in self.instances if not self.pretrained_file(i)]

    def pretrained_file(self, instance: str) -> str | None:
        """The saved model a base instance is imported from (model.pretrained), or None."""
        template, inst = self.config["model"]["pretrained"], parse(instance)
        if not template or inst.finetuned:
            return None
        return template.format(domain=inst.domain, seed=inst.seed)

    @cached_property
    def families(self) -> list[str]:
        """Depth 1's families (instances without their seed), base then fine-tuned."""
        return list(dict.fromkeys(parse(i).family for i in self.base + self.finetuned))

    # -- checkpoints and models --

    @cached_property
    def base_checkpoints(self) -> tuple[str, ...]:
        """What a base run saves, in training order: init, step<N> (train.early_checkpoints),
        epoch<N> (train.checkpoint_epochs), the patience schedule's phase ends, final."""
        t = self.config["train"]
        if self.config["model"]["pretrained"]:  # imported, not trained: start and end only
            return (INIT, FINAL)
        early = [early_checkpoint(s) for s in t["early_checkpoints"]]
        early += [early_checkpoint(e, "epoch") for e in t["checkpoint_epochs"]]
        phases = PHASE_CHECKPOINTS if t["schedule"] == "patience" else ()
        return tuple(sorted((INIT, *early, *phases, FINAL), key=checkpoint_order))

    def checkpoints(self, instance: str) -> tuple[str, ...]:
        """The checkpoints ``instance``'s training writes."""
        return (INIT, FINAL) if parse(instance).finetuned else self.base_checkpoints

    @cached_property
    def filter_instances(self) -> list[str]:
        """figures.filter_instances, or the first seed's base instance of the first two domains."""
        chosen = self.config["figures"]["filter_instances"]
        return (
            list(chosen) if chosen else [Instance(d, self.seeds[0]).name for d in self.domains[:2]]
        )

    @property
    def matrix_instance(self) -> str:
        """The base instance whose every checkpoint is compared with its final weights, layer by
        layer (checkpoint_matrices): the first of :attr:`filter_instances`."""
        return self.filter_instances[0]

    def recorded_checkpoints(self, instance: str) -> tuple[str, ...]:
        """The checkpoints of ``instance`` whose activations are recorded: all it writes, except
        that only :attr:`matrix_instance` keeps its early step<N> and epoch<N> ones and a deeper
        model keeps its initial and final weights only."""
        if parse(instance).depth > 1:
            return (INIT, FINAL)
        keep = instance == self.matrix_instance
        return tuple(c for c in self.checkpoints(instance) if keep or not _counted(c))

    def models_of(self, instance: str) -> list[str]:
        """The models of ``instance`` whose activations are recorded, one per checkpoint."""
        return [model_name(instance, c) for c in self.recorded_checkpoints(instance)]

    @cached_property
    def models(self) -> list[str]:
        """Every model CKA compares: each instance's final weights, and the earlier checkpoints
        of the base instances (a fine-tuned instance's init is its base's final model)."""
        early = [m for b in self.base + self.deep_base for m in self.models_of(b) if m != b]
        return self.instances + early


def _counted(checkpoint: str) -> bool:
    return early_step(checkpoint) is not None or early_step(checkpoint, "epoch") is not None
