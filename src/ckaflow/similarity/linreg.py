"""Linear regression fit between two representations, as Kornblith et al. (2019, Table 2) use it.

x (n, p1) and y (n, p2), each unit centred over the examples; Q_x (n, r) an orthonormal basis of
x's column space (r its rank). The R^2 of the least-squares fit of every unit of y from x
(with an intercept: the centring), pooled over y's units:

    R^2_LR = 1 - ||Y - X (X'X)^+ X'Y||_F^2 / ||Y||_F^2 = ||Q_x' Y||_F^2 / ||Y||_F^2

Not symmetric: ``linreg(x, y)`` is how well x predicts y. Invariant to invertible linear maps of
x, and to orthogonal maps and isotropic scaling of y. Rank-deficient x (n < p, dependent units)
is fine: Q_x spans what x spans. When x's centred units span all n - 1 dimensions the centred
examples allow (features >= examples - 1), every y is fit exactly: R^2 = 1, with an
:class:`UndefinedMeasureWarning` saying so. A representation none of whose units vary: NaN with
the same warning (a constant y has no variance to explain; a constant x is a dead layer).

Needs all n examples at once; NumPy float64 on the host.
"""

from __future__ import annotations

import numpy as np

from .representations import representations, undefined, warn_measure

MIN_EXAMPLES = 2
_CONSTANT = "it does not vary over the examples"


def linreg(x, y) -> float:
    """R^2 of the least-squares fit of y (n, ...) from x (n, ...): ||Q_x' Y||_F^2 / ||Y||_F^2
    with centred data (Kornblith et al. 2019). Not symmetric; in [0, 1]."""
    rx, ry = representations("linreg", x, y, MIN_EXAMPLES)
    q, _ = rx.basis(equilibrate=True)  # (n, r): the fit does not depend on x's units' scales
    yc = ry.centred()[0]  # (n, p2)
    if q.shape[1] == 0:
        return undefined("linreg", rx.name, _CONSTANT)
    if not np.any(yc):
        return undefined("linreg", ry.name, _CONSTANT)
    if q.shape[1] >= rx.n - 1:
        warn_measure(
            "linreg",
            f"{rx.name} ({rx.values.shape[1]} features, rank {q.shape[1]}) spans all n - 1 = "
            f"{rx.n - 1} dimensions of the centred examples: any y is fit exactly (R^2 = 1 "
            "whatever y is); use fewer units or more examples",
        )
    r2 = np.sum((q.T @ yc) ** 2) / np.sum(yc * yc)
    # a projection keeps at most all of ||Y||^2; rounding can exceed it by an ulp
    return float(min(r2, 1.0))
