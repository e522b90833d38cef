"""The transpose of a depthwise convolution (the tied decoder's last layer), on each Keras 3
backend with that backend's own grouped convolution; ``keras.ops`` has none.

``depthwise_conv_transpose(h, kernel, stride, out_size)`` is the adjoint of the depthwise
convolution ``y = depthwise_conv(x, kernel, stride, padding="same")`` whose channel c uses
``kernel[..., 0, c]``: the gradient of ``<y, h>`` with respect to ``x``, as TensorFlow's
``depthwise_conv2d_backprop_input`` computes it.
"""

from __future__ import annotations


def depthwise_conv_transpose(h, kernel, stride: int, out_size: tuple[int, int]):
    """h (b, hi, wi, c), kernel (k, k, 1, c) -> (b, *out_size, c): each channel c of h
    transposed-convolved with its own kernel ``kernel[:, :, 0, c]``, "same" padding."""
    import keras

    h, kernel = keras.ops.convert_to_tensor(h), keras.ops.convert_to_tensor(kernel)
    return _BACKENDS[keras.backend.backend()](h, kernel, stride, tuple(out_size))


def _same_padding(size_in: int, size_out: int, k: int, stride: int) -> int:
    """The padding before the first row of the forward "same" convolution of size_out -> size_in
    (TensorFlow's rule: the odd one goes after)."""
    return max((size_in - 1) * stride + k - size_out, 0) // 2


def _tensorflow(h, kernel, stride, out_size):
    import tensorflow as tf

    shape = tf.stack([tf.shape(h)[0], *out_size, kernel.shape[-1]])
    depthwise = tf.transpose(kernel, (0, 1, 3, 2))  # (k, k, c, 1)
    return tf.nn.depthwise_conv2d_backprop_input(
        shape, depthwise, h, [1, stride, stride, 1], "SAME"
    )


def _jax(h, kernel, stride, out_size):
    """A convolution of h dilated by the stride with the kernel flipped, one group per channel,
    padded so that the result is the adjoint's."""
    import jax

    k, c = kernel.shape[0], kernel.shape[-1]
    padding = []
    for size_in, size_out in zip(h.shape[1:3], out_size, strict=True):
        before = k - 1 - _same_padding(size_in, size_out, k, stride)
        dilated = (size_in - 1) * stride + 1
        padding.append((before, size_out + k - 1 - dilated - before))
    return jax.lax.conv_general_dilated(
        h,
        kernel[::-1, ::-1],
        window_strides=(1, 1),
        padding=padding,
        lhs_dilation=(stride, stride),
        dimension_numbers=("NHWC", "HWIO", "NHWC"),
        feature_group_count=c,
        precision=jax.lax.Precision.HIGHEST,
    )


def _torch(h, kernel, stride, out_size):
    """PyTorch's grouped transposed convolution over the whole output, then the rows and columns
    the forward convolution's padding covered cut away (zeros added where it had none)."""
    import torch.nn.functional as F  # noqa: N812

    k, c = kernel.shape[0], kernel.shape[-1]
    x = h.permute(0, 3, 1, 2)  # NCHW
    weight = kernel.permute(3, 2, 0, 1)  # (c, 1, k, k)
    full = F.conv_transpose2d(x, weight, stride=stride, groups=c)
    rows = []
    for axis, (size_in, size_out) in enumerate(zip(h.shape[1:3], out_size, strict=True)):
        before = _same_padding(size_in, size_out, k, stride)
        short = max(before + size_out - full.shape[2 + axis], 0)
        rows.append((before, size_out, short))
    (top, height, short_h), (left, width, short_w) = rows
    full = F.pad(full, (0, short_w, 0, short_h))
    return full[:, :, top : top + height, left : left + width].permute(0, 2, 3, 1)


_BACKENDS = {"tensorflow": _tensorflow, "jax": _jax, "torch": _torch}
