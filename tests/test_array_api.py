"""The engine on any array API namespace: every line of the generic path runs on
``array_api_strict`` (which refuses anything outside the standard), and on CuPy or PyTorch
where they are installed (with a GPU for CuPy). Each result is checked against the float64
reference and against the engine on NumPy."""

from __future__ import annotations

import importlib.util
import warnings

import numpy as np
import pytest
import reference as ref
from test_similarity import ESTIMATORS, TOL, related

from ckaflow.similarity import (
    Estimator,
    UndefinedCKAWarning,
    cka,
    cka_matrix,
    filter_moments,
    group_cka,
    minibatch_cka_matrix,
    packed_instance,
)
from ckaflow.similarity.arrays import array_namespace, device, to_numpy


def _namespaces():
    yield pytest.param("array_api_strict", id="array_api_strict")
    if importlib.util.find_spec("torch"):
        yield pytest.param("torch", id="torch")
    if importlib.util.find_spec("cupy"):
        yield pytest.param("cupy", id="cupy")


@pytest.fixture(params=list(_namespaces()))
def xp(request):
    """The namespace under test, on its GPU where it has one."""
    if request.param == "array_api_strict":
        import array_api_strict

        return array_api_strict
    if request.param == "cupy":
        import cupy

        if cupy.cuda.runtime.getDeviceCount() == 0:
            pytest.skip("CuPy without a GPU")
        return array_namespace(cupy.empty(0))
    import torch

    ns = array_namespace(torch.empty(0))
    PLACE[ns.__name__] = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return ns


PLACE = {}  # namespace name -> the device its arrays go to (its GPU where it has one)


def put(xp, a):
    """A NumPy array as an array of ``xp`` (on its GPU, if it has one)."""
    where = PLACE.get(xp.__name__)
    a = np.ascontiguousarray(a)
    return xp.asarray(a) if where is None else xp.asarray(a, device=where)


@pytest.mark.parametrize("precision", ["float32", "float64"])
@pytest.mark.parametrize("opts", ESTIMATORS, ids=lambda o: "-".join(map(str, o.values())))
def test_engine_on_the_namespace_equals_the_float64_reference(xp, opts, precision):
    x, y = related(np.random.default_rng(11), offset=2.0)  # ReLU'd, with an offset
    got = cka(put(xp, x), put(xp, y), precision=precision, **opts)
    assert abs(got - ref.cka(x, y, **opts)) <= TOL


@pytest.mark.parametrize("opts", ESTIMATORS, ids=lambda o: "-".join(map(str, o.values())))
def test_cka_matrix_stays_in_the_namespace_and_on_the_device(xp, opts):
    rng = np.random.default_rng(12)
    layer = np.maximum(rng.normal(size=(30, 5, 6, 4)) + 0.3, 0)  # channels-last
    groups = {f"f{c}": layer[..., c] for c in range(4)} | {"layer": layer}
    on_xp = {k: put(xp, v) for k, v in groups.items()}
    got = cka_matrix(on_xp, **opts)
    assert array_namespace(got) is array_namespace(next(iter(on_xp.values())))
    assert device(got) == device(on_xp["layer"])
    # float32 products (the default precision): a GPU's GEMM sums in another order than NumPy's
    # (seen on an H200: 1e-8 apart); array_api_strict wraps NumPy and gives the same bits
    np.testing.assert_allclose(to_numpy(got), cka_matrix(groups, **opts), atol=TOL)


def test_the_feature_space_form_runs_on_the_namespace(xp):
    x, y = related(np.random.default_rng(13), n=200, p=6, q=5)  # few units: feature space
    res = cka_matrix([put(xp, x)], [put(xp, y)], debiased=False, components=True)
    assert res.method == "feature"  # the biased estimator's form
    assert abs(float(res.cka[0, 0]) - ref.cka(x, y, debiased=False)) <= TOL


def test_packed_instance_on_the_namespace_equals_numpy(xp):
    """What the workflow's Gram jobs run, channels-first, computed in ``xp`` from NumPy data
    (as a GPU job reads its memory-mapped activations)."""
    rng = np.random.default_rng(14)
    shapes = {"conv1": (20, 3, 6, 8), "pool1": (20, 3, 3, 4)}
    layers = {k: np.maximum(rng.normal(size=s) + 0.5, 0).astype(np.float32)
              for k, s in shapes.items()}  # fmt: skip
    ests = [Estimator(debiased=False), Estimator(), Estimator(kernel="rbf"),
            Estimator(debiased=False, centering="global")]  # fmt: skip
    names, on_np = packed_instance(layers, ests, channel_axis=1)
    names_xp, on_xp = packed_instance(layers, ests, channel_axis=1, xp=xp)
    assert names == names_xp
    for e in ests:
        assert array_namespace(on_xp[e]) is xp or not isinstance(on_xp[e], np.ndarray)
        # float32 products: another library's GEMM sums in another order (about 1e-7 of the
        # largest entry); array_api_strict wraps NumPy and gives the same bits
        scale = np.abs(on_np[e]).max()
        np.testing.assert_allclose(to_numpy(on_xp[e]), on_np[e], atol=1e-6 * scale)


def test_group_cka_on_the_namespace_equals_numpy(xp):
    rng = np.random.default_rng(15)
    instances = {i: {"conv1": np.maximum(rng.normal(size=(16, 4, 4, 3)) + 0.2, 0)}
                 for i in ("a-1", "b-1")}  # fmt: skip
    on_xp = {i: {k: put(xp, v) for k, v in inst.items()} for i, inst in instances.items()}
    names, res = group_cka(instances, [Estimator(debiased=True)])
    names_xp, res_xp = group_cka(on_xp, [Estimator(debiased=True)])
    assert names == names_xp
    got, want = res_xp["linear-debiased"].cka, res["linear-debiased"].cka
    np.testing.assert_allclose(to_numpy(got), want, atol=TOL)  # float32 GEMMs, as above


def test_minibatch_on_the_namespace_equals_numpy(xp):
    x, y = related(np.random.default_rng(16), n=50)
    want = minibatch_cka_matrix([x], [y], batch_size=16, seed=3)
    got = minibatch_cka_matrix([put(xp, x)], [put(xp, y)], batch_size=16, seed=3)
    np.testing.assert_allclose(to_numpy(got), want, atol=1e-12)


@pytest.mark.parametrize("scale", [1e-40, 1e30])
def test_extreme_scales_are_rescaled_on_the_namespace(xp, scale):
    if scale < 1e-38 and xp.__name__.endswith("cupy"):
        # float32 values below 1.2e-38 are subnormal; CuPy's kernels flush them to 0 (seen on an
        # H200): the groups are then reported as not varying (NaN, with a warning), never as a
        # wrong number. float64 input, or values above that, are rescaled as everywhere.
        pytest.xfail("CuPy flushes float32 subnormals to zero")
    x, y = related(np.random.default_rng(17), offset=1.0)
    got = cka(put(xp, (x * scale).astype(np.float32)), put(xp, (y * scale).astype(np.float32)))
    assert abs(got - ref.cka(x.astype(np.float32), y.astype(np.float32))) <= TOL


def test_a_dead_filter_is_nan_with_a_warning_on_the_namespace(xp):
    layer = np.maximum(np.random.default_rng(18).normal(size=(30, 4, 4, 3)), 0)
    layer[..., 1] = 0.0
    filters = {f"conv1/f{c:02d}": put(xp, layer[..., c]) for c in range(3)}
    with pytest.warns(UndefinedCKAWarning, match="conv1/f01"):
        got = to_numpy(cka_matrix(filters))
    assert np.isnan(got[1]).all() and np.isfinite(got[0, [0, 2]]).all()


def test_a_nan_is_named_on_the_namespace(xp):
    x = np.random.default_rng(19).normal(size=(10, 3, 2))
    x[4, 1, 0] = np.nan
    with pytest.raises(ValueError, match="has NaN or inf values in channel 1"):
        filter_moments(put(xp, x), channel_axis=1, name="conv2")


def test_arrays_of_two_libraries_are_refused_naming_them():
    import array_api_strict

    x = np.ones((8, 3))
    with pytest.raises(ValueError, match="arrays of one library.*array_api_strict"):
        cka(x, array_api_strict.asarray(x))


def test_numpy_results_stay_numpy():
    x, y = related(np.random.default_rng(20))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = cka_matrix([x], [y])
    assert type(got) is np.ndarray


@pytest.mark.parametrize("opts", ESTIMATORS, ids=lambda o: "-".join(map(str, o.values())))
def test_bootstrap_on_the_namespace_equals_numpy(xp, opts):
    from ckaflow.similarity import cka_interval

    x, y = related(np.random.default_rng(21), n=30)
    want = cka_interval(x, y, resamples=100, seed=4, **opts)
    got = cka_interval(put(xp, x), put(xp, y), resamples=100, seed=4, **opts)
    np.testing.assert_allclose(got, want, atol=1e-10)
