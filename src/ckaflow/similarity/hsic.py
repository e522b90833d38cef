"""HSIC between every pair of two sets of Gram matrices, as one matrix product.

With H = I - 11'/n, the biased estimator (Gretton et al. 2005) is

    HSIC(K, L) = tr(K H L H) / (n - 1)^2 = <HKH, HLH>_F / (n - 1)^2

and the unbiased estimator of Song et al. (2012), in the form Kornblith et al. (2019) use, is

    HSIC_u(K, L) = <U(K), U(L)>_F / (n (n - 3)),

where U zeroes the diagonal and subtracts row and column means with the (n - 2) and 2(n - 1)
corrections (:func:`centre_grams`). Either way HSIC is an inner product of *centred* Grams, so all
pairs of groups cost one product of the flattened centred Grams. Grams are symmetric: only the
upper triangle is kept, off-diagonal entries scaled by sqrt(2), which halves the product and
leaves every inner product unchanged.

``centering="global"`` is the source thesis' convention: the Gram of the globally centred
activations is used as it is, without H (so HSIC = tr(KL) / (n - 1)^2). It is not standard CKA.
"""

from __future__ import annotations

import functools

import numpy as np


def centre_grams(k: np.ndarray, *, debiased: bool = False, centering: str = "unit") -> np.ndarray:
    """Centred copies of Grams k (g, n, n): HKH, U(K) if ``debiased``, K itself if ``global``."""
    k = np.array(k, dtype=np.float64, copy=True)
    n = k.shape[-1]
    if centering == "global":
        return k
    if debiased:
        idx = np.arange(n)
        k[:, idx, idx] = 0.0
        means = k.sum(axis=1) / (n - 2)  # (g, n)
        means -= means.sum(axis=1, keepdims=True) / (2 * (n - 1))
        k -= means[:, :, None]
        k -= means[:, None, :]
        k[:, idx, idx] = 0.0
        return k
    col = k.mean(axis=1)  # (g, n)
    k -= col[:, None, :]
    k -= k.mean(axis=2, keepdims=True)
    return k


def hsic_scale(n: int, debiased: bool) -> float:
    """The factor that turns <centred K, centred L> into HSIC."""
    return 1.0 / (n * (n - 3)) if debiased else 1.0 / (n - 1) ** 2


def pack(kt: np.ndarray) -> np.ndarray:
    """(g, n, n) symmetric -> (g, n(n+1)/2): upper triangle, off-diagonal times sqrt(2).

    For symmetric A, B: pack(A) . pack(B) = <A, B>_F.
    """
    g, n, _ = kt.shape
    out = np.empty((g, n * (n + 1) // 2))
    offset = 0
    for i in range(n):  # row by row: contiguous slices copy faster than a fancy-index gather
        out[:, offset : offset + n - i] = kt[:, i, i:]
        offset += n - i
    out *= _triu_weights(n)
    return out


def packed_centred(
    k: np.ndarray, *, debiased: bool = False, centering: str = "unit", out: np.ndarray | None = None
) -> np.ndarray:
    """``pack(centre_grams(k, ...))`` without the centred (g, n, n) copy: each packed row is
    centred as it is copied out of k. (g, n, n) -> (g, n(n+1)/2), into ``out`` when given."""
    g, n, _ = k.shape
    row = np.zeros((g, n))  # centred K_ij = K_ij - row_i - row_j + total (unit centring)
    total = np.zeros((g, 1))
    if centering != "global":
        if debiased:  # U(K)_ij = K_ij - m_i - m_j off the diagonal (means without the diagonal)
            diag = np.einsum("gii->gi", k)
            row = (k.sum(axis=1) - diag) / (n - 2)
            row -= row.sum(axis=1, keepdims=True) / (2 * (n - 1))
        else:
            row = k.mean(axis=1)
            total = row.mean(axis=1, keepdims=True)
    out = np.empty((g, n * (n + 1) // 2)) if out is None else out
    offset = 0
    for i in range(n):
        seg = out[:, offset : offset + n - i]
        np.subtract(k[:, i, i:], row[:, i : i + 1], out=seg)
        seg -= row[:, i:]
        seg += total
        if debiased and centering != "global":
            seg[:, 0] = 0.0
        offset += n - i
    out *= _triu_weights(n)
    return out


@functools.cache
def _triu_weights(n: int) -> np.ndarray:
    iu, ju = np.triu_indices(n)
    return np.where(iu == ju, 1.0, np.sqrt(2.0))


def hsic_matrix(
    a: np.ndarray, b: np.ndarray | None = None, *, n: int, debiased: bool = False
) -> np.ndarray:
    """HSIC of every pair (i, j): a (ga, m) and b (gb, m) packed centred Grams -> (ga, gb).

    One float64 matrix product. ``b=None`` means b = a (numpy then uses the symmetric rank-k
    update, half the work).
    """
    product = a @ a.T if b is None else a @ b.T
    return product * hsic_scale(n, debiased)


def self_hsic(a: np.ndarray, *, n: int, debiased: bool = False) -> np.ndarray:
    """HSIC(K, K) of each packed centred Gram a (g, m) -> (g,)."""
    return np.einsum("gm,gm->g", a, a) * hsic_scale(n, debiased)
