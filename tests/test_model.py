"""The tied-weight autoencoder: shapes, tying, initialisation."""

from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from ckaflow.model.tied_autoencoder import TiedAutoencoder  # noqa: E402
from ckaflow.model.tied_layers import LAYER_SHAPES, LAYERS  # noqa: E402


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


def test_a_tied_kernel_gets_the_gradients_of_both_uses():
    # Chain rule for a shared variable: the tied gradient is the sum of the gradients of the two
    # uses, which an untied copy (decoder kernels set equal to the encoder's) shows separately.
    tied, untied = TiedAutoencoder(seed=5), TiedAutoencoder(seed=5, tied=False)
    weights = tied.get_weights_dict()
    for name in ("conv1", "conv2", "conv3"):
        weights[f"de{name}_kernel"] = weights[f"{name}_kernel"]
    untied.set_weights_dict(weights)
    x = np.random.default_rng(2).random((2, 64, 80, 1), dtype=np.float32)

    def grads(m):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((m(x) - x) ** 2)
        return dict(
            zip(
                [v.name for v in m.trainable_variables],
                tape.gradient(loss, m.trainable_variables),
                strict=True,
            )
        )

    gt, gu = grads(tied), grads(untied)
    for name in ("conv1", "conv2", "conv3"):
        enc, dec = np.asarray(gu[f"{name}_kernel"]), np.asarray(gu[f"de{name}_kernel"])
        assert np.abs(enc).sum() > 0 and np.abs(dec).sum() > 0, name
        np.testing.assert_allclose(
            np.asarray(gt[f"{name}_kernel"]), enc + dec, rtol=1e-4, atol=1e-7
        )


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


@pytest.mark.parametrize("depth", [2, 3])
def test_a_deeper_model_has_every_layer_of_its_depth_tied_and_seeded(depth):
    """depth D: D convolutions per stage, each with its tied transpose in the decoder; the
    shapes of ckaflow.model.tied_layers; the same seed gives the same weights, and not depth 1's."""
    from ckaflow.model.tied_layers import conv_layers, layer_shapes, layers

    m = TiedAutoencoder(seed=3, depth=depth)
    x = np.random.default_rng(0).random((2, 64, 80, 1), dtype=np.float32)
    outs = m.layer_outputs(x)
    assert tuple(outs) == layers(depth)
    for name, out in outs.items():
        assert tuple(out.shape) == (2, *layer_shapes(depth)[name]), name
    for conv in conv_layers(depth):
        assert m.decoder_kernels[f"de{conv}"] is m.kernels[conv]
    names = [v.name for v in m.trainable_variables]
    # a kernel per convolution, a bias per convolution and transpose, the output's two
    assert len(names) == len(set(names)) == 3 * depth * 3 + 2
    again = TiedAutoencoder(seed=3, depth=depth).get_weights_dict()
    assert all(np.array_equal(v, again[k]) for k, v in m.get_weights_dict().items())
    shallow = TiedAutoencoder(seed=3).get_weights_dict()["conv1_kernel"]
    assert not np.allclose(m.get_weights_dict()["conv1a_kernel"], shallow)


def test_a_deeper_transposed_convolution_upsamples_once_per_stage():
    """At depth 2 deconv2b (the transpose of conv2b) undoes pool2 and doubles the resolution;
    deconv2a keeps it; changing conv2a's kernel changes deconv2a from the same input."""
    m = TiedAutoencoder(seed=6, depth=2)
    x = np.random.default_rng(3).random((2, 64, 80, 1), dtype=np.float32)
    before = {k: np.asarray(v) for k, v in m.layer_outputs(x).items()}
    assert before["deconv3b"].shape[1:3] == (16, 20) and before["deconv3a"].shape[1:3] == (16, 20)
    assert before["deconv2b"].shape[1:3] == (32, 40)
    k = m.kernels["conv2a"]
    k.assign(k * 2.0)
    after = {k: np.asarray(v) for k, v in m.layer_outputs(x).items()}
    assert np.allclose(before["pool1"], after["pool1"])  # upstream of conv2a: unchanged
    assert not np.allclose(before["conv2a"], after["conv2a"])
    h = tf.constant(after["deconv2b"])
    n = tf.shape(x)[0]
    out = tf.nn.conv2d_transpose(h, m.kernels["conv2a"], tf.stack([n, 32, 40, 16]), 1, "SAME")
    assert np.allclose(np.maximum(out + m.biases["deconv2a"], 0), after["deconv2a"], atol=1e-5)


USER_MODELS = """
import keras


def unbuilt(input_shape, num_classes):
    return keras.Sequential([keras.layers.Conv2D(4, 3, name="c"), keras.layers.Flatten(),
                             keras.layers.Dense(num_classes)])


class Net(keras.Model):
    def __init__(self, k):
        super().__init__()
        self.c, self.d = keras.layers.Conv2D(4, 3), keras.layers.Dense(k)

    def call(self, x):
        return self.d(keras.ops.mean(self.c(x), axis=(1, 2)))


def subclassed(input_shape, num_classes):
    return Net(num_classes)
"""


@pytest.mark.parametrize(
    "builder, words",
    [
        ("unbuilt", "is a keras.Sequential that is not built (it has no input)"),
        ("subclassed", "is a subclassed keras.Model (Net): its layers' outputs exist only"),
    ],
)
def test_a_model_the_recorder_cannot_record_is_one_clear_line(tmp_path, builder, words):
    from ckaflow.model.builder import call_builder
    from ckaflow.model.layers import layer_rows

    (tmp_path / "models.py").write_text(USER_MODELS)
    model = call_builder(f"{tmp_path}/models.py:{builder}", seed=1, input_shape=(8, 8, 3),
                         num_classes=3)  # fmt: skip
    with pytest.raises(ValueError) as err:
        layer_rows(model)
    assert words in str(err.value) and "\n" not in str(err.value)
