"""Moments: the additive summaries of groups of units that every similarity number is made
from (defined in :mod:`.kernels`' docstring; computed by :mod:`.moments`). Additive: the
moments of a union of groups are the sums of theirs, and they stack and select like arrays."""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

import numpy as np

from .arrays import array_namespace, device


@dataclass(frozen=True)
class Moments:
    """Additive summaries of g groups of units on n examples (see the module docstring).

    gram : (g, n, n) float64    s, t : (g, n) float64    mu_sum, mu_sq, p, floor : (g,) float64
    ``s`` and ``t`` are None when only unit centring was asked for (they cost a pass over the data).
    ``floor`` is the centred sum of squares that rounding alone could give: (16 eps)^2 n sum(mu^2)
    with eps the resolution of the input's own dtype (see :func:`constant_groups`); a sum too.
    Arrays of any array API namespace (all the same one, on one device).
    """

    gram: object
    s: object | None
    t: object | None
    mu_sum: object
    mu_sq: object
    p: object
    floor: object

    @property
    def n(self) -> int:
        return self.gram.shape[1]

    @property
    def xp(self) -> ModuleType:
        return array_namespace(self.gram)

    def __len__(self) -> int:
        return self.gram.shape[0]

    def total(self) -> Moments:
        """The moments of the union of all g groups, as one group: (1, n, n)."""
        xp = self.xp
        return Moments(
            *(None if f is None else xp.sum(f, axis=0, keepdims=True) for f in self._fields())
        )

    def select(self, keep) -> Moments:
        """The groups where ``keep`` (a host boolean or index array over the g groups) selects."""
        keep = np.asarray(keep)
        index = np.flatnonzero(keep) if keep.dtype == bool else keep.astype(np.int64)
        xp = self.xp
        idx = xp.asarray(index, device=device(self.gram))
        return Moments(*(None if f is None else xp.take(f, idx, axis=0) for f in self._fields()))

    def _fields(self) -> tuple:
        return (self.gram, self.s, self.t, self.mu_sum, self.mu_sq, self.p, self.floor)

    @staticmethod
    def concat(parts: list[Moments]) -> Moments:
        """Stack the groups of several :class:`Moments` in order."""
        if len(parts) == 1:
            return parts[0]
        xp = parts[0].xp
        fields = zip(*(m._fields() for m in parts), strict=True)
        return Moments(*(None if any(f is None for f in fs) else xp.concat(fs) for fs in fields))
