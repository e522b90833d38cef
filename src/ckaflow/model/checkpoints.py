"""Checkpoints: the variables of a model by name (.npz) and their provenance (.json).

The provenance records the weights' SHA-256, which :func:`read_checkpoint` verifies, and enough
(config, seed, dataset ids, step, losses, code and package versions) to rebuild the model from the
checkpoint alone.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..io import (
    atomic_path,
    check_sha256,
    code_version,
    package_versions,
    reading,
    save_json,
    sha256_named,
)


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
    with reading(meta, "checkpoint record"):
        recorded = json.loads(meta.read_text()).get("weights_sha256")
    with reading(path, "checkpoint"), np.load(path, allow_pickle=False) as z:
        weights = {k: z[k] for k in z.files}
    check_sha256(path, "checkpoint", sha256_named(weights), recorded, meta)
    return weights


def provenance(**fields) -> dict:
    """Provenance common to every model output: the given fields, code and package versions."""
    return {**fields, "code": code_version(), "packages": package_versions()}
