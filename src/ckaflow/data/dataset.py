"""Build, split, store and load the two image domains.

A dataset folder holds ``train.npy``, ``val.npy`` and ``test.npy`` (uint8, (n, 64, 80)) and
``dataset.json`` (source, seed, counts, content hashes, code and package versions). The same
config gives byte-identical files. Every later stage reads the splits from here, through
:func:`load_split`, which hands the model float32 values in [0, 1].
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..io import (
    REBUILD,
    CorruptFileError,
    check_sha256,
    code_version,
    package_versions,
    reading,
    save_json,
    save_npy,
    sha256_arrays,
)
from ..names import SPLITS, check_domain
from ..schema import schema_default
from .shapes import HEIGHT, WIDTH

# The image generators (fontTools, scikit-image, wordfreq) are imported where images are made:
# reading a split needs only numpy, so training, evaluation and the engine's environments do not
# install them.

log = logging.getLogger(__name__)

NATURAL_SOURCES = ("standin", "svhn")
_DOMAIN_STREAM = {"natural": 1, "synth": 2}  # one random stream per domain, same seed
_SPLIT_STREAM = 3
_PROGRESS_EVERY = 500


@dataclass
class Dataset:
    """Images of one domain, already split, with their provenance."""

    splits: dict[str, np.ndarray]  # split -> (n_split, 64, 80) uint8
    provenance: dict = field(default_factory=dict)


def build_domain(
    domain: str,
    *,
    images: int,
    seed: int,
    val_fraction: float = schema_default("val_fraction"),
    test_images: int = schema_default("test_images"),
    source: str = schema_default("natural.source"),
    svhn_path: str | None = None,
    font_size: tuple[int, int] = schema_default("synth.font_size"),
    fonts: str | None = None,
    photos: str | None = None,
) -> Dataset:
    """Make ``images`` images of ``domain`` and split them 80/20, then ``test_images`` of the
    validation images into the test set.

    ``source`` applies to the natural domain only: ``standin`` (offline, generated) or ``svhn``
    (``svhn_path`` is SVHN format 1: the tar.gz or its unpacked folder). ``fonts`` (synth) and
    ``photos`` (stand-in) are folders to draw from instead of what installed packages ship.
    """
    check_domain(domain)
    if images < 1:
        raise ValueError(f"images must be >= 1, got {images}")
    counts = split_sizes(images, val_fraction, test_images)  # validates before the long work
    made = dict(font_size=font_size, fonts=fonts, photos=photos, svhn_path=svhn_path)
    source, pixels, extra = _make_images(domain, source, images, seed, **made)

    index = split_indices(images, val_fraction, test_images, seed)
    splits = {name: pixels[idx] for name, idx in index.items()}
    assert {k: len(v) for k, v in splits.items()} == counts, "split sizes disagree"
    hashes = {name: sha256_arrays(a) for name, a in splits.items()}
    provenance = {
        "domain": domain,
        "source": source,
        "seed": seed,
        "images": images,
        "val_fraction": val_fraction,
        "test_images": test_images,
        "counts": counts,
        "shape": [HEIGHT, WIDTH],
        "dtype": "uint8 (load_split gives float32 in [0, 1])",
        "sha256": hashes,
        "dataset_id": sha256_arrays(*(splits[s] for s in SPLITS))[:16],
        "code": code_version(),
        "packages": package_versions(),
        **extra,
    }
    if domain == "synth":
        provenance["font_size"] = list(font_size)
    return Dataset(splits, provenance)


def _make_images(domain, source, images, seed, *, font_size, fonts, photos, svhn_path):
    """(source, pixels (images, 64, 80) uint8, what the provenance adds) of one domain."""
    from .standin import photo_files, render_house_number
    from .synth import render_page, synth_fonts

    if domain == "synth":
        pixels = _generate(images, seed, "synth", lambda rng: render_page(rng, font_size, fonts))
        extra = {"fonts": fonts, "font_files": [p.name for p in synth_fonts(fonts)]}
        return "pillow-text", pixels, extra
    if source == "standin":
        pixels = _generate(images, seed, "natural", lambda rng: render_house_number(rng, photos))
        extra = {"photos": photos, "photo_files": [p.name for p in photo_files(photos)]}
        return source, pixels, extra
    if source == "svhn":
        return (source, *_svhn_images(svhn_path, images, seed))
    raise ValueError(f"unknown natural source {source!r}; expected one of {NATURAL_SOURCES}")


def _svhn_images(svhn_path: str | None, images: int, seed: int) -> tuple[np.ndarray, dict]:
    """``images`` SVHN crops drawn (seeded) from ``svhn_path``, and what the scan found."""
    if not svhn_path:
        raise ValueError("natural.source is 'svhn' but natural.svhn_path is not set")
    from .svhn import load_svhn

    scan = load_svhn(svhn_path)
    if len(scan.images) < images:
        raise ValueError(
            f"SVHN path {svhn_path!r} has {len(scan.images)} usable images "
            f"(of {scan.seen}); images_per_domain asks for {images}"
        )
    rng = np.random.default_rng([seed, _DOMAIN_STREAM["natural"]])
    chosen = np.sort(rng.choice(len(scan.images), size=images, replace=False))
    return scan.images[chosen], {
        "svhn_path": str(svhn_path),
        "svhn_png_files": scan.seen,
        "svhn_usable": len(scan.images),
        "svhn_too_small": scan.too_small,
        "svhn_unreadable": len(scan.unreadable),
    }


def split_sizes(n: int, val_fraction: float, test_images: int) -> dict[str, int]:
    """Sizes of train, val and test for ``n`` images; ``ValueError`` if they do not fit."""
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must lie in (0, 1), got {val_fraction}")
    n_val_all = int(round(n * val_fraction))
    if test_images < 1 or test_images >= n_val_all:
        raise ValueError(
            f"test_images={test_images} must be >= 1 and leave at least one validation image: "
            f"images={n} x val_fraction={val_fraction} gives {n_val_all} validation images"
        )
    return {"train": n - n_val_all, "val": n_val_all - test_images, "test": test_images}


def split_indices(
    n: int, val_fraction: float, test_images: int, seed: int
) -> dict[str, np.ndarray]:
    """Seeded disjoint index sets: train (80%), val (20% less the test images), test."""
    sizes = split_sizes(n, val_fraction, test_images)
    perm = np.random.default_rng([seed, _SPLIT_STREAM]).permutation(n)
    n_train, n_val = sizes["train"], sizes["val"]
    return {
        "train": np.sort(perm[:n_train]),
        "val": np.sort(perm[n_train : n_train + n_val]),
        "test": np.sort(perm[n_train + n_val :]),
    }


def write_dataset(out_dir: str | Path, dataset: Dataset) -> None:
    """Write the splits (atomically, each) and then ``dataset.json``."""
    out_dir = Path(out_dir)
    for name in SPLITS:
        save_npy(out_dir / f"{name}.npy", dataset.splits[name])
    save_json(out_dir / "dataset.json", dataset.provenance)


def load_split(dataset_dir: str | Path, split: str) -> np.ndarray:
    """Images of one split as float32 in [0, 1], shaped (n, 64, 80, 1) for the model.

    The bytes read must hash to the SHA-256 that ``dataset.json`` recorded when the dataset was
    made (so what a table's provenance copies from it is what was read); a changed, truncated or
    unreadable file raises :class:`~ckaflow.io.CorruptFileError` naming it.
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    path = Path(dataset_dir) / f"{split}.npy"
    recorded = read_provenance(dataset_dir).get("sha256", {}).get(split)
    with reading(path, "dataset split"):
        raw = np.load(path, allow_pickle=False)
    if raw.dtype != np.uint8 or raw.shape[1:] != (HEIGHT, WIDTH):
        raise CorruptFileError(
            f"{path}: expected uint8 (n, {HEIGHT}, {WIDTH}), got {raw.dtype} {raw.shape}; {REBUILD}"
        )
    check_sha256(
        path, "dataset split", sha256_arrays(raw), recorded, Path(dataset_dir) / "dataset.json"
    )
    return (np.asarray(raw, dtype=np.float32) / np.float32(255.0))[..., None]


def read_provenance(dataset_dir: str | Path) -> dict:
    """The ``dataset.json`` of a dataset folder."""
    path = Path(dataset_dir) / "dataset.json"
    with reading(path, "dataset record"):
        return json.loads(path.read_text())


def _generate(n: int, seed: int, domain: str, render) -> np.ndarray:
    """``n`` images from ``render(rng)``, image i drawn from its own stream (seed, domain, i)."""
    out = np.empty((n, HEIGHT, WIDTH), dtype=np.uint8)
    for i in range(n):
        out[i] = render(np.random.default_rng([seed, _DOMAIN_STREAM[domain], i]))
        if (i + 1) % _PROGRESS_EVERY == 0 or i + 1 == n:
            log.info("%s: %d/%d images", domain, i + 1, n)
    return out
