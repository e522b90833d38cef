"""Salt-and-pepper noise, the denoising corruption of the study (training inputs only)."""

from __future__ import annotations

import numpy as np

from ..schema import schema_default


def salt_and_pepper(
    images: np.ndarray,
    rng: np.random.Generator,
    *,
    pepper: float = schema_default("noise.pepper"),
    salt: float = schema_default("noise.salt"),
) -> np.ndarray:
    """A copy of ``images`` (float, values in [0, 1]) with a fraction ``pepper`` of pixels set
    to 0 and a fraction ``salt`` set to 1, independently per pixel.
    """
    if not (0.0 <= pepper and 0.0 <= salt and pepper + salt <= 1.0):
        raise ValueError(
            f"noise fractions must be >= 0 and sum to <= 1, got pepper={pepper}, salt={salt}"
        )
    u = rng.random(images.shape)
    out = np.array(images, dtype=np.float32, copy=True)
    out[u < pepper] = 0.0
    out[(u >= pepper) & (u < pepper + salt)] = 1.0
    return out


def salt_and_pepper_tensor(x, seed, pepper: float, salt: float):
    """:func:`salt_and_pepper` on the Keras backend's tensors, inside its compiled step:
    stateless, the same pixels for the same ``seed`` ((2,) int32: the instance's key and the
    step). Each backend draws from its own generator, so the pixels differ between backends."""
    import keras

    u = _UNIFORM[keras.backend.backend()](x, seed)
    return keras.ops.where(u < pepper, 0.0, keras.ops.where(u < pepper + salt, 1.0, x))


def _uniform_tensorflow(x, seed):
    import tensorflow as tf

    return tf.random.stateless_uniform(tf.shape(x), seed=seed)


def _uniform_jax(x, seed):
    import jax

    key = jax.random.fold_in(jax.random.key(seed[0]), seed[1])
    return jax.random.uniform(key, x.shape, dtype=x.dtype)


def _uniform_torch(x, seed):
    import torch

    generator = torch.Generator(device=x.device).manual_seed(int(seed[0]) * 2**32 + int(seed[1]))
    return torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype)


_UNIFORM = {"tensorflow": _uniform_tensorflow, "jax": _uniform_jax, "torch": _uniform_torch}
