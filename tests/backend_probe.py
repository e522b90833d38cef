"""Run by tests/test_backends.py in a fresh process on one Keras backend (argv: backend, work
folder): what the workflow's jobs do with a model on that backend, written to results.npz.

* ``transpose/*``: the tied decoder's depthwise transposed convolution on random inputs;
* ``tied/*``: every layer of the autoencoder with the weights the TensorFlow process saved;
  ``grad/*``: the gradient of ``sum(model(x) * r)`` with respect to each of its weights;
* ``noise/{a,b,c}``: salt-and-pepper noise of seeds (1, 2), (1, 2) and (1, 3);
* ``saved``: the outputs of the ``.keras`` file the TensorFlow process saved;
* ``train{1,2}/*``: the final weights of the same tiny denoising run, twice; ``loss`` its
  validation losses; ``classify/*``: a few steps of a user's Keras-only classifier.
"""

import json
import sys
from pathlib import Path

backend, work = sys.argv[1], Path(sys.argv[2])

from ckaflow.backend import configure  # noqa: E402

configure(1, backend)

import keras  # noqa: E402
import numpy as np  # noqa: E402

from ckaflow.model.checkpoints import read_checkpoint  # noqa: E402
from ckaflow.model.tied_autoencoder import TiedAutoencoder  # noqa: E402
from ckaflow.model.tied_ops import depthwise_conv_transpose  # noqa: E402
from ckaflow.training import TrainConfig, TrainingData, train  # noqa: E402
from ckaflow.training.job import train_instance  # noqa: E402

assert keras.backend.backend() == backend, keras.backend.backend()
inputs = np.load(work / "inputs.npz")
out = {}
for key in inputs.files:
    if key.startswith("transpose/h/"):
        case = key.removeprefix("transpose/h/")
        k, stride, hh, ww = (int(v) for v in case.split("_"))
        y = depthwise_conv_transpose(inputs[key], inputs[f"transpose/k/{case}"], stride, (hh, ww))
        out[f"transpose/{case}"] = keras.ops.convert_to_numpy(y)

from ckaflow.data.noise import salt_and_pepper_tensor  # noqa: E402

grey = keras.ops.convert_to_tensor(np.full((16, 64, 80, 1), 0.5, np.float32))
for name, seed in (("a", [1, 2]), ("b", [1, 2]), ("c", [1, 3])):
    noisy = salt_and_pepper_tensor(grey, keras.ops.convert_to_tensor(seed, "int32"), 0.05, 0.05)
    out[f"noise/{name}"] = keras.ops.convert_to_numpy(noisy)


def weight_gradients(model, x, r) -> dict:
    """d sum(model(x) * r) / d each trainable weight, by name, with this backend's autodiff."""
    weights = model.trainable_variables
    if backend == "jax":
        import jax

        def loss(values):
            return jax.numpy.sum(model.stateless_call(values, [], x)[0] * r)

        grads = jax.grad(loss)([v.value for v in weights])
    else:
        import torch

        y = model(x)
        loss = (y * torch.as_tensor(r, device=y.device)).sum()
        grads = torch.autograd.grad(loss, [v.value for v in weights])
    return {v.name: keras.ops.convert_to_numpy(g) for v, g in zip(weights, grads, strict=True)}


for depth in (1, 2):  # depth 2: the stride-1 transposes too
    model = TiedAutoencoder(3, depth=depth)
    model.set_weights_dict({k.split("/", 2)[2]: inputs[k] for k in inputs.files
                            if k.startswith(f"tied_w/{depth}/")})  # fmt: skip
    for name, v in model.layer_outputs(inputs["x"]).items():
        out[f"tied/{depth}/{name}"] = keras.ops.convert_to_numpy(v)
    for name, g in weight_gradients(model, inputs["x"], inputs["r"]).items():
        out[f"grad/{depth}/{name}"] = g

saved = keras.saving.load_model(work / "saved.keras")
out["saved"] = keras.ops.convert_to_numpy(saved(inputs["images"], training=False))

dirs = json.loads((work / "dirs.json").read_text())
cfg = TrainConfig(batch_size=8, patience=4, eval_every=2, max_steps=10)
for run in ("train1", "train2"):
    train_instance("synth-1", data_dirs=dirs, out_dir=work / backend / run / "synth-1", cfg=cfg)
    for k, v in read_checkpoint(work / backend / run / "synth-1/checkpoints/final.npz").items():
        out[f"{run}/{k}"] = v
prov = json.loads((work / backend / "train1" / "synth-1" / "provenance.json").read_text())
out["provenance_backend"] = np.array(prov["backend"])

from ckaflow.model.build import build_model  # noqa: E402

classifier = build_model({"builder": "examples/own_study/model.py:build",
                          "input_shape": [16, 16, 3], "num_classes": 3}, 1)  # fmt: skip
rng = np.random.default_rng(0)
x = rng.random((48, 16, 16, 3)).astype("float32")
y = (x[:, :8].mean(axis=(1, 2, 3)) > x[:, 8:].mean(axis=(1, 2, 3))).astype("int32")
data = TrainingData(x[:32], {"a": x[32:]}, y[:32], {"a": y[32:]})
ccfg = TrainConfig(batch_size=8, task="classify", schedule="step", epochs=3, eval_every=4,
                   optimizer="sgd", learning_rate=0.05)  # fmt: skip
result = train(classifier, data, domain="a", instance="a-1", cfg=ccfg,
               save_checkpoint=lambda name, info: None, output="logits")  # fmt: skip
out["classify/train_loss"] = result.history["train_loss"].to_numpy()
np.savez(work / f"{backend}.npz", **out)
