"""The tied model's transposed convolutions and pool on each Keras 3 backend.

``depthwise_conv_transpose(h, kernel, stride, out_size)`` is the adjoint of the depthwise
convolution ``y = depthwise_conv(x, kernel, stride, padding="same")`` whose channel c uses
``kernel[..., 0, c]``: the gradient of ``<y, h>`` with respect to ``x``, as TensorFlow's
``depthwise_conv2d_backprop_input`` computes it; ``keras.ops`` has none, so each backend uses
its own grouped convolution. ``conv_transpose`` is ``keras.ops.conv_transpose`` (padding
"same"), and ``max_pool`` ``keras.ops.max_pool`` (2 x 2, stride 2), except on JAX.

On JAX, three forms that XLA's CPU compiler runs many times faster, computing the same values
(tested against TensorFlow's, values and gradients):

* a transposed convolution of stride 2 is ``stride**2`` ordinary convolutions with the kernel's
  sub-kernels, interleaved (the sub-pixel form): the dilated convolution XLA would otherwise use
  ran about 14 times slower than an ordinary one (81 against 5.7 ms for a 32 x 40 x 16 batch of
  32);
* its gradient is written out (``jax.custom_vjp``): a transpose ``T = A^T`` of the forward
  convolution ``A`` has ``<g, T h> = <A g, h>``, so the gradient with respect to ``h`` is the
  forward convolution of ``g`` and the one with respect to the kernel is the forward
  convolution's kernel gradient with input ``g`` and output gradient ``h``. Left to autodiff,
  the sub-pixel form's kernel gradient is a convolution with the whole image as its window:
  deconv1's forward and backward took 475 ms of a training step of 720 ms, 152 ms written out
  (the step: 168 ms; 2026-12-07, a 2-core AMD EPYC with AVX2, one thread, batch 32);
* the pool is a reshape and a maximum: the gradient of XLA's windowed maximum (select and
  scatter) took 52 ms at 64 x 80 x 16, the reshaped one 7 ms. Where a window holds two equal
  maxima the gradient is shared between them, where TensorFlow gives it to the first: after a
  ReLU such ties are zeros, whose gradient the ReLU stops either way.
"""

from __future__ import annotations

import functools


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
    h, kernel = keras.ops.convert_to_tensor(h), keras.ops.convert_to_tensor(kernel)
    return _jax_transpose()(h, kernel, stride, tuple(out_size), False)


def max_pool(h):
    """h (b, hi, wi, c) -> (b, hi // 2, wi // 2, c): the maximum of each 2 x 2 window, stride 2
    (``keras.ops.max_pool(h, 2, 2, "valid")``)."""
    import keras

    if keras.backend.backend() != "jax":
        return keras.ops.max_pool(h, 2, 2, "valid")
    _, hi, wi, c = h.shape
    h = h[:, : hi // 2 * 2, : wi // 2 * 2]
    return h.reshape(-1, hi // 2, 2, wi // 2, 2, c).max(axis=(2, 4))


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
    return _jax_transpose()(h, kernel, stride, out_size, True)


@functools.cache
def _jax_transpose():
    """``transpose(h, kernel, stride, out_size, depthwise)`` on JAX: the sub-pixel form, its
    gradient written out. A depthwise kernel (k, k, 1, c) is used as the dense (k, k, c, c) one
    that is zero between channels: XLA's CPU compiler runs grouped convolutions far slower than
    dense ones (the depthwise transpose of a 32 x 40 x 16 batch of 32: 156 ms forward and 613 ms
    with its gradient, grouped)."""
    import jax
    import jax.numpy as jnp

    def dense(kernel, depthwise):
        """The forward convolution's kernel (k, k, c_in, c_out), HWIO."""
        if not depthwise:
            return kernel
        return kernel[:, :, 0, :, None] * jnp.eye(kernel.shape[-1], dtype=kernel.dtype)

    @functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3, 4))
    def transpose(h, kernel, stride, out_size, depthwise):
        return _subpixel(h, dense(kernel, depthwise).transpose(0, 1, 3, 2), stride, out_size)

    def forward(h, kernel, stride, out_size, depthwise):
        return transpose(h, kernel, stride, out_size, depthwise), (h, kernel)

    def backward(stride, out_size, depthwise, residuals, g):
        """g (b, *out_size, c_in): the gradients <g, A^T h> has, A the forward convolution."""
        h, kernel = residuals

        def convolve(k):  # A g, as the forward "same" convolution
            return jax.lax.conv_general_dilated(
                g, k, (stride, stride), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"),
                precision=jax.lax.Precision.HIGHEST,
            )  # fmt: skip

        dh, kernel_vjp = jax.vjp(convolve, dense(kernel, depthwise))
        (dk,) = kernel_vjp(h)
        if depthwise:
            dk = jnp.diagonal(dk, axis1=2, axis2=3)[:, :, None, :]
        return dh, dk

    transpose.defvjp(forward, backward)
    return transpose


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
