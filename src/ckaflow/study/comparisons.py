"""What a study compares, beside what it trains and records (:mod:`.plan`).

Layers and whole models are compared for every pair of models. Single filters (one channel of a
layer, all its positions) only where ``similarity.filters`` asks: their pairs grow as
(instances x channels)^2 per layer, 28 M rows for three seeds of a 64-channel model, so a study
names the layers and instances whose filters it compares (the thesis' presets: all of them; the
schema's default: the first convolution of ``figures.filter_instances``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

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
