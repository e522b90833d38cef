"""The similarity engine against a slow float64 reference and CKA's mathematical properties."""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pytest
import reference as ref
from scipy.stats import ortho_group

from ckaflow.similarity import (
    Estimator,
    UndefinedCKAWarning,
    cka,
    cka_interval,
    cka_matrix,
    filter_moments,
    group_cka,
    group_moments,
    minibatch_cka_matrix,
)

SEEDS = [0, 1, 2]
ESTIMATORS = [
    dict(kernel="linear", debiased=False),
    dict(kernel="linear", debiased=True),
    dict(kernel="rbf", debiased=False),
    dict(kernel="rbf", sigma_frac=0.5, debiased=True),
    dict(kernel="linear", debiased=False, centering="global"),
]
TOL = 1e-6  # |engine - float64 reference|, the accuracy the study's comparisons need


def rel(a, b) -> float:
    """|a - b| / |b| in the Frobenius norm: float32 products' error, relative to the whole
    matrix rather than entry by entry (0 where both are 0)."""
    norm = np.linalg.norm(b)
    return float(np.linalg.norm(a - b) / norm) if norm else float(np.linalg.norm(a))


def related(rng, n=40, p=30, q=20, noise=0.7, offset=0.0):
    """x (n, p) and a noisy linear image y (n, q); ReLU'd with an offset if offset > 0."""
    x = rng.normal(size=(n, p))
    y = x @ rng.normal(size=(p, q)) + noise * rng.normal(size=(n, q))
    if offset:
        x, y = np.maximum(x + offset, 0), np.maximum(y + offset, 0)
    return x, y


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("opts", ESTIMATORS, ids=lambda o: "-".join(map(str, o.values())))
def test_engine_equals_reference(seed, opts):
    x, y = related(np.random.default_rng(seed))
    assert abs(cka(x, y, **opts) - ref.cka(x, y, **opts)) <= TOL


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("opts", ESTIMATORS, ids=lambda o: "-".join(map(str, o.values())))
def test_float32_engine_on_relu_layers_with_large_offset(seed, opts):
    # ReLU activations with a large common offset, conv-sized: the case that breaks uncentred Grams.
    rng = np.random.default_rng(seed)
    x = np.maximum(rng.normal(size=(60, 16, 20, 4)) + 8.0, 0).astype(np.float32)
    y = np.maximum(0.3 * x + rng.normal(size=x.shape) + 6.0, 0).astype(np.float32)
    got = cka(x, y, precision="float32", **opts)
    assert abs(got - ref.cka(x, y, **opts)) <= TOL


@pytest.mark.parametrize("seed", SEEDS)
def test_many_groups_match_reference_pair_by_pair(seed):
    rng = np.random.default_rng(seed)
    xs = {f"g{i}": rng.normal(size=(30, int(rng.integers(1, 60)))) for i in range(5)}
    for opts in ESTIMATORS:
        got = cka_matrix(xs, **opts)
        want = np.array([[ref.cka(a, b, **opts) for b in xs.values()] for a in xs.values()])
        np.testing.assert_allclose(got, want, atol=TOL, rtol=0)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("precision, tol", [("float64", 1e-10), ("float32", TOL)])
@pytest.mark.parametrize("opts", ESTIMATORS[:4], ids=lambda o: "-".join(map(str, o.values())))
def test_properties(seed, precision, tol, opts):
    rng = np.random.default_rng(seed)
    x, y = related(rng)
    opts = dict(opts, precision=precision)
    base = cka(x, y, **opts)
    assert cka(x, x, **opts) == pytest.approx(1.0, abs=tol)
    assert cka(y, x, **opts) == pytest.approx(base, abs=tol)
    q = ortho_group.rvs(x.shape[1], random_state=seed)
    assert cka(x @ q, y, **opts) == pytest.approx(base, abs=tol)
    assert cka(3.7 * x, y, **opts) == pytest.approx(base, abs=tol)
    assert cka(x[:, rng.permutation(x.shape[1])], y, **opts) == pytest.approx(base, abs=tol)


@pytest.mark.parametrize("seed", range(10))
def test_biased_linear_lies_in_unit_interval(seed):
    rng = np.random.default_rng(seed)
    xs = [
        rng.normal(size=(20, int(rng.integers(1, 50)))) ** int(rng.integers(1, 3)) for _ in range(6)
    ]
    got = cka_matrix(xs, debiased=False)
    assert np.all((got >= 0) & (got <= 1 + 1e-12))


def test_filter_grams_sum_to_layer_gram_and_layers_to_model():
    rng = np.random.default_rng(0)
    layer1 = np.maximum(rng.normal(size=(25, 6, 5, 4)), 0)
    layer2 = rng.normal(size=(25, 3, 3, 2))
    f1 = filter_moments(layer1, precision="float64")
    assert len(f1) == 4
    np.testing.assert_allclose(
        f1.total().gram[0], group_moments(layer1, precision="float64").gram[0], atol=1e-10
    )
    model = np.concatenate([layer1.reshape(25, -1), layer2.reshape(25, -1)], axis=1)
    summed = f1.total().gram[0] + filter_moments(layer2, precision="float64").total().gram[0]
    np.testing.assert_allclose(summed, ref.gram(model), atol=1e-10)


def test_global_centring_of_a_layer_from_its_filters():
    # The thesis' global centring needs the mean of the whole group, not of each filter.
    from ckaflow.similarity import gram_matrices

    rng = np.random.default_rng(1)
    layer = np.maximum(rng.normal(size=(20, 4, 4, 3)) + rng.normal(size=3) * 3, 0)
    m = filter_moments(layer, precision="float64").total()
    np.testing.assert_allclose(
        gram_matrices(m, centering="global")[0], ref.gram(layer, centering="global"), atol=1e-9
    )


def test_blockwise_equals_whole():
    rng = np.random.default_rng(2)
    act = rng.normal(size=(30, 8, 10, 6)).astype(np.float32)
    whole = filter_moments(act)
    per_channel = filter_moments(act, memory_budget=1)  # one channel per block
    for a, b in zip(whole._fields(), per_channel._fields(), strict=True):
        # Same numbers up to float32 rounding (BLAS may take another path for another layout).
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6 * np.abs(a).max())


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("budget", [1 << 30, 30 * 30 * 8 * 3, 1])
def test_a_layer_summed_as_it_is_read_is_its_filters_total(seed, budget):
    """filter_moments(total=True): a layer never holds one Gram per channel (one product per
    block of channels, a channel at a time where the budget or extreme values ask for it), and
    gives its channels' total to float32 rounding: the float64 computation's numbers."""
    rng = np.random.default_rng(seed)
    act = np.maximum(rng.normal(size=(30, 11, 5, 4)) + rng.normal(size=(1, 11, 1, 1)), 0)
    act = act.astype(np.float32)

    def check(act):
        exact = filter_moments(act.astype(np.float64), channel_axis=1, precision="float64")
        # the rounding floor follows the input's dtype: float32's, as the channels' total
        floor = filter_moments(act, channel_axis=1, memory_budget=budget).total().floor
        want = dataclasses.replace(exact.total(), floor=floor)
        got = filter_moments(act, channel_axis=1, memory_budget=budget, total=True)
        for a, b in zip(want._fields(), got._fields(), strict=True):
            assert a.shape == b.shape
            assert rel(b, a) <= 1e-6, rel(b, a)
        return got

    check(act)
    # A channel of extreme values makes its block be redone rescaled: the sum so far is undone
    act[:, 3] *= np.float32(1e19)
    act[:, 7] *= np.float32(1e-22)
    got = check(act)
    assert np.isfinite(got.gram).all() and got.gram[0, 0, 0] > 0


def test_feature_space_and_gram_forms_agree():
    rng = np.random.default_rng(3)
    few = [rng.normal(size=(300, 5)), rng.normal(size=(300, 8))]  # p << n: feature space
    many = [rng.normal(size=(20, 500)), rng.normal(size=(20, 400))]  # p >> n: Grams
    r_few = cka_matrix(few, debiased=False, components=True)
    r_many = cka_matrix(many, debiased=False, components=True)
    assert r_few.method == "feature" and r_many.method == "gram"
    for xs, r in ((few, r_few), (many, r_many)):
        want = np.array([[ref.cka(a, b, debiased=False) for b in xs] for a in xs])
        np.testing.assert_allclose(r.cka, want, atol=TOL, rtol=0)
        assert r.xy.shape == (2, 2) and r.xx.shape == (2,)


def test_components_are_the_hsic_values():
    x, y = related(np.random.default_rng(4))
    r = cka_matrix([x], [y], kernel="linear", debiased=True, components=True)
    kx, ky = ref.gram(x), ref.gram(y)
    assert r.xy[0, 0] == pytest.approx(ref.hsic(kx, ky, debiased=True), rel=1e-6)
    assert r.xx[0] == pytest.approx(ref.hsic(kx, kx, debiased=True), rel=1e-6)


@pytest.mark.parametrize("opts", ESTIMATORS, ids=lambda o: "-".join(map(str, o.values())))
def test_dead_filter_is_nan_with_a_warning_naming_it(opts):
    rng = np.random.default_rng(5)
    layer = np.maximum(rng.normal(size=(30, 4, 4, 3)), 0)
    layer[..., 1] = 0.0  # a ReLU filter that never fires on these examples
    filters = {f"conv1/f{c:02d}": layer[..., c] for c in range(3)}
    with pytest.warns(UndefinedCKAWarning, match="conv1/f01"):
        got = cka_matrix(filters, **opts)
    assert np.isnan(got[1]).all() and np.isnan(got[:, 1]).all()
    assert np.isfinite(got[[0, 2]][:, [0, 2]]).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isfinite(
            cka(layer, layer[..., ::-1], **opts)
        )  # the layer as a whole still varies


def test_rbf_with_a_zero_median_distance_is_undefined():
    x = np.zeros((10, 5))
    x[:3] = np.random.default_rng(13).normal(size=(3, 5))  # most examples coincide: median 0
    with pytest.warns(UndefinedCKAWarning, match="'sparse'"):
        got = cka_matrix(
            {"sparse": x, "dense": np.random.default_rng(14).normal(size=(10, 5))}, kernel="rbf"
        )
    assert np.isnan(got[0]).all() and got[1, 1] == pytest.approx(1.0)


def test_a_filter_that_varies_only_by_rounding_is_undefined_too():
    rng = np.random.default_rng(12)
    x = rng.normal(size=(30, 40))
    flat = (1.0 + 1e-9 * rng.normal(size=(30, 40))).astype(np.float32)  # constant to float32
    with pytest.warns(UndefinedCKAWarning, match="flat"):
        got = cka_matrix({"x": x, "flat": flat}, debiased=False, centering="global")
    assert np.isnan(got[1]).all() and got[0, 0] == pytest.approx(1.0)
    small = 1e-20 * x  # tiny but a real signal: defined
    assert cka(small, x) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda x, y: cka(np.where(x > 1, np.nan, x), y), "NaN or inf"),
        (lambda x, y: cka(x, np.where(y > 1, np.inf, y)), "NaN or inf"),
        (lambda x, y: cka(x, y[:-1]), r"same number of examples.*\(40, 30\).*\(39, 20\)"),
        (lambda x, y: cka(x[:3], y[:3], debiased=True), r"n >= 4.*n = 3"),
        (lambda x, y: cka(x[:1], y[:1], debiased=False), r"n >= 2.*n = 1"),
        (lambda x, y: cka(x[:3], y[:3]), r"debiased estimator needs n >= 4.*n = 3"),
        (lambda x, y: cka(x, y, kernel="rbf", sigma_frac=0), "sigma_frac.*0"),
        (lambda x, y: cka(x, y, kernel="rbf", sigma_frac=-1.0), "sigma_frac.*-1.0"),
        (lambda x, y: cka(x, y, kernel="cosine"), "'cosine'"),
        (lambda x, y: cka(x, y, centering="median"), "'median'"),
        (lambda x, y: cka(x, y, kernel="rbf", centering="global"), "global.*'rbf'"),
        (lambda x, y: cka(x, y, precision="float16"), "'float16'"),
        (lambda x, y: cka(x[:, :0], y), r"shape \(40, 0\)"),
        (lambda x, y: cka(x.astype(str), y), "dtype"),
        (lambda x, y: cka_matrix(x), "one array"),
        (lambda x, y: cka_matrix([]), "empty"),
        (lambda x, y: cka_matrix(x.tolist()), r"xs\[0\] is a list, not an array.*tolist"),
        (lambda x, y: cka_matrix([x], [list(y[0])]), r"ys\[0\] is a list"),
        (lambda x, y: cka(x, y, debiased="no"), "debiased must be True or False, got 'no'"),
        (
            lambda x, y: cka_matrix([x], [y], debiased=True, memory_budget=30_000),
            r"n = 40 examples: .* 0\.0384 MB, .* memory_budget = 0\.03 MB; .*minibatch_cka_matrix",
        ),
        (lambda x, y: cka(x, y, kernel="rbf", sigma_frac=True), "sigma_frac.*True"),
        (lambda x, y: minibatch_cka_matrix([x], [y], batch_size=3), "batch_size.*3"),
        (lambda x, y: cka_matrix([x], [y], memory_budget="x"), "memory_budget .*got 'x' \\(str"),
        (lambda x, y: cka_matrix([x], [y], memory_budget=-1), "memory_budget .*positive.*-1"),
        (lambda x, y: filter_moments(x, memory_budget=2.5), "memory_budget .*2.5 \\(float"),
        (lambda x, y: minibatch_cka_matrix([x], batch_size=10, seed=-1), "seed must be .*-1"),
        (lambda x, y: cka_interval(x, y, seed="a"), "seed must be .*'a'"),
        (
            lambda x, y: cka(np.ma.masked_greater(x, 2.0), y),
            r"x is a masked array with \d+ masked values; .*drop the examples",
        ),
    ],
)
def test_bad_input_raises_value_error_naming_it(call, message):
    x, y = related(np.random.default_rng(6))
    with pytest.raises(ValueError, match=message):
        call(x, y)


def test_minibatch_with_one_batch_is_exactly_the_debiased_value():
    x, y = related(np.random.default_rng(7), n=50)
    got = minibatch_cka_matrix([x], [y], batch_size=50)[0, 0]
    assert got == pytest.approx(cka(x, y, debiased=True), abs=1e-12)


def test_minibatch_sums_numerators_and_skips_small_batches():
    x, y = related(np.random.default_rng(8), n=42)
    order = np.random.default_rng(11).permutation(42)
    batches = [np.sort(order[i : i + 10]) for i in range(0, 40, 10)]  # the last 2 are skipped
    kx = [ref.gram(x[b]) for b in batches]
    ky = [ref.gram(y[b]) for b in batches]
    xy = sum(ref.hsic(a, b, debiased=True) for a, b in zip(kx, ky, strict=True))
    xx = sum(ref.hsic(a, a, debiased=True) for a in kx)
    yy = sum(ref.hsic(b, b, debiased=True) for b in ky)
    got = minibatch_cka_matrix([x], [y], batch_size=10, seed=11)[0, 0]
    assert got == pytest.approx(xy / np.sqrt(xx * yy), abs=TOL)
    mean_of_batch_cka = np.mean(
        [
            ref.hsic(a, b, True) / np.sqrt(ref.hsic(a, a, True) * ref.hsic(b, b, True))
            for a, b in zip(kx, ky, strict=True)
        ]
    )
    assert abs(got - mean_of_batch_cka) > 1e-3, "must not be the mean of per-batch CKA"
    assert got == minibatch_cka_matrix([x], [y], batch_size=10, seed=11)[0, 0]


@pytest.mark.parametrize(
    "opts", [{"debiased": False}, {}, {"debiased": False, "centering": "global"}], ids=str
)
def test_float32_accuracy_at_the_study_scale(opts):
    # conv1-sized ReLU layers (n = 200, 81,920 units) with a large offset, against float64.
    rng = np.random.default_rng(9)
    x = np.maximum(rng.normal(size=(200, 64, 80, 16), scale=0.5).astype(np.float32) + 2.0, 0)
    y = np.maximum(0.5 * x + rng.normal(size=x.shape).astype(np.float32) + 1.0, 0)
    got = cka_matrix({"x": x, "y": y}, **opts)
    assert abs(got[0, 1] - ref.cka(x, y, **opts)) <= TOL
    assert abs(got[0, 0] - 1.0) <= TOL


def test_group_cka_names_every_group_and_matches_pairwise_cka():
    rng = np.random.default_rng(10)
    layers = {"conv1": (6, 8, 3), "pool1": (3, 4, 3), "output": (6, 8, 1)}
    instances = {
        name: {k: np.maximum(rng.normal(size=(24, *s)) + 0.5, 0) for k, s in layers.items()}
        for name in ("a-1", "b-1")
    }
    channels_first = {
        name: {k: np.moveaxis(v, -1, 1) for k, v in inst.items()}
        for name, inst in instances.items()
    }
    ests = [
        Estimator(debiased=False),
        Estimator(),
        Estimator(kernel="rbf", sigma_frac=0.8),
        Estimator(debiased=False, centering="global"),
    ]
    names, res = group_cka(instances, ests)
    names_cf, res_cf = group_cka(channels_first, ests, channel_axis=1)
    per_instance = 3 + 3 + 1 + 3 + 1  # filters, layers, model
    assert len(names) == 2 * per_instance and len(set(names)) == len(names)
    assert names[:3] == ["a-1:conv1/f00", "a-1:conv1/f01", "a-1:conv1/f02"]
    assert names[per_instance - 4 : per_instance] == [
        "a-1:conv1",
        "a-1:pool1",
        "a-1:output",
        "a-1:model",
    ]
    assert names == names_cf

    def data(name):
        inst, group = name.split(":")
        if group == "model":
            return np.concatenate([v.reshape(24, -1) for v in instances[inst].values()], axis=1)
        if "/f" in group:
            layer, f = group.split("/f")
            return instances[inst][layer][..., int(f)]
        return instances[inst][group]

    pick = rng.choice(len(names), size=(12, 2))
    for e in ests:
        np.testing.assert_allclose(res[e.name].cka, res_cf[e.name].cka, atol=TOL)
        assert np.allclose(np.diagonal(res[e.name].cka), 1.0, atol=TOL)
        for i, j in pick:
            want = ref.cka(data(names[i]), data(names[j]), **e.options())
            assert abs(res[e.name].cka[i, j] - want) <= TOL, (e.name, names[i], names[j])


def test_estimator_names():
    assert Estimator(debiased=False).name == "linear-biased"
    assert Estimator().name == "linear-debiased"  # the library's default (DEBIASED)
    assert Estimator(kernel="rbf", sigma_frac=0.5, debiased=False).name == "rbf0.5-biased"
    assert Estimator(debiased=False, centering="global").name == "linear-biased-global"
    with pytest.raises(ValueError, match="global"):
        Estimator(centering="global", debiased=True)


@pytest.mark.parametrize("scale", [1e-55, 1e-40, 1e-22, 1e19, 1e30, 1e55])
@pytest.mark.parametrize("opts", ESTIMATORS, ids=lambda o: "-".join(map(str, o.values())))
def test_cka_does_not_depend_on_the_scale_of_the_activations(scale, opts):
    """Scaled far past float32's range (1e19 overflowed, 1e-22 lost digits to subnormals, 1e30
    was called constant), the float32 engine gives the reference value, with no warning, on the
    Gram path (filters: one group per channel) and on the feature-space path alike."""
    x, y = related(np.random.default_rng(7))
    want = ref.cka(x, y, **opts)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert abs(cka(scale * x, y, **opts) - want) <= TOL
        assert abs(cka(y, scale * x, **opts) - want) <= TOL
        m = cka_matrix({"x": (scale * x).reshape(40, 6, 5)}, {"y": y}, **opts)
        assert abs(m[0, 0] - want) <= TOL
    with np.errstate(over="ignore"):
        f32 = (scale * x).astype(np.float32)
    if np.isfinite(f32).all() and (f32 != 0).all():  # representable in float32: the same again
        assert abs(cka(f32, y, **opts) - ref.cka(f32.astype(np.float64), y, **opts)) <= TOL


def test_filters_of_one_layer_at_different_scales_still_sum_to_the_layer():
    rng = np.random.default_rng(3)
    act = rng.normal(size=(30, 5, 4, 3))
    act[..., 0] *= 1e25  # one channel far above float32's safe products, one far below
    act[..., 1] *= 1e-25
    m = filter_moments(act, channel_axis=-1)
    whole = group_moments(act, precision="float64")

    assert rel(m.total().gram, whole.gram) <= 1e-6
    assert rel(m.gram[1], group_moments(act[..., 1], precision="float64").gram[0]) <= 1e-6
    assert np.linalg.norm(m.gram[1]) < 1e-40  # the tiny channel kept its own scale


@pytest.mark.parametrize("scale", [1e70, 1e-70])
def test_magnitudes_beyond_float64_hsic_are_refused_naming_the_group(scale):
    x, y = related(np.random.default_rng(1))
    for debiased in (False, True):
        with pytest.raises(ValueError, match=r"'?layer7'? .*values up to .*rescale the activ"):
            cka_matrix({"layer7": scale * x}, {"y": y}, debiased=debiased)


@pytest.mark.parametrize("shift, spread", [(1.0, 1e-6), (1e4, 1e-3)])
@pytest.mark.parametrize("opts", ESTIMATORS, ids=lambda o: "-".join(map(str, o.values())))
def test_float64_data_is_judged_by_its_own_resolution_not_float32s(shift, spread, opts):
    """float64 data varying by 1e-6 around 1 (or 1e-3 around 1e4) is resolved by float64: it
    varies, and adding the constant changes nothing. float32 could not tell it from constant;
    the thesis' global centring works through float32 products, so there it stays undefined."""
    x, y = related(np.random.default_rng(5))
    shifted = shift + spread * x
    if opts.get("centering") == "global":
        with pytest.warns(UndefinedCKAWarning, match="do not vary"):
            assert np.isnan(cka(shifted, y, **opts))
        return
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "does not vary" warning
        got, tiled = cka(shifted, y, **opts), cka(np.tile(shifted, 3), y, **opts)
    assert abs(got - ref.cka(spread * x, y, **opts)) <= TOL
    assert abs(tiled - ref.cka(np.tile(spread * x, 3), y, **opts)) <= TOL


@pytest.mark.parametrize("offset", [1e6, 1e12, 1e13])
@pytest.mark.parametrize(
    "shape", [(60, 6, 6, 8), (20, 3000), (80, 12)], ids=["conv", "wide", "few"]
)
@pytest.mark.parametrize("opts", ESTIMATORS[:4], ids=lambda o: "-".join(map(str, o.values())))
def test_a_large_offset_on_float64_input_is_removed_in_float64(offset, shape, opts):
    """Each unit's mean is subtracted in the input's precision before anything is rounded to
    float32: x + 1e12 gives the CKA of x + 1e12 (its float64 values), not the CKA of rounding
    errors (each path: conv-shaped and wide groups use Grams, few units the feature form)."""
    rng = np.random.default_rng(int(offset) % 97 + len(shape))
    x = rng.random(shape)
    y = np.tanh(x.reshape(shape[0], -1)[:, :12] @ rng.normal(size=(12, 10)))
    y = y + 0.5 * rng.random(y.shape)
    far = x + offset  # float64: keeps x to about offset * 1e-16
    want = ref.cka(far.reshape(shape[0], -1), y, **opts)
    assert abs(cka(far, y, **opts) - want) <= 1e-5
    if shape[0] == 80:  # the interval reads the same moments
        assert abs(cka_interval(far, y, resamples=100, **opts)[0] - want) <= 1e-5
    assert abs(want - ref.cka(x.reshape(shape[0], -1), y, **opts)) <= 1e-2  # x survives the offset


@pytest.mark.parametrize(
    "opts",
    [
        {"debiased": False},
        {},
        {"kernel": "rbf", "sigma_frac": 0.7},
        {"debiased": False, "centering": "global"},
    ],
)
def test_channel_views_of_one_array_are_gathered_and_give_the_same_cka(opts, tmp_path):
    """x[..., c] views (channels-last, a memory map, or a transposed channels-first array) and
    the whole layer: computed from one pass over x, the same numbers as contiguous copies."""
    from ckaflow.similarity.slices import _channel_sets

    rng = np.random.default_rng(31)
    x = np.maximum(rng.standard_normal((30, 6, 5, 8), dtype=np.float32) + 0.3, 0)
    np.save(tmp_path / "x.npy", x)
    mapped = np.load(tmp_path / "x.npy", mmap_mode="r")
    channels_first = np.moveaxis(np.ascontiguousarray(np.moveaxis(x, -1, 1)), 1, -1)
    cf_views = np.ascontiguousarray(np.moveaxis(x, -1, 1))  # (n, c, h, w): views x[:, c]
    layouts = [(x, x), (mapped, mapped), (channels_first, channels_first)]
    layouts.append((cf_views, np.moveaxis(cf_views, 1, -1)))
    for layer, views in layouts:
        filters = {f"f{c}": views[..., c] for c in range(8)}
        groups = {**filters, "layer": layer, "even": views[..., ::2]}
        sets = list(_channel_sets(groups))
        assert len(sets) == 1 and len(sets[0][1]) == 8 and sets[0][2] == ["layer"]
        got = cka_matrix(groups, **opts)
        want = cka_matrix({k: np.ascontiguousarray(v) for k, v in groups.items()}, **opts)
        assert np.abs(got - want).max() <= TOL
    names = list(groups)
    for i, j in [(0, 8), (2, 5), (8, 8)]:
        assert abs(got[i, j] - ref.cka(groups[names[i]], groups[names[j]], **opts)) <= TOL


@pytest.mark.parametrize("spread, defined", [(3e-8, False), (1e-4, True)])
def test_feature_space_and_gram_forms_share_the_does_not_vary_rule(spread, defined):
    """float32 values varying below their own rounding are undefined on both code paths; a
    spread float32 resolves is defined on both, with the same value."""
    rng = np.random.default_rng(41)
    x = (1 + spread * rng.standard_normal((50, 5))).astype(np.float32)
    y = rng.standard_normal((50, 5)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedCKAWarning)
        feature = cka_matrix({"x": x}, {"y": y}, debiased=False, components=True)
        gram = cka_matrix({"x": np.tile(x, 40)}, {"y": y}, debiased=False, components=True)
    assert (feature.method, gram.method) == ("feature", "gram")
    assert np.isnan(feature.cka[0, 0]) == np.isnan(gram.cka[0, 0]) == (not defined)
    if defined:
        assert abs(feature.cka[0, 0] - gram.cka[0, 0]) <= 1e-5


def test_a_group_larger_than_the_memory_budget_is_taken_a_chunk_of_units_at_a_time():
    """memory_budget bounds the temporaries even for one group (not only for many channels):
    its units are summed a chunk at a time, to the same numbers as all at once."""
    import tracemalloc

    rng = np.random.default_rng(12)
    x, y = rng.random((20, 400_000), dtype=np.float32), rng.random((20, 30), dtype=np.float32)
    budget = 4 << 20  # 4 MB against a 32 MB group
    for opts in ESTIMATORS:
        small = cka_matrix([x[:, :5000]], [y], memory_budget=20 * 20 * 700, **opts)[0, 0]
        assert abs(small - ref.cka(x[:, :5000], y, **opts)) <= TOL
    tracemalloc.start()
    try:
        got = cka_matrix([x], [y], debiased=True, memory_budget=budget)[0, 0]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak <= 1.25 * budget, f"peak {peak / 2**20:.1f} MB for a budget of 4 MB"
    assert abs(got - ref.cka(x, y, debiased=True)) <= TOL


@pytest.mark.parametrize("fn", ["cka", "cka_matrix", "minibatch", "interval"])
def test_pandas_inputs_are_paired_by_their_index_not_their_position(fn):
    """Two DataFrames whose rows are the same examples in another order give the CKA of the
    examples matched by label; different labels are refused naming both inputs."""
    pd = pytest.importorskip("pandas")
    x, y = related(np.random.default_rng(13), n=48)
    labels = [f"img{i:02d}" for i in range(48)]
    frame_x, frame_y = pd.DataFrame(x, index=labels), pd.DataFrame(y, index=labels)
    shuffled = frame_y.iloc[np.random.default_rng(1).permutation(48)]
    call = {
        "cka": lambda a, b: cka(a, b),
        "cka_matrix": lambda a, b: cka_matrix({"a": a}, {"b": b})[0, 0],
        "minibatch": lambda a, b: minibatch_cka_matrix([a], [b], batch_size=48)[0, 0],
        "interval": lambda a, b: cka_interval(a, b, resamples=100)[0],
    }[fn]
    assert call(frame_x, shuffled) == pytest.approx(call(x, y), abs=TOL)
    other = shuffled.rename(index=lambda s: s.replace("img", "pic"))
    with pytest.raises(ValueError, match=r"label different examples.*index"):
        call(frame_x, other)
    with pytest.raises(ValueError, match=r"repeats the labels"):
        call(frame_x, frame_y.set_axis(["same"] * 48))


@pytest.mark.parametrize("shape", [(200, 8, 8, 1), (200, 64)], ids=["gram", "feature"])
@pytest.mark.parametrize("opts", ESTIMATORS[:4], ids=lambda o: "-".join(map(str, o.values())))
def test_float16_activations_that_vary_by_a_few_steps_are_resolved(shape, opts):
    """Sigmoid outputs near 0.95 stored as float16 vary by a few dozen float16 steps: that is
    variation, not rounding. They are centred in float32 (each float16 value is exact there)
    and give the CKA of their float64 copies, never 'does not vary'."""
    rng = np.random.default_rng(14)
    z = rng.normal(size=(200, 64))
    x16 = (1 / (1 + np.exp(-(3 + 0.05 * z)))).astype(np.float16).reshape(shape)
    assert np.unique(x16).size < 60  # a few dozen distinct values
    y = z[:, :20] @ rng.normal(size=(20, 10))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "does not vary" warning
        got = cka(x16, y, **opts)
    assert abs(got - ref.cka(x16.reshape(200, -1).astype(np.float64), y, **opts)) <= TOL


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("block_bytes", [1, 3000, 1 << 21])
def test_packing_a_block_of_rows_at_a_time_is_the_whole_matrix_bit_for_bit(
    dtype, block_bytes, monkeypatch
):
    """packed_centred centres a block of rows per pass; what it stores is, bit for bit, the
    centred Gram made whole in the same order of operations ((K - r_i) - r_j) + t, off-diagonal
    entries times sqrt(2), the upper triangle read row by row, for every estimator and for
    any block size (the stored Grams of a study do not depend on it)."""
    from array_api_compat import numpy as xp

    from ckaflow.similarity import hsic

    monkeypatch.setattr(hsic, "_BLOCK_BYTES", block_bytes)
    rng = np.random.default_rng(int(block_bytes) % 97)
    for g, n in ((3, 7), (2, 40), (1, 3)):
        x = rng.standard_normal((g, n, 5))
        k = (x @ x.transpose(0, 2, 1)).astype(dtype)
        k[0, 0, 1] = k[0, 1, 0] = -0.0
        for debiased, centering in ((True, "unit"), (False, "unit"), (False, "global")):
            row, total = np.zeros((g, n)), np.zeros((g, 1))  # the means as the array API's
            if centering != "global" and debiased:
                row = (xp.sum(k, axis=1) - np.linalg.diagonal(k)) / (n - 2)
                row = row - xp.sum(row, axis=1, keepdims=True) / (2 * (n - 1))
            elif centering != "global":
                row = xp.mean(k, axis=1)
                total = xp.mean(row, axis=1, keepdims=True)
            whole = k - row[:, :, None] - row[:, None, :] + total[:, :, None]
            off = ~np.eye(n, dtype=bool)
            whole[:, off] *= math.sqrt(2.0)  # a Python float: in the Grams' own precision
            if debiased:
                whole[:, ~off] = 0.0
            want = whole[:, *np.triu_indices(n)].astype(np.float64)  # stored in float64
            got = hsic.packed_centred(k, debiased=debiased, centering=centering)
            assert got.dtype == want.dtype and got.tobytes() == want.tobytes(), (g, n, centering)
