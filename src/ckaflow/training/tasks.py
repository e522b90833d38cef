"""What a model is trained and scored on, per task.

* ``denoise`` (the thesis): salt-and-pepper noise on the training input (``pepper`` of the pixels
  to 0, ``salt`` to 1, fresh each batch), mean squared error against the clean image;
* ``reconstruct``: the same without noise;
* ``classify``: cross-entropy of the class scores (logits, or probabilities when the model ends
  in a softmax) against the labels.

Scores on held-out images never add noise. "Accuracy" is 1 - mean squared error for the first
two, the share of images classified right for the last (:data:`ACCURACY`).
"""

from __future__ import annotations

import numpy as np

ACCURACY = {
    "denoise": "1 - mean squared error",
    "reconstruct": "1 - mean squared error",
    "classify": "classification accuracy",
}
LOSS = {
    "denoise": "mean squared error (clean image)",
    "reconstruct": "mean squared error",
    "classify": "cross-entropy",
}


def training_loss(task: str, output: str, pepper: float, salt: float):
    """``loss(model, x, y, seed)``: the batch loss of one training step (TensorFlow ops)."""
    import tensorflow as tf

    from ..data.noise import salt_and_pepper_tf

    if task == "denoise":

        def loss(model, x, y, seed):
            noisy = salt_and_pepper_tf(x, seed, pepper, salt)
            return tf.reduce_mean(tf.square(model(noisy, training=True) - x))

    elif task == "reconstruct":

        def loss(model, x, y, seed):
            return tf.reduce_mean(tf.square(model(x, training=True) - x))

    else:
        import keras

        ce = keras.losses.SparseCategoricalCrossentropy(from_logits=output == "logits")

        def loss(model, x, y, seed):
            return ce(y, model(x, training=True))

    return loss


def per_image_loss(model, x, batch_size: int = 200) -> np.ndarray:
    """Mean squared reconstruction error of each clean image, no noise: (n,) float64.

    ``x`` (n, h, w, c). One compiled call per batch of ``batch_size``, traced once per model.
    """
    return scores(model, x, task="reconstruct", batch_size=batch_size)["loss"]


def scores(model, x, y=None, *, task: str, output: str = "image", batch_size: int = 200) -> dict:
    """Per image: ``loss`` (n,) float64 (squared error, or cross-entropy for classify) and,
    for classify, ``correct`` (n,) bool; no noise, inference mode."""
    fn = _compiled(model, task, output)
    parts = []
    for b0 in range(0, len(x), batch_size):
        yb = None if y is None else y[b0 : b0 + batch_size]
        parts.append(
            [a.numpy() for a in fn(x[b0 : b0 + batch_size], *([] if yb is None else [yb]))]
        )
    if not parts:
        return {"loss": np.zeros(0), "correct": None if task != "classify" else np.zeros(0, bool)}
    out = {"loss": np.concatenate([p[0] for p in parts])}
    out["correct"] = (
        np.concatenate([p[1] for p in parts]).astype(bool) if task == "classify" else None
    )
    return out


def _compiled(model, task: str, output: str):
    """One traced scoring function per model and task (kept on the model object)."""
    import tensorflow as tf

    cache = getattr(model, "_ckaflow_scores", None)
    if cache is None:
        cache = {}
        object.__setattr__(model, "_ckaflow_scores", cache)  # not a Keras-tracked attribute
    key = (task == "classify", output)
    if key in cache:
        return cache[key]
    if task != "classify":

        @tf.function(input_signature=[tf.TensorSpec((None, None, None, None), tf.float32)])
        def fn(x):
            y = tf.cast(model(x, training=False), tf.float64)
            return (tf.reduce_mean(tf.square(y - tf.cast(x, tf.float64)), axis=[1, 2, 3]),)

    else:
        import keras

        @tf.function(reduce_retracing=True)
        def fn(x, y):
            p = model(x, training=False)
            loss = keras.losses.sparse_categorical_crossentropy(
                y, p, from_logits=output == "logits"
            )
            correct = tf.equal(tf.argmax(p, axis=-1, output_type=tf.int64), tf.cast(y, tf.int64))
            return tf.cast(loss, tf.float64), correct

    cache[key] = fn
    return fn
