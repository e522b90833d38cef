"""The two image domains: determinism, splits, pixel values, fonts, noise."""

from __future__ import annotations

import filecmp
import subprocess
import sys

import numpy as np
import pytest

from ckaflow.data import (
    SPLITS,
    build_domain,
    load_split,
    read_provenance,
    salt_and_pepper,
    split_indices,
    split_sizes,
    write_dataset,
)
from ckaflow.data.fonts import covers, shipped_font_dirs
from ckaflow.data.synth import common_words, synth_fonts

N = 40
HEIGHT, WIDTH = 64, 80
# The thesis' two domains, as config/config.yaml names them.
ENTRY = {"natural": {"source": "standin"}, "synth": {"source": "synth"}}


@pytest.mark.parametrize("domain", ["synth", "natural"])
def test_same_config_gives_byte_identical_files(tmp_path, domain):
    for run in ("a", "b"):
        write_dataset(
            tmp_path / run, build_domain(domain, ENTRY[domain], images=N, seed=3, test_images=4)
        )
    for name in [f"{s}.npy" for s in SPLITS]:
        assert filecmp.cmp(tmp_path / "a" / name, tmp_path / "b" / name, shallow=False), name
    assert read_provenance(tmp_path / "a")["sha256"] == read_provenance(tmp_path / "b")["sha256"]


def test_another_seed_gives_other_images():
    a = build_domain("synth", ENTRY["synth"], images=N, seed=1, test_images=4)
    b = build_domain("synth", ENTRY["synth"], images=N, seed=2, test_images=4)
    assert not np.array_equal(a.splits["train"], b.splits["train"])


@pytest.mark.parametrize("domain", ["synth", "natural"])
def test_splits_sizes_dtype_and_range(tmp_path, domain):
    ds = build_domain(domain, ENTRY[domain], images=N, seed=0, val_fraction=0.2, test_images=5)
    write_dataset(tmp_path, ds)
    prov = read_provenance(tmp_path)
    assert prov["counts"] == {"train": 32, "val": 3, "test": 5}
    assert prov["domain"] == domain and prov["seed"] == 0 and len(prov["dataset_id"]) == 16
    for split, n in prov["counts"].items():
        x = load_split(tmp_path, split)
        assert x.shape == (n, HEIGHT, WIDTH, 1)
        assert x.dtype == np.float32
        assert 0.0 <= x.min() and x.max() <= 1.0
        assert x.std() > 0.02, f"{domain}/{split} images are nearly blank"


@pytest.mark.parametrize("n,frac,test", [(100, 0.2, 10), (2000, 0.2, 200), (10322, 0.2, 200)])
def test_split_indices_are_disjoint_and_cover_everything(n, frac, test):
    idx = split_indices(n, frac, test, seed=7)
    together = np.concatenate([idx[s] for s in SPLITS])
    assert len(together) == n and len(np.unique(together)) == n
    assert len(idx["test"]) == test
    assert len(idx["train"]) == n - round(n * frac)


@pytest.mark.parametrize("n,frac,test", [(100, 0.2, 20), (100, 0.2, 0), (100, 1.2, 5)])
def test_impossible_splits_name_the_values(n, frac, test):
    with pytest.raises(ValueError, match=r"test_images|val_fraction"):
        split_sizes(n, frac, test)


def test_synth_pages_are_black_text_on_white_with_grey_only_from_antialiasing():
    ds = build_domain("synth", ENTRY["synth"], images=N, seed=0, test_images=4)
    x = ds.splits["train"]
    # Mostly paper, some full ink, and only a minority of anti-aliased grey levels.
    assert (x == 255).mean() > 0.5
    assert (x == 0).any()
    assert ((x > 0) & (x < 255)).mean() < 0.25


def test_standin_looks_like_photographs_with_digits():
    x = (
        build_domain("natural", ENTRY["natural"], images=N, seed=0, test_images=4)
        .splits["train"]
        .astype(float)
    )
    # Natural images: a wide range of grey levels in every image, not a binary page.
    assert all(len(np.unique(im)) > 40 for im in x)
    assert 0.15 < x.mean() / 255 < 0.85


def test_fonts_skip_symbol_fonts_and_cover_the_words():
    fonts = synth_fonts()
    names = {p.name for p in fonts}
    assert "cmex10.ttf" not in names and "cmsy10.ttf" not in names
    assert not any(n.startswith("LastResort") for n in names)
    assert len(fonts) >= 4
    text = "".join(common_words())
    assert all(covers(p, text + "0123456789") for p in fonts)
    assert len(common_words()) > 900
    assert any(d.is_dir() for d in shipped_font_dirs())


def test_noise_fractions_and_values():
    rng = np.random.default_rng(0)
    clean = np.full((64, 64, 80, 1), 0.5, dtype=np.float32)
    noisy = salt_and_pepper(clean, rng, pepper=0.05, salt=0.05)
    assert abs((noisy == 0).mean() - 0.05) < 0.005
    assert abs((noisy == 1).mean() - 0.05) < 0.005
    assert ((noisy == 0.5) | (noisy == 0) | (noisy == 1)).all()
    assert (clean == 0.5).all(), "the input must not be modified"
    with pytest.raises(ValueError, match="pepper=0.7"):
        salt_and_pepper(clean, rng, pepper=0.7, salt=0.5)


def test_unknown_source_and_missing_keys_are_named():
    with pytest.raises(ValueError, match="domains.x.source is 'mnist'"):
        build_domain("x", {"source": "mnist"}, images=N, seed=0, test_images=4)
    with pytest.raises(KeyError, match="path"):
        build_domain("x", {"source": "svhn"}, images=N, seed=0, test_images=4)


def test_a_training_split_in_spread_order_has_every_class_in_every_prefix():
    from ckaflow.data.splits import spread_order

    labels = np.repeat([0, 1, 2], [60, 30, 90])  # in class order, as a folder lists them
    index = np.arange(180)
    order = spread_order(index, labels, seed=0)
    assert sorted(order) == list(index) and not np.array_equal(order, index)
    for n in (6, 30, 120):
        counts = np.bincount(labels[order[:n]], minlength=3)
        assert np.all(np.abs(counts - n * np.array([60, 30, 90]) / 180) <= 1.0), (n, counts)
    assert np.array_equal(order, spread_order(index, labels, seed=0))  # seeded
    assert not np.array_equal(spread_order(index, None, seed=0), index)  # unlabelled: shuffled


def test_the_shipped_photographs_are_found_without_importing_their_packages():
    """Every run checks the photographs when it starts: finding them must not import
    scikit-learn or scikit-image (seconds each); a package that is not installed is named."""
    code = (
        "import sys\n"
        "from ckaflow.data.standin import PHOTOS, photo_files, photo_path\n"
        "assert len(photo_files()) == len(PHOTOS)\n"
        "assert not {'sklearn', 'skimage'} & set(sys.modules), sorted(sys.modules)\n"
        "try:\n"
        "    photo_path('no_such_package.data', 'x.png')\n"
        "except FileNotFoundError as err:\n"
        "    assert 'no_such_package' in str(err), err\n"
        "else:\n"
        "    raise AssertionError('no error')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
