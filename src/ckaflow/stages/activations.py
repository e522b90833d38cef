"""Activations of every named layer of a model on a test set, stored for one-layer-at-a-time reads.

Layout: ``{root}/{model}/{test_set}/{layer}.npy``, float32, channels-first ``(n, c, h, w)`` for
a layer with spatial outputs, so that the similarity engine reads each filter's rows
contiguously from a memory map (``channel_axis=1``), and ``(n, c)`` for a dense one; beside them
``layers.json`` lists the layers in network order. A *model* is an instance name (``synth-2``,
its final weights) or an instance at a checkpoint (``synth-2@init``).
"""

from __future__ import annotations

import errno
import json
import logging
import math
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ..io import atomic_path, reading, save_json

log = logging.getLogger(__name__)


def extract(
    checkpoint: str | Path,
    tests: Mapping[str, np.ndarray],
    out_dir: str | Path,
    layers: Mapping[str, Sequence[int]],
    *,
    batch_size: int = 50,
) -> None:
    """Write the activations of the recorded ``layers`` (name -> output shape per image,
    channels last, in network order) of the model at ``checkpoint`` on each test set.

    ``tests`` maps a test-set name to its images (n, h, w, c). Each layer file is filled batch
    by batch (appended in order, so the job holds one batch of activations whatever n is)
    under a temporary name, then renamed into place.
    """
    from ..model.build import load_model
    from ..model.layers import recorder

    record = recorder(load_model(checkpoint), list(layers))
    stored = {name: _channels_first(tuple(shape)) for name, shape in layers.items()}
    for test_set, x in tests.items():
        folder = Path(out_dir) / test_set
        folder.mkdir(parents=True, exist_ok=True)
        with _LayerFiles(folder, len(x), stored) as files:
            for b0 in range(0, len(x), batch_size):
                for layer, out in record(x[b0 : b0 + batch_size]).items():
                    # (b, ..., c) -> (b, c, ...): channels-first for the engine
                    files[layer].write(np.moveaxis(out, -1, 1))
        save_json(folder / MANIFEST, {"layers": list(layers)})
        log.info("%s: %d layers on %s (%d images)", checkpoint, len(layers), test_set, len(x))


MANIFEST = "layers.json"


def save_activations(folder: str | Path, layers: Mapping[str, np.ndarray]) -> None:
    """One test set's activations as :func:`extract` writes them: each layer's array
    (channels-first, float32) and ``layers.json`` listing them in order. For activations made
    without a model (tests, benchmarks)."""
    folder = Path(folder)
    for layer, a in layers.items():
        with atomic_path(folder / f"{layer}.npy") as tmp:
            np.save(tmp, np.asarray(a, dtype=np.float32))
    save_json(folder / MANIFEST, {"layers": list(layers)})


def _channels_first(shape: tuple[int, ...]) -> tuple[int, ...]:
    """A layer's per-image output shape, channels last, as stored: channels first."""
    return shape if len(shape) == 1 else (shape[-1], *shape[:-1])


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


def _reserve(f, size: int) -> None:
    """Allocate the blocks of the open file ``f`` up to ``size`` bytes now: a full disk is then
    an error here, not in the middle of the long work."""
    try:
        os.posix_fallocate(f.fileno(), 0, size)
    except OSError as err:
        if err.errno == errno.ENOSPC:
            raise DiskFullError(
                errno.ENOSPC, f"disk full while reserving {size / 1e6:.0f} MB for {f.name}"
            ) from err
        if err.errno not in (errno.EOPNOTSUPP, errno.EINVAL):  # no fallocate on this FS
            raise


class _LayerFiles:
    """One ``.npy`` per layer under a temporary name, written by appending minibatches of rows
    (``files[layer].write(rows)``), so a job holds one minibatch of activations whatever n is;
    renamed into place on success. Each file's blocks are reserved first (a full disk is an
    error before the long work, not halfway through it)."""

    def __init__(self, folder: Path, n: int, shapes: Mapping[str, tuple[int, ...]]):
        self.folder, self.n, self.shapes = folder, n, shapes
        self.files: dict[str, _Rows] = {}

    def __enter__(self) -> dict[str, _Rows]:
        self._stack = []
        sizes = {layer: 4 * self.n * math.prod(shape) for layer, shape in self.shapes.items()}
        check_free_space(self.folder, sum(sizes.values()), "the activations of one test set")
        for layer, shape in self.shapes.items():
            path = self.folder / f"{layer}.npy"
            cm = atomic_path(path)
            self._stack.append(cm)
            self.files[layer] = _Rows(cm.__enter__(), (self.n, *shape), path)
        return self.files

    def __exit__(self, kind, value, tb) -> bool:
        for rows in self.files.values():
            rows.close(complete=kind is None)
        self.files.clear()
        for cm in self._stack:
            cm.__exit__(kind, value, tb)
        return False


class _Rows:
    """A float32 ``.npy`` of ``shape`` filled in order, a run of rows at a time (written to
    ``tmp``, named ``path`` in messages)."""

    def __init__(self, tmp: Path, shape: tuple[int, ...], path: Path):
        self.path, self.shape, self.done = path, shape, 0
        header = {"descr": "<f4", "fortran_order": False, "shape": shape}
        self._f = open(tmp, "wb")
        np.lib.format.write_array_header_1_0(self._f, header)
        _reserve(self._f, self._f.tell() + 4 * math.prod(shape))

    def write(self, rows: np.ndarray) -> None:
        if rows.shape[1:] != self.shape[1:] or self.done + len(rows) > self.shape[0]:
            raise ValueError(
                f"{self.path}: rows {rows.shape} do not continue {self.shape} at {self.done}"
            )
        self._f.write(np.ascontiguousarray(rows, dtype="<f4").data)
        self.done += len(rows)

    def close(self, complete: bool) -> None:
        self._f.close()
        if complete and self.done != self.shape[0]:
            raise ValueError(f"{self.path}: {self.done} of {self.shape[0]} rows written")


def activation_problem(folder: str | Path, models: list[str], test_sets: list[str]) -> str | None:
    """What is missing or cut short in an instance's activation folder (``folder``: one
    ``extract_activations`` output, holding ``models`` on ``test_sets``), or None when it is
    whole: each list, and each file it lists at the size its header gives."""
    for model in models:
        for test_set in test_sets:
            sub = Path(folder) / model / test_set
            try:
                names = json.loads((sub / MANIFEST).read_text())["layers"]
            except (OSError, ValueError, KeyError, TypeError) as err:
                return f"{sub / MANIFEST} cannot be read ({type(err).__name__})"
            for layer in names:
                path = sub / f"{layer}.npy"
                try:
                    a = np.load(path, mmap_mode="r")
                except (OSError, ValueError) as err:
                    return f"{path} cannot be read ({type(err).__name__}: {err})"
                if path.stat().st_size < a.offset + a.nbytes:
                    return f"{path} is cut short"
    return None


def incomplete_folders(
    root: str | Path, models: Mapping[str, list[str]], test_sets: list[str]
) -> dict[Path, str]:
    """{folder: what is wrong} of each instance's activation folder under ``root`` that exists
    but is not whole (``models``: {instance: its models})."""
    found = {}
    for instance, names in models.items():
        folder = Path(root) / instance
        if folder.is_dir() and (problem := activation_problem(folder, names, test_sets)):
            found[folder] = problem
    return found


def remove_incomplete(root: str | Path, models: Mapping[str, list[str]], test_sets: list[str]):
    """Remove each instance's activation folder under ``root`` that exists but is not whole
    (:func:`incomplete_folders`), logging what was wrong: Snakemake sees a directory output
    only as present or absent, so an incomplete one would otherwise be read (and refused) or
    never made again. Returns the folders removed."""
    found = incomplete_folders(root, models, test_sets)
    for folder, problem in found.items():
        log.warning("%s is incomplete (%s): removed, made again when needed", folder, problem)
        shutil.rmtree(folder)
    return list(found)


def load_layers(root: str | Path, model: str, test_set: str) -> dict[str, np.ndarray]:
    """Memory maps of a model's recorded layers on a test set, in network order,
    channels-first (the layers its ``layers.json`` lists)."""
    folder = Path(root) / model / test_set
    manifest = folder / MANIFEST
    with reading(manifest, "activation list"):
        names = json.loads(manifest.read_text())["layers"]
    out = {}
    for layer in names:
        path = folder / f"{layer}.npy"
        if not path.exists():
            raise FileNotFoundError(f"activations of {model} on {test_set}: {path} is missing")
        with reading(path, "activation file"):
            out[layer] = np.load(path, mmap_mode="r")
    return out
