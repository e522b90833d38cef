"""A domain from a folder of images (``source: folder``): all the images under it, or with
``task: classify`` one subfolder per class (the subfolder's name is the class).

:func:`scan_folder` finds the files and classes and reads only their headers (fast, for the
start-up check); :func:`read_folder` decodes the chosen files as the dataset job does.
"""

from __future__ import annotations

import logging
import os
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
    _check_links(root, where)
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
        except Image.DecompressionBombError as err:
            raise ValueError(
                f"{where}: {f} is too large to decode safely ({err}); shrink or remove it"
            ) from err
        except BAD_IMAGE:
            unreadable.append(f)
            continue
        if not is_complete(f):
            unreadable.append(f)  # cut short: its header reads, its pixels would not
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


# How each format's file ends: a file cut short (a copy interrupted) lacks it.
_ENDINGS = {".jpg": (b"\xff\xd9",), ".jpeg": (b"\xff\xd9",), ".png": (b"IEND\xaeB`\x82",)}


def is_complete(path: Path) -> bool:
    """Whether a JPEG or PNG file ends as its format does (other formats: True), read from its
    last bytes only: a file cut short passes the header check and would stop a job later."""
    endings = _ENDINGS.get(path.suffix.lower())
    if not endings:
        return True
    with open(path, "rb") as f:
        f.seek(max(path.stat().st_size - 64, 0))
        tail = f.read().rstrip(b"\x00")  # some writers pad with zeros after the end marker
    return tail.endswith(endings)


def _check_links(root: Path, where: str) -> None:
    """Refuse a linked folder under ``root`` that leads back into it (or above it): its images
    would be read twice, under two labels when it is a class folder, in train and in test."""
    top = root.resolve()
    for folder, dirs, _ in os.walk(root):  # links are listed, not followed
        for name in dirs:
            link = Path(folder) / name
            if not link.is_symlink():
                continue
            target = link.resolve()
            if target.is_relative_to(top) or top.is_relative_to(target):
                raise ValueError(
                    f"{where}: {str(link)!r} is a link to {str(target)!r}, inside the domain's "
                    "folder (or above it): its images would be read twice, the same image under "
                    "two names or classes; remove the link, or copy the images it should add"
                )


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
    if len(classes) < 2:
        raise ValueError(
            f"{where}: task is classify but {str(root)!r} has "
            + (f"one class subfolder ({classes[0]!r})" if classes else "no class subfolders")
            + ": classifying needs two or more (one folder of images per class, named after "
            "the class); for images without classes use task reconstruct or denoise"
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
