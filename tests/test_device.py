"""config similarity.device: where the Gram and HSIC jobs compute, and that a job computed in
another array namespace (here array_api_strict, standing in for CuPy on a GPU) writes the same
Gram files and tables as on NumPy."""

from __future__ import annotations

import array_api_strict
import numpy as np
import pytest
from test_shards import ESTIMATORS, MODELS, stage  # noqa: F401  (the module's fixture)

from ckaflow.device import compute_namespace, gpu_namespace
from ckaflow.similarity import UndefinedCKAWarning
from ckaflow.similarity.arrays import is_numpy_namespace
from ckaflow.stages.grams import write_grams
from ckaflow.stages.hsic import hsic_shard


def no_gpu():
    return None, "CuPy is not installed (the GPU install is `make run GPU=1`)"


def a_gpu():
    return array_api_strict, "Stand-in GPU"


def test_cpu_is_numpy_and_auto_takes_a_gpu_when_there_is_one():
    assert is_numpy_namespace(compute_namespace("cpu", gpu=a_gpu))
    assert is_numpy_namespace(compute_namespace("auto", gpu=no_gpu))
    assert compute_namespace("auto", gpu=a_gpu) is array_api_strict
    assert compute_namespace("gpu", gpu=a_gpu) is array_api_strict


def test_gpu_without_a_gpu_is_a_clear_error_naming_the_key():
    with pytest.raises(ValueError, match=r"similarity\.device is 'gpu' but no GPU.*make run GPU=1"):
        compute_namespace("gpu", gpu=no_gpu)
    xp, why = gpu_namespace()
    if xp is None:  # this machine: the real check says why, and the request fails on it
        with pytest.raises(ValueError, match=r"similarity\.device is 'gpu' but no GPU"):
            compute_namespace("gpu")
        assert "CuPy" in why


def test_an_unknown_device_is_refused_naming_the_key():
    # (the config schema refuses it at load too: tests/test_config.py)
    with pytest.raises(ValueError, match=r"similarity\.device is 'cuda'"):
        compute_namespace("cuda")


def test_gram_files_and_tables_computed_in_another_namespace_are_the_same(stage, tmp_path):  # noqa: F811
    _, _, grams = stage
    root = next(iter(grams.values())).parents[1]
    moved = {m: tmp_path / f"{m}.npz" for m in MODELS}
    for model in MODELS:
        write_grams(root / "act", model, ["natural", "synth"], ESTIMATORS, moved[model],
                    xp=array_api_strict)  # fmt: skip
    for model in MODELS:
        with np.load(grams[model]) as want, np.load(moved[model]) as got:
            assert sorted(want.files) == sorted(got.files)
            assert np.array_equal(got["groups"], want["groups"]) and got["n"] == want["n"]
            for key in set(want.files) - {"groups", "n"}:
                np.testing.assert_allclose(got[key], want[key], rtol=1e-9, atol=1e-12)
    finals = ["synth-1", "natural-1"]
    # the dead filter, named as on NumPy
    with pytest.warns(UndefinedCKAWarning, match="natural-1:conv2/f05"):
        on_np = hsic_shard(moved, test_set="natural", estimator=ESTIMATORS[1], shard=0, shards=1,
                           filter_models=finals)  # fmt: skip
    with pytest.warns(UndefinedCKAWarning, match="natural-1:conv2/f05"):
        on_xp = hsic_shard(moved, test_set="natural", estimator=ESTIMATORS[1], shard=0, shards=1,
                           filter_models=finals, xp=array_api_strict)  # fmt: skip
    np.testing.assert_allclose(on_xp["cka"], on_np["cka"], atol=1e-12)
    assert on_xp.drop(columns=["cka", "hsic_xy", "hsic_xx", "hsic_yy"]).equals(
        on_np.drop(columns=["cka", "hsic_xy", "hsic_xx", "hsic_yy"])
    )


def test_two_tensorflow_builds_side_by_side_are_refused(monkeypatch):
    from ckaflow import backend as tfsetup

    tfsetup.check_one_build()  # this venv: one build
    monkeypatch.setattr(tfsetup.metadata, "version", lambda name: "2.21.0")
    with pytest.raises(RuntimeError, match="both TensorFlow builds.*make run GPU=1"):
        tfsetup.check_one_build()


def test_the_makefile_installs_one_build_and_removes_the_other(tmp_path):
    """make run installs the cpu extra, make run GPU=1 the gpu one, each with its lock, after
    uninstalling the other build; the two locks pin one TensorFlow each and agree on the rest."""
    import subprocess

    from conftest import ROOT

    def plan(*args):
        venv = tmp_path / "venv"
        cmd = ["make", "-n", "-C", str(ROOT), f"VENV={venv}", *args, f"{venv}/.installed-" +
               ("gpu" if "GPU=1" in args else "cpu")]  # fmt: skip
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout

    cpu_plan, gpu_plan = plan(), plan("GPU=1")
    assert "uninstall --quiet --yes tensorflow cupy-cuda12x" in cpu_plan
    assert "-c requirements.lock -e '.[workflow,cpu,test]'" in cpu_plan
    assert "uninstall --quiet --yes tensorflow-cpu" in gpu_plan
    assert "-c requirements-gpu.lock -e '.[workflow,gpu,test]'" in gpu_plan
    cpu = (ROOT / "requirements.lock").read_text().splitlines()
    gpu = (ROOT / "requirements-gpu.lock").read_text().splitlines()
    assert "tensorflow-cpu==2.21.0" in cpu and not any(p.startswith("tensorflow==") for p in cpu)
    assert "tensorflow==2.21.0" in gpu and not any(p.startswith("tensorflow-cpu") for p in gpu)
    assert any(p.startswith("cupy-cuda12x==") for p in gpu)
    shared = {p.split("==")[0] for p in cpu} & {p.split("==")[0] for p in gpu}
    assert {p for p in cpu if p.split("==")[0] in shared} == {
        p for p in gpu if p.split("==")[0] in shared
    }, "the locks disagree on a package they share"
