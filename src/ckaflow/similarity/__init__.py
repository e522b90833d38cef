"""The similarity engine: exact, fast CKA between groups of units (filters, layers, models).

High level: :func:`cka` for one pair, :func:`cka_matrix` for every pair of two lists.
Low level (what the workflow shards on): :func:`filter_moments` / :func:`group_moments`
(a group's Gram, once), :func:`packed_grams` (centred, packed), :func:`hsic_matrix`
(all pairs, one product), :func:`cka_from_hsic` (normalisation). :func:`minibatch_cka_matrix`
for n too large for n x n Grams. :func:`bootstrap_cka` / :func:`cka_interval`: intervals from
the same Grams, resampling the examples.
"""

from .bootstrap import (
    Bootstrap,
    bootstrap_cka,
    bootstrap_interval,
    cka_interval,
    percentile_interval,
    resample_counts,
)
from .cca import cca, pwcca, svcca
from .cka import CKAResult, cka, cka_from_hsic, cka_matrix, packed_grams
from .estimator import Estimator
from .groups import (
    MODEL_GROUP,
    Group,
    block_cka,
    block_cka_of_hsic,
    block_hsic,
    filter_group,
    group_cka,
    instance_moments,
    is_filter,
    packed_instance,
    parse_group,
)
from .hsic import hsic_matrix, hsic_scale, packed_centred, self_hsic
from .kernels import gram_matrices
from .linreg import linreg
from .minibatch import batch_bounds, minibatch_cka_matrix
from .moments import Moments, filter_moments, group_moments
from .null import NullResult, cka_null
from .procrustes import procrustes
from .representations import UndefinedMeasureWarning
from .rsa import rsa
from .seeds import SeedImageInterval, cka_interval_seeds, seed_image_interval
from .undefined import UndefinedCKAWarning, warn_undefined
from .validate import CENTERINGS, DEBIASED, KERNELS, PairingWarning

__all__ = [
    "NullResult",
    "SeedImageInterval",
    "cka_interval_seeds",
    "cka_null",
    "seed_image_interval",
    "Bootstrap",
    "bootstrap_cka",
    "bootstrap_interval",
    "cka_interval",
    "percentile_interval",
    "resample_counts",
    "Estimator",
    "MODEL_GROUP",
    "Group",
    "block_cka",
    "block_cka_of_hsic",
    "block_hsic",
    "filter_group",
    "is_filter",
    "parse_group",
    "group_cka",
    "instance_moments",
    "packed_instance",
    "CENTERINGS",
    "DEBIASED",
    "KERNELS",
    "CKAResult",
    "Moments",
    "PairingWarning",
    "UndefinedCKAWarning",
    "packed_centred",
    "cka",
    "cka_from_hsic",
    "cka_matrix",
    "filter_moments",
    "gram_matrices",
    "group_moments",
    "hsic_matrix",
    "hsic_scale",
    "batch_bounds",
    "minibatch_cka_matrix",
    "packed_grams",
    "self_hsic",
    "warn_undefined",
    "UndefinedMeasureWarning",
    "cca",
    "linreg",
    "procrustes",
    "pwcca",
    "rsa",
    "svcca",
]
