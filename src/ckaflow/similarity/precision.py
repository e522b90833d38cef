"""The precision of the engine's products: the dtype activations are centred in, what rounding
alone can give (so that a constant unit is told from a varying one), and the range in which
float32 products keep their digits (values outside it are rescaled by a power of two)."""

from __future__ import annotations

import math

# CKA is scale-invariant, float32 products are not: they overflow above about 1e17 and lose their
# digits to subnormals below about 1e-19. A block whose products show either is redone with its
# values brought to about 1 by a power of two (exact), and its moments scaled back in float64.
# Magnitudes outside 2^-200 .. 2^200 would over- or underflow the float64 HSIC (a fourth power)
# and are refused.
MAX_EXPONENT = 200
TINY_GRAM = 2.0**-80  # a channel's sum of squares below this lost digits to float32 subnormals
TINY_VALUE = 2.0**-60  # values below this square to subnormals or 0 in float32


def scale_exponent(amax: float, what: str) -> int:
    """e with amax < 2^e (0 for amax = 0); ``ValueError`` naming ``what`` beyond 2^+-200."""
    e = math.frexp(amax)[1] if amax > 0 else 0
    if abs(e) > MAX_EXPONENT:
        raise ValueError(
            f"{what}: values up to {amax:.3g} in absolute value; CKA is computed for magnitudes "
            f"between 2^-{MAX_EXPONENT} and 2^{MAX_EXPONENT} (about 1e-60 to 1e60): rescale "
            "the activations (CKA does not depend on their scale)"
        )
    return e


def working_dtype(xp, dtype):
    """The dtype activations of ``dtype`` are centred in: their own if float32 or float64;
    float32 for narrower floats (float16 sums of 200 values lose the variation a float16
    input resolves: each value is exact in float32); float64 for integers."""
    if not xp.isdtype(dtype, "real floating"):
        return xp.float64
    return dtype if xp.finfo(dtype).bits >= 32 else xp.float32


# Variation within this many units in the last place of a unit's values (relative to its mean)
# is rounding, not signal.
ROUNDING = 16


def rounding_floor(xp, dtype, n: int, mu_sq):
    """The centred sum of squares that rounding of values of ``dtype`` alone could give, for
    unit means whose squares sum to ``mu_sq`` ((g,) or a number); see :func:`constant_groups`.
    Centring happens in the input's precision, so a float32 product keeps whatever variation the
    input resolves: the resolution is the input's own."""
    return (ROUNDING * float(xp.finfo(dtype).eps)) ** 2 * n * mu_sq
