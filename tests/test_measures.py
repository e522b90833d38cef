"""The measures beside CKA (CCA, SVCCA, PWCCA, linear regression, Procrustes, RSA) against slow
float64 references written from the published formulas, their identities and invariances, and
every undefined case and error message."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.linalg import orthogonal_procrustes
from scipy.stats import ortho_group, rankdata

from ckaflow.similarity import (
    UndefinedMeasureWarning,
    cca,
    linreg,
    procrustes,
    pwcca,
    rsa,
    svcca,
)

SEEDS = [0, 1, 2, 3]
TOL = 1e-6  # |measure - float64 reference|


# -- references: explicit inverses, explicit loops, straight from the papers --


def centred(x):
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    return x - x.mean(axis=0)


def ref_canonical(x, y):
    """Canonical correlations (descending) and the x-side directions A (p1, m), from the
    eigenproblem Sxx^-1 Sxy Syy^-1 Syx a = rho^2 a (Hotelling 1936)."""
    x, y = centred(x), centred(y)
    sxx, syy, sxy = x.T @ x, y.T @ y, x.T @ y
    m = np.linalg.inv(sxx) @ sxy @ np.linalg.inv(syy) @ sxy.T
    values, vectors = np.linalg.eig(m)
    order = np.argsort(-values.real)[: min(x.shape[1], y.shape[1])]
    return np.sqrt(np.clip(values.real[order], 0.0, 1.0)), vectors.real[:, order]


def ref_cca(x, y, statistic="r2"):
    rho, _ = ref_canonical(x, y)
    return np.mean(rho**2) if statistic == "r2" else np.mean(rho)


def ref_svcca(x, y, keep=0.99, statistic="r2"):
    reduced = []
    for a in (x, y):
        u, s, _ = np.linalg.svd(centred(a), full_matrices=False)
        k = 1
        while np.sum(s[:k] ** 2) / np.sum(s**2) < keep:
            k += 1
        reduced.append(u[:, :k] * s[:k])
    return ref_cca(*reduced, statistic=statistic)


def ref_pwcca(x, y):
    """Morcos et al. (2018): alpha_i = sum_j |<h_i, x_j>|, h_i x's i-th canonical variate."""
    rho, a = ref_canonical(x, y)
    xc = centred(x)
    alpha = []
    for i in range(len(rho)):
        h = xc @ a[:, i]
        h /= np.linalg.norm(h)
        alpha.append(sum(abs(h @ xc[:, j]) for j in range(xc.shape[1])))
    alpha = np.array(alpha)
    return np.sum(alpha * rho) / np.sum(alpha)


def ref_linreg(x, y):
    """1 - residual / total sum of squares of the least-squares fit of y on [1, x]."""
    x, y = np.asarray(x, float).reshape(len(x), -1), np.asarray(y, float).reshape(len(y), -1)
    design = np.column_stack([np.ones(len(x)), x])
    beta, *_ = np.linalg.lstsq(design, y, rcond=None)
    residual = y - design @ beta
    return 1.0 - np.sum(residual**2) / np.sum(centred(y) ** 2)


def ref_procrustes(x, y, angular=False):
    """min over orthogonal R of ||X R - Y||_F^2, the narrower side padded with zero units."""
    x, y = centred(x), centred(y)
    x, y = x / np.linalg.norm(x), y / np.linalg.norm(y)
    p = max(x.shape[1], y.shape[1])
    x = np.pad(x, ((0, 0), (0, p - x.shape[1])))
    y = np.pad(y, ((0, 0), (0, p - y.shape[1])))
    r, _ = orthogonal_procrustes(x, y)
    return np.arccos(np.sum((x @ r) * y)) if angular else np.sum((x @ r - y) ** 2)


def ref_rsa(x, y):
    def rdm_upper(a):
        a = np.asarray(a, float).reshape(len(a), -1)
        n = len(a)
        return [1.0 - np.corrcoef(a[i], a[j])[0, 1] for i in range(n) for j in range(i + 1, n)]

    return np.corrcoef(rankdata(rdm_upper(x)), rankdata(rdm_upper(y)))[0, 1]


def related(rng, n=40, p=12, q=9, noise=0.8):
    """x (n, p) and a noisy linear image y (n, q) with offsets."""
    x = rng.normal(size=(n, p)) + rng.normal(size=p)
    y = x @ rng.normal(size=(p, q)) + noise * rng.normal(size=(n, q)) + 3.0
    return x, y


MEASURES = {
    "cca-r2": (lambda x, y: cca(x, y), ref_cca),
    "cca-rho": (lambda x, y: cca(x, y, statistic="rho"), lambda x, y: ref_cca(x, y, "rho")),
    "svcca": (lambda x, y: svcca(x, y, keep=0.9), lambda x, y: ref_svcca(x, y, 0.9)),
    "svcca-rho": (
        lambda x, y: svcca(x, y, keep=0.95, statistic="rho"),
        lambda x, y: ref_svcca(x, y, 0.95, "rho"),
    ),
    "pwcca": (pwcca, ref_pwcca),
    "linreg": (linreg, ref_linreg),
    "procrustes": (procrustes, ref_procrustes),
    "procrustes-angular": (
        lambda x, y: procrustes(x, y, angular=True),
        lambda x, y: ref_procrustes(x, y, angular=True),
    ),
    "rsa": (rsa, ref_rsa),
}
ANY_WIDTH = ["linreg", "procrustes", "procrustes-angular", "rsa"]  # defined for n < p


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", MEASURES)
def test_measure_equals_reference(name, seed):
    measure, reference = MEASURES[name]
    x, y = related(np.random.default_rng(seed))
    assert abs(measure(x, y) - reference(x, y)) <= TOL
    assert abs(measure(y, x) - reference(y, x)) <= TOL


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", ANY_WIDTH)
def test_more_units_than_examples(name, seed):
    measure, reference = MEASURES[name]
    rng = np.random.default_rng(seed)
    low = rng.normal(size=(20, 4)) @ rng.normal(size=(4, 60))  # rank 4, 60 units, n = 20
    wide = rng.normal(size=(20, 50))
    for x, y in ((low, wide), (wide[:, :30], low)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UndefinedMeasureWarning)  # linreg from wide: R^2 = 1
            assert abs(measure(x, y) - reference(x, y)) <= TOL


def test_linreg_from_a_representation_that_spans_every_example_warns_it_fits_anything():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(20, 50)), rng.normal(size=(20, 3))
    with pytest.warns(UndefinedMeasureWarning, match=r"linreg: x \(50 features, rank 19\)"):
        assert linreg(x, y) == pytest.approx(1.0, abs=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert 0.0 <= linreg(y, x) < 1.0


@pytest.mark.parametrize("measure", [cca, svcca, pwcca], ids=lambda f: f.__name__)
def test_cca_family_is_undefined_when_features_reach_examples(measure):
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(30, 40)), rng.normal(size=(30, 5))
    name, opts = measure.__name__, {"keep": 1.0} if measure is svcca else {}
    want = rf"{name}: x has 40 features \(rank 29\) for 30 examples; CCA is undefined \(every"
    with pytest.raises(ValueError, match=want):
        measure(x, y, **opts)
    with pytest.raises(ValueError, match=rf"{name}: y has 40 features"):
        measure(y, x, **opts)
    with pytest.raises(ValueError, match=r"x has 29 features \(rank 29\) for 30 examples"):
        measure(x[:, :29], y, **opts)  # n - 1 features span every centred direction already


def test_svcca_hint_names_keep_and_a_lower_keep_defines_it():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(30, 40)) * np.geomspace(1, 1e-3, 40)  # variance in a few directions
    y = x[:, :6] @ rng.normal(size=(6, 8)) + 0.1 * rng.normal(size=(30, 8))
    with pytest.raises(ValueError, match=r"lower keep \(now 1.0\)"):
        svcca(x, y, keep=1.0)
    assert abs(svcca(x, y, keep=0.5) - ref_svcca(x, y, keep=0.5)) <= TOL


def test_correlations_forced_to_one_are_counted_in_a_warning_or_refused_by_pwcca():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(30, 20)), rng.normal(size=(30, 15))  # 35 > n - 1 = 29
    with pytest.warns(UndefinedMeasureWarning, match="at least 6 of the 15 canonical") as got:
        value = cca(x, y)
    assert got[0].filename == __file__  # the warning points at the caller's line
    assert abs(value - ref_cca(x, y)) <= TOL
    # The 6 tied correlations' variates are any basis of a shared subspace: weights arbitrary.
    with pytest.raises(ValueError, match="pwcca: .* at least 6 .* arbitrary basis"):
        pwcca(x, y)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("measure", [cca, pwcca], ids=lambda f: f.__name__)
def test_dead_units_are_dropped_with_a_warning_that_counts_them(measure, seed):
    rng = np.random.default_rng(seed)
    x, y = related(rng)
    dead = np.column_stack([x[:, :5], np.zeros(40), x[:, 5:], np.full(40, 7.5)])
    with pytest.warns(UndefinedMeasureWarning, match=r"x has 2 constant units of 14"):
        got = measure(dead, y)
    reference = ref_cca(x, y) if measure is cca else ref_pwcca(x, y)
    assert abs(got - reference) <= TOL


@pytest.mark.parametrize("seed", SEEDS)
def test_dependent_units_cca_is_over_the_span_with_a_warning(seed):
    rng = np.random.default_rng(seed)
    x, y = related(rng)
    dependent = np.column_stack([x, x[:, :3] @ rng.normal(size=(3, 4))])  # 16 units, rank 12
    with pytest.warns(UndefinedMeasureWarning, match="16 varying units span 12 dimensions"):
        got = cca(dependent, y, statistic="rho")
    assert abs(got - ref_cca(x, y, "rho")) <= TOL


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", ["svcca", "linreg", "procrustes", "rsa"])
def test_dead_and_dependent_units_need_no_warning_where_they_change_nothing(name, seed):
    measure, reference = MEASURES[name]
    rng = np.random.default_rng(seed)
    x, y = related(rng)
    x = np.column_stack([x, np.zeros(40), x[:, :2] @ rng.normal(size=(2, 3))])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert abs(measure(x, y) - reference(x, y)) <= TOL
        assert abs(measure(y, x) - reference(y, x)) <= TOL


@pytest.mark.parametrize("name", MEASURES)
def test_a_representation_that_does_not_vary_is_nan_with_a_warning(name):
    measure, _ = MEASURES[name]
    x, y = related(np.random.default_rng(4))
    for constant in (np.zeros((40, 6)), np.tile(np.arange(6.0), (40, 1))):
        with pytest.warns(UndefinedMeasureWarning, match=r"undefined for x: .*the result is NaN"):
            assert np.isnan(measure(constant, y))
        with pytest.warns(UndefinedMeasureWarning, match="undefined for y"):
            assert np.isnan(measure(x, constant))


# -- identities and invariances --


@pytest.mark.parametrize("seed", SEEDS)
def test_identities_of_a_representation_with_itself(seed):
    x, _ = related(np.random.default_rng(seed))
    for statistic in ("r2", "rho"):
        assert cca(x, x, statistic=statistic) == pytest.approx(1.0, abs=1e-12)
        assert svcca(x, x, statistic=statistic) == pytest.approx(1.0, abs=1e-12)
    assert pwcca(x, x) == pytest.approx(1.0, abs=1e-12)
    assert linreg(x, x) == pytest.approx(1.0, abs=1e-12)
    assert rsa(x, x) == pytest.approx(1.0, abs=1e-12)
    assert procrustes(x, x) == pytest.approx(0.0, abs=1e-12)
    assert procrustes(x, x, angular=True) == pytest.approx(0.0, abs=1e-6)  # arccos near 1


@pytest.mark.parametrize("seed", SEEDS)
def test_procrustes_invariances_and_its_nuclear_norm(seed):
    rng = np.random.default_rng(seed)
    x, y = related(rng)
    q = ortho_group.rvs(x.shape[1], random_state=seed)
    assert procrustes(x, 3.7 * x @ q + 2.0) == pytest.approx(0.0, abs=1e-12)
    base = procrustes(x, y)
    assert procrustes(0.01 * x @ q, y) == pytest.approx(base, abs=1e-12)
    assert procrustes(y, x) == pytest.approx(base, abs=1e-12)
    a = rng.normal(size=(x.shape[1], x.shape[1]))  # invertible, not orthogonal
    assert abs(procrustes(x @ a, y) - base) > 1e-3
    assert abs(procrustes(x, x @ a)) > 1e-3
    xc, yc = centred(x), centred(y)
    nuclear = np.linalg.norm(xc.T @ yc, ord="nuc") / (np.linalg.norm(xc) * np.linalg.norm(yc))
    assert base == pytest.approx(2.0 - 2.0 * nuclear, abs=1e-12)
    assert procrustes(x, y, angular=True) == pytest.approx(np.arccos(nuclear), abs=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_cca_and_linreg_are_invariant_to_invertible_linear_maps(seed):
    rng = np.random.default_rng(seed)
    x, y = related(rng)
    a, b = rng.normal(size=(12, 12)), rng.normal(size=(9, 9))
    for statistic in ("r2", "rho"):
        base = cca(x, y, statistic=statistic)
        assert cca(x @ a + 5.0, y @ b, statistic=statistic) == pytest.approx(base, abs=1e-9)
        assert cca(y, x, statistic=statistic) == pytest.approx(base, abs=1e-12)
    assert linreg(x @ a - 1.0, y) == pytest.approx(linreg(x, y), abs=1e-9)
    q = ortho_group.rvs(9, random_state=seed)
    assert linreg(x, 2.5 * y @ q) == pytest.approx(linreg(x, y), abs=1e-12)
    assert abs(linreg(x, y) - linreg(y, x)) > 1e-3  # not symmetric


@pytest.mark.parametrize("seed", SEEDS)
def test_rsa_is_invariant_to_each_examples_scale_and_shift_but_not_each_units(seed):
    rng = np.random.default_rng(seed)
    x, y = related(rng)
    base = rsa(x, y)
    scale, shift = rng.uniform(0.1, 10, size=(40, 1)), rng.normal(size=(40, 1))
    assert rsa(scale * x + shift, y) == pytest.approx(base, abs=1e-12)
    assert rsa(x[:, rng.permutation(12)], y) == pytest.approx(base, abs=1e-12)
    assert rsa(y, x) == pytest.approx(base, abs=1e-12)
    assert abs(rsa(x * rng.uniform(0.1, 10, size=12), y) - base) > 1e-3


# -- inputs as cka takes them --


def test_activations_are_flattened_and_dataframes_paired_by_their_index():
    rng = np.random.default_rng(5)
    x4 = rng.normal(size=(40, 3, 2, 2))  # (n, h, w, c): 12 units
    _, y = related(rng)
    x = x4.reshape(40, -1)
    for name, (measure, _) in MEASURES.items():
        assert measure(x4, y) == pytest.approx(measure(x, y), abs=1e-12), name
        order = rng.permutation(40)
        framed = pd.DataFrame(y).iloc[order]  # the same examples, shuffled rows
        assert measure(pd.DataFrame(x), framed) == pytest.approx(measure(x, y), abs=1e-12), name


def test_float32_activations_and_extreme_scales():
    rng = np.random.default_rng(6)
    x, y = related(rng)
    x32 = np.maximum(x + 2.0, 0).astype(np.float32)
    x32[:, 0] *= np.float32(1e-6)  # a unit of small spread beside large ones: still a direction
    for name, (measure, reference) in MEASURES.items():
        assert abs(measure(x32, y) - reference(x32.astype(np.float64), y)) <= TOL, name
        assert measure(1e200 * x, 1e-200 * y) == pytest.approx(measure(x, y), abs=1e-12), name


def test_rsa_undefined_cases():
    rng = np.random.default_rng(7)
    x, y = related(rng)
    blank = x.copy()
    blank[[3, 17]] = 0.0  # two examples a ReLU layer gives nothing for
    with pytest.warns(UndefinedMeasureWarning, match=r"rsa: undefined for x: 2 of its 40 .*3, 17"):
        assert np.isnan(rsa(blank, y))
    alike = rng.uniform(1, 2, size=(40, 1)) * np.arange(12.0) + rng.normal(size=(40, 1))
    with pytest.warns(UndefinedMeasureWarning, match="undefined for y: its RDM is constant"):
        assert np.isnan(rsa(x, alike))
    with pytest.raises(ValueError, match=r"rsa: x \(shape \(40,\)\) has 1 unit per example"):
        rsa(x[:, 0], y)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda x, y: cca(x[:2], y[:2]), r"cca needs n >= 3 examples, got n = 2"),
        (lambda x, y: rsa(x[:2], y[:2]), r"rsa needs n >= 3 examples, got n = 2"),
        (lambda x, y: procrustes(x[:1], y[:1]), r"procrustes needs n >= 2 examples, got n = 1"),
        (lambda x, y: linreg(x, y[:30]), r"same number of examples n, got shapes"),
        (lambda x, y: cca(x, y, statistic="r"), r"cca: unknown statistic 'r'; expected one of"),
        (lambda x, y: svcca(x, y, statistic="mean"), r"svcca: unknown statistic 'mean'"),
        (lambda x, y: svcca(x, y, keep=1.5), r"svcca: keep must be .* \(0, 1\], got 1.5"),
        (lambda x, y: svcca(x, y, keep=0), r"got 0"),
        (lambda x, y: procrustes(x, y, angular="yes"), r"angular must be True or False, got 'yes'"),
        (lambda x, y: pwcca(x.astype(bool), y), r"x has dtype bool; expected real numbers"),
        (lambda x, y: rsa(x, np.zeros((40, 0))), r"y has shape \(40, 0\); expected \(n, ...\)"),
        (lambda x, y: linreg(x.tolist(), y), r"x is a list, not an array"),
    ],
)
def test_errors_name_the_measure_and_the_value(call, message):
    x, y = related(np.random.default_rng(8))
    with pytest.raises(ValueError, match=message):
        call(x, y)


@pytest.mark.parametrize("name", MEASURES)
def test_nan_and_inf_inputs_are_refused_naming_them(name):
    measure, _ = MEASURES[name]
    x, y = related(np.random.default_rng(9))
    x[3, 4], y[0, 0] = np.nan, np.inf
    with pytest.raises(ValueError, match=r": x \(shape \(40, 12\)\) has 1 NaN or inf values"):
        measure(x, y)
    with pytest.raises(ValueError, match=r": y \(shape \(40, 9\)\) has 1 NaN or inf values"):
        measure(np.nan_to_num(x), y)
