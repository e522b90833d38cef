"""The orthogonal Procrustes distance between two representations (Ding et al. 2021; Williams et
al. 2021).

x (n, p1) and y (n, p2): each unit centred over the examples, then each representation divided by
its Frobenius norm (||X||_F = ||Y||_F = 1). Over orthogonal maps R (the narrower side padded with
zero units, so different widths are fine):

    d(X, Y) = min_R ||X R - Y||_F^2 = 2 - 2 ||X' Y||_*          (Schönemann 1966)

||.||_* the nuclear norm (the sum of the singular values). Ding et al. (2021) use d; Williams et
al.'s (2021) angular shape metric is arccos(||X' Y||_*) (``angular=True``). Both lie in
[0, 2] and [0, pi/2]; 0 when y is a rotation (or reflection) of x up to scale. Invariant to
orthogonal maps and isotropic scaling of either representation, not to other invertible linear
maps. n < p is fine. Units that do not vary contribute nothing; a representation none of whose
units vary has no direction to compare: NaN with an :class:`UndefinedMeasureWarning`.

Needs all n examples at once; NumPy float64 on the host.
"""

from __future__ import annotations

import math

import numpy as np

from .representations import check_flag, left_singular, representations, undefined

MIN_EXAMPLES = 2


def procrustes(x, y, *, angular: bool = False) -> float:
    """The Procrustes distance 2 - 2 ||X'Y||_* between x (n, ...) and y (n, ...), centred and
    Frobenius-normalised (Ding et al. 2021), or arccos(||X'Y||_*) with ``angular=True`` (Williams
    et al. 2021). A distance: 0 for the same representation up to rotation and scale. Symmetric.
    """
    angular = check_flag("procrustes", "angular", angular)
    rx, ry = representations("procrustes", x, y, MIN_EXAMPLES)
    factors = []
    for rep in (rx, ry):
        u, s = left_singular(rep.centred()[0])  # (n, k), (k,)
        if not s.size or s[0] == 0.0:
            return undefined("procrustes", rep.name, "it does not vary over the examples")
        factors.append(u * (s / np.linalg.norm(s)))  # (n, k) = X V: X' Y's singular values
    nuclear = _nuclear_norm(*factors)
    return math.acos(nuclear) if angular else 2.0 - 2.0 * nuclear


def _nuclear_norm(a: np.ndarray, b: np.ndarray) -> float:
    """||X' Y||_* from X = a V1', Y = b V2' (V1, V2 with orthonormal columns): the singular
    values of X' Y = V1 a' b V2' are those of a' b, (k1, k2) with k <= n however wide x and y."""
    nuclear = float(np.sum(np.linalg.svd(a.T @ b, compute_uv=False)))
    # ||X'Y||_* <= ||X||_F ||Y||_F = 1; rounding can exceed it by an ulp
    return min(nuclear, 1.0)
