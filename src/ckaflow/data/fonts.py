"""TrueType fonts that installed packages ship, checked to draw the glyphs we need.

Nothing can be downloaded at run time, so the synth and stand-in domains draw with the fonts that
matplotlib installs (DejaVu, STIX, Computer Modern). A font is usable for a text when its character
map covers every character of the text and its letters are real letters: symbol fonts either miss
the characters or (like LastResort) draw the same box for all of them.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
from fontTools.agl import toUnicode
from fontTools.ttLib import TTFont
from PIL import Image, ImageDraw, ImageFont

# Glyphs that must render as pairwise different shapes in a text font.
_PROBE = "abeo0189"


def shipped_font_dirs() -> list[Path]:
    """Folders of TrueType fonts shipped by installed packages (matplotlib's)."""
    import matplotlib

    return [Path(matplotlib.get_data_path()) / "fonts" / "ttf"]


def font_files(folder: str | Path | None = None) -> list[Path]:
    """The .ttf and .otf files of ``folder`` (recursively), or of the shipped folders if None."""
    dirs = shipped_font_dirs() if folder is None else [Path(folder)]
    return sorted(p for d in dirs for p in d.rglob("*") if p.suffix.lower() in (".ttf", ".otf"))


@functools.cache
def usable_fonts(charset: str, folder: str | None = None) -> tuple[Path, ...]:
    """Sorted paths of the fonts of ``folder`` (None: the shipped ones) that draw every
    character of ``charset`` as a text font.

    Raises ``RuntimeError`` naming the searched folder when none qualifies.
    """
    paths = font_files(folder)
    fonts = tuple(p for p in paths if covers(p, charset) and _draws_distinct_glyphs(p))
    if not fonts:
        where = folder if folder is not None else [str(d) for d in shipped_font_dirs()]
        raise RuntimeError(
            f"no font of {where} ({len(paths)} font files) draws every character of {charset!r}"
        )
    return fonts


def covers(path: Path, charset: str) -> bool:
    """Whether the font maps every character of ``charset`` to a glyph *named* for it.

    Symbol fonts such as Computer Modern's cmex10 put delimiters at the code points of letters;
    their glyph names give them away (``toUnicode("parenleftbig") != "a"``).
    """
    try:
        with TTFont(path, lazy=True) as font:
            cmap = font.getBestCmap() or {}
    except Exception:  # a damaged or unsupported font file is simply not usable
        return False
    chars = {c for c in charset if not c.isspace()}
    return all(ord(c) in cmap and toUnicode(cmap[ord(c)]) == c for c in chars)


def _draws_distinct_glyphs(path: Path) -> bool:
    # Fallback fonts map every code point to the same box: reject them by drawing.
    font = ImageFont.truetype(str(path), 24)
    shapes = []
    for ch in _PROBE:
        im = Image.new("L", (32, 32), 0)
        ImageDraw.Draw(im).text((4, 2), ch, fill=255, font=font)
        shapes.append(np.asarray(im).tobytes())
    return len(set(shapes)) == len(shapes)
