"""Checks of the datasets' inputs that run when the workflow loads, before any job.

Each failure is a ``ValueError`` that names the config key, the path and what is allowed. They read
the inputs as the dataset jobs do (a user's fonts selected as the job selects them, photographs
decoded in full), except that SVHN is counted from its PNG headers; the jobs skip and count
what they cannot read.
"""

from __future__ import annotations

import io
import string
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from .cifar10 import check_cifar10
from .folder import scan_folder
from .fonts import covers, font_files, shipped_font_dirs, usable_fonts
from .images import THESIS_IMAGE, ImageSpec
from .npy import scan_npy
from .sources import DIGIT_CLASSES
from .standin import MIN_PHOTO_SIZE, PHOTO_SUFFIXES, photo_files, read_photo
from .svhn import iter_pngs
from .synth import synth_charset

_BAD_IMAGE = (UnidentifiedImageError, OSError, SyntaxError, ValueError)


@dataclass(frozen=True)
class Sources:
    """What the start-up check found: each domain's image count (what a dataset job will
    split) and, classifying, the class names every domain shares."""

    counts: dict[str, int]
    classes: tuple[str, ...] | None


def check_sources(
    domains: Mapping[str, Mapping], spec: ImageSpec, images: int | None, classify: bool
) -> Sources:
    """Refuse a config whose domains' fonts, photographs, SVHN files, image folders or arrays
    are missing or unusable, or (``classify``) whose domains do not share one set of classes."""
    classes, counts = {}, {}
    for name, entry in domains.items():
        where, source = f"config domains.{name}", entry["source"]
        if source == "synth":
            _check_fonts(entry.get("fonts"), synth_charset(), f"{where}.fonts")
        elif source in ("standin", "digits"):
            _check_fonts(None, string.digits, f"{where}.source (the {source} source's digits)")
            _check_photos(entry.get("photos"), f"{where}.photos")
            if source == "digits":
                classes[name] = DIGIT_CLASSES
        elif source == "svhn":
            counts[name] = check_svhn(entry["path"], images or 1, spec, f"{where}.path")
        elif source == "cifar10":
            found = check_cifar10(entry["path"], f"{where}.path")
            counts[name] = _check_count(found.images, images, f"{where}.path")
            classes[name] = found.classes
        elif source == "folder":
            scan = scan_folder(entry["path"], spec, classify, f"{where}.path")
            counts[name] = _check_count(len(scan.files), images, f"{where}.path")
            classes[name] = scan.classes
        elif source == "npy":
            scan = scan_npy(entry["images"], entry.get("labels"), spec, where)
            counts[name] = _check_count(len(scan.images), images, f"{where}.images")
            classes[name] = scan.classes
        counts[name] = images if images is not None else counts.get(name, 0)
    if classify and len(set(classes.values())) > 1:
        listed = "; ".join(f"{d}: {list(c)}" for d, c in classes.items())
        raise ValueError(
            "config domains: task is classify and a model is fine-tuned and compared across "
            f"domains, so every domain needs the same classes; they differ: {listed}"
        )
    return Sources(counts, next(iter(classes.values()), None) if classify else None)


def _check_count(available: int, images: int | None, where: str) -> int:
    """``available`` images, if there are as many as ``images_per_domain`` asks for."""
    if images is not None and available < images:
        raise ValueError(
            f"{where}: {available} readable images, fewer than images_per_domain = {images}; "
            "lower images_per_domain or set it to null to use all"
        )
    return available


def _check_fonts(folder: str | None, charset: str, key: str) -> None:
    where = folder if folder is not None else ", ".join(str(d) for d in shipped_font_dirs())
    if folder is not None and not Path(folder).is_dir():
        raise ValueError(
            f"config {key}: {folder!r} is not a folder "
            "(expected a folder of .ttf/.otf fonts, or null for the fonts matplotlib ships)"
        )
    files = font_files(folder)
    if not files:
        raise ValueError(
            f"config {key}: no .ttf or .otf font in {where} "
            "(expected a folder of fonts, or null for the fonts matplotlib ships)"
        )
    if folder is None:  # matplotlib's fonts: known to draw; their character maps suffice
        if not any(covers(f, charset) for f in files):
            raise ValueError(
                f"config {key}: none of the {len(files)} fonts in {where} draws every character "
                f"of {charset!r}"
            )
        return
    try:  # a user's fonts: selected exactly as the dataset job selects them (they are drawn)
        usable_fonts(charset, folder)
    except RuntimeError as err:
        raise ValueError(
            f"config {key}: none of the {len(files)} fonts in {where} draws every character of "
            f"{charset!r} as distinct glyphs ({err})"
        ) from err


def _check_photos(folder: str | None, key: str) -> None:
    if folder is None:
        try:
            photo_files(None)
        except FileNotFoundError as err:
            raise ValueError(
                f"{key} is null (the photographs that installed packages ship), but {err}; "
                "reinstall with `make run` or set it to a folder of photographs"
            ) from err
        return
    if not Path(folder).is_dir():
        raise ValueError(
            f"{key}: {folder!r} is not a folder (expected a folder of {', '.join(PHOTO_SUFFIXES)} "
            "photographs, or null for the ones installed packages ship)"
        )
    files = photo_files(folder)
    big = "x".join(map(str, MIN_PHOTO_SIZE))
    if any(read_photo(path) is not None for path in files):  # as the dataset job reads them
        return
    raise ValueError(
        f"{key}: {folder!r} has no readable photograph of at least {big} pixels "
        f"({len(files)} files named {', '.join(PHOTO_SUFFIXES)})"
    )


def check_svhn(
    path: str, images: int = 1, spec: ImageSpec = THESIS_IMAGE, key: str = "config svhn path"
) -> int:
    """Refuse an SVHN path that does not exist or holds fewer than ``images`` PNGs that
    ``spec`` keeps (with fit crop: at least its size; sizes from the headers, every file read
    once; the dataset job decodes them); return how many it keeps."""
    WIDTH, HEIGHT = (spec.width, spec.height) if spec.fit == "crop" else (1, 1)  # noqa: N806
    p = Path(path)
    if not p.exists():
        raise ValueError(
            f"{key}: {path!r} does not exist "
            "(the source is 'svhn'; point it at SVHN format 1 train.tar.gz or its folder)"
        )
    seen = unreadable = large = 0
    try:
        for _, data in iter_pngs(p, key):
            seen += 1
            try:
                with Image.open(io.BytesIO(data)) as im:
                    if seen == 1 or large == 0:
                        im.load()  # decode until one works: a folder of broken files fails here
                    large += im.width >= WIDTH and im.height >= HEIGHT
            except _BAD_IMAGE:
                unreadable += 1
    except tarfile.TarError as err:  # iter_pngs names the key for everything else
        raise ValueError(f"{key}: {err}") from err
    if large == 0:
        raise ValueError(
            f"{key}: {path!r} has no readable PNG of at least {WIDTH}x{HEIGHT} pixels "
            f"({seen} PNG files, {unreadable} unreadable); expected SVHN format 1"
        )
    if large < images:
        raise ValueError(
            f"{key}: {path!r} has {large} PNGs of at least {WIDTH}x{HEIGHT} pixels ({seen} PNG "
            f"files, {unreadable} unreadable), fewer than images_per_domain = {images}; lower "
            "images_per_domain or point it at more images"
        )
    return large
