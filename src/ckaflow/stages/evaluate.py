"""How well each trained instance does on every test set, and how far training moved it.

The loss is the task's (:mod:`ckaflow.training.tasks`): the squared error of the clean image
(denoise, reconstruct) or the cross-entropy (classify); "accuracy" is 1 - mean loss for the
first two and the share classified right for the last, and every table says which
(``metric``). Each test set also gets the loss of the best constant predictor a run could learn
from its domain's training split (the mean image; the class frequencies): a model no better
has learnt nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ..data import load_labels, load_split
from ..names import parse
from ..training.tasks import ACCURACY, per_image_loss, scores

log = logging.getLogger(__name__)


def test_losses(
    checkpoints: Mapping[str, str | Path],
    test_dirs: Mapping[str, str],
    *,
    task: str = "denoise",
    output: str = "image",
) -> pd.DataFrame:
    """Per-image loss of every instance on every test set. Columns: instance, family, seed,
    test_set, image, loss, and for classify ``correct``."""
    from ..model.build import load_model

    classify = task == "classify"
    tests = {d: load_split(path, "test") for d, path in test_dirs.items()}
    labels = {d: load_labels(path, "test") for d, path in test_dirs.items()} if classify else {}
    frames = []
    for instance, path in checkpoints.items():
        inst, model = parse(instance), load_model(path)
        for test_set, x in tests.items():
            s = scores(model, x, labels.get(test_set), task=task, output=output)
            frame = {
                "instance": instance,
                "family": inst.family,
                "seed": inst.seed,
                "test_set": test_set,
                "image": np.arange(len(x)),
                "loss": s["loss"],
            }
            if classify:
                frame["correct"] = s["correct"]
            frames.append(pd.DataFrame(frame))
        mean = {
            d: float(f["loss"].mean()) for d, f in zip(tests, frames[-len(tests) :], strict=True)
        }
        log.info("%s: %s", instance, mean)
    return pd.concat(frames, ignore_index=True)


def constant_losses(test_dirs: Mapping[str, str], task: str = "denoise") -> dict[str, dict]:
    """Per test set, the best constant predictor learnt from its domain's training split: its
    mean ``loss`` on the test set and its ``accuracy`` (the mean training image, scored
    1 - loss; for classify the training class frequencies, scored by the majority class)."""
    out = {}
    for test_set, path in test_dirs.items():
        if task == "classify":
            train, test = load_labels(path, "train"), load_labels(path, "test")
            k = int(max(train.max(), test.max())) + 1
            p = np.bincount(train, minlength=k) / len(train)
            loss = float(np.mean(-np.log(np.maximum(p[test], 1e-12))))
            out[test_set] = {"loss": loss, "accuracy": float(np.mean(test == np.argmax(p)))}
        else:
            mean = load_split(path, "train").mean(axis=0, dtype=np.float64)  # (h, w, c)
            loss = float(np.mean((load_split(path, "test") - mean) ** 2))
            out[test_set] = {"loss": loss, "accuracy": 1.0 - loss}
    return out


def accuracy(
    losses: pd.DataFrame, constant: Mapping[str, dict] | None = None, task: str = "denoise"
) -> pd.DataFrame:
    """Mean loss and accuracy per instance and test set, and ``metric`` (what accuracy is);
    with ``constant`` (:func:`constant_losses`), the constant predictor's loss on that test set
    (and, classifying, its accuracy: ``chance``)."""
    keys = ["instance", "family", "seed", "test_set"]
    g = losses.groupby(keys, sort=False)
    out = g["loss"].mean().rename("mean_loss").reset_index()
    if task == "classify":
        out["accuracy"] = g["correct"].mean().to_numpy(dtype=np.float64)
    else:
        out["accuracy"] = 1.0 - out["mean_loss"]
    if constant is not None:
        out["constant_loss"] = out["test_set"].map({k: v["loss"] for k, v in constant.items()})
        if task == "classify":
            out["chance"] = out["test_set"].map({k: v["accuracy"] for k, v in constant.items()})
    out["metric"] = ACCURACY[task]
    return out


def reconstruction_columns(
    x: np.ndarray, checkpoints: Mapping[str, tuple[str, str | Path]]
) -> dict[str, np.ndarray]:
    """Columns of a reconstruction grid: the input, then each checkpoint's output on it.

    ``checkpoints`` maps a role (``in_domain``, ``cross_domain``, ``finetuned``) to (instance,
    its checkpoint); column labels name the role and the instance. Returns label -> (k, h, w)
    images (greyscale) or (k, h, w, 3) (RGB).
    """
    from ..model.build import load_model
    from ..training.step import predictor

    roles = {
        "in_domain": "in-domain = scratch",
        "cross_domain": "cross-domain",
        "finetuned": "fine-tuned",
    }

    def images(a):
        return a[..., 0] if a.shape[-1] == 1 else a

    columns = {"input": images(x)}
    for role, (instance, path) in checkpoints.items():
        y = predictor(load_model(path))(x)
        columns[f"{roles.get(role, role)}\n{instance}"] = images(y)
    return columns


def weight_change(
    checkpoints: Mapping[str, tuple[str | Path, str | Path]],
    kernels: Mapping[int, Mapping[str, str]],
) -> pd.DataFrame:
    """How far training moved each layer's kernel from where the instance started.

    ``checkpoints`` maps an instance to its (init, final) checkpoints (.npz); a fine-tuned
    instance's init is its base's final weights. ``kernels`` maps a model depth to {layer: its
    kernel's checkpoint key} (the model spec's recorded layers that own a kernel; biases start
    at zero, so a change relative to their initial norm is undefined). Columns: instance,
    family, seed, layer, init_norm (‖W_init‖), change_norm (‖W_final − W_init‖) and
    relative_change (their ratio), Frobenius norms in float64.
    """
    from ..model.checkpoints import read_checkpoint

    rows = []
    for instance, (init_path, final_path) in checkpoints.items():
        inst = parse(instance)
        init, final = read_checkpoint(init_path), read_checkpoint(final_path)
        for layer, var in kernels[inst.depth].items():
            w0, w1 = (np.asarray(w[var], np.float64) for w in (init, final))
            norm, change = float(np.linalg.norm(w0)), float(np.linalg.norm(w1 - w0))
            rows.append((instance, inst.family, inst.seed, layer, norm, change, change / norm))
    columns = ["instance", "family", "seed", "layer", "init_norm", "change_norm"]
    return pd.DataFrame(rows, columns=[*columns, "relative_change"])


__all__ = [
    "accuracy",
    "constant_losses",
    "per_image_loss",
    "reconstruction_columns",
    "test_losses",
    "weight_change",
]
