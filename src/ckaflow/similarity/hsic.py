"""HSIC between every pair of two sets of Gram matrices, as one matrix product.

With H = I - 11'/n, the biased estimator (Gretton et al. 2005) is

    HSIC(K, L) = tr(K H L H) / (n - 1)^2 = <HKH, HLH>_F / (n - 1)^2

and the unbiased estimator of Song et al. (2012), in the form Kornblith et al. (2019) use, is

    HSIC_u(K, L) = <U(K), U(L)>_F / (n (n - 3)),

where U zeroes the diagonal and subtracts row and column means with the (n - 2) and 2(n - 1)
corrections (:func:`packed_centred`). Either way HSIC is an inner product of *centred* Grams, so all
pairs of groups cost one product of the flattened centred Grams. Grams are symmetric: only the
upper triangle is kept, off-diagonal entries scaled by sqrt(2), which halves the product and
leaves every inner product unchanged.

``centering="global"`` is the source thesis' convention: the Gram of the globally centred
activations is used as it is, without H (so HSIC = tr(KL) / (n - 1)^2). It is not standard CKA.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from .arrays import array_namespace, device, scalars
from .validate import DEBIASED


def hsic_scale(n: int, debiased: bool) -> float:
    """The factor that turns <centred K, centred L> into HSIC."""
    return 1.0 / (n * (n - 3)) if debiased else 1.0 / (n - 1) ** 2


def packed_centred(k, *, debiased: bool = DEBIASED, centering: str = "unit", out=None):
    """Centred Grams k (g, n, n), packed: (g, n(n+1)/2), into ``out`` when given. Centred is
    HKH (unit), U(K) (``debiased``: diagonal zeroed, means corrected) or K itself (``global``);
    packed is the upper triangle with off-diagonal entries times sqrt(2), so that for symmetric
    A, B the packed inner product is <A, B>_F. Centred a block of rows at a time as they are
    copied out of k: no centred (g, n, n) copy. Any array API namespace; ``out`` in k's."""
    xp = array_namespace(k)
    g, n, _ = k.shape
    on = device(k)
    row = xp.zeros((g, n), dtype=xp.float64, device=on)  # centred K_ij = K_ij - r_i - r_j + t
    total = xp.zeros((g, 1), dtype=xp.float64, device=on)
    if centering != "global":
        if debiased:  # U(K)_ij = K_ij - m_i - m_j off the diagonal (means without the diagonal)
            row = (xp.sum(k, axis=1) - xp.linalg.diagonal(k)) / (n - 2)
            row = row - xp.sum(row, axis=1, keepdims=True) / (2 * (n - 1))
        else:
            row = xp.mean(k, axis=1)
            total = xp.mean(row, axis=1, keepdims=True)
    out = xp.empty((g, n * (n + 1) // 2), dtype=xp.float64, device=on) if out is None else out
    zero_diagonal = debiased and centering != "global"
    rows = max(1, min(n, _BLOCK_BYTES // max(1, 8 * g * n)))  # rows centred at once, in cache
    root2, offset = math.sqrt(2.0), 0
    for i0 in range(0, n, rows):  # a block of rows from its diagonal on, then row by row out
        i1 = min(n, i0 + rows)
        block = k[:, i0:i1, i0:] - row[:, i0:i1, None]  # (g, rows, n - i0)
        block -= row[:, None, i0:]
        if block.dtype == total.dtype:
            block += total[:, :, None]
        else:  # float32 Grams: the float64 total promotes, as a row at a time did before
            block = block + total[:, :, None]
        # the diagonal as it is (or 0), without the off-diagonal entries' sqrt(2)
        diagonal = None if zero_diagonal else xp.linalg.diagonal(block[:, :, : i1 - i0]) * 1.0
        block *= root2
        for j in range(i1 - i0):
            out[:, offset : offset + n - i0 - j] = block[:, j, j:]
            out[:, offset] = 0.0 if diagonal is None else diagonal[:, j]
            offset += n - i0 - j
    return out


# Bytes of one block of rows being centred: small enough to stay in cache between its passes,
# large enough that each pass is one call over many rows (a call per row costs as much again).
_BLOCK_BYTES = 1 << 21


@functools.cache
def triu_indices(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows, columns) of an n x n upper triangle in packed order (cached: one per n)."""
    return np.triu_indices(n)


@functools.cache
def _triu_weights(n: int) -> np.ndarray:
    iu, ju = triu_indices(n)
    return np.where(iu == ju, 1.0, np.sqrt(2.0))


@functools.cache
def _full_index(n: int) -> np.ndarray:
    """(n * n,) the packed position of every entry (i, j) of an n x n symmetric matrix."""
    iu, ju = triu_indices(n)
    where = np.empty((n, n), dtype=np.int64)
    where[iu, ju] = where[ju, iu] = np.arange(len(iu))
    return where.ravel()


def unpack(a, n: int):
    """The inverse of packing: packed (g, n(n+1)/2) -> symmetric (g, n, n), the sqrt(2) of
    off-diagonal entries undone; one gather, in a's namespace."""
    xp = array_namespace(a)
    vals = a / scalars(xp, _triu_weights(n), a)
    full = xp.take(vals, xp.asarray(_full_index(n), device=device(a)), axis=1)
    return xp.reshape(full, (a.shape[0], n, n))


def hsic_matrix(a, b=None, *, n: int, debiased: bool = DEBIASED):
    """HSIC of every pair (i, j): a (ga, m) and b (gb, m) packed centred Grams -> (ga, gb).

    One float64 matrix product. ``b=None`` means b = a (numpy then uses the symmetric rank-k
    update, half the work).
    """
    product = a @ a.T if b is None else a @ b.T
    return product * hsic_scale(n, debiased)


def self_hsic(a, *, n: int, debiased: bool = DEBIASED):
    """HSIC(K, K) of each packed centred Gram a (g, m) -> (g,)."""
    xp = array_namespace(a)
    return xp.vecdot(a, a) * hsic_scale(n, debiased)
