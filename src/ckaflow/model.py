"""The tied-weight denoising autoencoder of the study (TensorFlow 2.21 / Keras 3).

    input (64, 80, 1) in [0, 1]
    conv1   7x7, 16 filters, SAME, ReLU -> (64, 80, 16)   pool1 2x2 max -> (32, 40, 16)
    conv2   5x5, 16 filters, SAME, ReLU -> (32, 40, 16)   pool2 2x2 max -> (16, 20, 16)
    conv3   3x3, 16 filters, SAME, ReLU -> (16, 20, 16)   pool3 2x2 max -> (8, 10, 16)
    deconv3 conv3's kernel, transposed, stride 2, own bias, ReLU -> (16, 20, 16)
    deconv2 conv2's kernel, transposed, stride 2, own bias, ReLU -> (32, 40, 16)
    deconv1 each of conv1's 16 kernels on its own channel, transposed, stride 2, own bias, ReLU
            -> (64, 80, 16), one channel per conv1 filter
    output  1x1 convolution to one channel, linear -> (64, 80, 1)

The decoder's kernels ARE the encoder's: one variable, used twice, with gradients from both uses.
He-normal kernels and zero biases, all drawn from the instance seed.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from .architecture import FILTERS, LAYER_SHAPES, LAYERS

KERNEL_SIZES = {"conv1": 7, "conv2": 5, "conv3": 3}


class TiedAutoencoder(keras.Model):
    """The autoencoder; ``model(x)`` is the reconstruction, :meth:`layer_outputs` every layer.

    ``tied=False`` gives the decoder kernels of its own (same shapes, same ops): only the
    benchmark uses it, to measure what tying costs.
    """

    def __init__(self, seed: int, *, tied: bool = True, **kwargs):
        super().__init__(name="tied_autoencoder" if tied else "untied_autoencoder", **kwargs)
        self.seed = int(seed)
        self.tied = tied
        channels_in = {"conv1": 1, "conv2": FILTERS, "conv3": FILTERS}
        self.kernels, self.biases = {}, {}
        for i, (name, k) in enumerate(KERNEL_SIZES.items()):
            self.kernels[name] = self.add_weight(
                name=f"{name}_kernel",
                shape=(k, k, channels_in[name], FILTERS),
                initializer=keras.initializers.HeNormal(seed=self._seed(i)),
            )
        for name in ("conv1", "conv2", "conv3", "deconv3", "deconv2", "deconv1"):
            self.biases[name] = self.add_weight(
                name=f"{name}_bias", shape=(FILTERS,), initializer="zeros"
            )
        self.out_kernel = self.add_weight(
            name="output_kernel",
            shape=(1, 1, FILTERS, 1),
            initializer=keras.initializers.HeNormal(seed=self._seed(3)),
        )
        self.biases["output"] = self.add_weight(name="output_bias", shape=(1,), initializer="zeros")
        # Untied (benchmark only): the decoder gets kernels of its own, same shapes and ops.
        self.decoder_kernels = {f"de{name}": v for name, v in self.kernels.items()}
        if not tied:
            for i, (name, v) in enumerate(self.kernels.items()):
                self.decoder_kernels[f"de{name}"] = self.add_weight(
                    name=f"de{name}_kernel",
                    shape=tuple(v.shape),
                    initializer=keras.initializers.HeNormal(seed=self._seed(8 + i)),
                )

    def _seed(self, i: int) -> int:
        return self.seed * 16 + i  # distinct, reproducible streams per kernel and instance

    def call(self, x, training=False):
        return self.layer_outputs(x)["output"]

    def layer_outputs(self, x) -> dict[str, tf.Tensor]:
        """Every named layer's output, in network order, for a batch x (b, 64, 80, 1)."""
        k, dk, b = self.kernels, self.decoder_kernels, self.biases
        n = tf.shape(x)[0]
        out = {}
        h = x
        for i, name in enumerate(("conv1", "conv2", "conv3")):
            h = tf.nn.relu(tf.nn.conv2d(h, k[name], 1, "SAME") + b[name])
            out[name] = h
            h = tf.nn.max_pool2d(h, 2, 2, "VALID")
            out[f"pool{i + 1}"] = h
        for name in ("conv3", "conv2"):  # (b, 8, 10, 16) -> (b, 16, 20, 16) -> (b, 32, 40, 16)
            hh, ww, _ = LAYER_SHAPES[f"de{name}"]
            h = tf.nn.conv2d_transpose(
                h, dk[f"de{name}"], tf.stack([n, hh, ww, FILTERS]), 2, "SAME"
            )
            h = tf.nn.relu(h + b[f"de{name}"])
            out[f"de{name}"] = h
        # deconv1: the transpose of a depthwise convolution whose channel f uses conv1's kernel f.
        hh, ww, _ = LAYER_SHAPES["deconv1"]
        depthwise = tf.transpose(dk["deconv1"], (0, 1, 3, 2))  # (7, 7, 16, 1)
        h = tf.nn.depthwise_conv2d_backprop_input(
            tf.stack([n, hh, ww, FILTERS]), depthwise, h, [1, 2, 2, 1], "SAME"
        )
        out["deconv1"] = h = tf.nn.relu(h + b["deconv1"])
        out["output"] = tf.nn.conv2d(h, self.out_kernel, 1, "SAME") + b["output"]
        assert tuple(out) == LAYERS, "layer order must match ckaflow.architecture"
        return out

    def get_weights_dict(self) -> dict[str, np.ndarray]:
        """Every variable by its stable name."""
        return {v.name: np.asarray(v.numpy()) for v in self.weights}

    def set_weights_dict(self, weights: dict[str, np.ndarray]) -> None:
        """Load variables by name; every name must match, every shape agree."""
        mine = {v.name: v for v in self.weights}
        if set(mine) != set(weights):
            raise ValueError(f"checkpoint variables {sorted(weights)} != model's {sorted(mine)}")
        for name, v in mine.items():
            if tuple(v.shape) != weights[name].shape:
                raise ValueError(
                    f"{name}: checkpoint shape {weights[name].shape} != {tuple(v.shape)}"
                )
            v.assign(weights[name])


def per_image_loss(model, x, batch_size: int = 200) -> np.ndarray:
    """Mean squared reconstruction error of each clean image, no noise: (n,) float64.

    ``x`` (n, 64, 80, 1). One compiled call per batch of ``batch_size``, traced once per model.
    """
    fn = _compiled_loss(model)
    out = [fn(x[b0 : b0 + batch_size]).numpy() for b0 in range(0, len(x), batch_size)]
    return np.concatenate(out) if out else np.zeros(0)


def _compiled_loss(model):
    import tensorflow as tf

    fn = getattr(model, "_per_image_loss", None)
    if fn is None:

        @tf.function(input_signature=[tf.TensorSpec((None, None, None, 1), tf.float32)])
        def fn(x):
            y = tf.cast(model(x, training=False), tf.float64)
            return tf.reduce_mean(tf.square(y - tf.cast(x, tf.float64)), axis=[1, 2, 3])

        object.__setattr__(model, "_per_image_loss", fn)  # not a Keras-tracked attribute
    return fn
