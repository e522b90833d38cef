"""One training step, compiled on the Keras backend the job runs: the batch gathered on the
device, the loss (:func:`ckaflow.training.tasks.training_loss`, ``keras.ops``), the backend's
own gradient, the optimizer's update. Keras 3's documented custom-loop pattern per backend:

* TensorFlow: a ``tf.function`` with a ``GradientTape`` (XLA off: 20x slower on a CPU, and not
  deterministic);
* JAX: a ``jax.jit`` of the stateless step (``model.stateless_call``,
  ``optimizer.stateless_apply``); its state lives outside the model between :meth:`sync` calls;
* PyTorch: eager ``backward()`` and ``optimizer.apply`` under ``no_grad``.

``step(idx, seed)`` trains on the images ``idx`` (int32, the batch) with the noise of ``seed``
((2,) int32) and returns the batch loss as a backend scalar. After :meth:`sync` the model's and
optimizer's variables hold the trained values; after changing them (restoring weights, a new
learning rate) call :meth:`load`.
"""

from __future__ import annotations

import numpy as np


def stepper(model, optimizer, corrupt, loss, train_x: np.ndarray, train_y: np.ndarray):
    """The compiled step of ``model`` on the training images (n, h, w, c) and labels (n,)."""
    import keras

    optimizer.build(model.trainable_variables)
    kind = {"tensorflow": _TensorFlowStep, "jax": _JaxStep, "torch": _TorchStep}
    return kind[keras.backend.backend()](model, optimizer, corrupt, loss, train_x, train_y)


def predictor(model):
    """``predict(x)``: the model's output in inference mode as a NumPy array, compiled once per
    model on JAX (a new batch size traces again), eager under ``no_grad`` on PyTorch."""
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        call = jax.jit(lambda tv, ntv, x: model.stateless_call(tv, ntv, x, training=False)[0])

        def predict(x):
            tv = [v.value for v in model.trainable_variables]
            ntv = [v.value for v in model.non_trainable_variables]
            return np.asarray(call(tv, ntv, x))

        return predict
    if backend == "torch":
        import torch

        def predict(x):
            with torch.no_grad():
                return keras.ops.convert_to_numpy(model(x, training=False))

        return predict
    return lambda x: keras.ops.convert_to_numpy(model(x, training=False))


class _TensorFlowStep:
    def __init__(self, model, optimizer, corrupt, loss, train_x, train_y):
        import tensorflow as tf

        self.train_x, self.train_y = tf.constant(train_x), tf.constant(train_y)
        variables = model.trainable_variables

        @tf.function(jit_compile=False)
        def step(idx, seed):
            x, y = tf.gather(self.train_x, idx), tf.gather(self.train_y, idx)
            with tf.GradientTape() as tape:
                value = loss(model(corrupt(x, seed), training=True), x, y)
            grads = tape.gradient(value, variables)
            optimizer.apply_gradients(zip(grads, variables, strict=True))
            return value

        self.step = step

    def __call__(self, idx: np.ndarray, seed: np.ndarray):
        import tensorflow as tf

        return self.step(tf.constant(idx, tf.int32), tf.constant(seed, tf.int32))

    def sync(self) -> None:
        """The variables are the model's own: nothing to write back."""

    def load(self) -> None:
        """Nothing to read: the step uses the variables themselves."""


class _JaxStep:
    def __init__(self, model, optimizer, corrupt, loss, train_x, train_y):
        import jax
        import jax.numpy as jnp

        self.model, self.optimizer = model, optimizer
        self.train_x, self.train_y = jnp.asarray(train_x), jnp.asarray(train_y)

        def value(tv, ntv, x, y, seed):
            pred, ntv = model.stateless_call(tv, ntv, corrupt(x, seed), training=True)
            return loss(pred, x, y), ntv

        grad = jax.value_and_grad(value, has_aux=True)

        def step(state, idx, seed):
            tv, ntv, ov = state
            x, y = self.train_x[idx], self.train_y[idx]
            (batch_loss, ntv), grads = grad(tv, ntv, x, y, seed)
            tv, ov = optimizer.stateless_apply(ov, grads, tv)
            return batch_loss, (tv, ntv, ov)

        self.step = jax.jit(step)
        self.load()

    def __call__(self, idx: np.ndarray, seed: np.ndarray):
        import jax.numpy as jnp

        batch_loss, self.state = self.step(
            self.state, jnp.asarray(idx, jnp.int32), jnp.asarray(seed, jnp.int32)
        )
        return batch_loss

    def _variables(self) -> tuple[list, list, list]:
        m = self.model
        return m.trainable_variables, m.non_trainable_variables, self.optimizer.variables

    def sync(self) -> None:
        for variables, values in zip(self._variables(), self.state, strict=True):
            for v, value in zip(variables, values, strict=True):
                v.assign(value)

    def load(self) -> None:
        self.state = tuple([v.value for v in vs] for vs in self._variables())


class _TorchStep:
    def __init__(self, model, optimizer, corrupt, loss, train_x, train_y):
        from keras import ops

        self.model, self.optimizer, self.corrupt, self.loss = model, optimizer, corrupt, loss
        self.train_x, self.train_y = ops.convert_to_tensor(train_x), ops.convert_to_tensor(train_y)

    def __call__(self, idx: np.ndarray, seed: np.ndarray):
        import torch

        idx = torch.as_tensor(idx, dtype=torch.long, device=self.train_x.device)
        x, y = self.train_x[idx], self.train_y[idx]
        value = self.loss(self.model(self.corrupt(x, seed), training=True), x, y)
        self.model.zero_grad()
        value.backward()
        variables = self.model.trainable_variables
        with torch.no_grad():
            self.optimizer.apply([v.value.grad for v in variables], variables)
        return value.detach()

    def sync(self) -> None:
        """The variables are the model's own: nothing to write back."""

    def load(self) -> None:
        """Nothing to read: the step uses the variables themselves."""
