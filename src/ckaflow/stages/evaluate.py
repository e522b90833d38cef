"""Test-set reconstruction loss of trained instances (no noise): the study's "accuracy"."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ..data import load_split
from ..model.tied_layers import conv_layers
from ..names import parse

log = logging.getLogger(__name__)


def load_model(checkpoint: str | Path):
    """A :class:`~ckaflow.model.TiedAutoencoder` holding the weights of ``checkpoint`` (.npz)."""
    import json

    from ..model.checkpoints import read_checkpoint
    from ..model.tied_autoencoder import TiedAutoencoder

    checkpoint = Path(checkpoint)
    prov = json.loads(checkpoint.with_suffix(".json").read_text())
    model = TiedAutoencoder(seed=prov["model"]["seed"], depth=prov["model"].get("depth", 1))
    model.set_weights_dict(read_checkpoint(checkpoint))
    return model


def test_losses(
    checkpoints: Mapping[str, str | Path], test_dirs: Mapping[str, str]
) -> pd.DataFrame:
    """Per-image loss of every instance on every test set.

    Columns: instance, family, seed, test_set, image, loss (mean squared error of the clean image).
    """
    from ..model.tied_autoencoder import per_image_loss

    tests = {d: load_split(path, "test") for d, path in test_dirs.items()}
    frames = []
    for instance, path in checkpoints.items():
        inst = parse(instance)
        model = load_model(path)
        for test_set, x in tests.items():
            loss = per_image_loss(model, x)
            frames.append(
                pd.DataFrame(
                    {
                        "instance": instance,
                        "family": inst.family,
                        "seed": inst.seed,
                        "test_set": test_set,
                        "image": np.arange(len(x)),
                        "loss": loss,
                    }
                )
            )
        log.info(
            "%s: %s",
            instance,
            {d: float(f["loss"].mean()) for d, f in zip(tests, frames[-2:], strict=True)},
        )
    return pd.concat(frames, ignore_index=True)


def constant_losses(test_dirs: Mapping[str, str]) -> dict[str, float]:
    """Per test set, the mean loss of the best constant predictor a training run could learn: the
    mean image of its domain's training split. A model no better than this has learnt nothing."""
    out = {}
    for test_set, path in test_dirs.items():
        mean = load_split(path, "train").mean(axis=0, dtype=np.float64)  # (64, 80, 1)
        out[test_set] = float(np.mean((load_split(path, "test") - mean) ** 2))
    return out


def accuracy(losses: pd.DataFrame, constant: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Mean loss and accuracy (1 - mean loss) per instance and test set; with ``constant``
    (:func:`constant_losses`), also the constant predictor's loss on that test set."""
    out = (
        losses.groupby(["instance", "family", "seed", "test_set"], sort=False)["loss"]
        .mean()
        .rename("mean_loss")
        .reset_index()
    )
    out["accuracy"] = 1.0 - out["mean_loss"]
    if constant is not None:
        out["constant_loss"] = out["test_set"].map(constant)
    return out


def reconstruction_columns(
    x: np.ndarray, checkpoints: Mapping[str, tuple[str, str | Path]]
) -> dict[str, np.ndarray]:
    """Columns of a reconstruction grid: the input, then each checkpoint's output on it.

    ``checkpoints`` maps a role (``in_domain``, ``cross_domain``, ``finetuned``) to (instance,
    its checkpoint); column labels name the role and the instance. Returns label -> (k, 64, 80).
    """
    roles = {
        "in_domain": "in-domain = scratch",
        "cross_domain": "cross-domain",
        "finetuned": "fine-tuned",
    }
    columns = {"input": x[..., 0]}
    for role, (instance, path) in checkpoints.items():
        y = np.asarray(load_model(path)(x, training=False))[..., 0]
        columns[f"{roles.get(role, role)}\n{instance}"] = y
    return columns


def kernels(depth: int = 1) -> dict[str, str]:
    """The kernel variable of each layer that has one of its own, by the layer whose output it
    makes: conv1's kernel is also deconv1's (tied), conv2's deconv2's, ... Biases start at zero,
    so a change relative to their initial norm is undefined; they are left out."""
    return {**{c: f"{c}_kernel" for c in conv_layers(depth)}, "output": "output_kernel"}


KERNELS = kernels(1)


def weight_change(checkpoints: Mapping[str, tuple[str | Path, str | Path]]) -> pd.DataFrame:
    """How far training moved each layer's kernel from where the instance started.

    ``checkpoints`` maps an instance to its (init, final) checkpoints (.npz); a fine-tuned
    instance's init is its base's final weights. Columns: instance, family, seed, layer,
    init_norm (‖W_init‖), change_norm (‖W_final − W_init‖) and relative_change (their ratio),
    Frobenius norms in float64.
    """
    from ..model.checkpoints import read_checkpoint

    rows = []
    for instance, (init_path, final_path) in checkpoints.items():
        inst = parse(instance)
        init, final = read_checkpoint(init_path), read_checkpoint(final_path)
        for layer, var in kernels(inst.depth).items():
            w0, w1 = (np.asarray(w[var], np.float64) for w in (init, final))
            norm, change = float(np.linalg.norm(w0)), float(np.linalg.norm(w1 - w0))
            rows.append((instance, inst.family, inst.seed, layer, norm, change, change / norm))
    columns = ["instance", "family", "seed", "layer", "init_norm", "change_norm"]
    return pd.DataFrame(rows, columns=[*columns, "relative_change"])
