"""Moments of named groups, with channel slices of one array gathered in one pass.

A user holding channels-last activations ``x`` (n, h, w, c) names its filters ``x[..., k]`` and
the layer ``x`` itself (channels-first: ``x[:, k]`` and ``x``). A channels-last filter view is
strided (one value in every c), so computing it alone reads the whole layer from memory once per
filter; and the layer's Gram is the sum of its filters'. Here views that are channels of one array
(same memory, shape, strides and dtype, data pointers a whole number of channel strides apart)
are recognised and their moments computed together by :func:`filter_moments` on the strided
parent (one gather per block of channels when they are channels-last), and an array that holds
exactly the parent's elements (the layer, in either layout) gets the sum of its channels'
moments: no second pass over it. Anything else is computed on its own.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .moments import Moments, filter_moments, group_moments


def named_moments(named: Mapping[str, np.ndarray], **kwargs) -> Moments:
    """Moments of each array of ``named`` (name -> (n, ...)) as one group, in order.

    ``kwargs`` (precision, memory_budget, global_terms) go to :func:`filter_moments`.
    """
    parts: dict[str, Moments] = {}
    numpy_arrays = {k: v for k, v in named.items() if isinstance(v, np.ndarray)}
    for parent, channels, layers in _channel_sets(numpy_arrays):
        m = filter_moments(parent, channel_axis=-1, name=f"{channels[0][0]} and its channels",
                           **kwargs)  # fmt: skip
        for name, c in channels:
            parts[name] = m.select([c])
        for name in layers:
            parts[name] = m.total()
    for name, x in named.items():
        if name not in parts:
            parts[name] = group_moments(x, name=name, **kwargs)
    return Moments.concat([parts[name] for name in named])


def _root(a: np.ndarray) -> np.ndarray:
    """The array that owns ``a``'s memory (views of views collapse to it)."""
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


def _pointer(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


def _channel_sets(named: Mapping[str, np.ndarray]):
    """(strided parent (n, ..., C), [(name, channel)], [names of arrays equal to the parent])
    for every set of at least two channel views of one array."""
    views = defaultdict(list)  # (owner, shape, strides, dtype) -> [(name, pointer)]
    for name, v in named.items():
        if v.ndim >= 2 and v.dtype.kind == "f" and v.base is not None:
            views[id(_root(v)), v.shape, v.strides, v.dtype.str].append((name, _pointer(v)))
    for (_, shape, strides, dtype), members in views.items():
        pointers = sorted({p for _, p in members})
        if len(pointers) < 2:
            continue
        step = math.gcd(*(b - a for a, b in zip(pointers, pointers[1:], strict=False)))
        count = (pointers[-1] - pointers[0]) // step + 1
        if step % np.dtype(dtype).itemsize or count > 2 * len(pointers):
            continue  # not whole elements apart, or too sparse to be worth a gather
        first = next(named[n] for n, p in members if p == pointers[0])
        # Every element of the parent lies between the first and last views' (all addresses are
        # linear in the channel), so inside the memory they share.
        parent = as_strided(first, shape + (count,), strides + (step,), writeable=False)
        channels = [(n, (p - pointers[0]) // step) for n, p in members]
        layers = [n for n, x in named.items() if _is_parent(x, parent, id(_root(first)))]
        yield parent, channels, layers


def _is_parent(x: np.ndarray, parent: np.ndarray, owner: int) -> bool:
    """Whether ``x`` holds exactly the parent's elements, its channel axis anywhere after the
    first (a channels-first layer (n, c, h, w) is the parent of its views x[:, k])."""
    if x.ndim != parent.ndim or x.dtype != parent.dtype or _pointer(x) != _pointer(parent):
        return False
    if id(_root(x)) != owner:
        return False
    return any(
        np.moveaxis(x, axis, -1).shape == parent.shape
        and np.moveaxis(x, axis, -1).strides == parent.strides
        for axis in range(1, x.ndim)
    )
