"""The synth domain: black text on white, rendered with Pillow.

A page of 320 x 128 pixels is filled, as a page of a book would be, with words drawn uniformly
from the ~1000 most common English words (wordfreq), in one font and one size chosen at random
per page; one integer 0-9999 is inserted at a random position of the word sequence, which may fall
past the visible part. The page is cropped to its top-left 80 x 64 pixels (the thesis' size; any
size up to the page's with the config's ``image``). Grey values come only
from Pillow's anti-aliasing.
"""

from __future__ import annotations

import functools
import re
import string
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .fonts import usable_fonts
from .shapes import HEIGHT, WIDTH

PAGE_WIDTH, PAGE_HEIGHT = 320, 128
N_COMMON_WORDS = 1000
_WORD = re.compile(r"^[a-z']+$")


@functools.cache
def common_words(n: int = N_COMMON_WORDS) -> tuple[str, ...]:
    """The ``n`` most frequent English words of wordfreq, keeping only alphabetic ones."""
    from wordfreq import top_n_list

    return tuple(w for w in top_n_list("en", n) if _WORD.match(w))


def synth_charset() -> str:
    """Every character a page can show: the letters of the words, and the digits."""
    return "".join(sorted(set("".join(common_words())) | set(string.digits)))


def synth_fonts(folder: str | None = None) -> tuple[Path, ...]:
    """Fonts of ``folder`` (None: the shipped ones) that can draw every word and every digit."""
    return usable_fonts(synth_charset(), folder)


def render_page(
    rng: np.random.Generator,
    font_size: tuple[int, int] = (10, 22),
    fonts: str | None = None,
    height: int = HEIGHT,
    width: int = WIDTH,
) -> np.ndarray:
    """Render one page and return its top-left ``height`` x ``width`` crop (at most the page's
    128 x 320); ``fonts`` is a folder of fonts to draw with (None: the fonts matplotlib ships).

    Returns
    -------
    image : (height, width) uint8, 255 = white paper, 0 = black ink.
    """
    if height > PAGE_HEIGHT or width > PAGE_WIDTH:
        raise ValueError(
            f"a synth page is {PAGE_WIDTH} x {PAGE_HEIGHT}: it cannot fill an image of {width} x "
            f"{height}"
        )
    words = common_words()
    usable = synth_fonts(fonts)
    font = ImageFont.truetype(
        str(usable[rng.integers(len(usable))]), int(rng.integers(font_size[0], font_size[1] + 1))
    )
    margin = int(rng.integers(0, 5))
    page = Image.new("L", (PAGE_WIDTH, PAGE_HEIGHT), 255)
    draw = ImageDraw.Draw(page)

    # Sample more words than a page can hold, find how many fit, then insert the number
    # somewhere in the visible-or-not sequence and lay it out for real.
    seq = [words[i] for i in rng.integers(len(words), size=PAGE_WIDTH * PAGE_HEIGHT // 40)]
    capacity = len(_layout(draw, font, seq, margin))
    number = str(int(rng.integers(0, 10000)))
    seq.insert(int(rng.integers(0, capacity + 1)), number)
    for xy, word in _layout(draw, font, seq, margin):
        draw.text(xy, word, fill=0, font=font)
    return np.asarray(page, dtype=np.uint8)[:height, :width].copy()


def _layout(draw: ImageDraw.ImageDraw, font, seq: list[str], margin: int):
    """Positions of the words of ``seq`` that fit on the page, wrapped at the right margin."""
    ascent, descent = font.getmetrics()
    line_height = int(round(1.15 * (ascent + descent)))
    space = draw.textlength(" ", font=font)
    x, y = float(margin), margin
    placed = []
    for word in seq:
        width = draw.textlength(word, font=font)
        if x > margin and x + width > PAGE_WIDTH - margin:
            x, y = float(margin), y + line_height
        if y + ascent + descent > PAGE_HEIGHT:
            break
        placed.append(((x, y), word))
        x += width + space
    return placed
