"""Minibatch CKA for n too large for n x n Grams (Nguyen, Raghu & Kornblith 2021).

The examples are split into fixed, seeded minibatches of ``batch_size``. On each batch the unbiased
HSIC estimator (Song et al. 2012) of every pair is computed; the *numerators* (and the self terms)
are summed over batches and normalised once:

    CKA_mb = sum_b HSIC_u(K_b, L_b) / sqrt(sum_b HSIC_u(K_b, K_b) * sum_b HSIC_u(L_b, L_b))

This is not the average of per-batch CKA values, which is a different and strongly inflated
quantity. Batches under 4 examples (the unbiased estimator needs n >= 4) are skipped. One batch
holding every example gives exactly the full debiased CKA.
"""

from __future__ import annotations

import numpy as np

from .arrays import array_namespace, device, no_tf32
from .cka import cka_from_hsic, packed_grams
from .hsic import hsic_matrix, self_hsic
from .moments import Moments, group_moments
from .undefined import warn_undefined
from .validate import (
    Arrays,
    align_examples,
    check_arrays,
    check_options,
    check_seed,
    named_arrays,
)

MIN_BATCH = 4


def batch_bounds(n: int, batch_size: int | None) -> list[int]:
    """The first example of each minibatch and n: ``[0, b, 2b, ..., n]`` for consecutive
    batches of ``batch_size`` examples (None, or n or more: one batch of all n). A last batch
    under :data:`MIN_BATCH` examples (too few for the unbiased estimator) joins the one before."""
    if batch_size is None or batch_size >= n:
        return [0, n]
    if not (isinstance(batch_size, int | np.integer) and batch_size >= MIN_BATCH):
        raise ValueError(f"batch_size must be an integer >= {MIN_BATCH}, got {batch_size!r}")
    bounds = list(range(0, n, int(batch_size))) + [n]
    if bounds[-1] - bounds[-2] < MIN_BATCH:
        del bounds[-2]
    return bounds


def minibatch_cka_matrix(
    xs: Arrays,
    ys: Arrays | None = None,
    *,
    batch_size: int,
    seed: int = 0,
    kernel: str = "linear",
    sigma_frac: float = 1.0,
    precision: str = "float32",
):
    """Debiased minibatch CKA of every pair (xs[i], ys[j]) -> (len(xs), len(ys))."""
    check_options(kernel, sigma_frac, True, "unit", precision)
    if not (isinstance(batch_size, int | np.integer) and batch_size >= MIN_BATCH):
        raise ValueError(f"batch_size must be an integer >= {MIN_BATCH}, got {batch_size!r}")
    check_seed(seed)
    xs, ys = align_examples(xs, ys)
    named_x = named_arrays(xs, "xs")
    named_y = named_x if ys is None else named_arrays(ys, "ys")
    n = check_arrays(named_x | named_y, debiased=True)
    first = next(iter(named_x.values()))
    xp = array_namespace(first)

    order = np.random.default_rng(seed).permutation(n)
    xy, xx, yy = 0.0, 0.0, 0.0
    opts = dict(kernel=kernel, sigma_frac=sigma_frac, debiased=True)
    for b0 in range(0, n, batch_size):
        idx = np.sort(order[b0 : b0 + batch_size])
        if len(idx) < MIN_BATCH:
            continue  # the unbiased estimator is undefined below 4 examples
        idx = xp.asarray(idx, device=device(first))
        with no_tf32(xp):
            a = _packed(named_x, idx, precision, opts)
            b = a if ys is None else _packed(named_y, idx, precision, opts)
            xy = xy + hsic_matrix(a, None if ys is None else b, n=idx.shape[0], debiased=True)
        xx = xx + self_hsic(a, n=idx.shape[0], debiased=True)
        yy = yy + self_hsic(b, n=idx.shape[0], debiased=True)
    warn_undefined(list(named_x), xx)
    if ys is not None:
        warn_undefined(list(named_y), yy)
    return cka_from_hsic(xy, xx, yy)


def _packed(named: dict, idx, precision: str, opts):
    m = Moments.concat(
        [
            group_moments(array_namespace(v).take(v, idx, axis=0), precision=precision, name=k)
            for k, v in named.items()
        ]  # fmt: skip
    )
    return packed_grams(m, **opts)
