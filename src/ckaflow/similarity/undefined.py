"""When CKA is undefined: the warning a group that does not vary gives, and its messages.

A group whose activations do not vary over the examples (a dead unit or filter; for RBF, a median
distance of 0) has a self-HSIC of 0 and no CKA: NaN with an :class:`UndefinedCKAWarning` naming
it, never 0 and never a crash. A self-HSIC that is not finite is an error instead.
"""

from __future__ import annotations

import warnings

import numpy as np

from .arrays import to_numpy


class UndefinedCKAWarning(RuntimeWarning):
    """A group's activations do not vary over the examples, so its CKA is undefined (NaN)."""


def warn_nan(where: str, consequence: str) -> None:
    """Warn that a CKA of ``where`` is undefined, why, and what is NaN (``consequence``)."""
    warnings.warn(
        f"{where}: CKA undefined: an input does not vary over the examples (a dead unit or "
        "filter, a constant array; for RBF, or the median distance is 0) or its debiased "
        f"self-HSIC is not positive (too few examples); {consequence}",
        UndefinedCKAWarning,
        stacklevel=3,
    )


def warn_undefined(names: list[str], self_hsic_values) -> list[str]:
    """Warn once per group whose self-HSIC is 0 (it does not vary); return their names.

    A self-HSIC that is not finite (the float64 products overflowed) raises ``ValueError``
    naming the groups: a CKA of 0 or NaN there would be silently wrong.
    """
    self_hsic_values = to_numpy(self_hsic_values)
    overflow = [name for name, v in zip(names, self_hsic_values, strict=True) if np.isinf(v)]
    if overflow or np.isnan(self_hsic_values).any():
        raise ValueError(
            f"HSIC is not finite for {overflow[:5] or 'some groups'}"
            f"{' and more' if len(overflow) > 5 else ''}: their Gram matrices overflow float64; "
            "rescale the activations (CKA does not depend on their scale)"
        )
    bad = [name for name, v in zip(names, self_hsic_values, strict=True) if not v > 0.0]
    for name in bad:
        warnings.warn(
            f"CKA undefined for group {name!r}: its activations do not vary over the examples "
            "(a dead unit or filter; for RBF, or the median distance is 0); its CKA values are NaN",
            UndefinedCKAWarning,
            stacklevel=3,
        )
    return bad
