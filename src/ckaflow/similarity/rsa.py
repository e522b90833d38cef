"""Representational similarity analysis (Kriegeskorte, Mur and Bandettini 2008) between two
representations.

Each representation x (n, p) gives a representational dissimilarity matrix (RDM), (n, n):

    RDM_ij = 1 - corr(x_i, x_j)

corr the Pearson correlation between the activation vectors (p,) of examples i and j, taken
across units. RSA is the Spearman correlation of the two RDMs' upper triangles (i < j: n(n-1)/2
entries; ``scipy.stats.spearmanr``, ties given their mean rank). Symmetric. Invariant to
permuting the units, to a positive scale and a shift of each example's vector (each example on
its own), and to monotone maps of either RDM; not to per-unit scaling or to general orthogonal
maps of the units (the mean across units is not preserved).

Undefined cases: fewer than 3 examples or 2 units per example raise ``ValueError``; an example
whose vector has the same value in every unit (a blank input through a ReLU layer), or an RDM
whose entries are all equal (every example alike), gives NaN with an
:class:`UndefinedMeasureWarning` naming the input and the examples. Units that do not vary over
the examples are kept: RSA compares examples, and a constant unit is part of each of them.

Needs all n examples at once (the ranks are over all pairs); NumPy float64 on the host.
"""

from __future__ import annotations

import math

import numpy as np

from .arrays import numpy_namespace
from .precision import ROUNDING, rounding_floor
from .representations import Representation, representations, undefined

MIN_EXAMPLES = 3  # a rank correlation needs 2 pairs of examples, i < j
MIN_UNITS = 2  # the Pearson correlation of two one-value vectors is undefined
_EPS64 = float(np.finfo(np.float64).eps)


def rsa(x, y) -> float:
    """The Spearman correlation of the upper triangles of x's and y's RDMs (1 - Pearson
    correlation between examples), x (n, ...) and y (n, ...); in [-1, 1]."""
    rx, ry = representations("rsa", x, y, MIN_EXAMPLES)
    for rep in (rx, ry):
        if rep.values.shape[1] < MIN_UNITS:
            raise ValueError(
                f"rsa: {rep.name} (shape {rep.shape}) has {rep.values.shape[1]} unit per example; "
                f"RSA needs >= {MIN_UNITS} (an RDM correlates examples across their units)"
            )
    upper = [_rdm_upper(rep) for rep in (rx, ry)]
    if any(d is None for d in upper):
        return math.nan
    from scipy.stats import spearmanr  # here: scipy.stats takes seconds to import, every job

    return float(spearmanr(upper[0], upper[1]).statistic)


def _rdm_upper(rep: Representation) -> np.ndarray | None:
    """The RDM's entries above the diagonal (n(n-1)/2,), row by row; None after a warning when
    it is undefined (an example that does not vary across units, or a constant RDM)."""
    x = rep.values  # (n, p)
    n, p = x.shape
    mu = x.mean(axis=1)  # (n,): each example's mean over its units
    z = x - mu[:, None]
    z -= z.mean(axis=1, keepdims=True)  # a second pass removes what rounding left of a large mean
    ss = np.sum(z * z, axis=1)  # (n,)
    # The rule for a unit that does not vary (representations), here across an example's units.
    flat = np.flatnonzero(ss <= rounding_floor(numpy_namespace(), rep.dtype, p, mu * mu))
    if flat.size:
        undefined(
            "rsa",
            rep.name,
            f"{flat.size} of its {n} examples (e.g. {flat[:5].tolist()}) have the same value in "
            "every unit, so their Pearson correlation with other examples is undefined",
        )
        return None
    z /= np.sqrt(ss)[:, None]
    i, j = np.triu_indices(n, k=1)
    d = 1.0 - (z @ z.T)[i, j]
    # 1 - z_i.z_j rounds to about p float64 ulps: a spread below that is an RDM of equal entries
    if np.ptp(d) <= ROUNDING * p * _EPS64:
        undefined("rsa", rep.name, "its RDM is constant (all examples alike up to scale and shift)")
        return None
    return d
