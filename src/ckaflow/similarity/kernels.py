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

from dataclasses import dataclass

import numpy as np

DEFAULT_MEMORY_BUDGET = 1 << 30  # bytes of temporary arrays one call may hold


@dataclass(frozen=True)
class Moments:
    """Additive summaries of g groups of units on n examples (see the module docstring).

    gram : (g, n, n) float64    s, t : (g, n) float64    mu_sum, mu_sq, p, floor : (g,) float64
    ``s`` and ``t`` are None when only unit centring was asked for (they cost a pass over the data).
    ``floor`` is the centred sum of squares that rounding alone could give: (16 eps)^2 n sum(mu^2)
    with eps the resolution of the input's own dtype (see :func:`constant_groups`); a sum too.
    """

    gram: np.ndarray
    s: np.ndarray | None
    t: np.ndarray | None
    mu_sum: np.ndarray
    mu_sq: np.ndarray
    p: np.ndarray
    floor: np.ndarray

    @property
    def n(self) -> int:
        return self.gram.shape[1]

    def __len__(self) -> int:
        return self.gram.shape[0]

    def total(self) -> Moments:
        """The moments of the union of all g groups, as one group: (1, n, n)."""
        return Moments(
            *(None if f is None else f.sum(axis=0, keepdims=True) for f in self._fields())
        )

    def select(self, keep: np.ndarray) -> Moments:
        """The groups where ``keep`` (a boolean or index array over the g groups) selects."""
        return Moments(*(None if f is None else f[keep] for f in self._fields()))

    def _fields(self) -> tuple[np.ndarray | None, ...]:
        return (self.gram, self.s, self.t, self.mu_sum, self.mu_sq, self.p, self.floor)

    @staticmethod
    def concat(parts: list[Moments]) -> Moments:
        """Stack the groups of several :class:`Moments` in order."""
        if len(parts) == 1:
            return parts[0]
        fields = zip(*(m._fields() for m in parts), strict=True)
        return Moments(
            *(None if any(f is None for f in fs) else np.concatenate(fs) for fs in fields)
        )


def filter_moments(
    act: np.ndarray,
    *,
    channel_axis: int = -1,
    precision: str = "float32",
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    global_terms: bool = True,
    name: str = "activations",
) -> Moments:
    """Moments of each channel of a layer, one group per channel: act (n, ..., c) with
    ``channel_axis=-1`` (channels-last), or (n, c, ...) with ``channel_axis=1``.

    Channels-first input is read without a transpose (each channel's rows are contiguous), which
    is why the workflow stores activations that way; channels-last input costs one gather.
    The channels are processed in blocks sized to ``memory_budget``. ``precision`` is the dtype of
    the Gram products (means and every sum are float64). A NaN or inf anywhere raises a
    ``ValueError`` naming ``name`` and the channel (found from the unit means, at no extra pass).
    ``global_terms=False`` skips s and t (one pass over the data), which only global centring uses.
    """
    x = np.moveaxis(act, channel_axis, 1)  # (n, c, ...), a view
    n, c = x.shape[:2]
    q = int(np.prod(x.shape[2:], dtype=np.int64))  # units (positions) per channel
    dtype = np.dtype(precision)
    per_channel = n * q * dtype.itemsize  # the centred copy of a block
    block = max(1, min(c, memory_budget // max(per_channel, 1)))
    parts = []
    for c0 in range(0, c, block):
        # (b, n, q) view of the block; channels-first storage makes each channel's rows contiguous.
        part = x[:, c0 : c0 + block]  # (n, b, ...)
        if part.dtype.kind != "f":
            part = part.astype(np.float64)
        elif q > 1 and part.strides[-1] != part.itemsize:
            # Channels-last: one gather of the block, sample by sample (each sample's values
            # are close together in memory, so the transposition stays in cache).
            part = np.ascontiguousarray(part)
        xv = np.moveaxis(part, 1, 0).reshape(-1, n, q)  # (b, n, q), rows contiguous
        parts.append(_block_moments(xv, dtype, global_terms, name, act.shape, c0))
    return Moments.concat(parts)


# CKA is scale-invariant, float32 products are not: they overflow above about 1e17 and lose their
# digits to subnormals below about 1e-19. A block whose products show either is redone with its
# values brought to about 1 by a power of two (exact), and its moments scaled back in float64.
# Magnitudes outside 2^-200 .. 2^200 would over- or underflow the float64 HSIC (a fourth power)
# and are refused.
_MAX_EXPONENT = 200
_TINY_GRAM = 2.0**-80  # a channel's sum of squares below this lost digits to float32 subnormals
_TINY_VALUE = 2.0**-60  # values below this square to subnormals or 0 in float32


def _block_moments(xv, dtype, global_terms, name, shape, c0) -> Moments:
    """Moments of a block of channels xv (b, n, q) of a float dtype; see :func:`filter_moments`."""
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):  # detected below, redone
        m = _scaled_moments(xv, dtype, global_terms, 0)
    diag = np.einsum("gii->gi", m.gram).max(axis=1)  # (b,) each channel's largest sum of squares
    redo = ~np.isfinite(diag) | ((diag > 0) & (diag < _TINY_GRAM))
    zero = diag == 0  # a dead channel, or one whose tiny values all fell to 0 in the products
    if zero.any():
        amax_zero = np.abs(xv[zero]).reshape(int(zero.sum()), -1).max(axis=1)
        redo[zero] = (amax_zero > 0) & (amax_zero < _TINY_VALUE)
    if np.isfinite(m.mu_sum).all() and not redo.any():
        return m
    amax = np.abs(xv).reshape(len(xv), -1).max(axis=1)  # (b,) a temporary: rare path
    if not np.isfinite(amax).all():
        bad = c0 + int(np.flatnonzero(~np.isfinite(amax))[0])
        raise ValueError(f"{name} (shape {shape}) has NaN or inf values in channel {bad}")
    e = np.array([scale_exponent(a, f"{name} (shape {shape}), channel {c0 + i}")
                  for i, a in enumerate(amax)])  # fmt: skip
    return _scaled_moments(xv, dtype, global_terms, e)


def scale_exponent(amax: float, what: str) -> int:
    """e with amax < 2^e (0 for amax = 0); ``ValueError`` naming ``what`` beyond 2^+-200."""
    e = int(np.frexp(amax)[1]) if amax > 0 else 0
    if abs(e) > _MAX_EXPONENT:
        raise ValueError(
            f"{what}: values up to {amax:.3g} in absolute value; CKA is computed for magnitudes "
            f"between 2^-{_MAX_EXPONENT} and 2^{_MAX_EXPONENT} (about 1e-60 to 1e60): rescale "
            "the activations (CKA does not depend on their scale)"
        )
    return e


def _scaled_moments(xv, dtype, global_terms, e) -> Moments:
    """Moments of xv (b, n, q), channel i computed on xv[i] / 2^e[i] and scaled back; e (b,)
    integers, or 0: as it is."""
    n, resolution_of = xv.shape[1], xv.dtype  # the input's own dtype, before any rescaling
    e = np.broadcast_to(np.asarray(e, dtype=np.int64), (len(xv),))
    if e.any():
        xv = np.ldexp(xv, -e[:, None, None])  # exact; a temporary copy, only for extreme values
    # One channel at a time, so that it is read from memory once and stays in cache: its unit
    # means by BLAS, rounded to the product dtype (whatever mu is subtracted, the moments below
    # are exact for it, and the double centring of the Gram removes its rounding); its values
    # centred into one reused (n, q) buffer (the input, maybe a read-only memory map, never
    # changes); their product.
    b = len(xv)
    ones = np.ones(n, xv.dtype)
    mu32 = np.empty((b, xv.shape[2]), dtype)
    xc = np.empty(xv.shape[1:], dtype)
    gram = np.empty((b, n, n))
    st = np.empty((b, n, 2)) if global_terms else None
    for i in range(b):
        np.divide(ones @ xv[i], n, out=mu32[i], casting="unsafe")  # (q,)
        np.subtract(xv[i], mu32[i], out=xc, casting="unsafe")
        gram[i] = xc @ xc.T  # (n, n); numpy uses syrk for a @ a.T
        if st is not None:
            st[i] = xc @ np.stack([mu32[i], np.ones_like(mu32[i])], axis=1)
    mu = mu32.astype(np.float64)
    mu_sq = np.ldexp((mu * mu).sum(axis=1), 2 * e)
    return Moments(
        gram=np.ldexp(gram, 2 * e[:, None, None], out=gram),  # in place: no n x n copy
        s=None if st is None else np.ldexp(st[..., 0], 2 * e[:, None]),  # Xc mu
        t=None if st is None else np.ldexp(st[..., 1], e[:, None]),  # Xc 1
        mu_sum=np.ldexp(mu.sum(axis=1), e),
        mu_sq=mu_sq,
        p=np.full(b, float(xv.shape[2])),
        floor=rounding_floor(resolution_of, n, mu_sq),
    )


def rounding_floor(dtype, n: int, mu_sq):
    """The centred sum of squares that rounding of values of ``dtype`` alone could give, for
    unit means whose squares sum to ``mu_sq`` ((g,) or a number); see :func:`constant_groups`.
    Centring happens in the input's precision, so a float32 product keeps whatever variation the
    input resolves: the resolution is the input's own."""
    return (_ROUNDING * float(np.finfo(dtype).eps)) ** 2 * n * mu_sq


def group_moments(x: np.ndarray, **kwargs) -> Moments:
    """Moments of all units of x (n, ...) as a single group."""
    return filter_moments(x.reshape(x.shape[0], 1, -1), channel_axis=1, **kwargs)


# Variation within this many units in the last place of a unit's values (relative to its mean)
# is rounding, not signal.
_ROUNDING = 16


def constant_groups(m: Moments, centering: str = "unit") -> np.ndarray:
    """(g,) bool: groups whose activations do not vary over the examples beyond the resolution of
    their own values: tr(Kc) <= floor = (16 eps)^2 n sum(mu^2), eps of the input's dtype (float32
    activations: 1.2e-7; float64 data: 2.2e-16). A dead filter (all zeros) has tr(Kc) = 0; a
    near-constant one whose spread is rounding noise would otherwise give CKA values computed
    from that noise. Adding a constant to a unit changes mu, not the spread: it can only make a
    group undefined once the spread is below the rounding of the shifted values.

    ``centering="global"`` re-adds the means through float32 products (s = Xc mu), which cancel
    to float32 accuracy: its floor is float32's whatever the input (undefined, not wrong).
    """
    energy = np.einsum("gii->g", m.gram)  # total centred sum of squares
    floor = m.floor
    if centering == "global":
        floor = np.maximum(
            floor, (_ROUNDING * float(np.finfo(np.float32).eps)) ** 2 * m.n * m.mu_sq
        )
    return energy <= floor


def gram_matrices(
    m: Moments, *, kernel: str = "linear", centering: str = "unit", sigma_frac: float = 1.0
) -> np.ndarray:
    """Kernel matrices (g, n, n) float64 of every group of ``m``, before any H-centring."""
    if kernel == "rbf":
        return _rbf(m.gram, sigma_frac)
    if centering == "unit":
        return m.gram
    if m.s is None or m.t is None:
        raise ValueError("global centring needs moments computed with global_terms=True")
    # (g,) mean of all entries of each group's X = 1'(Xc + 1 mu')1 / (n p), exact for any mu
    mean = (m.mu_sum + m.t.sum(axis=1) / m.n) / m.p
    a = m.s - mean[:, None] * m.t  # (g, n)
    c = m.mu_sq - 2.0 * mean * m.mu_sum + mean**2 * m.p  # (g,)
    return m.gram + a[:, :, None] + a[:, None, :] + c[:, None, None]


def _rbf(kc: np.ndarray, sigma_frac: float) -> np.ndarray:
    """RBF kernels from unit-centred linear Grams kc (g, n, n)."""
    diag = np.einsum("gii->gi", kc)
    d = diag[:, :, None] + diag[:, None, :] - 2.0 * kc
    np.maximum(d, 0.0, out=d)  # cancellation can leave tiny negative squared distances
    med = np.median(d.reshape(len(d), -1), axis=1)  # Kornblith et al.: median over all n^2 entries
    with np.errstate(divide="ignore", invalid="ignore"):  # median 0: a group that does not vary
        return np.exp(-d / (2.0 * sigma_frac**2 * med)[:, None, None])
