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


def salt_and_pepper_tf(x, seed, pepper: float, salt: float):
    """TensorFlow twin of :func:`salt_and_pepper`: stateless, seeded by ``seed``."""
    import tensorflow as tf

    u = tf.random.stateless_uniform(tf.shape(x), seed=seed)
    return tf.where(u < pepper, 0.0, tf.where(u < pepper + salt, 1.0, x))
