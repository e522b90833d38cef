"""The groups of one model instance: every filter, every layer, the whole model.

A filter group is the units of one channel of one layer (all positions), a layer group all units
of a layer, the model group all units of the instance (named ``{layer}/fNN``, ``{layer}``,
``model`` here). Filter
moments come from one pass over each layer; layer moments are their sums and the model's the sum
of the layers' (never recomputed).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .arrays import array_namespace, device, no_tf32
from .cka import CKAResult, cka_from_hsic, packed_grams
from .estimator import Estimator
from .hsic import hsic_matrix
from .moments import DEFAULT_MEMORY_BUDGET, Moments, filter_moments, group_moments
from .undefined import warn_undefined

log = logging.getLogger(__name__)

MODEL_GROUP = "model"
_FILTER = re.compile(r"^(?P<layer>[^/]+)/f(?P<index>\d{2,})$")


@dataclass(frozen=True)
class Group:
    """A group of units of a model: a filter of a layer, a whole layer, or the whole model."""

    layer: str | None = None  # None: the whole model
    index: int | None = None  # a filter's channel index

    @property
    def kind(self) -> str:
        return "model" if self.layer is None else "layer" if self.index is None else "filter"

    @property
    def name(self) -> str:
        if self.layer is None:
            return MODEL_GROUP
        return self.layer if self.index is None else filter_group(self.layer, self.index)


def filter_group(layer: str, index: int) -> str:
    """``conv1/f07``: channel ``index`` of ``layer``."""
    if "/" in layer or layer == MODEL_GROUP or index < 0:
        raise ValueError(f"no filter group for layer {layer!r}, index {index}")
    return f"{layer}/f{index:02d}"


def parse_group(name: str) -> Group:
    """The :class:`Group` called ``name``."""
    name = str(name)
    if name == MODEL_GROUP:
        return Group()
    m = _FILTER.match(name)
    if m:
        return Group(m["layer"], int(m["index"]))
    if not name or "/" in name:
        raise ValueError(f"bad group name {name!r}: expected '<layer>/fNN', '<layer>' or 'model'")
    return Group(name)


def is_filter(name: str) -> bool:
    return parse_group(name).kind == "filter"


def instance_moments(
    layers: Mapping[str, np.ndarray],
    *,
    channel_axis: int = -1,
    precision: str = "float32",
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    global_terms: bool = True,
    name: str = "instance",
    xp=None,
) -> tuple[list[str], Moments]:
    """Group names and moments of one instance: all filters (layer by layer), then every layer,
    then the model. ``layers`` maps a layer name to its activations, (n, ..., c) or with
    ``channel_axis=1`` (n, c, ...) (faster); a memory-mapped array is read one channel block at a
    time. A layer of (n, units) (dense) has no filters, only its layer group. ``xp``: the array
    API namespace to compute in (default: the arrays' own).
    """
    parts = _instance_parts(
        layers, channel_axis, precision, memory_budget, global_terms, name, xp, set(layers)
    )
    return [g for names, _ in parts for g in names], Moments.concat([m for _, m in parts])


def _instance_parts(
    layers, channel_axis, precision, memory_budget, global_terms, name, xp, filter_layers
):
    """[(group names, their Moments)]: the filters of each layer of ``filter_layers``, then the
    layers, then the model. Every layer is summed as it is read (never one (n, n) Gram per
    channel for it; a layer whose filters are wanted is read twice)."""
    parts, totals = [], []
    for layer, act in layers.items():
        opts = dict(
            precision=precision,
            memory_budget=memory_budget,
            global_terms=global_terms,
            name=f"{name}:{layer}",
            xp=xp,
        )
        if act.ndim == 2:  # (n, units): a dense layer has no channels, only its layer group
            totals.append(group_moments(act, **opts))
            continue
        if layer not in filter_layers:
            totals.append(filter_moments(act, channel_axis=channel_axis, total=True, **opts))
            continue
        m = filter_moments(act, channel_axis=channel_axis, **opts)
        parts.append(([filter_group(layer, i) for i in range(len(m))], m))
        # the layer made as every layer is (its channels' products summed inside one product
        # per block), not from its filters' Grams: its numbers are the same whether or not its
        # filters are compared
        totals.append(filter_moments(act, channel_axis=channel_axis, total=True, **opts))
        log.debug("moments of %s: %d filters", layer, len(m))
    per_layer = Moments.concat(totals)
    return [*parts, (list(layers), per_layer), ([MODEL_GROUP], per_layer.total())]


def packed_instance(
    layers: Mapping[str, np.ndarray],
    estimators: Sequence[Estimator],
    keep: Callable[[str], bool] | None = None,
    *,
    channel_axis: int = -1,
    precision: str = "float32",
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    name: str = "instance",
    xp=None,
) -> tuple[list[str], dict]:
    """Group names of one instance and, per estimator, its packed centred Grams (g, m).

    ``keep`` (a group name -> bool) drops groups after their moments are made (a layer's moments
    are its filters' sums, so they are computed either way). The other arguments are
    :func:`instance_moments`'. Each part's Grams are packed straight into the output (no copy of
    all the instance's n x n Grams), an array of the computing namespace ``xp``.
    """
    global_terms = any(e.centering == "global" for e in estimators)
    filter_layers = {  # the layers with a filter group to keep: their channels' Grams are made
        layer
        for layer, act in layers.items()
        if act.ndim > 2
        and (
            keep is None
            or any(keep(filter_group(layer, i)) for i in range(act.shape[channel_axis]))
        )
    }
    parts = _instance_parts(
        layers, channel_axis, precision, memory_budget, global_terms, name, xp, filter_layers
    )
    if keep is not None:
        picked = [np.array([keep(g) for g in names], dtype=bool) for names, _ in parts]
        parts = [_kept(*part, p) for part, p in zip(parts, picked, strict=True) if p.any()]
    names = [g for part, _ in parts for g in part]
    n, first = parts[0][1].n, parts[0][1].gram
    xp = array_namespace(first)
    out = {
        e: xp.empty((len(names), n * (n + 1) // 2), dtype=xp.float64, device=device(first))
        for e in estimators
    }
    row = 0
    for part, m in parts:
        for e in estimators:
            packed_grams(m, **e.options(), out=out[e][row : row + len(part), ...])
        row += len(part)
    return names, out


def _kept(names: list[str], m: Moments, keep: np.ndarray) -> tuple[list[str], Moments]:
    """The groups of a part where ``keep`` (g,) holds; a part kept whole is not copied (a filter
    layer's Grams are (c, n, n), the largest arrays of a Gram job)."""
    if keep.all():
        return names, m
    return [g for g, k in zip(names, keep, strict=True) if k], m.select(keep)


def block_cka(packed, names: list[str], n: int, estimator: Estimator) -> CKAResult:
    """CKA of every ordered pair of the groups whose packed centred Grams are ``packed`` (g, m):
    one matrix product, in packed's namespace. ``names`` (g,) name the groups that do not vary in
    the warning."""
    return block_cka_of_hsic(block_hsic(packed, n, estimator), names)


def block_hsic(packed, n: int, estimator: Estimator):
    """HSIC of every ordered pair of the groups whose packed centred Grams on n examples are
    ``packed`` (g, m): (g, g), one matrix product in packed's namespace. On minibatches
    (Nguyen et al. 2021) the HSIC of each batch is averaged, then :func:`block_cka_of_hsic`."""
    with no_tf32(array_namespace(packed)):
        return hsic_matrix(packed, n=n, debiased=estimator.debiased)


def block_cka_of_hsic(xy, names: list[str]) -> CKAResult:
    """CKA of every pair from their HSIC (g, g) (:func:`block_hsic`, or its mean over
    minibatches); ``names`` (g,) name the groups that do not vary in the warning."""
    xx = array_namespace(xy).linalg.diagonal(xy)
    warn_undefined(names, xx)
    return CKAResult(cka_from_hsic(xy, xx, xx), xy, xx, xx, "gram")


def group_cka(
    instances: Mapping[str, Mapping[str, np.ndarray]],
    estimators: Sequence[Estimator] | None = None,
    **kwargs,
) -> tuple[list[str], dict[str, CKAResult]]:
    """CKA of every pair of groups of every instance on one test set.

    ``instances`` maps an instance name to its layers (name -> (n, ..., c)); all share n.
    ``kwargs`` (channel_axis, precision, memory_budget) go to :func:`instance_moments`.
    Returns the group names ``"{instance}:{group}"`` and, per estimator name, a :class:`CKAResult`
    over all of them. Each instance's Grams are packed as soon as they are made, so memory holds
    one instance's activations at a time. (The workflow runs the same two steps, with the packed
    Grams stored in between: :mod:`ckaflow.stages.hsic`.)
    """
    estimators = list(estimators or [Estimator()])
    names: list[str] = []
    packed: dict[Estimator, list[np.ndarray]] = {e: [] for e in estimators}
    n = None
    for instance, layers in instances.items():
        n = _common_n(instance, layers, n, min_n=4 if any(e.debiased for e in estimators) else 2)
        groups, per_estimator = packed_instance(layers, estimators, name=instance, **kwargs)
        names += [f"{instance}:{g}" for g in groups]
        for e, a in per_estimator.items():
            packed[e].append(a)
        log.info("packed %s: %d groups", instance, len(groups))
    return names, {
        e.name: block_cka(array_namespace(*packed[e]).concat(packed.pop(e)), names, n, e)
        for e in estimators
    }


def _common_n(instance: str, layers: Mapping[str, np.ndarray], n: int | None, min_n: int) -> int:
    shapes = {f"{instance}:{k}": v.shape for k, v in layers.items()}
    ns = {shape[0] for shape in shapes.values()} | ({n} if n else set())
    if len(ns) != 1:
        raise ValueError(f"all layers need the same n as the instances before: {shapes}, n = {n}")
    n = ns.pop()
    if n < min_n:
        raise ValueError(f"too few examples for CKA: {shapes}")
    return n
