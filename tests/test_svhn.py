"""The SVHN format-1 loader, on a small fake tree the test writes."""

from __future__ import annotations

import logging
import tarfile

import numpy as np
import pytest
from PIL import Image

from ckaflow.data import build_domain
from ckaflow.data.svhn import load_svhn


def _fake_svhn(folder, n_big=6):
    """SVHN-named PNGs: n_big usable (grey level = number), one too small, one corrupt."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(1, n_big + 1):
        h, w = 64 + int(rng.integers(0, 40)), 80 + int(rng.integers(0, 40))
        # A constant grey level identifies the file after cropping and greyscaling.
        rgb = np.full((h, w, 3), (i * 20) % 256, dtype=np.uint8)
        Image.fromarray(rgb).save(folder / f"{i}.png")
    Image.fromarray(np.zeros((30, 50, 3), np.uint8)).save(folder / f"{n_big + 1}.png")
    (folder / f"{n_big + 2}.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not an image")
    (folder / "digitStruct.mat").write_bytes(b"ignored")
    return folder


def test_folder_keeps_large_images_counts_the_rest(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="ckaflow")
    scan = load_svhn(_fake_svhn(tmp_path / "train"))
    assert scan.images.shape == (6, 64, 80, 1) and scan.images.dtype == np.uint8
    assert scan.seen == 8 and scan.too_small == 1 and scan.unreadable == ("8.png",)
    assert [int(v) for v in scan.images[:, 0, 0, 0]] == [20, 40, 60, 80, 100, 120]
    assert "kept 6" in caplog.text and "1 unreadable" in caplog.text


def test_tar_gz_gives_the_same_images_as_the_folder(tmp_path):
    folder = _fake_svhn(tmp_path / "train")
    archive = tmp_path / "train.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname="train")
    from_tar, from_dir = load_svhn(archive), load_svhn(folder)
    assert from_tar.names == from_dir.names
    np.testing.assert_array_equal(from_tar.images, from_dir.images)


def test_errors_name_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_svhn(tmp_path / "nowhere")
    empty = tmp_path / "empty"
    empty.mkdir()
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(empty / "1.png")
    with pytest.raises(ValueError, match="no usable image"):
        load_svhn(empty)
    notatar = tmp_path / "train.tar.gz"
    notatar.write_bytes(b"garbage")
    with pytest.raises(ValueError, match="train.tar.gz' is not a readable folder or tar archive"):
        load_svhn(notatar)


def test_build_domain_from_svhn(tmp_path):
    folder = _fake_svhn(tmp_path / "train", n_big=30)
    entry = {"source": "svhn", "path": str(folder)}
    ds = build_domain("natural", entry, images=25, seed=0, test_images=2)
    assert ds.provenance["svhn_usable"] == 30 and ds.provenance["svhn_unreadable"] == 1
    assert sum(len(v) for v in ds.splits.values()) == 25
    with pytest.raises(ValueError, match="domains.natural.path: 30 usable images"):
        build_domain("natural", entry, images=40, seed=0, test_images=2)
