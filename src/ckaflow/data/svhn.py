"""Real SVHN, format 1 (full house numbers in variable-size PNGs).

``path`` is the ``train.tar.gz`` (or ``test.tar.gz``) of format 1, or the folder of PNGs it
unpacks to. With the thesis' ``image`` (80 x 64 grey, ``fit: crop``) images narrower than 80 or
shorter than 64 pixels are dropped and the rest are cropped about their centre to 80 x 64 and
greyscaled: on the real training set that keeps 10,322 of 33,402 images. With ``fit: resize``
every image is resized instead. Unreadable files are counted and reported; they are fatal only
when nothing usable remains.
"""

from __future__ import annotations

import io
import logging
import re
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from .images import THESIS_IMAGE, Conversions, ImageSpec, to_array
from .reading import reading_input

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SvhnScan:
    """What a pass over an SVHN tree found."""

    images: np.ndarray  # (kept, height, width, channels) uint8, in file-number order
    names: tuple[str, ...]  # file name of each kept image
    seen: int  # PNG files found
    too_small: int  # dropped for being narrower than 80 or shorter than 64
    unreadable: tuple[str, ...]  # names of files that could not be decoded


def load_svhn(path: str | Path, spec: ImageSpec = THESIS_IMAGE) -> SvhnScan:
    """Read every PNG of an SVHN format-1 tree at ``spec``'s size and channels: with ``fit``
    crop (the thesis), those at least that size, centre-cropped; with resize, all, resized.

    Raises ``FileNotFoundError`` if ``path`` does not exist and ``ValueError`` if it holds no
    usable image.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"SVHN path {str(path)!r} does not exist")
    kept, names, unreadable, done = [], [], [], Conversions()
    seen = too_small = 0
    for name, data in _pngs(path):
        seen += 1
        try:
            with Image.open(io.BytesIO(data)) as im:
                im.load()
                if spec.fit == "crop" and (im.width < spec.width or im.height < spec.height):
                    too_small += 1
                    continue
                kept.append(to_array(im, spec, name, done))
                names.append(name)
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
            unreadable.append(name)
            log.warning("SVHN: cannot read %s (%s)", name, err)
    log.info(
        "SVHN %s: %d PNG files, kept %d of at least %dx%d, dropped %d smaller, %d unreadable",
        path,
        seen,
        len(kept),
        spec.width,
        spec.height,
        too_small,
        len(unreadable),
    )
    if not kept:
        raise ValueError(
            f"SVHN path {str(path)!r}: no usable image ({seen} PNG files, {too_small} smaller "
            f"than {spec.width}x{spec.height}, {len(unreadable)} unreadable)"
        )
    return SvhnScan(np.stack(kept), tuple(names), seen, too_small, tuple(unreadable))


def _number_key(name: str) -> tuple[int, str]:
    # SVHN names its files 1.png ... 33402.png: sort numerically, not as text.
    m = re.search(r"(\d+)\.png$", name)
    return (int(m.group(1)) if m else -1, name)


def iter_pngs(path: Path, where: str = "SVHN path") -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of every PNG in a folder tree or a tar archive, in storage order, read
    lazily (a caller that stops early reads no further).

    Raises ``ValueError`` naming ``where`` (the config key) if ``path`` is neither a folder
    nor a whole tar archive.
    """
    if path.is_dir():
        for p in path.rglob("*.png"):
            yield p.name, p.read_bytes()
        return
    fix = "download train.tar.gz again, or point the svhn domain's path at its unpacked folder"
    what = "folder or tar archive (not an archive, or one truncated or damaged)"
    with reading_input(path, where, what, fix):
        with tarfile.open(path, "r:*") as tar:
            for m in tar:
                if m.isfile() and m.name.endswith(".png"):
                    f = tar.extractfile(m)
                    yield Path(m.name).name, f.read() if f else b""


def _pngs(path: Path) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of every PNG in a folder tree or a tar archive, in file-number order."""
    if path.is_dir():
        for p in sorted(path.rglob("*.png"), key=lambda p: _number_key(p.name)):
            yield p.name, p.read_bytes()
        return
    # A compressed tar cannot seek back cheaply: read in archive order, then sort.
    yield from sorted(iter_pngs(path), key=lambda item: _number_key(item[0]))
