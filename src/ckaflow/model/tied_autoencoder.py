"""The tied-weight denoising autoencoder of the study (Keras 3: ``keras.ops`` on any backend).

At depth 1, the thesis' model:

    input (64, 80, 1) in [0, 1]
    conv1   7x7, 16 filters, SAME, ReLU -> (64, 80, 16)   pool1 2x2 max -> (32, 40, 16)
    conv2   5x5, 16 filters, SAME, ReLU -> (32, 40, 16)   pool2 2x2 max -> (16, 20, 16)
    conv3   3x3, 16 filters, SAME, ReLU -> (16, 20, 16)   pool3 2x2 max -> (8, 10, 16)
    deconv3 conv3's kernel, transposed, stride 2, own bias, ReLU -> (16, 20, 16)
    deconv2 conv2's kernel, transposed, stride 2, own bias, ReLU -> (32, 40, 16)
    deconv1 each of conv1's 16 kernels on its own channel, transposed, stride 2, own bias, ReLU
            -> (64, 80, 16), one channel per conv1 filter
    output  1x1 convolution to one channel, linear -> (64, 80, 1)

At depth D each stage has D convolutions before its pool (``conv1a``, ``conv1b``, ...; the same
kernel size and 16 filters, 16 channels in after the first), and the decoder the transpose of
every one in reverse order, each with its own bias and ReLU: a stage's first transposed
convolution (of its last convolution) has stride 2, the others stride 1, and the transpose of
``conv1a`` is the depthwise one above.

The decoder's kernels ARE the encoder's: one variable, used twice, with gradients from both uses.
He-normal kernels and zero biases, all drawn from the instance seed (and depth: a deeper model
of the same seed does not share its first kernels with the depth-1 one).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from .tied_layers import (
    FILTERS,
    KERNEL_SIZES,
    OUTPUT,
    check_depth,
    check_input_shape,
    layer_kind,
    layer_shapes,
    layer_specs,
    layers,
)
from .tied_ops import conv_transpose, depthwise_conv_transpose, max_pool

_TYPES = {
    "encoder": "Conv2D",
    "pool": "MaxPool2D",
    "decoder": "Conv2DTranspose (tied)",
    OUTPUT: "Conv2D 1x1",
}


class TiedAutoencoder(keras.Model):
    """The autoencoder; ``model(x)`` is the reconstruction, :meth:`layer_outputs` every layer.

    ``depth``: convolutions per stage (1, the thesis' model; 2; 3). ``tied=False`` gives the
    decoder kernels of its own (same shapes, same ops): only the benchmark uses it, to measure
    what tying costs.
    """

    def __init__(
        self, seed: int, *, depth: int = 1, input_shape=(64, 80, 1), tied: bool = True, **kwargs
    ):
        super().__init__(name="tied_autoencoder" if tied else "untied_autoencoder", **kwargs)
        self.seed = int(seed)
        self.depth = check_depth(depth)
        self.tied = tied
        self.specs = layer_specs(depth)
        self.input_size = check_input_shape(input_shape)
        self.shapes = layer_shapes(depth, *self.input_size[:2])
        convs = [spec for spec in self.specs if spec.part == "encoder"]
        self.kernels, self.biases = {}, {}
        for i, spec in enumerate(convs):
            k, first = KERNEL_SIZES[spec.stage], spec.stage == 1 and spec.index == 0
            self.kernels[spec.name] = self.add_weight(
                name=f"{spec.name}_kernel",
                shape=(k, k, 1 if first else FILTERS, FILTERS),
                initializer=keras.initializers.HeNormal(seed=self._seed(i)),
            )
        for spec in self.specs:
            if spec.convolution:
                self.biases[spec.name] = self.add_weight(
                    name=f"{spec.name}_bias", shape=(FILTERS,), initializer="zeros"
                )
        self.out_kernel = self.add_weight(
            name="output_kernel",
            shape=(1, 1, FILTERS, 1),
            initializer=keras.initializers.HeNormal(seed=self._seed(len(convs))),
        )
        self.biases["output"] = self.add_weight(name="output_bias", shape=(1,), initializer="zeros")
        # Untied (benchmark only): the decoder gets kernels of its own, same shapes and ops.
        self.decoder_kernels = {f"de{name}": v for name, v in self.kernels.items()}
        if not tied:
            for i, (name, v) in enumerate(self.kernels.items()):
                self.decoder_kernels[f"de{name}"] = self.add_weight(
                    name=f"de{name}_kernel",
                    shape=tuple(v.shape),
                    initializer=keras.initializers.HeNormal(seed=self._seed(8 * depth + i)),
                )
        self.built = True  # every weight exists: JAX's stateless calls need no first call

    def _seed(self, i: int) -> int:
        """Distinct, reproducible streams per kernel, instance and depth (depth 1's as they were
        before depths existed)."""
        if self.depth == 1:
            return self.seed * 16 + i
        return 10**6 * self.depth + self.seed * 64 + i

    def call(self, x, training=False):
        return self.layer_outputs(x)["output"]

    def layer_outputs(self, x) -> dict:
        """Every named layer's output, in network order, for a batch x (b, 64, 80, 1)."""
        dk, b = self.decoder_kernels, self.biases
        out = {}
        h = x
        for spec in self.specs:
            name = spec.name
            if spec.part == "encoder":
                h = ops.relu(ops.conv(h, self.kernels[name], 1, "same") + b[name])
            elif spec.part == "pool":
                h = max_pool(h)
            elif spec.part == "decoder":
                h = ops.relu(self._transpose(h, spec, dk[name]) + b[name])
            else:
                h = ops.conv(h, self.out_kernel, 1, "same") + b["output"]
            out[name] = h
        assert tuple(out) == layers(self.depth), "layer order must match ckaflow.names.layers"
        return out

    def _transpose(self, h, spec, kernel):
        """The transpose of encoder convolution ``spec`` (its kernel ``kernel``), upsampling by 2
        when it undoes its stage's pool too."""
        stride = 2 if spec.index == self.depth - 1 else 1
        if spec.stage == 1 and spec.index == 0:
            # the transpose of a depthwise convolution whose channel f uses conv1's kernel f
            return depthwise_conv_transpose(h, kernel, stride, self.shapes[spec.name][:2])
        return conv_transpose(h, kernel, stride, self.shapes[spec.name][:2])

    def layer_rows(self) -> list[dict]:
        """The layer table (:func:`ckaflow.model.layers.layer_rows`): every named layer, each
        recorded by ``model.layers: auto``. A convolution's kernel is its encoder kernel, which
        the decoder's transposes use too (their parameters are their own biases)."""
        rows = []
        for spec in self.specs:
            name, encoder = spec.name, spec.part == "encoder"
            kernel = f"{name}_kernel" if encoder else "output_kernel" if name == OUTPUT else None
            weights = [v for v in (self.kernels.get(name) if encoder else None,
                                   self.out_kernel if name == OUTPUT else None,
                                   self.biases.get(name)) if v is not None]  # fmt: skip
            rows.append({
                "name": name, "type": _TYPES[spec.part], "kind": layer_kind(spec),
                "output_shape": list(self.shapes[name]),
                "params": int(sum(np.prod(v.shape) for v in weights)),
                "kernel": kernel, "auto": True,
            })  # fmt: skip
        return rows

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
