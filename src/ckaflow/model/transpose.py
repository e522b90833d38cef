"""The tied decoder's transposed convolutions on each Keras 3 backend.

``depthwise_conv_transpose(h, kernel, stride, out_size)`` is the adjoint of the depthwise
convolution ``y = depthwise_conv(x, kernel, stride, padding="same")`` whose channel c uses
``kernel[..., 0, c]``: the gradient of ``<y, h>`` with respect to ``x``, as TensorFlow's
``depthwise_conv2d_backprop_input`` computes it; ``keras.ops`` has none, so each backend uses
its own grouped convolution. ``conv_transpose`` is ``keras.ops.conv_transpose`` (padding
"same"), except on JAX.

On JAX a transposed convolution of stride 2 is computed as ``stride**2`` ordinary convolutions
with the kernel's sub-kernels, interleaved (the sub-pixel form): XLA's CPU compiler runs the
dilated convolution it would otherwise use about 14 times slower than an ordinary one (measured:
81 against 5.7 ms for a 32 x 40 x 16 batch of 32), which made the tied model's training step 30
times slower on JAX than on TensorFlow. The two forms agree to float32 rounding (tested against
TensorFlow's).
"""

from __future__ import annotations


def depthwise_conv_transpose(h, kernel, stride: int, out_size: tuple[int, int]):
    """h (b, hi, wi, c), kernel (k, k, 1, c) -> (b, *out_size, c): each channel c of h
    transposed-convolved with its own kernel ``kernel[:, :, 0, c]``, "same" padding."""
    import keras

    h, kernel = keras.ops.convert_to_tensor(h), keras.ops.convert_to_tensor(kernel)
    return _BACKENDS[keras.backend.backend()](h, kernel, stride, tuple(out_size))


def conv_transpose(h, kernel, stride: int, out_size: tuple[int, int]):
    """h (b, hi, wi, c_in), kernel (k, k, c_out, c_in) -> (b, *out_size, c_out): the transpose of
    the "same" convolution with ``kernel`` and ``stride``."""
    import keras

    if keras.backend.backend() != "jax":
        return keras.ops.conv_transpose(h, kernel, stride, "same")
    kernel = keras.ops.convert_to_tensor(kernel)
    return _subpixel(keras.ops.convert_to_tensor(h), kernel.transpose(0, 1, 3, 2), stride,
                     tuple(out_size))  # fmt: skip


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
    """As a dense transposed convolution whose kernel is zero between channels: XLA's CPU
    compiler runs grouped convolutions far slower than dense ones (the depthwise transpose of
    a 32 x 40 x 16 batch of 32: 156 ms forward and 613 ms with its gradient, grouped)."""
    import jax.numpy as jnp

    c = kernel.shape[-1]
    dense = kernel[:, :, 0, :, None] * jnp.eye(c, dtype=kernel.dtype)  # (k, k, c, c), HWIO
    return _subpixel(h, dense, stride, out_size)


def _subpixel(h, kernel, stride, out_size):
    """The transposed convolution as ``stride**2`` ordinary ones (JAX). ``kernel`` (k, k, i, o)
    as the forward convolution's, i = c_in.

    Output row o of the transpose gathers input rows m - j with kernel rows stride * j + r,
    where o + pad = stride * m + r: for each phase r an ordinary convolution with the sub-kernel
    ``kernel[r::stride]`` flipped; the phases interleaved give the full output, of which the
    rows the forward convolution's padding covered are cut away."""
    import jax
    import jax.numpy as jnp

    k = kernel.shape[0]
    taps = -(-k // stride)  # rows of every sub-kernel (zeros where stride * j + r >= k)
    phases = []
    for r_h in range(stride):
        for r_w in range(stride):
            sub = kernel[r_h::stride, r_w::stride]
            sub = jnp.pad(sub, ((0, taps - sub.shape[0]), (0, taps - sub.shape[1]), (0, 0), (0, 0)))
            phases.append(jax.lax.conv_general_dilated(
                h, sub[::-1, ::-1], window_strides=(1, 1),
                padding=((taps - 1, taps), (taps - 1, taps)),
                dimension_numbers=("NHWC", "HWIO", "NHWC"),
                precision=jax.lax.Precision.HIGHEST,
            ))  # fmt: skip
    b, m_h, m_w, c = phases[0].shape
    full = jnp.stack(phases, axis=3).reshape(b, m_h, m_w, stride, stride, c)
    full = full.transpose(0, 1, 3, 2, 4, 5).reshape(b, m_h * stride, m_w * stride, c)
    (top, left) = (_same_padding(n, size, k, stride) for n, size in zip(h.shape[1:3], out_size,
                                                                         strict=True))  # fmt: skip
    return full[:, top : top + out_size[0], left : left + out_size[1]]


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
