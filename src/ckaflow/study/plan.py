"""What a config implies: the instances, models, estimators, figures and job parameters of a study.

The workflow's ``common.smk`` builds one :class:`Plan` from the (checked) config and turns its
names into file paths; nothing here knows a path, so the whole plan is unit-tested without
Snakemake. The names themselves are :mod:`ckaflow.names`'.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

from ..model.tied_layers import adjacent_convolutions, layer_groups, layer_sort_key, layers
from ..names import (
    CHECKPOINTS,
    DOMAINS,
    FINAL,
    FINETUNE_CHECKPOINTS,
    INIT,
    Instance,
    base_instances,
    checkpoint_order,
    depth_of,
    early_checkpoint,
    early_step,
    finetuned_instances,
    model_name,
    other,
    parse,
)
from ..similarity import Estimator
from ..stages.hsic import LAYERS_BLOCK
from .config import check_config

# The figures drawn from the CKA table by plot_cka, by name, and what each is given.
CKA_FIGURES = (
    "base_layer_strips",
    "finetuned_vs_base",
    "layer_matrices",
    "checkpoints_vs_final",
    "checkpoint_matrices",
    "filter_heatmap",
)
# Drawn only when config depths names a deeper model.
DEPTH_FIGURES = ("depth_matrices", "depth_comparison")
# The training stage's figures (one file each).
TRAINING_FIGURES = ("samples", "loss_curves", "test_loss")
RECONSTRUCTION_ROLES = ("in_domain", "cross_domain", "finetuned")


@dataclass(frozen=True)
class Plan:
    """The study of one config (see :meth:`from_config`)."""

    config: Mapping

    @classmethod
    def from_config(cls, config: Mapping, schema: Mapping | None = None) -> Plan:
        """The plan of a schema-validated config, after :func:`~ckaflow.study.check_config`."""
        check_config(config, schema)
        return cls(config)

    # -- instances and models --

    @cached_property
    def seeds(self) -> list[int]:
        return list(self.config["seeds"])

    @cached_property
    def base(self) -> list[str]:
        return base_instances(self.seeds)

    @cached_property
    def finetuned(self) -> list[str]:
        return finetuned_instances(self.seeds)

    @cached_property
    def depths(self) -> list[int]:
        """The depths trained, 1 first."""
        return sorted(self.config["depths"])

    @cached_property
    def deep_depths(self) -> list[int]:
        return [d for d in self.depths if d > 1]

    @cached_property
    def deep_seeds(self) -> list[int]:
        """The seeds of the deeper instances (config deep_seeds; the first seed if null)."""
        return list(self.config["deep_seeds"] or self.seeds[:1])

    @cached_property
    def deep_base(self) -> list[str]:
        return [i for d in self.deep_depths for i in base_instances(self.deep_seeds, d)]

    @cached_property
    def deep_finetuned(self) -> list[str]:
        return [i for d in self.deep_depths for i in finetuned_instances(self.deep_seeds, d)]

    @cached_property
    def instances(self) -> list[str]:
        """Every instance trained: the thesis' (depth 1), then the deeper ones. :attr:`base`
        and :attr:`finetuned`, which the thesis' claims are about, are depth 1's only."""
        return self.base + self.finetuned + self.deep_base + self.deep_finetuned

    @cached_property
    def models(self) -> list[str]:
        """Every model CKA compares: each instance's final weights, and the earlier checkpoints
        of the base instances (a fine-tuned instance's init is its base's final model)."""
        early = [m for b in self.base + self.deep_base for m in self.models_of(b) if m != b]
        return self.instances + early

    @cached_property
    def base_checkpoints(self) -> tuple[str, ...]:
        """What a base run saves, in training order: init, step<N> of train.early_checkpoints,
        the phase ends, final."""
        early = tuple(early_checkpoint(s) for s in self.config["train"]["early_checkpoints"])
        return tuple(sorted((*CHECKPOINTS, *early), key=checkpoint_order))

    def checkpoints(self, instance: str) -> tuple[str, ...]:
        """The checkpoints ``instance``'s training writes."""
        return FINETUNE_CHECKPOINTS if parse(instance).finetuned else self.base_checkpoints

    @cached_property
    def matrix_instance(self) -> str:
        """The base instance whose every checkpoint is compared with its final weights, layer
        by layer (checkpoint_matrices): the first synth instance."""
        return Instance("synth", self.seeds[0]).name

    def recorded_checkpoints(self, instance: str) -> tuple[str, ...]:
        """The checkpoints of ``instance`` whose activations are recorded: all it writes, except
        that only :attr:`matrix_instance` keeps its early step<N> ones and a deeper model keeps
        its initial and final weights only."""
        if parse(instance).depth > 1:
            return FINETUNE_CHECKPOINTS
        keep = instance == self.matrix_instance
        return tuple(c for c in self.checkpoints(instance) if keep or early_step(c) is None)

    def models_of(self, instance: str) -> list[str]:
        """The models of ``instance`` whose activations are recorded, one per checkpoint."""
        return [model_name(instance, c) for c in self.recorded_checkpoints(instance)]

    @cached_property
    def interval_pairs(self) -> list[tuple[str, str]]:
        """(a_model, b_model) pairs whose layer and model groups get bootstrap intervals: each
        fine-tuned instance with its base and its scratch counterpart; every two base instances,
        trained and at their initial weights; each base instance with its initial weights."""
        init = {b: model_name(b, INIT) for b in self.base}
        pairs = []
        for name in self.finetuned:
            inst = parse(name)
            pairs += [(name, inst.base), (name, inst.scratch)]
        for i, a in enumerate(self.base):
            for b in self.base[i + 1 :]:
                pairs += [(a, b), (init[a], init[b])]
        return pairs + [(init[b], b) for b in self.base]

    @cached_property
    def block_models(self) -> list[str]:
        """The models whose adjacent convolutions the block-structure finding compares: every
        deeper instance, the initial weights of the deeper base instances, and their depth-1
        counterparts (trained and initial)."""
        if not self.deep_depths:
            return []
        deep = self.deep_base + self.deep_finetuned
        shallow = [parse(i).at_depth(1).name for i in deep if parse(i).depth == self.deep_depths[0]]
        bases = [i for i in [*shallow, *deep] if not parse(i).finetuned]
        return [*shallow, *deep, *(model_name(b, INIT) for b in bases)]

    @cached_property
    def interval_rows(self) -> list[tuple[str, str, str, str]]:
        """(a_model, a_group, b_model, b_group) of every interval: the layer and model groups
        of :attr:`interval_pairs`, and each :attr:`block_models` model's adjacent convolutions
        (:func:`~ckaflow.model.tied_layers.adjacent_convolutions`)."""
        rows = [(a, g, b, g) for a, b in self.interval_pairs for g in layer_groups(1)]
        for m in self.block_models:
            rows += [(m, x, m, y) for x, y, _ in adjacent_convolutions(depth_of(m))]
        return rows

    @cached_property
    def interval_models(self) -> list[str]:
        """The models :attr:`interval_rows` reads, in :attr:`models` order."""
        used = {m for a, _, b, _ in self.interval_rows for m in (a, b)}
        return [m for m in self.models if m in used]

    @cached_property
    def hsic_blocks(self) -> tuple[str, ...]:
        """The HSIC blocks (:mod:`ckaflow.stages.hsic`): the layers block, then one per layer name
        of
        the depths trained, in network order."""
        names = dict.fromkeys(n for d in self.depths for n in layers(d))
        return (LAYERS_BLOCK, *sorted(names, key=layer_sort_key))

    @cached_property
    def estimators(self) -> list[Estimator]:
        return [Estimator.from_dict(e) for e in self.config["similarity"]["estimators"]]

    @cached_property
    def primary_estimator(self) -> Estimator:
        """``figures.estimator``: the headline findings', the table's and the baselines'."""
        return Estimator.from_name(self.config["figures"]["estimator"])

    @cached_property
    def estimator_names(self) -> list[str]:
        return [e.name for e in self.estimators]

    # -- figures --

    @cached_property
    def filter_instances(self) -> list[str]:
        return list(self.config["figures"]["filter_instances"])

    @cached_property
    def invariance_instance(self) -> str:
        """The instance whose activations the invariance checks transform: the first of
        figures.filter_instances."""
        return self.filter_instances[0]

    @cached_property
    def invariance_estimators(self) -> list[str]:
        """The configured estimators CKA's invariances are stated for (unit centring; the linear
        biased one if the config names none)."""
        return [e.name for e in self.estimators if e.centering == "unit"] or [Estimator().name]

    @cached_property
    def filter_pairs(self) -> list[tuple[str, str]]:
        """Filter heatmaps: each figures.filter_instances with itself, and the first two."""
        pairs = [(x, x) for x in self.filter_instances]
        a, b = (self.filter_instances * 2)[:2]
        return pairs + ([(a, b)] if a != b else [])

    def layer_matrix_pairs(self) -> dict[str, list[str]]:
        """Layer x layer panels: an instance with itself, two seeds, a base vs its fine-tuned."""
        s1, s2 = (self.seeds * 2)[0], (self.seeds * 2)[1 if len(self.seeds) > 1 else 0]
        a, b = Instance("synth", s1).name, Instance("synth", s2).name
        nat, ft = Instance("natural", s1).name, Instance("synth", s1, "natural").name
        return {f"{a} with itself": [a, a], f"{a} vs {b}": [a, b], f"{nat} vs {ft}": [nat, ft]}

    def depth_panels(self, figure: str) -> dict[str, list[str]]:
        """Layer x layer panels across depths, each on its first model's domain's test set:
        ``depth_matrices``, the base instances of the first deep seed at every depth with
        themselves; ``depth_comparison``, depth 1 against each deeper depth, base and
        fine-tuned. {title: [a_model, b_model, test_set]}."""
        seed, panels = self.deep_seeds[0], {}
        for family in (*DOMAINS, *(f"{d}-from-{other(d)}" for d in DOMAINS)):
            domain, _, source = family.partition("-from-")
            shallow = Instance(domain, seed, source or None)
            if figure == "depth_matrices" and not source:
                for d in self.depths:
                    x = shallow.at_depth(d).name
                    panels[f"{x} with itself"] = [x, x, domain]
            elif figure == "depth_comparison":
                for d in self.deep_depths:
                    x = shallow.at_depth(d).name
                    panels[f"{shallow.name} vs {x}"] = [shallow.name, x, domain]
        return panels

    def checkpoint_matrix_options(self) -> dict:
        """Layer x layer panels of each saved checkpoint of the first synth base instance against
        its final weights, on its own domain's test set, under the headline estimator."""
        inst = parse(self.matrix_instance)
        early = [c for c in self.recorded_checkpoints(inst.name) if c != FINAL]
        return {
            "pairs": {
                f"{inst.name}@{c} vs final": [model_name(inst.name, c), inst.name] for c in early
            },  # fmt: skip
            "test_set": inst.domain,
            "estimator": self.primary_estimator.name,
        }

    def cka_options(self, figure: str, a: str | None = None, b: str | None = None) -> dict:
        """What plot_cka gives the CKA figure ``figure`` (``a``, ``b``: a filter heatmap's pair)."""
        options = {
            "base_layer_strips": {"base": self.base},
            "finetuned_vs_base": {"base": self.base, "finetuned": self.finetuned},
            "layer_matrices": {"pairs": self.layer_matrix_pairs(), "test_set": DOMAINS[0]},
            "checkpoints_vs_final": {"base": self.base},
            "checkpoint_matrices": self.checkpoint_matrix_options(),
            "filter_heatmap": {"a": a, "b": b},
            **{
                f: {
                    "panels": self.depth_panels(f),
                    "estimator": self.primary_estimator.name,
                    # a row per domain; per family (or two) when depth 1 meets the deeper ones
                    "ncol": len(self.depths)
                    if f == "depth_matrices"
                    else max(2, len(self.deep_depths)),
                }
                for f in DEPTH_FIGURES
            },
        }
        if figure not in options:
            raise ValueError(
                f"unknown CKA figure {figure!r}; expected one of {CKA_FIGURES + DEPTH_FIGURES}"
            )
        return options[figure]

    def figures(self) -> list[str]:
        """The file stem of every figure of the study, in reading order."""
        return [
            *TRAINING_FIGURES,
            *(f"reconstructions_{d}" for d in DOMAINS),
            *(f"conv1_filters_{i}" for i in self.filter_instances),
            *(f for f in CKA_FIGURES if f != "filter_heatmap"),
            *(DEPTH_FIGURES if self.deep_depths else ()),
            *(f"filters_{a}_vs_{b}" for a, b in self.filter_pairs),
            *(f"chord_{i}" for i in self.filter_instances),
            "null_baselines",
            "claim_effects",
        ]

    def reconstruction_models(self, domain: str) -> dict[str, str]:
        """For a test set: its in-domain base, the other domain's base, and the instance
        fine-tuned from the other domain to this one (first seed); the in-domain base is the
        fine-tuned one's scratch counterpart."""
        s, o = self.seeds[0], other(domain)
        models = (Instance(domain, s), Instance(o, s), Instance(domain, s, o))
        return {role: m.name for role, m in zip(RECONSTRUCTION_ROLES, models, strict=True)}

    # -- job parameters --

    def dataset_params(self, domain: str) -> dict:
        """The plain values that decide a domain's images (a change re-runs exactly its job)."""
        c = self.config
        natural, svhn = domain == "natural", c["natural"]["source"] == "svhn"
        return {
            "images": c["images_per_domain"],
            "seed": c["seed"],
            "val_fraction": c["val_fraction"],
            "test_images": c["test_images"],
            "source": c["natural"]["source"] if natural else "pillow-text",
            "svhn_path": c["natural"]["svhn_path"] if natural else None,
            "font_size": None if natural else list(c["synth"]["font_size"]),
            "fonts": None if natural else c["synth"]["fonts"],
            "photos": c["natural"]["photos"] if natural and not svhn else None,
        }

    def schedule(self, instance: str) -> dict:
        """The TrainConfig of ``instance``: a fine-tuning run has its own cap and, with
        finetune.mode final_phase, starts in the last learning-rate phase; a deeper model starts
        at train.deep_learning_rate."""
        c, inst = self.config, parse(instance)
        finetuned = inst.finetuned
        rate = c["train"]["learning_rate" if inst.depth == 1 else "deep_learning_rate"]
        out = {
            "batch_size": c["train"]["batch_size"],
            "learning_rate": rate,
            **{k: c["train"][k] for k in ("patience", "eval_every")},
            "max_steps": c["finetune" if finetuned else "train"]["max_steps"],
            "pepper": c["noise"]["pepper"],
            "salt": c["noise"]["salt"],
            "start_phase": 2 if finetuned and c["finetune"]["mode"] == "final_phase" else 0,
        }
        if not finetuned:  # (a fine-tuning's params stay as they were: no needless rerun)
            out["early_checkpoints"] = list(c["train"]["early_checkpoints"])
        return out

    def train_images(self, instance: str) -> int | None:
        """How many training images a run uses (None: the whole training split)."""
        return self.config["finetune"]["images"] if parse(instance).finetuned else None
