"""A domain from a folder of images (``source: folder``): all the images under it, or with
``task: classify`` one subfolder per class (the subfolder's name is the class).

:func:`scan_folder` finds the files and classes and reads only their headers (fast, for the
start-up check); :func:`read_folder` decodes the chosen files as the dataset job does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from .images import (
    BAD_IMAGE,
    IMAGE_SUFFIXES,
    Conversions,
    ImageSpec,
    check_size,
    image_files,
    read_image,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FolderScan:
    """What a folder holds: its readable image files, each one's class index (classify), the
    class names, and the files that could not be read."""

    files: tuple[Path, ...]
    labels: np.ndarray | None  # (len(files),) int64, or None without classes
    classes: tuple[str, ...]
    unreadable: tuple[Path, ...]


def scan_folder(path: str | Path, spec: ImageSpec, classify: bool, where: str) -> FolderScan:
    """The images of folder ``path`` (classes: its subfolders when ``classify``), each header
    checked against ``spec`` (``image.fit``). ``where`` (the config key) names it in errors:
    a missing folder, no images, an empty class, files beside the class folders, an image
    ``fit`` cannot bring to size."""
    root = Path(path)
    if not root.is_dir():
        raise ValueError(f"{where}: {str(path)!r} is not a folder")
    if classify:
        files, labels, classes = _class_files(root, where)
    else:
        files, labels, classes = image_files(root), None, ()
    if not files:
        raise ValueError(
            f"{where}: no image files in {str(path)!r} (looked for {', '.join(IMAGE_SUFFIXES)})"
        )
    keep, unreadable = [], []
    for f in files:
        try:
            with Image.open(f) as im:
                size = im.size
        except BAD_IMAGE:
            unreadable.append(f)
            continue
        check_size(*size, spec, f"{where}: {f}")
        keep.append(f)
    if unreadable:
        log.warning(
            "%s: %d of %d image files cannot be read and are left out: %s",
            where,
            len(unreadable),
            len(files),
            ", ".join(p.name for p in unreadable[:20]),
        )
    if not keep:
        raise ValueError(f"{where}: none of the {len(files)} image files in {path!r} can be read")
    if labels is not None:
        label_of = dict(zip(files, labels, strict=True))
        labels = np.array([label_of[f] for f in keep], dtype=np.int64)
        empty = [classes[c] for c in range(len(classes)) if not np.any(labels == c)]
        if empty:
            raise ValueError(f"{where}: class folders with no readable image: {empty}")
    return FolderScan(tuple(keep), labels, classes, tuple(unreadable))


def _class_files(root: Path, where: str) -> tuple[list[Path], list[int], tuple[str, ...]]:
    stray = [p.name for p in root.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
    if stray:
        raise ValueError(
            f"{where}: task is classify, so {str(root)!r} must hold one subfolder per class, "
            f"but it has images of its own: {stray[:5]}"
        )
    classes = tuple(
        sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    )
    if not classes:
        raise ValueError(
            f"{where}: task is classify but {str(root)!r} has no class subfolders (one folder of "
            "images per class, named after the class)"
        )
    files, labels = [], []
    for c, name in enumerate(classes):
        found = image_files(root / name)
        if not found:
            raise ValueError(f"{where}: class folder {str(root / name)!r} holds no image files")
        files += found
        labels += [c] * len(found)
    return files, labels, classes


def read_folder(
    scan: FolderScan, chosen: np.ndarray, spec: ImageSpec
) -> tuple[np.ndarray, Conversions]:
    """The images ``chosen`` (indices into ``scan.files``) decoded per ``spec``:
    (k, height, width, channels) uint8, and the conversions made."""
    done = Conversions()
    out = np.empty((len(chosen), *spec.shape), dtype=np.uint8)
    for i, j in enumerate(chosen):
        out[i] = read_image(scan.files[j], spec, done)
    return out, done
