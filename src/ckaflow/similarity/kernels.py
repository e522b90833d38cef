"""Gram matrices of groups of units, computed once and summed, never per pair.

A *group* is a set of units observed on the same n examples: one filter of a layer (all its
positions), a whole layer, or a whole model. Everything here starts from :class:`Moments`, an
additive second-order summary of a group (Kornblith et al. 2019 use only its first field):

    Kc = Xc Xc'       (n, n)  linear Gram of the unit-centred activations Xc = X - 1 mu'
                              (mu: the unit means as computed; the formulas below hold for any mu)
    s  = Xc mu        (n,)    needed only to re-centre globally (the thesis' convention)
    t  = Xc 1         (n,)
    mu_sum = 1' mu, mu_sq = mu' mu, p = number of units

Every field is a sum over units, so the moments of a layer are the sums of its filters' moments
and those of a model the sums of its layers'. The Gram matrix of any kernel follows from them:

* linear, ``centering="unit"`` (standard):   K = Kc
* linear, ``centering="global"``: with m = (mu_sum + 1't / n) / p the mean of all entries of X,
  (X - m)(X - m)' = Kc + a 1' + 1 a' + (mu_sq - 2 m mu_sum + m^2 p) 1 1',  a = s - m t
* RBF: K_ij = exp(-D_ij / (2 sigma^2)), D_ij = Kc_ii + Kc_jj - 2 Kc_ij (distances do not depend
  on centring), sigma^2 = sigma_frac^2 * median(D) over all n^2 entries, as in Kornblith et al.'s
  reference code.

Centring units *before* the product keeps float32 products accurate (PITFALLS: the uncentred Gram
of ReLU activations cancels catastrophically); every n^2-sized accumulator is float64.
"""

from __future__ import annotations

from .arrays import errstate, median
from .moments import Moments
from .precision import rounding_floor


def constant_groups(m: Moments, centering: str = "unit"):
    """(g,) bool: groups whose activations do not vary over the examples beyond the resolution of
    their own values: tr(Kc) <= floor = (16 eps)^2 n sum(mu^2), eps of the input's dtype (float32
    activations: 1.2e-7; float64 data: 2.2e-16). A dead filter (all zeros) has tr(Kc) = 0; a
    near-constant one whose spread is rounding noise would otherwise give CKA values computed
    from that noise. Adding a constant to a unit changes mu, not the spread: it can only make a
    group undefined once the spread is below the rounding of the shifted values.

    ``centering="global"`` re-adds the means through float32 products (s = Xc mu), which cancel
    to float32 accuracy: its floor is float32's whatever the input (undefined, not wrong).
    """
    xp = m.xp
    energy = xp.sum(xp.linalg.diagonal(m.gram), axis=1)  # total centred sum of squares
    floor = m.floor
    if centering == "global":
        floor = xp.maximum(floor, rounding_floor(xp, xp.float32, m.n, m.mu_sq))
    return energy <= floor


def gram_matrices(m: Moments, *, kernel: str = "linear", centering: str = "unit",
                  sigma_frac: float = 1.0):  # fmt: skip
    """Kernel matrices (g, n, n) float64 of every group of ``m``, before any H-centring."""
    if kernel == "rbf":
        return _rbf(m.xp, m.gram, sigma_frac)
    if centering == "unit":
        return m.gram
    if m.s is None or m.t is None:
        raise ValueError("global centring needs moments computed with global_terms=True")
    # (g,) mean of all entries of each group's X = 1'(Xc + 1 mu')1 / (n p), exact for any mu
    xp = m.xp
    mean = (m.mu_sum + xp.sum(m.t, axis=1) / m.n) / m.p
    a = m.s - mean[:, None] * m.t  # (g, n)
    c = m.mu_sq - 2.0 * mean * m.mu_sum + mean**2 * m.p  # (g,)
    return m.gram + a[:, :, None] + a[:, None, :] + c[:, None, None]


def _rbf(xp, kc, sigma_frac: float):
    """RBF kernels from unit-centred linear Grams kc (g, n, n)."""
    diag = xp.linalg.diagonal(kc)
    d = xp.maximum(diag[:, :, None] + diag[:, None, :] - 2.0 * kc, 0.0)  # cancellation: tiny < 0
    med = median(xp, xp.reshape(d, (d.shape[0], -1)))  # Kornblith et al.: over all n^2 entries
    with errstate(xp):  # median 0: a group that does not vary
        return xp.exp(-d / (2.0 * sigma_frac**2 * med)[:, None, None])
