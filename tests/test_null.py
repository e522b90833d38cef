"""The permutation null of CKA and the interval over seeds and images together, on fresh random
inputs and by simulation with a known truth."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from ckaflow.similarity import cka, cka_interval
from ckaflow.similarity.null import cka_null
from ckaflow.similarity.seeds import cka_interval_seeds, seed_image_interval

ESTIMATORS = [
    dict(kernel="linear", debiased=False),
    dict(kernel="linear", debiased=True),
    dict(kernel="rbf", sigma_frac=0.8),
    dict(kernel="linear", debiased=False, centering="global"),
]


@pytest.mark.parametrize("opts", ESTIMATORS, ids=lambda o: "-".join(map(str, o.values())))
def test_the_null_starts_from_the_same_cka_and_is_what_shuffling_gives(opts):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 12))
    y = np.tanh(x @ rng.normal(size=(12, 9))) + 0.3 * rng.normal(size=(40, 9))
    got = cka_null(x, y, permutations=50, seed=3, **opts)
    assert got.cka == pytest.approx(cka(x, y, **opts), abs=1e-6)
    # each draw is the CKA of x with y's examples shuffled, by the same generator
    perms = np.argsort(np.random.default_rng(3).random((50, 40)), axis=1)
    for k in (0, 17, 49):
        assert got.null[k] == pytest.approx(cka(x, y[perms[k]], **opts), abs=1e-6)
    assert got.p_value == 1 / 51 and got.exceeds_null and got.calibrated > 0


def test_unrelated_arrays_get_p_values_spread_over_0_1_and_related_ones_tiny():
    rng = np.random.default_rng(2)
    p = []
    for _ in range(60):
        x, y = rng.normal(size=(30, 8)), rng.normal(size=(30, 6))
        p.append(cka_null(x, y, permutations=99, seed=int(rng.integers(1 << 30))).p_value)
    p = np.array(p)
    assert stats.kstest(p, "uniform").pvalue > 0.01  # spread evenly, not piled up
    assert 0.02 <= np.mean(p <= 0.1) <= 0.25 and 0.3 < p.mean() < 0.7
    x = rng.normal(size=(30, 8))
    related = cka_null(x, x @ rng.normal(size=(8, 6)), permutations=199)
    assert related.p_value == 1 / 200


def test_the_biased_null_sits_high_for_wide_arrays_and_the_debiased_near_zero():
    """n = 20 examples of 5,000 unrelated units: the biased CKA is high whatever the pairing, so
    its null is high too; the debiased one's sits at 0."""
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(20, 5000)), rng.normal(size=(20, 5000))
    biased = cka_null(x, y, permutations=99, debiased=False)
    debiased = cka_null(x, y, permutations=99)
    assert biased.cka > 0.8 and np.median(biased.null) > 0.8 and not biased.exceeds_null
    assert abs(np.median(debiased.null)) < 0.02 and debiased.p_value > 0.05


@pytest.mark.parametrize("kwargs, message", [
    (dict(permutations=5), "permutations must lie in 19"),
    (dict(permutations=99.0), "permutations must be an integer, got 99.0"),
    (dict(quantile=1.5), "quantile must lie in"),
    (dict(seed=-2), "seed must be"),
])  # fmt: skip
def test_bad_null_arguments_are_refused_naming_them(kwargs, message):
    rng = np.random.default_rng(5)
    with pytest.raises(ValueError, match=message):
        cka_null(rng.normal(size=(10, 3)), rng.normal(size=(10, 3)), **kwargs)


def _simulate(seeds, n, seed_sd, shared_sd, own_sd, rng, resamples=200):
    """Values (S, 1 + B) of a mean statistic with truth 0: seed effects, image effects shared by
    every seed and each seed's own, image resamples shared by all seeds."""
    u = rng.normal(0, seed_sd, seeds)
    f = u[:, None] + rng.normal(0, shared_sd, n)[None, :] + rng.normal(0, own_sd, (seeds, n))
    idx = rng.integers(0, n, (resamples, n))
    return np.column_stack([f.mean(axis=1), f[:, idx].mean(axis=2)])


@pytest.mark.parametrize("seeds, seed_sd", [(4, 0.02), (8, 0.02), (6, 0.0)])
def test_the_two_factor_interval_covers_the_truth_where_the_image_interval_does_not(seeds, seed_sd):
    """95% intervals in 93-97% of 800 repetitions with a known seed variance; the image-only
    interval (what the findings gave before) covers far less once seeds vary."""
    rng = np.random.default_rng(seeds)
    hits = image_hits = 0
    for _ in range(800):
        v = _simulate(seeds, 100, seed_sd, 0.05, 0.05, rng)
        got = seed_image_interval(v)
        hits += got.low <= 0 <= got.high
        pooled = v.mean(axis=0)
        q = np.quantile(pooled[1:], [0.025, 0.975])
        image_hits += 2 * pooled[0] - q[1] <= 0 <= 2 * pooled[0] - q[0]
    assert 0.93 <= hits / 800 <= 0.97, hits / 800
    if seed_sd > 0:
        assert image_hits / 800 < 0.8, image_hits / 800
    assert got.seeds_covered and got.seeds == seeds


def test_one_seed_gives_the_image_interval_and_says_seeds_are_not_covered():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(40, 10))
    y = x[:, :6] + rng.normal(size=(40, 6))
    one = cka_interval_seeds([(x, y)], resamples=200, seed=1)
    assert not one.seeds_covered and one.seeds == 1
    assert (one.estimate, one.low, one.high) == pytest.approx(
        cka_interval(x, y, resamples=200, seed=1), abs=1e-9
    )
    ys = [x[:, :6] + s * rng.normal(size=(40, 6)) for s in (0.5, 1.0, 2.0)]
    several = cka_interval_seeds([(x, y_s) for y_s in ys], resamples=200, debiased=True)
    assert several.estimate == pytest.approx(np.mean([cka(x, y_s, debiased=True) for y_s in ys]),
                                             abs=1e-6)  # fmt: skip
    assert several.seeds_covered and several.low < several.estimate < several.high


def test_the_null_of_many_stored_grams_is_one_product_per_permutation():
    """The packed form the Gram files store: every group against every group under shared
    permutations, equal to shuffling the full matrices."""
    from ckaflow.similarity.hsic import packed_centred
    from ckaflow.similarity.null import permutation_null, permutation_null_matrix

    rng = np.random.default_rng(7)
    n = 30
    feats = rng.normal(size=(5, n, 8))
    packed = packed_centred(np.einsum("gia,gja->gij", feats, feats))
    perms = np.argsort(np.random.default_rng(1).random((12, n)), axis=1)
    got = permutation_null_matrix(packed[:2], packed[2:], n=n, perms=perms)
    pairs = np.array([(i, 2 + j) for i in range(2) for j in range(3)])
    _, want = permutation_null(packed, pairs, n=n, permutations=12,
                               rng=np.random.default_rng(1))  # fmt: skip
    assert np.allclose(got.reshape(12, -1), want, atol=1e-12)
