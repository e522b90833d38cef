"""Keras 3's backends: the backend chosen (config, then $KERAS_BACKEND, then TensorFlow); on JAX
and PyTorch the models compute what they compute on TensorFlow (the same weights give the same
layers and gradients, a saved .keras file the same outputs), the same seed trains the same
weights, a user's Keras-only model trains; the tiny study's training runs on JAX end to end.
PyTorch's tests run where it is installed (`make test BACKEND=torch`)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import DEPTH_1, ROOT, copy_workflow, snakemake
from test_train import noise_is_right

from ckaflow.backend import BACKENDS, resolve

BACKEND_PARAMS = [
    pytest.param(
        b,
        marks=pytest.mark.skipif(
            importlib.util.find_spec(b) is None, reason=f"{b} is not installed"
        ),
    )  # fmt: skip
    for b in ("jax", "torch")
]
# (kernel size, stride, output height, output width) of the depthwise transposed convolution:
# the tied decoder's own, a stride of 1, odd sizes, an input smaller than the kernel.
TRANSPOSE_CASES = [(7, 2, 64, 80), (3, 1, 16, 20), (5, 2, 9, 11), (7, 2, 4, 4)]


def test_a_backend_that_is_not_installed_stops_the_workflow_at_load(monkeypatch):
    import importlib.util as util

    from ckaflow.backend import check_installed

    monkeypatch.setattr(util, "find_spec", lambda name: None)
    with pytest.raises(ValueError, match=r"config backend is 'torch' but torch is not installed"
                                         r".*`make run BACKEND=torch` installs it"):  # fmt: skip
        check_installed("torch")


def test_the_backend_is_the_configs_then_the_environments_then_tensorflow():
    assert resolve("jax", {"KERAS_BACKEND": "torch"}) == "jax"
    assert resolve(None, {"KERAS_BACKEND": "torch"}) == "torch"
    assert resolve(None, {}) == "tensorflow" and set(BACKENDS) == {"tensorflow", "jax", "torch"}
    with pytest.raises(ValueError, match=r"config backend is 'mxnet'; expected one of"):
        resolve("mxnet", {})
    with pytest.raises(ValueError, match=r"the environment's KERAS_BACKEND is 'theano'"):
        resolve(None, {"KERAS_BACKEND": "theano"})


def test_a_job_cannot_switch_backends_after_keras_is_imported():
    import keras

    from ckaflow.backend import configure

    other = "jax" if keras.backend.backend() != "jax" else "torch"
    with pytest.raises(RuntimeError, match=f"before the job chose {other}"):
        configure(1, other)


def test_the_layer_listing_says_which_backends_a_builder_runs_on(tmp_path):
    from ckaflow.__main__ import _builder_backends

    (tmp_path / "helpers.py").write_text("import torch.nn\n")
    (tmp_path / "model.py").write_text("import keras\nfrom helpers import *\n\n\ndef build(): 0\n")
    message = _builder_backends(f"{tmp_path}/model.py:build")
    assert "imports torch in helpers.py: it runs on the torch backend only" in message
    own = _builder_backends("examples/own_study/model.py:build")
    assert own.endswith("uses Keras alone: it runs on every backend (tensorflow, jax, torch).")


@pytest.fixture(scope="module")
def tensorflow_reference(tmp_path_factory):
    """What TensorFlow computes (this process), and the inputs the other backends get."""
    import keras
    import tensorflow as tf

    numpy = keras.ops.convert_to_numpy
    from ckaflow.data import build_domain, write_dataset
    from ckaflow.model.build import build_model
    from ckaflow.model.tied_autoencoder import TiedAutoencoder
    from ckaflow.model.tied_ops import depthwise_conv_transpose

    assert keras.backend.backend() == "tensorflow"
    work = tmp_path_factory.mktemp("backends")
    rng = np.random.default_rng(7)
    inputs, expected = {}, {}
    for k, stride, hh, ww in TRANSPOSE_CASES:
        case = f"{k}_{stride}_{hh}_{ww}"
        h = rng.standard_normal((2, -(-hh // stride), -(-ww // stride), 4)).astype("float32")
        kernel = rng.standard_normal((k, k, 1, 4)).astype("float32")
        inputs |= {f"transpose/h/{case}": h, f"transpose/k/{case}": kernel}
        expected[f"transpose/{case}"] = numpy(depthwise_conv_transpose(h, kernel, stride, (hh, ww)))
    inputs["x"] = rng.random((3, 64, 80, 1)).astype("float32")
    inputs["r"] = rng.standard_normal((3, 64, 80, 1)).astype("float32")
    for depth in (1, 2):
        tied = TiedAutoencoder(3, depth=depth)
        inputs |= {f"tied_w/{depth}/{k}": v for k, v in tied.get_weights_dict().items()}
        layers = tied.layer_outputs(inputs["x"]).items()
        expected |= {f"tied/{depth}/{n}": numpy(v) for n, v in layers}
        with tf.GradientTape() as tape:  # the gradients autodiff gives the training step
            loss = tf.reduce_sum(tied(inputs["x"]) * inputs["r"])
        grads = tape.gradient(loss, tied.trainable_variables)
        expected |= {f"grad/{depth}/{v.name}": numpy(g)
                     for v, g in zip(tied.trainable_variables, grads, strict=True)}  # fmt: skip
    user = build_model({"builder": "examples/own_study/model.py:build",
                        "input_shape": [16, 16, 3], "num_classes": 3}, 5)  # fmt: skip
    user.save(work / "saved.keras")
    inputs["images"] = rng.random((4, 16, 16, 3)).astype("float32")
    expected["saved"] = numpy(user(inputs["images"], training=False))
    np.savez(work / "inputs.npz", **inputs)
    dirs = {}
    for d in ("natural", "synth"):
        entry = {"source": "standin" if d == "natural" else "synth"}
        write_dataset(work / d, build_domain(d, entry, images=60, seed=0, test_images=4))
        dirs[d] = str(work / d)
    (work / "dirs.json").write_text(json.dumps(dirs))
    return work, expected


@pytest.mark.parametrize("backend", BACKEND_PARAMS)
def test_a_backend_computes_what_tensorflow_does_and_trains_deterministically(
    tensorflow_reference, backend
):
    work, expected = tensorflow_reference
    probe = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "backend_probe.py"), backend, str(work)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert probe.returncode == 0, probe.stderr[-3000:]
    got = np.load(work / f"{backend}.npz")
    for key, want in expected.items():  # float32 rounding apart, never more
        scale = np.abs(want).max() + 1e-12
        # at depth 2 a pool window's two maxima within rounding of each other can be picked the
        # other way round: gradients below it move by ~1e-3 of their largest (a wrong gradient
        # moves them by its whole size)
        tolerance = 1e-2 if key.startswith("grad/2/") else 1e-5
        assert got[key].shape == want.shape, key
        error = np.abs(got[key] - want).max()
        assert error <= tolerance * scale, (key, error, scale)
    trained = [k.removeprefix("train1/") for k in got.files if k.startswith("train1/")]
    assert trained and all(np.array_equal(got[f"train1/{k}"], got[f"train2/{k}"]) for k in trained)
    start = np.load(work / backend / "train1" / "synth-1" / "checkpoints" / "init.npz")
    assert not all(np.array_equal(got[f"train1/{k}"], start[k]) for k in trained), "no training"
    assert str(got["provenance_backend"]) == backend
    assert noise_is_right(got["noise/a"], got["noise/b"], got["noise/c"])
    losses = got["classify/train_loss"]
    assert np.isfinite(losses).all() and losses[-1] < losses[0], losses


@pytest.mark.workflow
def test_the_tiny_studys_training_runs_on_jax(tmp_path):
    """`backend: jax` trains an instance of the tiny study (depth 1) and fine-tunes it on JAX
    through the workflow's own rules, each model's provenance says so, and the log names JAX's
    device (one base and its fine-tune: every training job is compiled afresh, about a minute
    each on two cores)."""
    pytest.importorskip("jax")
    workdir = copy_workflow(tmp_path)
    (workdir / "jax.yaml").write_text("backend: jax\n")
    target = "results/models/natural-from-synth-1/provenance.json"
    out = snakemake(workdir, target, "--configfile", "config/tiny.yaml", *DEPTH_1, "jax.yaml")
    assert out.returncode == 0, out.stdout[-5000:]
    models = sorted((workdir / "results" / "models").iterdir())
    assert [m.name for m in models] == ["natural-from-synth-1", "synth-1"]
    for folder in models:
        prov = json.loads((folder / "provenance.json").read_text())
        assert prov["backend"] == "jax" and "jax" in prov["run"]["packages"], folder.name
        assert (folder / "checkpoints" / "final.npz").exists()
    log = next((workdir / "logs" / "train_base").glob("*.log")).read_text()
    assert "on jax 0.10.2 computes on the CPU" in log
