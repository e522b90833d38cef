"""Bootstrap intervals: each replicate against a naive loop over resampled examples, coverage of
a known population CKA in simulation, pairing, determinism and refused settings."""

from __future__ import annotations

import numpy as np
import pytest
import reference as ref
from test_similarity import ESTIMATORS, SEEDS

from ckaflow.similarity import (
    bootstrap_cka,
    bootstrap_interval,
    cka,
    cka_interval,
    packed_grams,
    percentile_interval,
    resample_counts,
)
from ckaflow.similarity.slices import named_moments


def packed(arrays, **opts):
    m = named_moments(
        arrays,
        precision="float64",
        memory_budget=10**9,
        global_terms=opts.get("centering") == "global",
    )
    return packed_grams(m, **opts)


def u_centred(k):
    """U(K) of Song et al. (2012), written out: zero diagonal, corrected row and column means."""
    n = len(k)
    kt = k - np.diag(np.diag(k))
    r = kt.sum(axis=1) / (n - 2)
    r -= r.sum() / (2 * (n - 1))
    u = kt - r[:, None] - r[None, :]
    np.fill_diagonal(u, 0.0)
    return u


def naive_replicate(k, l, idx, debiased=False, centering="unit"):
    """The definition, one resample at a time: the full sample's Gram (U-centred for the
    debiased estimator) at the resampled rows and columns, then the reference HSIC."""
    if debiased:
        k, l = u_centred(k), u_centred(l)
    k, l = k[np.ix_(idx, idx)], l[np.ix_(idx, idx)]
    h = lambda a, b: ref.hsic(a, b, debiased, centering)  # noqa: E731
    return h(k, l) / np.sqrt(h(k, k) * h(l, l))


def three_groups(rng, n=30):
    x = rng.normal(size=(n, 6)) + 2.0
    y = np.maximum(x @ rng.normal(size=(6, 9)) + rng.normal(size=(n, 9)), 0.0)
    z = rng.normal(size=(n, 4))
    return {"x": x, "y": y, "z": z}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("opts", ESTIMATORS, ids=lambda o: "-".join(map(str, o.values())))
def test_replicates_match_a_naive_loop_over_resampled_examples(seed, opts):
    rng = np.random.default_rng(seed)
    groups = three_groups(rng)
    n = 30
    pairs = np.array([[0, 1], [0, 2], [1, 2], [1, 0]])
    counts = resample_counts(n, 6, seed=seed)
    debiased, centering = opts.get("debiased", False), opts.get("centering", "unit")
    boot = bootstrap_cka(
        packed(groups, **opts), pairs, counts, n=n, debiased=debiased, centering=centering
    )
    kernel = dict(kernel=opts["kernel"], sigma_frac=opts.get("sigma_frac", 1.0))
    grams = [ref.gram(v, centering=centering, **kernel) for v in groups.values()]
    full = np.arange(n)
    for p, (a, b) in enumerate(pairs):
        assert boot.estimate[p] == pytest.approx(
            naive_replicate(grams[a], grams[b], full, debiased, centering), abs=1e-12
        )
        for r, c in enumerate(counts):
            idx = np.repeat(full, c)
            want = naive_replicate(grams[a], grams[b], idx, debiased, centering)
            assert boot.replicates[r, p] == pytest.approx(want, abs=1e-12)


def test_many_pairs_of_some_groups_give_each_pairs_own_replicates():
    """90 pairs (more than one chunk of pair products) of 10 of 12 groups (the other two never
    read) against each pair computed alone."""
    rng = np.random.default_rng(11)
    n = 20
    groups = {f"g{i}": rng.normal(size=(n, 3)) + i for i in range(12)}
    grams = packed(groups, kernel="linear")
    pairs = np.array([[a, b] for a in range(1, 11) for b in range(1, 11) if a != b])
    counts = resample_counts(n, 5, seed=3)
    together = bootstrap_cka(grams, pairs, counts, n=n, debiased=True)
    for p, pair in enumerate(pairs):
        alone = bootstrap_cka(grams, pair[None], counts, n=n, debiased=True)
        assert together.estimate[p] == pytest.approx(alone.estimate[0], abs=1e-12)
        assert together.replicates[:, p] == pytest.approx(alone.replicates[:, 0], abs=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_a_biased_replicate_is_the_cka_of_the_resampled_activations(seed):
    """Centring is redone on each resample: the replicate is exactly what `cka` gives on the
    resampled activations, duplicates and all."""
    rng = np.random.default_rng(seed)
    g = three_groups(rng)
    counts = resample_counts(30, 5, seed=seed)
    grams = packed({"x": g["x"], "y": g["y"]}, debiased=False)
    boot = bootstrap_cka(grams, np.array([[0, 1]]), counts, n=30, debiased=False)
    for r, c in enumerate(counts):
        idx = np.repeat(np.arange(30), c)
        assert boot.replicates[r, 0] == pytest.approx(
            cka(g["x"][idx], g["y"][idx], debiased=False, precision="float64"), abs=1e-12
        )


def population_linear_cka(a, sigma):
    """x ~ N(0, I_p), y = x a + sigma e: ||S_xy||_F^2 / (||S_xx||_F ||S_yy||_F)."""
    p, q = a.shape
    s_yy = a.T @ a + sigma**2 * np.eye(q)
    return float(np.sum(a**2) / (np.sqrt(p) * np.linalg.norm(s_yy)))


@pytest.mark.parametrize("debiased", [False, True], ids=["biased", "debiased"])
def test_95_percent_intervals_cover_the_population_cka(debiased):
    """Correlated Gaussian features with a known population CKA: the nominal 95% interval
    covers it in 90-99% of 200 trials (10 units, n = 200 as in the study, 400 resamples). The
    trials are 200 independent pairs of one call, as the workflow bootstraps its pairs: they
    share the resampled indices, each its own data."""
    rng = np.random.default_rng(12345)
    p, n, trials = 10, 200, 200
    a, sigma = 0.5 * rng.normal(size=(p, p)), 1.0
    truth = population_linear_cka(a, sigma)
    groups = {}
    for t in range(trials):
        x = rng.normal(size=(n, p))
        groups[f"x{t}"], groups[f"y{t}"] = x, x @ a + sigma * rng.normal(size=(n, p))
    pairs = np.arange(2 * trials).reshape(trials, 2)
    boot = bootstrap_cka(
        packed(groups, debiased=debiased),
        pairs,
        resample_counts(n, 400, seed=0),
        n=n,
        debiased=debiased,
    )
    low, high = boot.interval(0.95)
    covered = np.mean((low <= truth) & (truth <= high))
    assert 0.90 <= covered <= 0.99, covered


def test_95_percent_minibatch_intervals_cover_the_population_cka():
    """The workflow's rule on minibatches (stages.intervals): each batch's images resampled
    within it, the batches' debiased HSICs summed, then normalised. Its nominal 95% interval
    covers the population CKA (which the unbiased HSIC averaged over batches estimates) in
    90-99% of 200 trials of n = 200 in 4 batches of 50."""
    from ckaflow.similarity.bootstrap import bootstrap_hsic, bootstrap_of_hsic

    rng = np.random.default_rng(54321)
    p, n, batch, trials = 10, 200, 50, 200
    a, sigma = 0.5 * rng.normal(size=(p, p)), 1.0
    truth = population_linear_cka(a, sigma)
    data = []
    for _ in range(trials):
        x = rng.normal(size=(n, p))
        data.append((x, x @ a + sigma * rng.normal(size=(n, p))))
    pairs = np.arange(2 * trials).reshape(trials, 2)
    xy = xx = None
    for j, b0 in enumerate(range(0, n, batch)):
        groups = {}
        for t, (x, y) in enumerate(data):
            groups[f"x{t}"], groups[f"y{t}"] = x[b0 : b0 + batch], y[b0 : b0 + batch]
        bxy, bxx, inverse = bootstrap_hsic(packed(groups, debiased=True), pairs,
                                           resample_counts(batch, 400, seed=[0, j]), n=batch,
                                           debiased=True)  # fmt: skip
        xy, xx = (bxy, bxx) if xy is None else (xy + bxy, xx + bxx)
    low, high = bootstrap_of_hsic(xy, xx, inverse).interval(0.95)
    covered = np.mean((low <= truth) & (truth <= high))
    assert 0.90 <= covered <= 0.99, covered


def test_a_difference_of_a_pair_with_itself_has_a_zero_interval():
    """Every pair sees the same resample: the difference of two identical pairs is 0 in every
    replicate, and the difference of two different pairs is narrower than either alone when
    they are correlated."""
    rng = np.random.default_rng(7)
    g = three_groups(rng, n=60)
    g["y2"] = g["y"] + 0.05 * rng.normal(size=g["y"].shape)
    pk = packed(g, debiased=True)
    pairs = np.array([[0, 1], [0, 1], [0, 3]])
    boot = bootstrap_cka(pk, pairs, resample_counts(60, 300, seed=1), n=60, debiased=True)
    assert boot.difference(0, 1) == (0.0, 0.0, 0.0)
    d = boot.replicates[:, 0] - boot.replicates[:, 2]
    dl, dh = bootstrap_interval(boot.estimate[0] - boot.estimate[2], d)
    low, high = boot.interval()
    assert dh - dl < 0.5 * (high[0] - low[0])


def test_same_seed_same_intervals_other_seed_other_resamples():
    rng = np.random.default_rng(3)
    g = three_groups(rng)
    first = cka_interval(g["x"], g["y"], resamples=200, seed=5)
    assert cka_interval(g["x"], g["y"], resamples=200, seed=5) == first
    assert cka_interval(g["x"], g["y"], resamples=200, seed=6)[1:] != first[1:]
    assert first[0] == pytest.approx(cka(g["x"], g["y"]), abs=1e-6)
    assert first[1] < first[0] < first[2]


def test_percentile_interval_is_undefined_where_too_many_replicates_are():
    r = np.column_stack([np.arange(100.0), np.where(np.arange(100) < 10, np.nan, 1.0)])
    low, high = percentile_interval(r, 0.95)
    assert low[0] == pytest.approx(2.475) and np.isnan(low[1]) and np.isnan(high[1])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(resamples=99), "resamples must lie in 100..100000, got 99"),
        (dict(resamples=100_001), "got 100001"),
        (dict(resamples=1000.0), "resamples must be an integer"),
        (dict(confidence=0.5), "confidence must lie in \\(0.5, 1\\), got 0.5"),
        (dict(confidence=1.0), "got 1.0"),
        (dict(confidence=True), "got True"),
    ],
)
def test_bad_settings_are_refused_naming_the_value(kwargs, message):
    x = np.random.default_rng(0).normal(size=(20, 3))
    with pytest.raises((ValueError, TypeError), match=message):
        cka_interval(x, x + 1.0, **kwargs)


def test_counts_that_are_not_resamples_of_n_are_refused():
    x = np.random.default_rng(0).normal(size=(20, 3))
    pk = packed({"x": x, "y": x})
    with pytest.raises(ValueError, match="rows summing to n"):
        bootstrap_cka(pk, np.array([[0, 1]]), np.ones((3, 20), int) * 2, n=20)
