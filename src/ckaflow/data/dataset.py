"""Build, split, store and load one domain's images.

A dataset folder holds ``train.npy``, ``val.npy`` and ``test.npy`` (uint8, (n, height, width,
channels)), with ``{split}_labels.npy`` (int64, (n,)) for labelled images, and ``dataset.json``
(source, seed, counts, classes, conversions, content hashes, code and package versions). The
same config gives byte-identical files. Every later stage reads the splits from here, through
:func:`load_split`, which hands the model float32 values in [0, 1].
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..io import (
    REBUILD,
    CorruptFileError,
    check_sha256,
    code_version,
    package_versions,
    read_json,
    reading,
    save_json,
    save_npy,
    sha256_arrays,
)
from ..names import SPLITS
from ..schema import schema_default
from .images import THESIS_IMAGE, ImageSpec
from .sources import SOURCES, make_images
from .splits import missing_classes, split_indices, split_sizes, spread_order

log = logging.getLogger(__name__)


@dataclass
class Dataset:
    """Images of one domain, already split, with their labels and provenance."""

    splits: dict[str, np.ndarray]  # split -> (n_split, height, width, channels) uint8
    provenance: dict = field(default_factory=dict)
    labels: dict[str, np.ndarray] | None = None  # split -> (n_split,) int64


def build_domain(
    domain: str,
    entry: Mapping,
    *,
    images: int | None,
    seed: int,
    image: ImageSpec = THESIS_IMAGE,
    val_fraction: float = schema_default("val_fraction"),
    test_images: int = schema_default("test_images"),
    classify: bool = False,
) -> Dataset:
    """The images of ``domain`` (its config ``entry``: source and the source's keys), split:
    ``val_fraction`` for validation, ``test_images`` of those to the test set. With ``classify``
    the images carry class labels and every class must reach every split."""
    where = f"domains.{domain}"
    if images is not None:
        split_sizes(images, val_fraction, test_images)  # validates before the long work
    raw = make_images(entry, images, seed, image, classify, where)
    n = len(raw.pixels)
    if classify and raw.labels is None:
        raise ValueError(f"{where}: task is classify but source {entry['source']!r} has no labels")
    labels = raw.labels if classify else None
    index = split_indices(n, val_fraction, test_images, seed, labels)
    if labels is not None:
        _check_classes(labels, index, raw.classes, where)
    if SOURCES[entry["source"]].ordered:
        index["train"] = spread_order(index["train"], labels, seed)
    splits = {name: raw.pixels[idx] for name, idx in index.items()}
    split_labels = None if labels is None else {s: labels[idx] for s, idx in index.items()}
    arrays = [splits[s] for s in SPLITS] + (
        [split_labels[s] for s in SPLITS] if labels is not None else []
    )
    provenance = {
        "domain": domain,
        "source": entry["source"],
        "seed": seed,
        "images": n,
        "val_fraction": val_fraction,
        "test_images": test_images,
        "counts": {s: len(idx) for s, idx in index.items()},
        "shape": list(image.shape),
        "image": {
            "height": image.height,
            "width": image.width,
            "channels": image.channels,
            "fit": image.fit,
        },
        "dtype": "uint8 (load_split gives float32 in [0, 1])",
        "classes": list(raw.classes) if labels is not None else None,
        "sha256": {name: sha256_arrays(a) for name, a in splits.items()},
        "labels_sha256": None
        if labels is None
        else {s: sha256_arrays(a) for s, a in split_labels.items()},
        "dataset_id": sha256_arrays(*arrays)[:16],
        "code": code_version(),
        "packages": package_versions(),
        **raw.extra,
    }
    return Dataset(splits, provenance, split_labels)


def _check_classes(labels, index, classes, where) -> None:
    missing = missing_classes(labels, index, len(classes))
    if missing:
        names = ", ".join(f"{classes[c]!r} in {split}" for split, c in missing[:10])
        raise ValueError(
            f"{where}: a class has no image in a split ({names}): every class must be in the "
            "train, val and test splits; give the domain more images of it or raise test_images "
            "and val_fraction"
        )


def write_dataset(out_dir: str | Path, dataset: Dataset) -> None:
    """Write the splits and labels (atomically, each) and then ``dataset.json``."""
    out_dir = Path(out_dir)
    for name in SPLITS:
        save_npy(out_dir / f"{name}.npy", dataset.splits[name])
        if dataset.labels is not None:
            save_npy(out_dir / f"{name}_labels.npy", dataset.labels[name])
    save_json(out_dir / "dataset.json", dataset.provenance)


def load_split(dataset_dir: str | Path, split: str) -> np.ndarray:
    """Images of one split as float32 in [0, 1], (n, height, width, channels), for the model.

    The bytes read must hash to the SHA-256 that ``dataset.json`` recorded when the dataset was
    made (so what a table's provenance copies from it is what was read); a changed, truncated or
    unreadable file raises :class:`~ckaflow.io.CorruptFileError` naming it.
    """
    raw = _read_checked(dataset_dir, split, "")
    return np.asarray(raw, dtype=np.float32) / np.float32(255.0)


def load_labels(dataset_dir: str | Path, split: str) -> np.ndarray:
    """The class index of each image of one split, (n,) int64 (checked like :func:`load_split`);
    ``ValueError`` for a dataset without labels."""
    if read_provenance(dataset_dir).get("classes") is None:
        raise ValueError(f"{dataset_dir}: the dataset has no class labels (task is not classify)")
    return _read_checked(dataset_dir, split, "_labels")


def _read_checked(dataset_dir: str | Path, split: str, suffix: str) -> np.ndarray:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    prov = read_provenance(dataset_dir)
    path = Path(dataset_dir) / f"{split}{suffix}.npy"
    with reading(path, "dataset split"):
        raw = np.load(path, allow_pickle=False)
    shape = tuple(prov.get("shape", ()))
    expected = (np.int64, ()) if suffix else (np.uint8, shape)
    if raw.dtype != expected[0] or raw.shape[1:] != expected[1]:
        raise CorruptFileError(
            f"{path}: expected {np.dtype(expected[0])} (n, {', '.join(map(str, expected[1]))}), "
            f"got {raw.dtype} {raw.shape}; {REBUILD}"
        )
    hashes = prov.get("labels_sha256" if suffix else "sha256") or {}
    check_sha256(
        path,
        "dataset split",
        sha256_arrays(raw),
        hashes.get(split),
        Path(dataset_dir) / "dataset.json",
    )
    return raw


def read_provenance(dataset_dir: str | Path) -> dict:
    """The ``dataset.json`` of a dataset folder."""
    return read_json(Path(dataset_dir) / "dataset.json", "dataset record")


def dataset_classes(dataset_files) -> list[str]:
    """The class names the datasets (their ``dataset.json`` files) share; ``ValueError`` when
    they differ or have none."""
    found = {}
    for path in dataset_files:
        info = read_json(path, "dataset record")
        found[info["domain"]] = info.get("classes")
    distinct = {tuple(c) if c else None for c in found.values()}
    if len(distinct) != 1 or None in distinct:
        raise ValueError(f"the domains' classes differ (or some have none): {found}")
    return list(distinct.pop())
