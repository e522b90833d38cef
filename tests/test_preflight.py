"""User data is read at start-up the way the dataset jobs read it: what a job would choke on is
found before any job, or skipped, counted and named."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from PIL import Image

from ckaflow.data.preflight import _check_fonts, _check_photos, check_svhn
from ckaflow.data.standin import photos


def _photo(path, size=(200, 150)):
    rng = np.random.default_rng(len(str(path)))
    Image.fromarray(rng.integers(0, 255, (*size[::-1], 3), dtype=np.uint8)).save(path)


def test_a_truncated_jpeg_and_a_non_image_are_skipped_counted_and_named(tmp_path, caplog):
    _photo(tmp_path / "good.jpg")
    _photo(tmp_path / "cut.jpg")
    data = (tmp_path / "cut.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 3])  # a truncated JPEG
    (tmp_path / "notes.jpg").write_text("not an image")
    _check_photos(
        str(tmp_path), "config domains.natural.photos"
    )  # one is usable: the run may start
    with caplog.at_level(logging.WARNING):
        got = photos(str(tmp_path))
    assert len(got) == 1 and got[0].shape == (150, 200, 3)
    assert "2 of 3 skipped" in caplog.text and "cut.jpg" in caplog.text
    assert "notes.jpg" in caplog.text


def test_a_folder_of_only_truncated_photographs_is_refused_at_start_up(tmp_path):
    _photo(tmp_path / "cut.jpg")
    data = (tmp_path / "cut.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 3])  # its header still reads
    with pytest.raises(ValueError, match=r"config domains.x.photos: .* no readable photograph"):
        _check_photos(str(tmp_path), "config domains.x.photos")


def test_an_svhn_folder_with_too_few_usable_images_is_refused_naming_the_counts(tmp_path):
    for i, size in enumerate([(90, 70), (100, 64), (40, 30)]):
        Image.new("L", size, color=i * 50).save(tmp_path / f"{i + 1}.png")
    (tmp_path / "4.png").write_bytes(b"\\x89PNG broken")
    where = "config domains.natural.path"
    check_svhn(str(tmp_path), images=2, key=where)
    with pytest.raises(ValueError) as err:
        check_svhn(str(tmp_path), images=3, key=where)
    msg = str(err.value)
    assert "config domains.natural.path" in msg and "has 2 PNGs of at least 80x64" in msg
    assert "4 PNG files, 1 unreadable" in msg and "images_per_domain = 3" in msg


def test_a_font_that_draws_nothing_is_refused_at_start_up(tmp_path):
    """A font whose character map covers every letter but whose glyphs are empty passes a
    character-map check; the dataset job could not draw with it."""
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    from ckaflow.data.synth import synth_charset

    chars = sorted(set(synth_charset()))
    names = [".notdef", *(f"uni{ord(c):04X}" for c in chars)]
    fb = FontBuilder(1000, isTTF=True)
    fb.setupGlyphOrder(names)
    fb.setupCharacterMap({ord(c): f"uni{ord(c):04X}" for c in chars})
    empty = TTGlyphPen(None).glyph()
    fb.setupGlyf({n: empty for n in names})
    fb.setupHorizontalMetrics({n: (500, 0) for n in names})
    fb.setupHorizontalHeader(ascent=800, descent=-200)
    fb.setupNameTable({"familyName": "Blank", "styleName": "Regular"})
    fb.setupOS2()
    fb.setupPost()
    fb.save(str(tmp_path / "blank.ttf"))
    from ckaflow.data.fonts import covers

    assert covers(tmp_path / "blank.ttf", synth_charset())  # its character map is complete
    with pytest.raises(ValueError, match=r"config synth.fonts: none of the 1 fonts .* distinct"):
        _check_fonts(str(tmp_path), synth_charset(), "synth.fonts")


def test_a_truncated_svhn_archive_is_refused_at_start_up_naming_the_key(tmp_path):
    import io
    import tarfile

    with tarfile.open(tmp_path / "train.tar.gz", "w:gz") as tar:
        for i in range(30):
            png = io.BytesIO()
            noise = np.random.default_rng(i).integers(0, 255, (70, 90), dtype=np.uint8)
            Image.fromarray(noise).save(png, "PNG")
            info = tarfile.TarInfo(f"train/{i + 1}.png")
            info.size = len(png.getvalue())
            tar.addfile(info, io.BytesIO(png.getvalue()))
    where = "config domains.natural.path"
    check_svhn(str(tmp_path / "train.tar.gz"), images=30, key=where)
    data = (tmp_path / "train.tar.gz").read_bytes()
    (tmp_path / "cut.tar.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(
        ValueError, match=r"^config domains.natural.path: '.*cut.tar.gz' .*truncated or damag"
    ):
        check_svhn(str(tmp_path / "cut.tar.gz"), images=10, key=where)


def test_a_16_bit_photograph_is_scaled_not_clipped_to_white(tmp_path):
    """Pillow's convert clips 16-bit values to 255: a 16-bit greyscale photograph among the
    stand-in's backgrounds must keep its picture (scaled from 0-65535), as every image the
    project reads does."""
    ramp = np.linspace(0, 65535, 200 * 150).reshape(150, 200).astype(np.uint16)
    Image.fromarray(ramp).save(tmp_path / "deep.png")  # mode I;16
    with Image.open(tmp_path / "deep.png") as im:
        assert im.mode.startswith("I")
    (got,) = photos(str(tmp_path))
    assert got.shape == (150, 200, 3)
    assert got.min() == 0 and got.max() == 255 and 120 < got.mean() < 135  # the ramp, not white


def _cut(path, size=100):
    path.write_bytes(path.read_bytes()[:size])
    return path


def test_every_input_archive_cut_short_is_refused_naming_the_key_and_the_file(tmp_path):
    """An archive cut to 100 bytes (SVHN's tar, CIFAR-10's tar, an .npy or .npz image array):
    one ValueError naming the config key, the file and what to do, never a bare traceback."""
    import io
    import tarfile

    from ckaflow.data.cifar10 import load_cifar10
    from ckaflow.data.images import ImageSpec
    from ckaflow.data.npy import scan_npy
    from ckaflow.data.svhn import load_svhn

    with tarfile.open(tmp_path / "a.tar.gz", "w:gz") as tar:
        data = np.random.default_rng(0).integers(0, 255, 20_000, dtype=np.uint8).tobytes()
        info = tarfile.TarInfo("train/1.png")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    archive = _cut(tmp_path / "a.tar.gz")
    with pytest.raises(ValueError, match=r"SVHN path: '.*a.tar.gz' is not a readable .*again"):
        load_svhn(archive)
    with pytest.raises(ValueError, match=r"domains.c.path: '.*a.tar.gz' is not a readable tar"):
        load_cifar10(archive, "domains.c.path")
    np.save(tmp_path / "x.npy", np.zeros((50, 8, 8, 1), np.uint8))
    np.savez(tmp_path / "x.npz", images=np.zeros((50, 8, 8, 1), np.uint8))
    for name in ("x.npy", "x.npz"):
        cut = _cut(tmp_path / name)
        with pytest.raises(ValueError, match=rf"domains.d.images: '.*{name}' is not a readable"):
            scan_npy(str(cut), None, ImageSpec(8, 8, 1), "domains.d")
