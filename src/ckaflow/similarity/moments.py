"""The moments of groups of units (:class:`~.summaries.Moments`, defined in :mod:`.kernels`'
docstring), computed a block of channels and a chunk of units at a time, in float64 sums, with
float32 products kept accurate whatever the scale of the values."""

from __future__ import annotations

import dataclasses
import math
from types import ModuleType

import numpy as np

from .arrays import (
    array_namespace,
    as_float64,
    device,
    errstate,
    is_numpy_namespace,
    scalars,
    to_numpy,
)
from .precision import TINY_GRAM, TINY_VALUE, rounding_floor, scale_exponent, working_dtype
from .summaries import Moments
from .validate import check_memory_budget

__all__ = ["DEFAULT_MEMORY_BUDGET", "Moments", "filter_moments", "group_moments"]

DEFAULT_MEMORY_BUDGET = 1 << 30  # bytes of temporary arrays one call may hold


def filter_moments(
    act,
    *,
    channel_axis: int = -1,
    precision: str = "float32",
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    global_terms: bool = True,
    name: str = "activations",
    xp: ModuleType | None = None,
    total: bool = False,
) -> Moments:
    """Moments of each channel of a layer, one group per channel: act (n, ..., c) with
    ``channel_axis=-1`` (channels-last), or (n, c, ...) with ``channel_axis=1``.

    ``total=True``: the moments of the whole layer as one group, ``filter_moments(act).total()``
    to float32 rounding, without ever holding one (n, n) Gram per channel: each block of
    channels' Gram is one product of its units side by side, added to one (n, n) sum as it is
    made (channels of extreme values are taken one at a time, rescaled, as without ``total``).
    How every layer's Gram is made, whether or not its filters are compared.

    Computed in ``xp`` (an array API namespace; default: act's own), each block of channels moved
    there as it is read (a NumPy memory map, computed on a GPU with ``xp`` = CuPy's namespace).
    Channels-first input is read without a transpose (each channel's rows are contiguous), which
    is why the workflow stores activations that way; channels-last NumPy input costs one gather.
    The channels are processed in blocks sized to ``memory_budget``. ``precision`` is the dtype of
    the Gram products (means and every sum are float64). A NaN or inf anywhere raises a
    ``ValueError`` naming ``name`` and the channel (found from the unit means, at no extra pass).
    ``global_terms=False`` skips s and t (one pass over the data), which only global centring uses.
    """
    memory_budget = check_memory_budget(memory_budget)
    src = array_namespace(act)
    xp = xp or src
    x = src.moveaxis(act, channel_axis, 1)  # (n, c, ...), a view
    n, c = x.shape[:2]
    q = math.prod(x.shape[2:])  # units (positions) per channel
    block, chunk = channel_blocks(n, c, q, precision, memory_budget, total)
    parts, running = [], _RunningSum() if total else None
    for c0 in range(0, c, block):
        xv = _read_block(x[:, c0 : c0 + block, ...], src, xp)  # (b, n, q)
        parts.append(_block_moments(xp, xv, precision, global_terms, name, act.shape, c0, chunk,
                                    running))  # fmt: skip
    if not total:
        return Moments.concat(parts)
    rest = Moments.concat(parts)  # every field but the Gram, which is running's: summed at once
    return dataclasses.replace(rest, gram=running.value[None, ...]).total()


def channel_blocks(
    n: int, c: int, q: int, precision: str, memory_budget: int, total: bool
) -> tuple[int, int]:
    """(channels per block, units per chunk of a channel) in which :func:`filter_moments` reads
    a layer of c channels of q units on n examples within ``memory_budget`` bytes."""
    # Per value held at once: the centred copy in the input's precision and in the product's,
    # and a float64 copy when values are rescaled. A channel too large for the budget alone is
    # taken a chunk of its units at a time.
    per_value = 8 + (4 if precision == "float32" else 8) + 8
    chunk = max(1, min(q, memory_budget // (n * per_value)))
    block = max(1, min(c, memory_budget // max(n * q * per_value, 1)))
    if total:  # the block's own (b, n, n) Grams count against the budget too
        block = max(1, min(block, memory_budget // (8 * n * n)))
    return block, chunk


def _read_block(part, src, xp):
    """A block of channels (n, b, ...) of the source namespace ``src`` as (b, n, q) in ``xp``, in
    its working dtype; rows contiguous for channels-first storage."""
    n = part.shape[0]
    if is_numpy_namespace(src) and part.ndim > 2 and part.strides[-1] != part.itemsize:
        # Channels-last: one gather of the block, sample by sample (each sample's values are
        # close together in memory, so the transposition stays in cache).
        part = np.ascontiguousarray(part)
    if xp is not src:
        part = xp.asarray(part)  # to the computing namespace's device
    part = xp.astype(part, working_dtype(xp, part.dtype), copy=False)
    return xp.reshape(xp.moveaxis(part, 1, 0), (part.shape[1], n, -1))


class _RunningSum:
    """The (n, n) float64 sum of a layer's blocks' Grams (or of single rescaled channels'),
    each added as it is made (``filter_moments(total=True)``), without a (b, n, n) stack. Never
    changed in place: a block that is redone returns it to :attr:`value` as it was before the
    block."""

    def __init__(self):
        self.value = None
        self._scratch = None

    def add(self, gram) -> None:
        self.value = gram if self.value is None else self.value + gram

    def scratch(self, shape: tuple[int, ...], dtype) -> np.ndarray:
        """A NumPy array of ``shape`` for a block's centred copy, the same memory for every
        block of the layer: a fresh array per block costs as much again in page faults."""
        size = math.prod(shape)
        if self._scratch is None or self._scratch.size < size or self._scratch.dtype != dtype:
            self._scratch = np.empty(size, dtype=dtype)
        return self._scratch[:size].reshape(shape)


def _block_moments(xp, xv, precision, global_terms, name, shape, c0, chunk, running) -> Moments:
    """Moments of a block of channels xv (b, n, q) of a float dtype, ``chunk`` units of a
    channel at a time; see :func:`filter_moments`. With ``running`` (a :class:`_RunningSum`),
    the block's Gram is added to it and the moments' ``gram`` is empty."""
    before = running.value if running is not None else None
    with errstate(xp):  # overflow and underflow are detected below, and the block redone
        m, diag = _scaled_moments(xp, xv, precision, global_terms, None, chunk, running)
    redo = ~xp.isfinite(diag) | ((diag > 0) & (diag < TINY_GRAM))
    # a dead channel, or one whose tiny values all fell to 0 in the products
    amax = _channel_amax(xp, xv, chunk) if bool(xp.any(diag == 0)) else None
    if amax is not None:
        redo = redo | ((diag == 0) & (amax > 0) & (amax < TINY_VALUE))
    if bool(xp.all(xp.isfinite(m.mu_sum))) and not bool(xp.any(redo)):
        return m
    if running is not None:
        running.value = before
    amax = np.asarray(to_numpy(_channel_amax(xp, xv, chunk) if amax is None else amax))
    if not np.isfinite(amax).all():
        bad = c0 + int(np.flatnonzero(~np.isfinite(amax))[0])
        raise ValueError(f"{name} (shape {shape}) has NaN or inf values in channel {bad}")
    e = [scale_exponent(float(a), f"{name} (shape {shape}), channel {c0 + i}")
         for i, a in enumerate(amax)]  # fmt: skip
    exponents = np.array(e, dtype=np.int64)
    return _scaled_moments(xp, xv, precision, global_terms, exponents, chunk, running)[0]


def _channel_amax(xp, xv, chunk: int):
    """(b,) each channel's largest absolute value, ``chunk`` units at a time."""
    parts = [xp.max(xp.abs(xv[:, :, u0 : u0 + chunk]), axis=(1, 2))
             for u0 in range(0, xv.shape[2], chunk)]  # fmt: skip
    return xp.max(xp.stack(parts), axis=0)


def _scaled_moments(xp, xv, precision, global_terms, e, chunk: int, running=None):
    """(Moments, (b,) each channel's largest diagonal Gram value) of xv (b, n, q), channel i
    computed on xv[i] / 2^e[i] and scaled back; e (b,) host integers, or None: as it is. Each
    channel's units are taken ``chunk`` at a time (every moment is a sum over units), so that no
    temporary exceeds n x chunk values. With ``running``, each channel's scaled Gram is added
    to it as it is made and the moments' ``gram`` is empty (0, n, n)."""
    b, n, q = xv.shape
    if running is not None and e is None and chunk >= q:
        return _summed_moments(xp, xv, precision, global_terms, running)
    resolution = xv.dtype  # the input's own dtype, before any rescaling
    e = np.zeros(b, dtype=np.int64) if e is None else e
    dtype = getattr(xp, precision)
    diags, sts, mu_sums, mu_sqs = [], [], [], []
    grams = None  # without running: each channel's product cast into its float64 row as made
    if running is None:
        grams = xp.empty((b, n, n), dtype=xp.float64, device=device(xv))
    for i in range(b):
        gram = st = None
        mu_sum = mu_sq = 0.0
        for u0 in range(0, q, chunk):
            part = xv[i, :, u0 : u0 + chunk]  # (n, u), read once and kept in cache
            if e[i]:  # a temporary float64 copy (exact), only for extreme values
                part = as_float64(xp, part) * math.ldexp(1.0, -int(e[i]))
            g, s_t, mu = _unit_moments(xp, part, dtype, global_terms)
            if grams is None:
                gram = as_float64(xp, g) if gram is None else gram + as_float64(xp, g)
            elif u0 == 0:
                grams[i, ...] = g
            else:
                grams[i, ...] += as_float64(xp, g)
            st = s_t if st is None or s_t is None else st + s_t
            mu_sum, mu_sq = mu_sum + xp.sum(mu), mu_sq + xp.sum(mu * mu)
        if running is not None:  # 4^e is a power of two: the product is exact, as the rows' below
            diags.append(xp.max(xp.linalg.diagonal(gram)))
            running.add(gram * math.ldexp(1.0, 2 * int(e[i])) if e[i] else gram)
        sts.append(st)
        mu_sums.append(mu_sum)
        mu_sqs.append(mu_sq)
    four_e = scalars(xp, np.ldexp(1.0, 2 * e), xv)  # (b,) 4^e
    two_e = scalars(xp, np.ldexp(1.0, e), xv)
    mu_sq = xp.stack(mu_sqs) * four_e
    st = xp.stack(sts) if global_terms else None  # (b, n, 2)
    if running is None:
        gram = grams  # (b, n, n)
        if e.any():  # rescaled channels back to their scale (exact: powers of two)
            gram = gram * four_e[:, None, None]
        diag = xp.max(xp.linalg.diagonal(gram), axis=1)
    else:
        gram = xp.zeros((0, n, n), dtype=xp.float64, device=device(xv))
        diag = xp.stack(diags)
    return Moments(
        gram=gram,
        s=None if st is None else st[..., 0] * four_e[:, None],  # Xc mu
        t=None if st is None else st[..., 1] * two_e[:, None],  # Xc 1
        mu_sum=xp.stack(mu_sums) * two_e,
        mu_sq=mu_sq,
        p=xp.full(b, float(q), dtype=xp.float64, device=device(xv)),
        floor=rounding_floor(xp, resolution, n, mu_sq),
    ), diag


def _summed_moments(xp, xv, precision, global_terms, running):
    """:func:`_scaled_moments` of a block xv (b, n, q) whose Grams are only summed (no
    rescaling), the block's Gram made as one product of its units side by side: Xc Xc' with Xc
    (n, b q), added to ``running``. One large product instead of b products of n x q, each far
    below the GEMM rate at narrow layers; the same float32 products, summed inside one GEMM
    rather than channel by channel in float64 (the two agree to float32 rounding, about 1e-7
    relative: tests/test_similarity.py). Every layer's Gram is made this way, whether or not its
    filters are compared (:mod:`.groups`), so a layer's numbers never depend on that. The
    per-channel moments (means, sums of squares, s and t) are taken for all channels at once,
    each a single pass over Xc without temporaries of its size."""
    b, n, q = xv.shape
    dtype = getattr(xp, precision)
    x = xp.reshape(xp.moveaxis(xv, 0, 1), (n, b * q))  # a view for channels-first storage
    ones = xp.ones(n, dtype=x.dtype, device=device(x))
    mu = (ones @ x) / n  # (b q,) unit means in the input's precision
    if is_numpy_namespace(xp) and x.dtype == dtype:
        xc = np.subtract(x, mu, out=running.scratch(x.shape, x.dtype))
    else:  # centred in the input's precision, then rounded
        xc = xp.astype(x - mu, dtype, copy=False)
    running.add(as_float64(xp, xc @ xc.T))  # (n, n); numpy uses syrk for a @ a.T
    per_channel = xp.reshape(xc, (n, b, q))  # a view
    # each channel's Gram's largest diagonal value: one pass, no (n, q) temporaries
    diag = xp.max(xp.vecdot(per_channel, per_channel), axis=0)  # (b,)
    st = None
    if global_terms:  # [Xc mu, Xc 1] of every channel in one batched product: (b, n, 2)
        rounded = xp.reshape(xp.astype(mu, dtype, copy=False), (b, q))
        st = xp.moveaxis(per_channel, 1, 0) @ xp.stack([rounded, xp.ones_like(rounded)], axis=-1)
        st = as_float64(xp, st)
    mu64 = xp.reshape(as_float64(xp, mu), (b, q))
    mu_sq = xp.sum(mu64 * mu64, axis=1)
    return Moments(
        gram=xp.zeros((0, n, n), dtype=xp.float64, device=device(xv)),
        s=None if st is None else st[..., 0],
        t=None if st is None else st[..., 1],
        mu_sum=xp.sum(mu64, axis=1),
        mu_sq=mu_sq,
        p=xp.full(b, float(q), dtype=xp.float64, device=device(xv)),
        floor=rounding_floor(xp, xv.dtype, n, mu_sq),
    ), as_float64(xp, diag)


def _unit_moments(xp, part, dtype, global_terms):
    """(Xc Xc' in ``dtype``, [Xc mu, Xc 1] or None, mu) of the units ``part`` (n, u): the unit
    means by a product in the input's precision; the centred values subtracted in the input's
    precision and only then rounded to the product ``dtype`` (a mean rounded first would leave
    each unit an offset of its rounding error: 1e12 + noise in float64 keeps an offset of about
    1e4 that swamps the noise in float32 products). The other results are float64."""
    n = part.shape[0]
    ones = xp.ones(n, dtype=part.dtype, device=device(part))
    mu = (ones @ part) / n  # (u,) in the input's precision
    xc = xp.astype(part - mu, dtype, copy=False)
    gram = xc @ xc.T  # (n, n); numpy uses syrk for a @ a.T
    st = None
    if global_terms:
        rounded = xp.astype(mu, dtype, copy=False)
        st = as_float64(xp, xc @ xp.stack([rounded, xp.ones_like(rounded)], axis=1))
    return gram, st, as_float64(xp, mu)


def group_moments(x, **kwargs) -> Moments:
    """Moments of all units of x (n, ...) as a single group."""
    src = array_namespace(x)
    return filter_moments(src.reshape(x, (x.shape[0], 1, -1)), channel_axis=1, **kwargs)
