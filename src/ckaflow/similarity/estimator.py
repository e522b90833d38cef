"""Which CKA a number is: kernel, estimator and centring, with a stable name for tables."""

from __future__ import annotations

from dataclasses import dataclass

from .validate import check_options


@dataclass(frozen=True)
class Estimator:
    """One way of computing CKA. ``name`` is what tables and figures call it."""

    kernel: str = "linear"
    debiased: bool = False
    centering: str = "unit"
    sigma_frac: float = 1.0

    def __post_init__(self) -> None:
        check_options(self.kernel, self.sigma_frac, self.debiased, self.centering, "float64")

    @property
    def estimator(self) -> str:
        return "debiased" if self.debiased else "biased"

    @property
    def name(self) -> str:
        kernel = f"rbf{self.sigma_frac:g}" if self.kernel == "rbf" else self.kernel
        centring = "" if self.centering == "unit" else f"-{self.centering}"
        return f"{kernel}-{self.estimator}{centring}"

    def options(self) -> dict:
        """Keyword arguments of :func:`~ckaflow.similarity.cka_matrix` and :func:`packed_grams`."""
        return dict(
            kernel=self.kernel,
            debiased=self.debiased,
            centering=self.centering,
            sigma_frac=self.sigma_frac,
        )
