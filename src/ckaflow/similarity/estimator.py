"""Which CKA a number is: kernel, estimator, centring and RBF bandwidth, with one name and label.

The name is what config, tables, file paths and ``figures.estimator`` use; it is built and parsed
here only, and carries every part of the identity (two RBF bandwidths are two estimators):

    linear-biased    linear-debiased    linear-biased-global    rbf0.5-debiased    rbf2-biased
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from .validate import DEBIASED, check_options

_NAME = re.compile(r"^(linear|rbf(?P<sigma>[0-9.e+-]+))-(biased|debiased)(-global)?$")
_KEYS = ("kernel", "debiased", "centering", "sigma_frac")


@dataclass(frozen=True)
class Estimator:
    """One way of computing CKA. ``sigma_frac`` is part of the identity only for RBF."""

    kernel: str = "linear"
    debiased: bool = DEBIASED
    centering: str = "unit"
    sigma_frac: float = 1.0

    def __post_init__(self) -> None:
        check_options(self.kernel, self.sigma_frac, self.debiased, self.centering, "float64")
        if self.kernel == "linear":  # the bandwidth means nothing here: one linear estimator
            object.__setattr__(self, "sigma_frac", 1.0)

    @property
    def estimator(self) -> str:
        """``"biased"`` or ``"debiased"``: the column of that name in the CKA table."""
        return "debiased" if self.debiased else "biased"

    @property
    def name(self) -> str:
        kernel = f"rbf{self.sigma_frac:g}" if self.kernel == "rbf" else self.kernel
        centring = "" if self.centering == "unit" else f"-{self.centering}"
        return f"{kernel}-{self.estimator}{centring}"

    @property
    def label(self) -> str:
        """For figures and reports: 'linear, debiased', 'rbf σ=0.5·median, biased', ..."""
        kernel = f"rbf σ={self.sigma_frac:g}·median" if self.kernel == "rbf" else self.kernel
        centring = "" if self.centering == "unit" else f", {self.centering} centring"
        return f"{kernel}, {self.estimator}{centring}"

    def options(self) -> dict:
        """Keyword arguments of :func:`~ckaflow.similarity.cka_matrix` and :func:`packed_grams`."""
        return {key: getattr(self, key) for key in _KEYS}

    def columns(self) -> dict:
        """Its columns in the CKA table (``sigma_frac`` is NaN for the linear kernel)."""
        sigma = self.sigma_frac if self.kernel == "rbf" else math.nan
        return {
            "kernel": self.kernel,
            "estimator": self.estimator,
            "centering": self.centering,
            "sigma_frac": sigma,
        }

    @classmethod
    def from_name(cls, name: str) -> Estimator:
        """The estimator called ``name``; ``ValueError`` naming the accepted forms."""
        m = _NAME.match(str(name))
        try:
            sigma = float(m["sigma"]) if m and m["sigma"] else 1.0
            est = m and cls(
                "rbf" if m["sigma"] else "linear",
                m[3] == "debiased",
                "global" if m[4] else "unit",
                sigma,
            )
        except ValueError:
            est = None
        if not est or est.name != name:
            raise ValueError(
                f"{name!r} is not an estimator name: expected '<kernel>-<biased|debiased>' with "
                "kernel 'linear' or 'rbf<sigma_frac>' (e.g. 'linear-debiased', 'rbf0.5-biased'), "
                "and '-global' after 'linear-biased' for the thesis' centring"
            )
        return est

    @classmethod
    def from_dict(cls, d: Mapping) -> Estimator:
        """From a ``similarity.estimators`` entry; missing keys take the class's defaults, the
        schema's too (linear, debiased, unit centring)."""
        unknown = set(d) - set(_KEYS)
        if unknown:
            raise ValueError(f"unknown estimator keys {sorted(unknown)}; expected some of {_KEYS}")
        return cls(**d)

    @classmethod
    def from_columns(cls, row: Mapping) -> Estimator:
        """From a row of the CKA table (the inverse of :meth:`columns`)."""
        rbf = row["kernel"] == "rbf"
        return cls(
            kernel=str(row["kernel"]),
            debiased=row["estimator"] == "debiased",
            centering=str(row["centering"]),
            sigma_frac=float(row["sigma_frac"]) if rbf else 1.0,
        )
