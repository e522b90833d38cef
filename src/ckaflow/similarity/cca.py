"""Canonical correlation analysis between two representations: CCA, SVCCA and PWCCA.

x (n, p1) and y (n, p2), each unit centred over the n examples. With Q_x (n, r1) and Q_y (n, r2)
orthonormal bases of their column spaces (from the SVD of the centred data, not from inverted
covariance matrices), the canonical correlations rho_1 >= ... >= rho_m, m = min(r1, r2), are the
singular values of Q_x' Q_y (the cosines of the principal angles between the two spaces; Björck
and Golub 1973). Kornblith et al. (2019, Section 3 and Table 2) summarise them as

    R^2_CCA = sum_i rho_i^2 / m = ||Q_y' Q_x||_F^2 / m        rho-bar = sum_i rho_i / m

(``statistic="r2"`` and ``"rho"``). Their m is min(p1, p2): the same for inputs of full rank.

Undefined cases, the same for the three measures:

* Two subspaces of dimensions r1 and r2 of the n - 1 dimensions centred examples span share at
  least r1 + r2 - (n - 1) directions: that many canonical correlations are 1 whatever the data.
  When that is all of them (a representation whose centred units span all n - 1 dimensions:
  features >= examples - 1) the measure is undefined and raises ``ValueError``; when it is some
  of them, cca and svcca warn (:class:`UndefinedMeasureWarning`) saying how many, and pwcca
  raises ``ValueError``: tied correlations have no unique variates, so its weights of them
  would be arbitrary.
* A unit that does not vary over the examples (a dead unit) has no correlation with anything:
  cca and pwcca drop it and warn saying how many; svcca's SVD gives it no direction (no warning).
  Units that are linear combinations of others add no direction either: cca and pwcca warn that
  the mean is over min(r1, r2) canonical correlations, not over min(p1, p2).
* A representation none of whose units vary: NaN with an :class:`UndefinedMeasureWarning`.

All three need all n examples at once; NumPy float64 on the host (inputs of any array library are
copied there).
"""

from __future__ import annotations

import math

import numpy as np

from .representations import (
    Representation,
    check_statistic,
    representations,
    undefined,
    warn_measure,
)

STATISTIC = "r2"  # Kornblith et al.'s R^2_CCA; "rho" for the mean canonical correlation
MIN_EXAMPLES = 3  # with n = 2 the centred examples span one dimension: every correlation is 1
_CONSTANT = "it does not vary over the examples (every unit is constant: a dead layer)"
_HINT = "reduce with svcca(x, y), or use fewer units or more examples"
# Why PWCCA cannot take correlations forced to 1, as CCA can with a warning:
_ARBITRARY = (
    "and PWCCA would weight them by variates that are an arbitrary basis of the directions the "
    "two spans share by construction"
)


def cca(x, y, *, statistic: str = STATISTIC) -> float:
    """R^2_CCA (``statistic="r2"``) or the mean canonical correlation rho-bar (``"rho"``) of
    x (n, ...) and y (n, ...) (Kornblith et al. 2019, Table 2). Symmetric; invariant to
    invertible linear maps of either representation. Undefined cases: see the module docstring.
    """
    check_statistic("cca", statistic)
    rx, ry = representations("cca", x, y, MIN_EXAMPLES)
    units = [_varying_basis("cca", rep) for rep in (rx, ry)]
    if any(u is None for u in units):
        return math.nan
    (_, qx), (_, qy) = units
    rho, _ = _canonical("cca", rx, qx, ry, qy, _HINT)
    return _summary(rho, statistic)


def svcca(x, y, *, keep: float = 0.99, statistic: str = STATISTIC) -> float:
    """SVCCA (Raghu et al. 2017): each centred representation reduced to its fewest top singular
    directions that explain ``keep`` of its variance (sum of s_i^2), then :func:`cca` of the two
    reductions. Raghu et al. report the mean canonical correlation: ``statistic="rho"``.

    x (n, ...), y (n, ...); ``keep`` in (0, 1] (1 keeps every direction above rounding).
    """
    check_statistic("svcca", statistic)
    keep = _check_keep(keep)
    rx, ry = representations("svcca", x, y, MIN_EXAMPLES)
    reduced = []
    for rep in (rx, ry):
        u, s = rep.basis(equilibrate=False)  # (n, r), (r,): the SVD depends on scales
        if s.size == 0:
            return undefined("svcca", rep.name, _CONSTANT)
        reduced.append(u[:, : _directions(s, keep)])
    hint = f"lower keep (now {keep}) or use more examples"
    rho, _ = _canonical("svcca", rx, reduced[0], ry, reduced[1], hint)
    return _summary(rho, statistic)


def pwcca(x, y) -> float:
    """Projection-weighted CCA (Morcos et al. 2018): sum_i alpha_i rho_i with

        alpha_i = sum_j |<h_i, x_j>| / sum_k sum_j |<h_k, x_j>|

    h_i (n,) the i-th canonical variate of x (unit length), x_j (n,) the j-th centred unit of x:
    each correlation weighted by how much of **x** its variate accounts for. Not symmetric:
    ``pwcca(y, x)`` weights by y. Morcos et al.'s distance is 1 - pwcca(x, y). Their published
    code weights whichever side has fewer units and adds the units' means back to the variates;
    here x is weighted always, with centred variates, as in the paper's definition.
    """
    rx, ry = representations("pwcca", x, y, MIN_EXAMPLES)
    units = [_varying_basis("pwcca", rep) for rep in (rx, ry)]
    if any(u is None for u in units):
        return math.nan
    (xc, qx), (_, qy) = units
    rho, rotation = _canonical("pwcca", rx, qx, ry, qy, _HINT, forced_ok=False)
    h = qx @ rotation  # (n, m): the canonical variates of x, orthonormal
    alpha = np.sum(np.abs(h.T @ xc), axis=1)  # (m,)
    return float(alpha @ rho / alpha.sum())


def _varying_basis(measure: str, rep: Representation):
    """(xc (n, p'), Q (n, r)): the centred units that vary and a basis of their span, after
    warning of the units dropped or dependent; None (and a warning) if none varies."""
    xc, dropped = rep.varying_units()
    if xc.shape[1] == 0:
        undefined(measure, rep.name, _CONSTANT)
        return None
    if dropped:
        warn_measure(
            measure,
            f"{rep.name} has {dropped} constant units of {dropped + xc.shape[1]} (dead units: "
            "their correlation with anything is undefined); they are dropped, CCA is over the "
            f"other {xc.shape[1]}",
        )
    q, _ = rep.basis(equilibrate=True)  # CCA does not depend on the units' scales
    # (a span of all n - 1 dimensions is an error in _canonical: no warning before it)
    if q.shape[1] < min(xc.shape[1], rep.n - 1):
        warn_measure(
            measure,
            f"{rep.name}'s {xc.shape[1]} varying units span {q.shape[1]} dimensions (some are "
            f"linear combinations of others): the mean is over min(rank x, rank y) canonical "
            "correlations, not over min(units)",
        )
    return xc, q


def _canonical(
    measure: str, rx, qx, ry, qy, hint: str, *, forced_ok: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """The canonical correlations rho (m,) of the spans of qx (n, r1) and qy (n, r2), descending,
    and U (r1, m): the canonical variates of x are qx U. ``ValueError`` when every rho is 1 by
    construction; when some are, a warning (``forced_ok``) or ``ValueError``."""
    n, r1, r2 = rx.n, qx.shape[1], qy.shape[1]
    m, forced = min(r1, r2), r1 + r2 - (n - 1)
    if forced >= m:
        rep, r = (rx, r1) if r1 >= r2 else (ry, r2)
        raise ValueError(
            f"{measure}: {rep.name} has {math.prod(rep.shape[1:])} features (rank {r}) for {n} "
            "examples; CCA is undefined (every canonical correlation is 1) when a "
            f"representation's centred units span all n - 1 = {n - 1} dimensions (features >= "
            f"examples - 1): {hint}"
        )
    if forced > 0:
        message = (
            f"{rx.name} (rank {r1}) and {ry.name} (rank {r2}) span {r1 + r2} dimensions of the "
            f"n - 1 = {n - 1} that centred examples allow: at least {forced} of the {m} canonical "
            "correlations are 1 whatever the data"
        )
        if not forced_ok:
            raise ValueError(f"{measure}: {message}, {_ARBITRARY}; {hint}")
        warn_measure(measure, f"{message}; {hint}")
    u, rho, _ = np.linalg.svd(qx.T @ qy, full_matrices=False)
    # cosines of principal angles: rounding can put the largest a hair above 1
    return np.clip(rho, 0.0, 1.0), u


def _summary(rho: np.ndarray, statistic: str) -> float:
    return float(np.mean(rho * rho) if statistic == "r2" else np.mean(rho))


def _directions(s: np.ndarray, keep: float) -> int:
    """The fewest leading singular directions whose variance sum_i s_i^2 reaches ``keep``."""
    fraction = np.cumsum(s * s) / np.sum(s * s)
    fraction[-1] = 1.0  # 1 by definition: rounding must not leave keep = 1 unreached
    return 1 + int(np.sum(fraction < keep))


def _check_keep(keep) -> float:
    real = isinstance(keep, int | float | np.integer | np.floating) and not isinstance(keep, bool)
    if not (real and 0.0 < keep <= 1.0):
        raise ValueError(f"svcca: keep must be a fraction of the variance in (0, 1], got {keep!r}")
    return float(keep)
