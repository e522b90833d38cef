"""Checkpoints: the variables of a model by name (.npz) and their provenance (.json).

The provenance records the weights' SHA-256, which :func:`read_checkpoint` verifies, and enough
(config, seed, dataset ids, step, losses, code and package versions) to rebuild the model from the
checkpoint alone.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..io import (
    REBUILD,
    CorruptFileError,
    atomic_path,
    check_sha256,
    code_version,
    package_versions,
    read_json,
    reading,
    save_json,
    sha256_named,
)
from ..machine import machine


def write_checkpoint(path: str | Path, weights: dict[str, np.ndarray], provenance: dict) -> None:
    """``path`` (.npz of the variables by name) and its ``.json`` provenance, both atomic; the
    provenance records the weights' SHA-256, which :func:`read_checkpoint` verifies."""
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **weights)
    save_json(path.with_suffix(".json"), {**provenance, "weights_sha256": sha256_named(weights)})


def read_checkpoint(path: str | Path) -> dict[str, np.ndarray]:
    """The variables of a checkpoint, checked against the SHA-256 its ``.json`` records."""
    path = Path(path)
    meta = path.with_suffix(".json")
    record = read_json(meta, "checkpoint record")
    recorded = record.get("weights_sha256")
    folder = path.parent.parent.name if path.parent.name == "checkpoints" else None
    if folder and record.get("instance") not in (None, folder):
        raise CorruptFileError(
            f"{meta}: the record names instance {record['instance']!r}, but it lies in "
            f"{folder!r}'s folder (a checkpoint copied from another instance?); {REBUILD}"
        )
    with reading(path, "checkpoint"), np.load(path, allow_pickle=False) as z:
        weights = {k: z[k] for k in z.files}
    check_sha256(path, "checkpoint", sha256_named(weights), recorded, meta)
    return weights


def provenance(**fields) -> dict:
    """Provenance common to every model output: the given fields, code and package versions,
    and the machine that made the record (for trained weights the one that trained them, whose
    CPU decides their last bits: :mod:`ckaflow.machine`; for imported ones the importer's)."""
    return {**fields, "code": code_version(), "packages": package_versions(), "machine": machine()}


def weights_of(model) -> dict[str, np.ndarray]:
    """Every variable of ``model`` by a stable, unique name: a built-in model's own names
    (``conv1_kernel``), else the Keras path (``conv2d/kernel``), trainable or not (batch
    norm's moving statistics too)."""
    if hasattr(model, "get_weights_dict"):
        return model.get_weights_dict()
    out = {v.path: np.asarray(v.numpy()) for v in model.weights}
    if len(out) != len(model.weights):
        raise ValueError(f"{model.name}: two variables share a path; name the layers uniquely")
    return out


def assign_weights(model, weights: dict[str, np.ndarray]) -> None:
    """Load ``weights`` (by the names of :func:`weights_of`) into ``model``; every name must
    match and every shape agree."""
    if hasattr(model, "set_weights_dict"):
        model.set_weights_dict(weights)
        return
    mine = {v.path: v for v in model.weights}
    if set(mine) != set(weights):
        raise ValueError(
            f"checkpoint variables {sorted(weights)} do not match the model's {sorted(mine)}: "
            "was the model's code changed since it was saved?"
        )
    for name, v in mine.items():
        if tuple(v.shape) != weights[name].shape:
            raise ValueError(f"{name}: checkpoint shape {weights[name].shape} != {tuple(v.shape)}")
        v.assign(weights[name])
