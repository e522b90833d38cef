"""A slow, obviously-correct float64 CKA written straight from the formulas.

Explicit centring matrix H and trace forms; the unbiased HSIC in Song et al. (2012)'s own form
(eq. 5), not the centred-Gram form the engine uses. Tests compare the engine against this.
"""

from __future__ import annotations

import numpy as np


def gram(x, kernel="linear", sigma_frac=1.0, centering="unit"):
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    x = x - (x.mean(axis=0) if centering == "unit" else x.mean())
    if kernel == "linear":
        return x @ x.T
    sq = np.sum(x * x, axis=1)
    d = sq[:, None] + sq[None, :] - 2.0 * x @ x.T
    d = np.maximum(d, 0.0)
    return np.exp(-d / (2.0 * sigma_frac**2 * np.median(d)))


def hsic(k, l, debiased=True, centering="unit"):
    n = len(k)
    if centering == "global":
        return np.trace(k @ l) / (n - 1) ** 2
    if not debiased:
        h = np.eye(n) - np.ones((n, n)) / n
        return np.trace(k @ h @ l @ h) / (n - 1) ** 2
    kt, lt = k - np.diag(np.diag(k)), l - np.diag(np.diag(l))
    one = np.ones(n)
    return (
        np.trace(kt @ lt)
        + (one @ kt @ one) * (one @ lt @ one) / ((n - 1) * (n - 2))
        - 2.0 / (n - 2) * (one @ kt @ lt @ one)
    ) / (n * (n - 3))


def cka(x, y, kernel="linear", sigma_frac=1.0, debiased=True, centering="unit"):
    k = gram(x, kernel, sigma_frac, centering)
    l = gram(y, kernel, sigma_frac, centering)
    return hsic(k, l, debiased, centering) / np.sqrt(
        hsic(k, k, debiased, centering) * hsic(l, l, debiased, centering)
    )
