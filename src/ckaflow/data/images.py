"""Image files and arrays to the study's pixels: one size, one channel count, uint8.

The config's ``image`` says what every domain's images become: ``height`` x ``width`` with
``channels`` 1 (greyscale) or 3 (RGB), and ``fit``, what happens to an image of another size:
``crop`` (centre crop; a smaller image is refused), ``resize`` (scaled to exactly that size, the
aspect ratio not kept) or ``refuse``. Nothing changes size or colour silently: every conversion
is counted (:class:`Conversions`) and lands in the dataset's provenance and the log.

16- and 32-bit images are scaled from their type's range to 8 bits before any colour conversion
(Pillow's ``convert`` clips them: a 16-bit photograph would turn white).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

FITS = ("crop", "resize", "refuse")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
BAD_IMAGE = (UnidentifiedImageError, OSError, SyntaxError, ValueError)  # Pillow's failures


@dataclass(frozen=True)
class ImageSpec:
    """config ``image``: the size and channels every image ends with, and how it gets there."""

    height: int = 64
    width: int = 80
    channels: int = 1
    fit: str = "crop"

    def __post_init__(self) -> None:
        if self.channels not in (1, 3):
            raise ValueError(f"image.channels is {self.channels!r}; expected 1 or 3")
        if self.fit not in FITS:
            raise ValueError(f"image.fit is {self.fit!r}; expected one of {FITS}")
        if min(self.height, self.width) < 1:
            raise ValueError(f"image size {self.height} x {self.width} must be positive")

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.height, self.width, self.channels)

    @property
    def mode(self) -> str:
        return "L" if self.channels == 1 else "RGB"

    def describe(self) -> str:
        colour = "greyscale" if self.channels == 1 else "RGB"
        return f"{self.width} x {self.height} {colour}"


THESIS_IMAGE = ImageSpec()  # 80 x 64 greyscale, larger images centre-cropped


@dataclass
class Conversions:
    """What was done to a domain's images on the way in, counted for its provenance."""

    counts: Counter = field(default_factory=Counter)

    def add(self, what: str) -> None:
        self.counts[what] += 1

    def as_dict(self) -> dict[str, int]:
        return dict(sorted(self.counts.items()))


def check_size(w: int, h: int, spec: ImageSpec, where: str) -> None:
    """Refuse an image of ``w`` x ``h`` that ``spec.fit`` cannot bring to the spec's size."""
    if (w, h) == (spec.width, spec.height):
        return
    if spec.fit == "refuse":
        raise ValueError(
            f"{where}: {w} x {h} pixels, not {spec.width} x {spec.height} (image.fit is "
            "'refuse'; set it to crop or resize, or resize the images yourself)"
        )
    if spec.fit == "crop" and (w < spec.width or h < spec.height):
        raise ValueError(
            f"{where}: {w} x {h} pixels, smaller than image {spec.width} x {spec.height}, so "
            "it cannot be cropped to it (image.fit is 'crop'; use resize, or a smaller image size)"
        )


def to_mode(im: Image.Image, mode: str, done: Conversions | None = None) -> Image.Image:
    """``im`` as an 8-bit image of ``mode`` ("L" or "RGB"), the one way every image is read:
    16-bit, 32-bit and float images scaled from their type's range (Pillow's ``convert`` would
    clip a 16-bit photograph to white), transparency composited on white; each conversion
    counted in ``done``."""
    done = Conversions() if done is None else done
    im = _eight_bit(im, done)
    if im.mode != mode:
        done.add(f"{im.mode} to {mode}")
        if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
            im = _on_white(im)
        im = im.convert(mode)
    return im


def to_array(im: Image.Image, spec: ImageSpec, where: str, done: Conversions) -> np.ndarray:
    """``im`` as (height, width, channels) uint8 per ``spec``; ``where`` names it in errors."""
    im = to_mode(im, spec.mode, done)
    check_size(im.width, im.height, spec, where)
    if (im.width, im.height) != (spec.width, spec.height):
        done.add(f"{spec.fit} from {im.width} x {im.height}")
        im = _fit(im, spec)
    a = np.asarray(im, dtype=np.uint8)
    return a[..., None] if a.ndim == 2 else a


def read_image(path: Path, spec: ImageSpec, done: Conversions) -> np.ndarray:
    """The image file ``path`` per ``spec`` (:func:`to_array`); ``ValueError`` naming the file
    when it cannot be decoded."""
    try:
        with Image.open(path) as im:
            im.load()
            return to_array(im, spec, str(path), done)
    except BAD_IMAGE as err:
        if isinstance(err, ValueError) and str(path) in str(err):
            raise
        raise ValueError(f"{path}: not a readable image ({type(err).__name__}: {err})") from err


def fit_array(a: np.ndarray, spec: ImageSpec, where: str, done: Conversions) -> np.ndarray:
    """One image given as an array, (h, w) or (h, w, c) uint8, per ``spec``."""
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    mode = {2: "L"}.get(a.ndim) or {3: "RGB", 4: "RGBA"}.get(a.shape[2])
    if mode is None:
        raise ValueError(f"{where}: an image of shape {a.shape}; expected (h, w) or (h, w, 1|3|4)")
    return to_array(Image.fromarray(np.ascontiguousarray(a), mode), spec, where, done)


def _eight_bit(im: Image.Image, done: Conversions) -> Image.Image:
    """16-bit, 32-bit integer and float images scaled to 8-bit grey from their type's range
    (integers: 0-65535 when they fit it; floats: 0-1 when they fit it, else their own range)."""
    if im.mode not in ("I;16", "I;16B", "I;16L", "I", "F"):
        return im
    a = np.asarray(im, dtype=np.float64)
    lo, hi = float(a.min()), float(a.max())
    if im.mode == "F":
        top, bottom = (1.0, 0.0) if lo >= 0 and hi <= 1 else (hi, lo)
    else:
        top, bottom = (65535.0, 0.0) if lo >= 0 and hi <= 65535 else (hi, lo)
    done.add(f"{im.mode} scaled to 8 bits")
    scaled = (a - bottom) / max(top - bottom, 1e-12) * 255.0
    return Image.fromarray(np.clip(np.rint(scaled), 0, 255).astype(np.uint8), "L")


def _on_white(im: Image.Image) -> Image.Image:
    """An image with an alpha channel composited on white (as a viewer shows it)."""
    rgba = im.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, rgba).convert("RGB")


def _fit(im: Image.Image, spec: ImageSpec) -> Image.Image:
    if spec.fit == "crop":
        left, top = (im.width - spec.width) // 2, (im.height - spec.height) // 2
        return im.crop((left, top, left + spec.width, top + spec.height))
    return im.resize((spec.width, spec.height), Image.Resampling.LANCZOS)


def image_files(folder: Path) -> list[Path]:
    """The image files under ``folder`` (recursively, by suffix; hidden files left out), sorted."""
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
    )
