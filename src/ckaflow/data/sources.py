"""Where a domain's images come from: the config's ``domains.<name>.source`` and its keys.

=========  ==========================================================  =====================
source     images                                                      keys
=========  ==========================================================  =====================
synth      text pages rendered with Pillow (the thesis' synth domain)  font_size, fonts
standin    house numbers on photographs installed packages ship        photos
digits     ten classes: a digit 0-9 on those photographs, labelled     photos
cifar10    real CIFAR-10 (cifar-10-python.tar.gz), labelled            path
svhn       real SVHN, format 1 (train.tar.gz or its folder)            path
folder     a folder of images; with task classify, a subfolder each    path
npy        NumPy arrays of images (and labels)                         images, labels
=========  ==========================================================  =====================

Generated sources (synth, standin, digits) draw image i from its own random stream (seed,
source, i); the others choose ``images_per_domain`` of what they hold with a seeded draw, or take
all of it when it is null. :func:`make_images` returns the pixels already at the config's
``image`` size.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .images import Conversions, ImageSpec

log = logging.getLogger(__name__)
_PROGRESS_EVERY = 500


@dataclass(frozen=True)
class Source:
    keys: tuple[str, ...]  # the keys a domain of this source may have, besides ``source``
    required: tuple[str, ...] = ()
    generated: bool = False  # images are made, not read: images_per_domain must be a number
    labelled: bool = False  # can give class labels (task classify)
    stream: int = 1  # the random stream of its images (seeded draws)
    # its files' order means something (a folder sorted by path, an array by class): its training
    # split is stored in a seeded order whose every prefix is a fair sample
    ordered: bool = False


SOURCES = {
    "synth": Source(("font_size", "fonts"), generated=True, stream=2),
    "standin": Source(("photos",), generated=True, stream=1),
    "digits": Source(("photos",), generated=True, labelled=True, stream=3),
    "svhn": Source(("path",), ("path",), stream=1),
    "cifar10": Source(("path",), ("path",), labelled=True, stream=1, ordered=True),
    "folder": Source(("path",), ("path",), labelled=True, ordered=True),
    "npy": Source(("images", "labels"), ("images",), labelled=True, ordered=True),
}


@dataclass
class Raw:
    """A domain's images at the configured size, their labels, and what the provenance adds."""

    pixels: np.ndarray  # (n, height, width, channels) uint8
    labels: np.ndarray | None = None  # (n,) int64
    classes: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict)


def make_images(
    entry: Mapping, images: int | None, seed: int, spec: ImageSpec, classify: bool, where: str
) -> Raw:
    """The images of one domain (``entry``: its config, ``where``: its config key)."""
    source = entry["source"]
    maker = _MAKERS.get(source)
    if maker is None:
        raise ValueError(f"{where}.source is {source!r}; expected one of {sorted(SOURCES)}")
    return maker(entry, images, seed, spec, classify, where)


def _synth(entry, images, seed, spec, classify, where) -> Raw:
    from .synth import render_page, synth_fonts

    size = tuple(entry.get("font_size") or (10, 22))
    fonts = entry.get("fonts")

    def render(rng):
        return render_page(rng, size, fonts, spec.height, spec.width)

    pixels = generate(images, seed, SOURCES["synth"].stream, spec, render)
    extra = {
        "font_size": list(size),
        "fonts": fonts,
        "font_files": [p.name for p in synth_fonts(fonts)],
    }
    return Raw(pixels, extra=extra)


def _standin(entry, images, seed, spec, classify, where) -> Raw:
    from .standin import photo_files, render_house_number

    photos = entry.get("photos")

    def render(rng):
        return render_house_number(rng, photos, spec)

    pixels = generate(images, seed, SOURCES["standin"].stream, spec, render)
    extra = {"photos": photos, "photo_files": [p.name for p in photo_files(photos)]}
    return Raw(pixels, extra=extra)


DIGIT_CLASSES = tuple("0123456789")


def _digits(entry, images, seed, spec, classify, where) -> Raw:
    from .standin import photo_files, render_digit

    photos = entry.get("photos")
    labels = []  # generate draws the images in order: image i's label is labels[i]

    def render(rng):
        image, label = render_digit(rng, photos, spec)
        labels.append(label)
        return image

    pixels = generate(images, seed, SOURCES["digits"].stream, spec, render)
    extra = {"photos": photos, "photo_files": [p.name for p in photo_files(photos)]}
    return Raw(pixels, np.array(labels, dtype=np.int64), DIGIT_CLASSES, extra)


def _svhn(entry, images, seed, spec, classify, where) -> Raw:
    from .svhn import load_svhn

    scan = load_svhn(entry["path"], spec)
    chosen = choose(len(scan.images), images, seed, SOURCES["svhn"].stream, f"{where}.path")
    extra = {
        "svhn_path": str(entry["path"]),
        "svhn_png_files": scan.seen,
        "svhn_usable": len(scan.images),
        "svhn_too_small": scan.too_small,
        "svhn_unreadable": len(scan.unreadable),
    }
    return Raw(scan.images[chosen], extra=extra)


def _cifar10(entry, images, seed, spec, classify, where) -> Raw:
    from .cifar10 import load_cifar10
    from .npy import NpyScan, read_npy

    data = load_cifar10(entry["path"], f"{where}.path")
    chosen = choose(len(data.images), images, seed, SOURCES["cifar10"].stream, f"{where}.path")
    pixels, done = read_npy(NpyScan(data.images, data.labels, data.classes), chosen, spec)
    _log_conversions(where, done)
    extra = {"path": str(entry["path"]), "images": len(data.images), "conversions": done.as_dict()}
    return Raw(pixels, data.labels[chosen], data.classes, extra)


def _folder(entry, images, seed, spec, classify, where) -> Raw:
    from .folder import read_folder, scan_folder

    scan = scan_folder(entry["path"], spec, classify, f"{where}.path")
    chosen = choose(len(scan.files), images, seed, SOURCES["folder"].stream, f"{where}.path")
    pixels, done = read_folder(scan, chosen, spec)
    labels = None if scan.labels is None else scan.labels[chosen]
    extra = {
        "path": str(entry["path"]),
        "files": len(scan.files),
        "unreadable": [str(p) for p in scan.unreadable],
        "conversions": done.as_dict(),
    }
    _log_conversions(where, done)
    return Raw(pixels, labels, scan.classes, extra)


def _npy(entry, images, seed, spec, classify, where) -> Raw:
    from .npy import read_npy, scan_npy

    scan = scan_npy(entry["images"], entry.get("labels"), spec, where)
    chosen = choose(len(scan.images), images, seed, SOURCES["npy"].stream, f"{where}.images")
    pixels, done = read_npy(scan, chosen, spec)
    labels = None if scan.labels is None else scan.labels[chosen]
    extra = {
        "images_file": entry["images"],
        "labels_file": entry.get("labels"),
        "conversions": done.as_dict(),
    }
    _log_conversions(where, done)
    return Raw(pixels, labels, scan.classes, extra)


_MAKERS: dict[str, Callable[..., Raw]] = {
    "synth": _synth,
    "standin": _standin,
    "digits": _digits,
    "svhn": _svhn,
    "cifar10": _cifar10,
    "folder": _folder,
    "npy": _npy,
}


def folder_digest(entry: Mapping) -> str | None:
    """A digest of the files under a domain's folders (an image folder, SVHN unpacked, fonts,
    photographs): their names, sizes and modification times. A folder's own time does not
    change when a file deep inside it does; this does (the workflow passes it as a param)."""
    folders = [Path(v) for k, v in sorted(entry.items()) if k != "source" and isinstance(v, str)
               and Path(v).is_dir()]  # fmt: skip
    if not folders:
        return None
    h = hashlib.sha256()
    for folder in folders:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                st = p.stat()
                h.update(f"{p.relative_to(folder)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def generate(n: int, seed: int, stream: int, spec: ImageSpec, render) -> np.ndarray:
    """``n`` images from ``render(rng)`` ((h, w) or (h, w, c) uint8), image i drawn from its own
    stream (seed, ``stream``, i)."""
    out = np.empty((n, *spec.shape), dtype=np.uint8)
    for i in range(n):
        image = render(np.random.default_rng([seed, stream, i]))
        out[i] = image[..., None] if image.ndim == 2 else image
        if (i + 1) % _PROGRESS_EVERY == 0 or i + 1 == n:
            log.info("%d/%d images", i + 1, n)
    return out


def choose(available: int, images: int | None, seed: int, stream: int, where: str) -> np.ndarray:
    """Sorted indices of ``images`` of ``available`` (a seeded draw), or all when None."""
    if images is None:
        return np.arange(available)
    if available < images:
        raise ValueError(
            f"{where}: {available} usable images, fewer than images_per_domain = {images}; "
            "lower images_per_domain (or set it to null to use all)"
        )
    rng = np.random.default_rng([seed, stream])
    return np.sort(rng.choice(available, size=images, replace=False))


def _log_conversions(where: str, done: Conversions) -> None:
    if done.counts:
        log.info("%s: %s", where, ", ".join(f"{k}: {v}" for k, v in done.as_dict().items()))
