"""Activations of every named layer of a model on a test set, stored for one-layer-at-a-time reads.

Layout: ``{root}/{model}/{test_set}/{layer}.npy``, float32, channels-first ``(n, c, h, w)``, so
that the similarity engine reads each filter's rows contiguously from a memory map
(``channel_axis=1``). A *model* is an instance name (``synth-2``, its final weights) or an
instance at a checkpoint (``synth-2@init``).
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..io import atomic_path, reading
from ..model.tied_layers import layer_shapes
from ..names import depth_of

log = logging.getLogger(__name__)


def extract(
    checkpoint: str | Path,
    tests: Mapping[str, np.ndarray],
    out_dir: str | Path,
    *,
    batch_size: int = 50,
) -> None:
    """Write the activations of every layer of the model at ``checkpoint`` on each test set.

    ``tests`` maps a test-set name to its images (n, 64, 80, 1). Each layer file is filled batch
    by batch through a memory map under a temporary name, then renamed into place.
    """
    from .evaluate import load_model

    model = load_model(checkpoint)
    for test_set, x in tests.items():
        folder = Path(out_dir) / test_set
        folder.mkdir(parents=True, exist_ok=True)
        with _LayerFiles(folder, len(x), model.shapes) as files:
            for b0 in range(0, len(x), batch_size):
                outs = model.layer_outputs(x[b0 : b0 + batch_size])
                for layer, out in outs.items():
                    # (b, h, w, c) -> (b, c, h, w): channels-first for the engine
                    files[layer][b0 : b0 + len(out)] = np.moveaxis(np.asarray(out), -1, 1)
        log.info("%s: %d layers on %s (%d images)", checkpoint, len(model.shapes), test_set, len(x))


class DiskFullError(OSError):
    """Not enough free space for a large output; says how much is needed and where."""


# Room left over beyond what a large write needs (logs, other jobs' small files).
_SPARE_BYTES = 64 << 20


def check_free_space(folder: Path, needed: int, what: str) -> None:
    """Refuse to start writing ``needed`` bytes (``what``) under ``folder`` without the room."""
    free = shutil.disk_usage(folder).free
    if free < needed + _SPARE_BYTES:
        raise DiskFullError(
            errno.ENOSPC,
            f"disk full: {what} need {needed / 1e6:.0f} MB under {folder}, "
            f"{free / 1e6:.0f} MB are free; free space or move results/ to a larger disk "
            "(similarity.keep_activations: false deletes them once the Grams are made)",
        )


def _reserve(path: Path, size: int) -> None:
    """Allocate a memory-mapped file's blocks now: a full disk is then an error here, not a
    SIGBUS in the middle of a write through the map."""
    with open(path, "r+b") as f:
        try:
            os.posix_fallocate(f.fileno(), 0, size)
        except OSError as err:
            if err.errno == errno.ENOSPC:
                raise DiskFullError(
                    errno.ENOSPC, f"disk full while reserving {size / 1e6:.0f} MB for {path}"
                ) from err
            if err.errno not in (errno.EOPNOTSUPP, errno.EINVAL):  # no fallocate on this FS
                raise


class _LayerFiles:
    """One writable .npy memory map per layer under a temporary name; renamed on success."""

    def __init__(self, folder: Path, n: int, shapes: Mapping[str, tuple[int, int, int]]):
        self.folder, self.n, self.shapes = folder, n, shapes
        self._paths = {}
        self.maps = {}

    def __enter__(self) -> dict[str, np.memmap]:
        self._stack = []
        sizes = {layer: 4 * self.n * h * w * c for layer, (h, w, c) in self.shapes.items()}
        check_free_space(self.folder, sum(sizes.values()), "the activations of one test set")
        for layer, (h, w, c) in self.shapes.items():
            cm = atomic_path(self.folder / f"{layer}.npy")
            tmp = cm.__enter__()
            self._stack.append(cm)
            self.maps[layer] = np.lib.format.open_memmap(
                tmp, mode="w+", dtype=np.float32, shape=(self.n, c, h, w)
            )
            _reserve(tmp, self.maps[layer].offset + sizes[layer])
        return self.maps

    def __exit__(self, kind, value, tb) -> bool:
        for m in self.maps.values():
            m.flush()
        self.maps.clear()
        for cm in self._stack:
            cm.__exit__(kind, value, tb)
        return False


def load_layers(root: str | Path, model: str, test_set: str) -> dict[str, np.ndarray]:
    """Memory maps of a model's layers on a test set, in network order, channels-first (the
    layers of its depth)."""
    folder = Path(root) / model / test_set
    out = {}
    for layer in layer_shapes(depth_of(model)):
        path = folder / f"{layer}.npy"
        if not path.exists():
            raise FileNotFoundError(f"activations of {model} on {test_set}: {path} is missing")
        with reading(path, "activation file"):
            out[layer] = np.load(path, mmap_mode="r")
    return out
