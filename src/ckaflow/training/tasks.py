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
    """``(corrupt, loss)`` of one training step, in ``keras.ops`` on any backend:
    ``corrupt(x, seed)`` is the model's input for a clean batch x (the noise of ``denoise``,
    seeded by the (2,) int32 ``seed``; x itself otherwise) and ``loss(pred, x, y)`` the batch
    loss of the model's output ``pred``."""
    from keras import ops

    from ..data.noise import salt_and_pepper_tensor

    def corrupt(x, seed):
        return salt_and_pepper_tensor(x, seed, pepper, salt) if task == "denoise" else x

    if task != "classify":

        def loss(pred, x, y):
            return ops.mean(ops.square(pred - x))

    else:
        import keras

        ce = keras.losses.SparseCategoricalCrossentropy(from_logits=output == "logits")

        def loss(pred, x, y):
            return ce(y, pred)

    return corrupt, loss


def per_image_loss(model, x, batch_size: int = 200) -> np.ndarray:
    """Mean squared reconstruction error of each clean image, no noise: (n,) float64.

    ``x`` (n, h, w, c). One compiled call per batch of ``batch_size``, traced once per model.
    """
    return scores(model, x, task="reconstruct", batch_size=batch_size)["loss"]


def scores(model, x, y=None, *, task: str, output: str = "image", batch_size: int = 200) -> dict:
    """Per image: ``loss`` (n,) float64 (squared error, or cross-entropy for classify) and,
    for classify, ``correct`` (n,) bool; no noise, inference mode."""
    import keras

    compiled = _compiled if keras.backend.backend() == "tensorflow" else _portable
    fn = compiled(model, task, output, channels=x.shape[-1])
    parts = []
    for b0 in range(0, len(x), batch_size):
        yb = None if y is None else y[b0 : b0 + batch_size]
        parts.append(
            [np.asarray(a) for a in fn(x[b0 : b0 + batch_size], *([] if yb is None else [yb]))]
        )
    if not parts:
        return {"loss": np.zeros(0), "correct": None if task != "classify" else np.zeros(0, bool)}
    out = {"loss": np.concatenate([p[0] for p in parts])}
    out["correct"] = (
        np.concatenate([p[1] for p in parts]).astype(bool) if task == "classify" else None
    )
    return out


def _cached(model, key, make):
    """One compiled scoring function per model and key (kept on the model object)."""
    cache = getattr(model, "_ckaflow_scores", None)
    if cache is None:
        cache = {}
        object.__setattr__(model, "_ckaflow_scores", cache)  # not a Keras-tracked attribute
    if key not in cache:
        cache[key] = make()
    return cache[key]


def _compiled(model, task: str, output: str, channels: int):
    """TensorFlow: one traced function per model and task, the losses summed in float64. The
    images' channels are part of the signature: Keras compiles a convolution whose input
    channels are unknown with XLA (slower, and other rounding)."""
    import tensorflow as tf

    if task != "classify":

        def make():
            @tf.function(input_signature=[tf.TensorSpec((None, None, None, channels), tf.float32)])
            def fn(x):
                y = tf.cast(model(x, training=False), tf.float64)
                return (tf.reduce_mean(tf.square(y - tf.cast(x, tf.float64)), axis=[1, 2, 3]),)

            return fn

    else:
        import keras

        def make():
            @tf.function(reduce_retracing=True)
            def fn(x, y):
                p = model(x, training=False)
                loss = keras.losses.sparse_categorical_crossentropy(
                    y, p, from_logits=output == "logits"
                )
                correct = tf.equal(
                    tf.argmax(p, axis=-1, output_type=tf.int64), tf.cast(y, tf.int64)
                )
                return tf.cast(loss, tf.float64), correct

            return fn

    return _cached(model, ("tensorflow", task == "classify", output, channels), make)


def _portable(model, task: str, output: str, channels: int):
    """JAX and PyTorch: the model's compiled inference (:func:`ckaflow.training.step.predictor`)
    on the backend; the squared errors summed in float64 by NumPy (JAX computes in float32
    unless told otherwise)."""
    import keras

    from .step import predictor

    predict = _cached(model, ("predict",), lambda: predictor(model))

    if task != "classify":

        def fn(x):
            pred = predict(x).astype(np.float64)
            return (np.mean(np.square(pred - np.asarray(x, np.float64)), axis=(1, 2, 3)),)

    else:

        def fn(x, y):
            pred = predict(x)
            loss = keras.losses.sparse_categorical_crossentropy(
                keras.ops.convert_to_tensor(y), pred, from_logits=output == "logits"
            )
            loss = keras.ops.convert_to_numpy(loss).astype(np.float64)
            return loss, np.argmax(pred, axis=-1) == np.asarray(y).astype(np.int64)

    return fn
