"""What a study compares, beside what it trains and records (:mod:`.plan`): the estimators, the
filters, the pairs whose intervals and nulls the findings read, and the pairs the measures
beside CKA compare (``similarity.measures``).

Layers and whole models are compared for every pair of models. Single filters (one channel of a
layer, all its positions) only where ``similarity.filters`` asks: their pairs grow as
(instances x channels)^2 per layer, 28 M rows for three seeds of a 64-channel model, so a study
names the layers and instances whose filters it compares (the thesis' presets: all of them; the
schema's default: the first convolution of ``figures.filter_instances``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

from ..model.build import adjacent_convolutions, convolution_chains
from ..names import INIT, depth_of, model_name, parse, parse_model
from ..similarity import Estimator
from .config import ConfigError


@dataclass(frozen=True)
class FilterScope:
    """The filters a study compares (``similarity.filters``).

    ``instances``: the instances (final weights) whose filters are compared; ``layers``:
    ``"first"``, ``"all"`` or layer names, resolved against the model spec by the Gram job
    (:meth:`~ckaflow.model.spec.ModelSpec.filter_layers`); ``across``: every two compared
    instances' filters of a layer in one block (True), or each instance's filters among
    themselves only (False).
    """

    instances: tuple[str, ...]
    layers: str | tuple[str, ...]
    across: bool

    def layers_of(self, model: str) -> str | list[str]:
        """What the Gram job of ``model`` keeps filters of: the chosen layers for a compared
        instance, none for any other model (checkpoints, instances not named)."""
        return self.layer_choice if model in self.instances else []

    @property
    def layer_choice(self) -> str | list[str]:
        """``layers`` as a plain value (a Snakemake param)."""
        return self.layers if isinstance(self.layers, str) else list(self.layers)


def filter_scope(plan, filters: Mapping | None = None) -> FilterScope:
    """The :class:`FilterScope` of ``filters`` (default: ``similarity.filters`` of ``plan``'s
    config) for ``plan``'s instances, whose filter figures draw ``plan.filter_instances``; a
    ConfigError naming the key when it names an instance the study does not have or leaves out
    one that the figures draw."""
    config_filters = plan.config["similarity"]["filters"] if filters is None else filters
    instances, figure_instances = plan.instances, plan.filter_instances
    chosen = config_filters["instances"]
    if chosen is None:
        names = list(figure_instances)
    elif chosen == "all":
        names = list(instances)
    else:
        names = list(dict.fromkeys(chosen))
    problems = [
        f"similarity.filters.instances: {n!r} is not an instance of this study (one of "
        f"{list(instances)})"
        for n in names
        if n not in instances
    ]
    left_out = [n for n in figure_instances if n not in names]
    if left_out:
        problems.append(
            f"similarity.filters.instances: {chosen!r} leaves out {left_out}, whose filters "
            "figures.filter_instances draws; add them, or change figures.filter_instances"
        )
    if problems:
        raise ConfigError("config: " + "\n  ".join(problems))
    layers = config_filters["layers"]
    return FilterScope(
        instances=tuple(n for n in instances if n in names),  # in the study's order
        layers=layers if isinstance(layers, str) else tuple(layers),
        across=config_filters["across"],
    )


@dataclass(frozen=True)
class Comparisons:
    """What the study of ``plan`` (a :class:`~ckaflow.study.plan.Plan`) compares: its
    estimators, its filters (:attr:`filters`), and the pairs of models and of groups whose
    bootstrap intervals and permutation nulls the findings read."""

    plan: object

    @cached_property
    def filters(self) -> FilterScope:
        """``similarity.filters`` resolved (a ConfigError naming the key if it cannot be)."""
        return filter_scope(self.plan)

    @cached_property
    def interval_pairs(self) -> list[tuple[str, str]]:
        """(a_model, b_model) pairs whose layer and model groups get bootstrap intervals: each
        fine-tuned instance with its base and its scratch counterpart; every two base instances,
        trained and at their initial weights; each base instance with its initial weights."""
        base = self.plan.base
        init = {b: model_name(b, INIT) for b in base}
        pairs = []
        for name in self.plan.finetuned:
            inst = parse(name)
            pairs += [(name, inst.base), (name, inst.scratch)]
        for i, a in enumerate(base):
            for b in base[i + 1 :]:
                pairs += [(a, b), (init[a], init[b])]
        return pairs + [(init[b], b) for b in base]

    @cached_property
    def block_models(self) -> list[str]:
        """The models whose adjacent convolutions the block-structure finding compares: every
        deeper instance, the initial weights of the deeper base instances, and their depth-1
        counterparts (trained and initial)."""
        plan = self.plan
        if not plan.deep_depths:
            return []
        deep = plan.deep_base + plan.deep_finetuned
        shallow = [parse(i).at_depth(1).name for i in deep if parse(i).depth == plan.deep_depths[0]]
        bases = [i for i in [*shallow, *deep] if not parse(i).finetuned]
        return [*shallow, *deep, *(model_name(b, INIT) for b in bases)]

    @cached_property
    def interval_rows(self) -> list[tuple[str, str, str, str]]:
        """(a_model, a_group, b_model, b_group) of the intervals of two groups: every two
        convolutions of one chain (:func:`~ckaflow.model.build.convolution_chains`) of each
        :attr:`block_models` model, adjacent ones first."""
        rows = [(m, x, m, y) for m, pairs in self.block_pairs.items() for x, y, _ in pairs]
        for m, pairs in self.block_pairs.items():
            for chain in convolution_chains(pairs):
                rows += [(m, x, m, y) for i, x in enumerate(chain) for y in chain[i + 2 :]]
        return rows

    @cached_property
    def block_pairs(self) -> dict[str, list[tuple[str, str, bool]]]:
        """Each :attr:`block_models` model's adjacent convolutions (first, second, within one
        stage) for the block-structure finding."""
        model = self.plan.config["model"]
        return {m: adjacent_convolutions(model, depth_of(m)) for m in self.block_models}

    @cached_property
    def interval_models(self) -> list[str]:
        """The models the intervals read, in the order of the plan's ``models``."""
        used = {m for pair in self.interval_pairs for m in pair}
        used |= {m for a, _, b, _ in self.interval_rows for m in (a, b)}
        return [m for m in self.plan.models if m in used]

    @cached_property
    def measure_pairs(self) -> list[tuple[str, str]]:
        """(a_model, b_model) whose layers the measures beside CKA (``similarity.measures``)
        compare, every layer of a with every layer of b, for the layer-identification test:
        every two depth-1 base instances of each domain with at least two seeds, a before b, at
        their final weights and at their initial weights (the baseline). None without measures.
        """
        if not self.plan.config["similarity"]["measures"]:
            return []
        by_domain: dict[str, list[str]] = {}
        for name in self.plan.base:
            by_domain.setdefault(parse(name).domain, []).append(name)
        pairs = []
        for seeds in by_domain.values():
            for i, a in enumerate(seeds):
                pairs += [(a, b) for b in seeds[i + 1 :]]
                pairs += [(model_name(a, INIT), model_name(b, INIT)) for b in seeds[i + 1 :]]
        return pairs

    @cached_property
    def measure_models(self) -> dict[str, str]:
        """{model: its instance} of every model :attr:`measure_pairs` reads, in the order of the
        plan's ``models`` (the instance names the activation folder holding the model)."""
        used = {m for pair in self.measure_pairs for m in pair}
        return {m: parse_model(m)[0] for m in self.plan.models if m in used}

    def resample_seed(self, test_set: str) -> list[int]:
        """The bootstrap's seed on a test set: the config's seed and the set's place."""
        return [self.plan.config["seed"], self.plan.domains.index(test_set)]

    @cached_property
    def estimators(self) -> list[Estimator]:
        return [Estimator.from_dict(e) for e in self.plan.config["similarity"]["estimators"]]

    @cached_property
    def primary_estimator(self) -> Estimator:
        """``figures.estimator``: the headline findings', the table's and the baselines'."""
        return Estimator.from_name(self.plan.config["figures"]["estimator"])

    @cached_property
    def estimator_names(self) -> list[str]:
        return [e.name for e in self.estimators]

    @property
    def invariance_instance(self) -> str:
        """The instance whose activations the invariance checks transform."""
        return self.plan.filter_instances[0]

    @cached_property
    def invariance_estimators(self) -> list[str]:
        """The configured estimators CKA's invariances are stated for (unit centring; the linear
        biased one if the config names none)."""
        return [e.name for e in self.estimators if e.centering == "unit"] or [Estimator().name]
