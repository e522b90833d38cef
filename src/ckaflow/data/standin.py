"""The offline stand-in for SVHN: house numbers on crops of real photographs.

Nothing can be downloaded at run time, so the default natural domain is built from photographs
that installed packages ship (scikit-image, scikit-learn, matplotlib). Each image: a random crop
of a photograph as background; a 1-4 digit number in a large font whose colour is a pixel of the
photograph, chosen to differ from the background; a slight rotation and shear; blur; a JPEG
round-trip at a random quality; greyscale 80 x 64 (the config's ``image``: any size, RGB too).
It has SVHN's character (large digits, moderate contrast, soft edges, JPEG artefacts) but it is
*not* SVHN: use ``source: svhn`` for the real thing.

:func:`render_digit` draws the ``digits`` source, a ten-class task in the same style (like SVHN's
cropped digits): one digit, its class, centred, in a random font, often with parts of its
neighbours at the edges; on the same backgrounds, in colour.
"""

from __future__ import annotations

import functools
import importlib.util
import io
import logging
import math
import string
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from .fonts import usable_fonts
from .images import THESIS_IMAGE, ImageSpec, to_mode
from .shapes import HEIGHT, WIDTH

log = logging.getLogger(__name__)

# (package, file) of the photographs used as backgrounds. All are real photographs that the
# pinned packages carry in their wheels (no download on first use).
PHOTOS = (
    ("skimage.data", "astronaut.png"),
    ("skimage.data", "brick.png"),
    ("skimage.data", "camera.png"),
    ("skimage.data", "chelsea.png"),
    ("skimage.data", "clock_motion.png"),
    ("skimage.data", "coffee.png"),
    ("skimage.data", "coins.png"),
    ("skimage.data", "grass.png"),
    ("skimage.data", "gravel.png"),
    ("skimage.data", "moon.png"),
    ("skimage.data", "motorcycle_left.png"),
    ("skimage.data", "motorcycle_right.png"),
    ("skimage.data", "rocket.jpg"),
    ("sklearn.datasets.images", "china.jpg"),
    ("sklearn.datasets.images", "flower.jpg"),
    ("matplotlib", "mpl-data/sample_data/grace_hopper.jpg"),
)

_SCALE = 2  # draw at twice the size, then downsample: soft, SVHN-like edges
_MIN_CONTRAST = 0.25  # digit vs background luminance, on [0, 1]


def photo_path(package: str, name: str) -> Path:
    """Path of a photograph shipped inside an installed package, found without importing the
    package (importing scikit-learn's datasets takes seconds, and every run checks the
    photographs when it starts). Raises ``FileNotFoundError`` if the package is not installed."""
    top, *sub = package.split(".")
    spec = importlib.util.find_spec(top)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"stand-in photograph {name}: package {top} is not installed")
    return Path(next(iter(spec.submodule_search_locations)), *sub, name)


PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png")
# A background is cropped at the drawing size: smaller photographs cannot serve.
MIN_PHOTO_SIZE = (WIDTH * _SCALE, HEIGHT * _SCALE)


def photo_files(folder: str | Path | None = None) -> list[Path]:
    """The photographs of ``folder`` (sorted, recursively), or the shipped ones if None.

    Raises ``FileNotFoundError`` naming a shipped photograph that is missing.
    """
    if folder is not None:
        return sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in PHOTO_SUFFIXES)
    paths = []
    for package, name in PHOTOS:
        path = photo_path(package, name)
        if not path.is_file():
            raise FileNotFoundError(f"stand-in photograph {name} not found in {package} ({path})")
        paths.append(path)
    return paths


_BAD_IMAGE = (OSError, SyntaxError, ValueError)  # PIL: unreadable, truncated, not an image


def read_photo(path: Path) -> np.ndarray | None:
    """A photograph decoded in full as (h, w, 3) uint8 RGB, or None if it cannot be read or is
    smaller than 160 x 128 (the start-up check and the dataset job read photographs alike)."""
    try:
        with Image.open(path) as im:
            if im.width < MIN_PHOTO_SIZE[0] or im.height < MIN_PHOTO_SIZE[1]:
                return None
            im.load()  # decodes the whole file: finds truncation
            return np.asarray(to_mode(im, "RGB"), dtype=np.uint8)
    except _BAD_IMAGE:
        return None


@functools.cache
def photos(folder: str | None = None) -> tuple[np.ndarray, ...]:
    """The background photographs as (h, w, 3) uint8 RGB arrays: those of ``folder``, or the
    shipped ones if None. Photographs that cannot be read or are smaller than 160 x 128 are
    skipped, counted and named in the log."""
    files = photo_files(folder)
    read = {path: read_photo(path) for path in files}
    out = tuple(a for a in read.values() if a is not None)
    skipped = [path.name for path, a in read.items() if a is None]
    if skipped:
        log.warning(
            "stand-in photographs: %d of %d skipped (unreadable or smaller than %s): %s",
            len(skipped),
            len(files),
            "x".join(map(str, MIN_PHOTO_SIZE)),
            ", ".join(skipped[:20]),
        )
    if not out:
        size = "x".join(map(str, MIN_PHOTO_SIZE))
        raise ValueError(f"no readable photograph of at least {size} in {folder}")
    return out


def standin_fonts() -> tuple[Path, ...]:
    """Shipped fonts that draw the ten digits."""
    return usable_fonts(string.digits)


def render_house_number(
    rng: np.random.Generator, photos_dir: str | None = None, spec: ImageSpec = THESIS_IMAGE
) -> np.ndarray:
    """One stand-in house-number image, on a crop of one of the photographs of ``photos_dir``
    (None: the shipped ones), at ``spec``'s size and channels.

    Returns
    -------
    image : (height, width) uint8 greyscale, or (height, width, 3) RGB.
    """
    w, h = spec.width * _SCALE, spec.height * _SCALE
    backgrounds = photos(photos_dir)
    photo = backgrounds[rng.integers(len(backgrounds))]
    background = _random_crop(rng, photo, w, h)
    colour = _digit_colour(rng, photo, background)

    n_digits = int(rng.choice([1, 2, 3, 4], p=[0.15, 0.35, 0.35, 0.15]))
    first = str(rng.integers(1, 10)) if n_digits > 1 else str(rng.integers(0, 10))
    number = first + "".join(str(d) for d in rng.integers(0, 10, size=n_digits - 1))
    fonts = standin_fonts()
    font = ImageFont.truetype(str(fonts[rng.integers(len(fonts))]), int(h * rng.uniform(0.55, 0.9)))

    # The number on a transparent layer, centred with jitter, then rotated and sheared.
    layer = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    left, top, right, bottom = draw.textbbox((0, 0), number, font=font)
    x = (w - (right - left)) / 2 - left + rng.uniform(-0.15, 0.15) * w
    y = (h - (bottom - top)) / 2 - top + rng.uniform(-0.1, 0.1) * h
    opacity = int(255 * rng.uniform(0.7, 1.0))
    draw.text((x, y), number, fill=(*colour, opacity), font=font)
    layer = layer.transform(
        (w, h), Image.Transform.AFFINE, _rotation_shear(rng, w, h), Image.Resampling.BICUBIC
    )

    return _finish(rng, background, layer, spec)


def render_digit(
    rng: np.random.Generator, photos_dir: str | None = None, spec: ImageSpec = THESIS_IMAGE
) -> tuple[np.ndarray, int]:
    """One image of the ``digits`` source and its class: a digit 0-9 centred (with jitter) on
    a crop of a photograph, each side's neighbour digit present with probability 1/2 and cut
    by the frame, rotated, sheared, blurred and JPEG-compressed as :func:`render_house_number`.

    Returns (image (height, width) or (height, width, 3) uint8, the digit).
    """
    w, h = spec.width * _SCALE, spec.height * _SCALE
    backgrounds = photos(photos_dir)
    photo = backgrounds[rng.integers(len(backgrounds))]
    background = _random_crop(rng, photo, w, h)
    colour = _digit_colour(rng, photo, background)
    label = int(rng.integers(10))
    left, right = (str(d) if rng.random() < 0.5 else "" for d in rng.integers(0, 10, size=2))
    fonts = standin_fonts()
    font = ImageFont.truetype(str(fonts[rng.integers(len(fonts))]), int(h * rng.uniform(0.6, 0.9)))

    layer = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    text = f"{left}{label}{right}"
    # the class digit's own box, where the text starts at 0: centre it
    start = draw.textlength(left, font=font)
    _, top, _, bottom = draw.textbbox((0, 0), text, font=font)
    middle = start + draw.textlength(str(label), font=font) / 2
    x = w / 2 - middle + rng.uniform(-0.08, 0.08) * w
    y = (h - (bottom - top)) / 2 - top + rng.uniform(-0.08, 0.08) * h
    opacity = int(255 * rng.uniform(0.7, 1.0))
    draw.text((x, y), text, fill=(*colour, opacity), font=font)
    layer = layer.transform(
        (w, h), Image.Transform.AFFINE, _rotation_shear(rng, w, h), Image.Resampling.BICUBIC
    )
    return _finish(rng, background, layer, spec), label


def _finish(rng: np.random.Generator, background: np.ndarray, layer, spec: ImageSpec):
    """The text layer over the background, blurred, reduced to ``spec``'s size and mode through
    a JPEG round-trip at a random quality."""
    image = Image.alpha_composite(Image.fromarray(background).convert("RGBA"), layer)
    image = image.convert("RGB").filter(ImageFilter.GaussianBlur(rng.uniform(0.6, 2.2)))
    image = image.resize((spec.width, spec.height), Image.Resampling.BOX)
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=int(rng.integers(15, 61)))
    with Image.open(buf) as jpeg:
        return np.asarray(jpeg.convert(spec.mode), dtype=np.uint8).copy()


def _random_crop(rng: np.random.Generator, photo: np.ndarray, w: int, h: int) -> np.ndarray:
    """A crop of ``photo`` at a random position and zoom, resized to (h, w, 3)."""
    ph, pw = photo.shape[:2]
    zoom = rng.uniform(0.6, min(pw / w, ph / h, 3.0))
    cw, ch = min(pw, int(w * zoom)), min(ph, int(h * zoom))
    x0, y0 = int(rng.integers(0, pw - cw + 1)), int(rng.integers(0, ph - ch + 1))
    crop = Image.fromarray(photo[y0 : y0 + ch, x0 : x0 + cw])
    return np.asarray(crop.resize((w, h), Image.Resampling.BILINEAR), dtype=np.uint8)


def _luminance(rgb: np.ndarray) -> np.ndarray:
    return (rgb[..., :3].astype(np.float64) @ [0.299, 0.587, 0.114]) / 255.0


def _digit_colour(
    rng: np.random.Generator, photo: np.ndarray, background: np.ndarray
) -> tuple[int, int, int]:
    """A colour from the photograph that stands out from the background's mean luminance."""
    pixels = photo.reshape(-1, 3)
    bg = float(_luminance(background).mean())
    for _ in range(32):
        c = pixels[rng.integers(len(pixels))]
        if abs(float(_luminance(c)) - bg) >= _MIN_CONTRAST:
            return tuple(int(v) for v in c)
    # No pixel drawn stands out (a flat photo): take the photo's extreme opposite the background.
    lum = _luminance(pixels)
    return tuple(int(v) for v in pixels[np.argmin(lum) if bg > 0.5 else np.argmax(lum)])


def _rotation_shear(rng: np.random.Generator, w: int, h: int) -> tuple[float, ...]:
    """Inverse affine map (Pillow's convention) of a slight rotation and shear about the centre."""
    a = math.radians(rng.uniform(-8.0, 8.0))
    s = rng.uniform(-0.15, 0.15)
    m = np.array([[math.cos(a), -math.sin(a) + s], [math.sin(a), math.cos(a)]])
    inv = np.linalg.inv(m)
    cx, cy = w / 2, h / 2
    off = np.array([cx, cy]) - inv @ np.array([cx, cy])
    return (inv[0, 0], inv[0, 1], off[0], inv[1, 0], inv[1, 1], off[1])
