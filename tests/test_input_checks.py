"""Every image input checked where it enters, naming the key, the file and the fix (the
reliability suite's image family): what a probe of bad inputs found stays found."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from PIL import Image

from ckaflow.data.folder import scan_folder
from ckaflow.data.images import ImageSpec
from ckaflow.data.npy import scan_npy

SPEC = ImageSpec(16, 16, 3, "resize")
WHERE = "config domains.photos.path"


def folder(root, classes=("cats", "dogs"), per_class=3, suffix=".png"):
    rng = np.random.default_rng(0)
    for c in classes:
        (root / c).mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 255, (20, 20, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / c / f"{i}{suffix}")
    return root


def test_a_class_folder_linked_back_into_the_domain_is_refused(tmp_path):
    root = folder(tmp_path / "photos")
    (root / "both").symlink_to(root / "cats")
    with pytest.raises(ValueError) as err:
        scan_folder(root, SPEC, True, WHERE)
    msg = str(err.value)
    assert msg.startswith(WHERE) and "both' is a link to" in msg and "read twice" in msg


def test_a_link_that_loops_is_refused(tmp_path):
    root = folder(tmp_path / "photos")
    (root / "cats" / "again").symlink_to(root)
    with pytest.raises(ValueError, match="inside the domain's folder"):
        scan_folder(root, SPEC, True, WHERE)


def test_a_link_to_images_outside_the_domain_is_followed(tmp_path):
    outside = folder(tmp_path / "elsewhere", classes=("birds",))
    root = folder(tmp_path / "photos")
    (root / "birds").symlink_to(outside / "birds")
    assert scan_folder(root, SPEC, True, WHERE).classes == ("birds", "cats", "dogs")


def test_one_class_is_refused_when_classifying(tmp_path):
    root = folder(tmp_path / "photos", classes=("cats",))
    with pytest.raises(ValueError, match=r"has one class subfolder \('cats'\): classifying needs"):
        scan_folder(root, SPEC, True, WHERE)


def test_labels_of_one_class_are_refused(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((10, 16, 16, 3), np.uint8))
    np.save(tmp_path / "y.npy", np.zeros(10, np.int64))
    with pytest.raises(ValueError, match=r"domains.a.labels: .* holds one class \(0\) only"):
        scan_npy(str(tmp_path / "x.npy"), str(tmp_path / "y.npy"), SPEC, "config domains.a")


def test_a_jpeg_cut_in_half_is_left_out_at_start_up_and_named(tmp_path, caplog):
    root = folder(tmp_path / "photos", suffix=".jpg")
    cut = root / "dogs" / "1.jpg"
    cut.write_bytes(cut.read_bytes()[: cut.stat().st_size // 2])
    with caplog.at_level(logging.WARNING):
        scan = scan_folder(root, SPEC, True, WHERE)
    assert cut not in scan.files and scan.unreadable == (cut,)
    assert "1 of 6 image files cannot be read and are left out: 1.jpg" in caplog.text


def test_an_oversized_image_is_refused_naming_the_file(tmp_path, monkeypatch):
    root = folder(tmp_path / "photos")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 20 x 20 is over twice this
    with pytest.raises(ValueError) as err:
        scan_folder(root, SPEC, True, WHERE)
    assert str(err.value).startswith(f"{WHERE}: {root / 'cats' / '0.png'} is too large")
    assert "shrink or remove it" in str(err.value)


def test_nan_in_an_array_domain_is_refused_with_its_range(tmp_path):
    x = np.full((10, 16, 16, 3), 0.5, np.float32)
    x[3, 0, 0, 0] = np.nan
    np.save(tmp_path / "x.npy", x)
    with pytest.raises(ValueError) as err:
        scan_npy(str(tmp_path / "x.npy"), None, SPEC, "config domains.a")
    assert "config domains.a.images" in str(err.value) and "NaN" in str(err.value)


def test_test_images_that_do_not_fit_the_held_out_part_say_what_to_change():
    from ckaflow.data.splits import split_sizes

    with pytest.raises(ValueError) as err:
        split_sizes(4600, 0.05, 4000)
    msg = str(err.value)
    assert "the test images come out of the held-out part" in msg
    assert "images=4600 x val_fraction=0.05 = 230 images" in msg
    assert "test_images 4000 -> at most 229; val_fraction 0.05 -> at least 0.87" in msg
    assert split_sizes(4600, 0.87, 4000) == {"train": 598, "val": 2, "test": 4000}
