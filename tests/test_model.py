"""The tied-weight autoencoder: shapes, tying, initialisation."""

from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from ckaflow.architecture import LAYER_SHAPES, LAYERS  # noqa: E402
from ckaflow.model import TiedAutoencoder  # noqa: E402


@pytest.fixture(scope="module")
def model():
    return TiedAutoencoder(seed=3)


def test_every_named_layer_has_its_shape(model):
    x = np.random.default_rng(0).random((2, 64, 80, 1), dtype=np.float32)
    outs = model.layer_outputs(x)
    assert tuple(outs) == LAYERS
    for name, out in outs.items():
        assert tuple(out.shape) == (2, *LAYER_SHAPES[name]), name
    assert tuple(model(x).shape) == (2, 64, 80, 1)


def test_decoder_kernels_are_the_encoder_variables(model):
    for name in ("conv1", "conv2", "conv3"):
        assert model.decoder_kernels[f"de{name}"] is model.kernels[name]
    names = [v.name for v in model.trainable_variables]
    assert not any(n.startswith("deconv") and n.endswith("kernel") for n in names)
    assert len(names) == len(set(names)) == 11


def test_changing_a_tied_kernel_changes_both_uses():
    m = TiedAutoencoder(seed=4)
    x = np.random.default_rng(1).random((2, 64, 80, 1), dtype=np.float32)
    before = {k: np.asarray(v) for k, v in m.layer_outputs(x).items()}
    k3 = m.kernels["conv3"]
    k3.assign(k3 * 2.0)
    after = {k: np.asarray(v) for k, v in m.layer_outputs(x).items()}
    assert np.allclose(before["pool2"], after["pool2"])  # upstream of conv3: unchanged
    assert not np.allclose(before["conv3"], after["conv3"])  # the encoder use
    # The decoder use: deconv3 from the *same* pool3 input changes when only the kernel changes.
    n = tf.shape(x)[0]
    h3 = tf.constant(before["pool3"])
    out = tf.nn.conv2d_transpose(h3, m.kernels["conv3"], tf.stack([n, 16, 20, 16]), 2, "SAME")
    assert not np.allclose(np.maximum(out + m.biases["deconv3"], 0), before["deconv3"])


def test_gradients_reach_a_tied_kernel_from_both_uses():
    m = TiedAutoencoder(seed=5)
    x = np.random.default_rng(2).random((2, 64, 80, 1), dtype=np.float32)
    with tf.GradientTape(persistent=True) as tape:
        outs = m.layer_outputs(x)
        encoder_only = tf.reduce_sum(outs["conv1"])
        total = tf.reduce_sum(outs["output"] ** 2)
    g_enc = tape.gradient(encoder_only, m.kernels["conv1"])
    g_all = tape.gradient(total, m.kernels["conv1"])
    # Through the decoder alone: everything downstream of pool3 with the encoder held fixed.
    with tf.GradientTape() as tape2:
        tape2.watch(m.kernels["conv1"])
        h = tf.stop_gradient(outs["deconv2"])
        dw = tf.transpose(m.kernels["conv1"], (0, 1, 3, 2))
        y = tf.nn.depthwise_conv2d_backprop_input(
            tf.constant([2, 64, 80, 16]), dw, h, [1, 2, 2, 1], "SAME"
        )
        decoder_only = tf.reduce_sum(y**2)
    g_dec = tape2.gradient(decoder_only, m.kernels["conv1"])
    assert np.abs(np.asarray(g_enc)).sum() > 0 and np.abs(np.asarray(g_dec)).sum() > 0
    assert np.abs(np.asarray(g_all)).sum() > 0


def test_initialisation_he_normal_zero_biases_and_seeded():
    a, b, c = TiedAutoencoder(seed=7), TiedAutoencoder(seed=7), TiedAutoencoder(seed=8)
    wa, wb, wc = a.get_weights_dict(), b.get_weights_dict(), c.get_weights_dict()
    assert all(np.array_equal(wa[k], wb[k]) for k in wa)
    assert not np.array_equal(wa["conv2_kernel"], wc["conv2_kernel"])
    assert all(not v.any() for k, v in wa.items() if k.endswith("bias"))
    k2 = wa["conv2_kernel"]  # He normal: std sqrt(2 / fan_in), fan_in = 5 * 5 * 16
    assert 0.7 < k2.std() / np.sqrt(2 / 400) < 1.3


def test_weights_dict_round_trip_and_errors():
    a, b = TiedAutoencoder(seed=1), TiedAutoencoder(seed=2)
    b.set_weights_dict(a.get_weights_dict())
    assert all(np.array_equal(v, b.get_weights_dict()[k]) for k, v in a.get_weights_dict().items())
    bad = a.get_weights_dict()
    bad.pop("output_bias")
    with pytest.raises(ValueError, match="output_bias"):
        b.set_weights_dict(bad)
    bad = a.get_weights_dict()
    bad["conv1_kernel"] = np.zeros((5, 5, 1, 16), np.float32)
    with pytest.raises(ValueError, match="conv1_kernel"):
        b.set_weights_dict(bad)
