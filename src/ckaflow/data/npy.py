"""A domain from NumPy arrays (``source: npy``): ``images`` a .npy of (n, h, w) or (n, h, w, c)
images, uint8 or floats in [0, 1]; ``labels`` (optional; required to classify) a .npy of n
integer class indices 0..k-1."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .images import Conversions, ImageSpec, check_size, fit_array
from .reading import reading_input


@dataclass(frozen=True)
class NpyScan:
    images: np.ndarray  # memory-mapped, as stored
    labels: np.ndarray | None
    classes: tuple[str, ...]


def scan_npy(images: str, labels: str | None, spec: ImageSpec, where: str) -> NpyScan:
    """Open (memory-mapped) and check the arrays: their shapes, types, value range and that
    ``image.fit`` can bring them to ``spec``'s size. ``where`` is the config key."""
    x = _load(images, f"{where}.images")
    if x.ndim not in (3, 4) or (x.ndim == 4 and x.shape[3] not in (1, 3, 4)) or len(x) == 0:
        raise ValueError(
            f"{where}.images: {images!r} holds an array of shape {x.shape}; expected "
            "(n, height, width) or (n, height, width, 1|3|4) with n >= 1"
        )
    if x.dtype != np.uint8:
        if x.dtype.kind != "f":
            raise ValueError(
                f"{where}.images: {images!r} is {x.dtype}; expected uint8, or floats in [0, 1]"
            )
        lo, hi = float(np.nanmin(x)), float(np.nanmax(x))
        if not (0.0 <= lo and hi <= 1.0) or np.isnan(x).any():
            raise ValueError(
                f"{where}.images: {images!r} holds floats from {lo} to {hi}; expected values in "
                "[0, 1] (or uint8 0-255), no NaN"
            )
    check_size(x.shape[2], x.shape[1], spec, f"{where}.images {images!r}")
    if labels is None:
        return NpyScan(x, None, ())
    y = np.asarray(_load(labels, f"{where}.labels"))
    if y.shape != (len(x),) or y.dtype.kind not in "iu":
        raise ValueError(
            f"{where}.labels: {labels!r} holds {y.dtype} {y.shape}; expected {len(x)} integer "
            "class indices, one per image"
        )
    k = int(y.max()) + 1 if len(y) else 0
    absent = sorted(set(range(k)) - set(np.unique(y).tolist()))
    if y.min() < 0 or absent:
        raise ValueError(
            f"{where}.labels: {labels!r} must hold every class 0..{k - 1} (classes are "
            f"numbered from 0); missing {absent[:10]}, smallest {int(y.min())}"
        )
    if k < 2:
        raise ValueError(
            f"{where}.labels: {labels!r} holds one class (0) only: classifying needs two or "
            "more; for images without classes leave labels out and use task reconstruct or denoise"
        )
    return NpyScan(x, y.astype(np.int64), tuple(str(c) for c in range(k)))


def read_npy(scan: NpyScan, chosen: np.ndarray, spec: ImageSpec) -> tuple[np.ndarray, Conversions]:
    """The images ``chosen`` per ``spec``: (k, height, width, channels) uint8."""
    done = Conversions()
    out = np.empty((len(chosen), *spec.shape), dtype=np.uint8)
    for i, j in enumerate(chosen):
        a = scan.images[j]
        if a.dtype != np.uint8:
            done.add("floats in [0, 1] to uint8")
            a = np.rint(np.asarray(a, dtype=np.float64) * 255.0).astype(np.uint8)
        out[i] = fit_array(np.asarray(a), spec, f"image {j}", done)
    return out, done


def _load(path: str, where: str) -> np.ndarray:
    if not Path(path).is_file():
        raise ValueError(f"{where}: {path!r} is not a file")
    with reading_input(path, where, ".npy array", "save it again with numpy.save"):
        return np.load(path, mmap_mode="r", allow_pickle=False)
