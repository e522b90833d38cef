"""Train / validation / test splits: seeded, disjoint, the same for every model.

``val_fraction`` of the images are held out for validation, then ``test_images`` of those move
to the fixed test set that every activation and CKA value is computed on. Labelled images are
split class by class (each class in every split in proportion), so that a small test set still
holds every class; a class too small for that is an error that says so.
"""

from __future__ import annotations

import numpy as np

_SPLIT_STREAM = 3


def split_sizes(n: int, val_fraction: float, test_images: int) -> dict[str, int]:
    """Sizes of train, val and test for ``n`` images; ``ValueError`` if they do not fit."""
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must lie in (0, 1), got {val_fraction}")
    n_val_all = int(round(n * val_fraction))
    if test_images < 1:
        raise ValueError(f"test_images must be >= 1, got {test_images}")
    if test_images >= n_val_all:
        # the smallest fraction whose held-out part keeps one validation image beside the test
        need = (test_images + 1) / n
        fix = [f"test_images {test_images} -> at most {n_val_all - 1}"] if n_val_all > 1 else []
        if need < 1:
            fix.append(f"val_fraction {val_fraction} -> at least {np.ceil(need * 1000) / 1000:g}")
        fix.append(f"more images (at least {int(np.ceil((test_images + 1) / val_fraction))})")
        raise ValueError(
            f"test_images={test_images} do not fit: the test images come out of the held-out "
            f"part, images={n} x val_fraction={val_fraction} = {n_val_all} images, which must "
            f"also keep one validation image; change one of: {'; '.join(fix)}"
        )
    return {"train": n - n_val_all, "val": n_val_all - test_images, "test": test_images}


def split_indices(
    n: int, val_fraction: float, test_images: int, seed: int, labels: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Seeded disjoint index sets train, val, test (each sorted) of the sizes of
    :func:`split_sizes`; with ``labels`` (n,), class by class (:func:`stratified_indices`)."""
    sizes = split_sizes(n, val_fraction, test_images)
    if labels is not None:
        return stratified_indices(labels, sizes, seed)
    perm = np.random.default_rng([seed, _SPLIT_STREAM]).permutation(n)
    n_train, n_val = sizes["train"], sizes["val"]
    return {
        "train": np.sort(perm[:n_train]),
        "val": np.sort(perm[n_train : n_train + n_val]),
        "test": np.sort(perm[n_train + n_val :]),
    }


def stratified_indices(
    labels: np.ndarray, sizes: dict[str, int], seed: int
) -> dict[str, np.ndarray]:
    """Index sets of ``sizes`` with each class's share of every split proportional to its size
    (largest remainders); ``ValueError`` naming a class left out of a split."""
    classes, counts = np.unique(labels, return_counts=True)
    test = _apportion(counts, sizes["test"])
    val = _apportion(counts - test, sizes["val"])
    out = {"train": [], "val": [], "test": []}
    for c, k_test, k_val in zip(classes, test, val, strict=True):
        members = np.flatnonzero(labels == c)
        perm = members[
            np.random.default_rng([seed, _SPLIT_STREAM, int(c)]).permutation(len(members))
        ]
        out["test"].append(perm[:k_test])
        out["val"].append(perm[k_test : k_test + k_val])
        out["train"].append(perm[k_test + k_val :])
    return {split: np.sort(np.concatenate(parts)) for split, parts in out.items()}


def spread_order(index: np.ndarray, labels: np.ndarray | None, seed: int) -> np.ndarray:
    """``index`` in a seeded order whose every prefix holds each class in proportion (or, with
    no labels, a seeded permutation): the first N images of a training split stored in this
    order are a fair sample of it (fine-tuning uses the first ``finetune.images``)."""
    rng = np.random.default_rng([seed, _SPLIT_STREAM, 1])
    if labels is None:
        return index[rng.permutation(len(index))]
    key = np.empty(len(index))
    y = labels[index]
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        rank = rng.permutation(len(members))
        key[members] = (rank + rng.random(len(members))) / len(members)
    return index[np.argsort(key, kind="stable")]


def missing_classes(labels: np.ndarray, index: dict[str, np.ndarray], classes: int) -> list:
    """(split, class index) of every class with no image in a split."""
    return [
        (split, c)
        for split, idx in index.items()
        for c in range(classes)
        if not np.any(labels[idx] == c)
    ]


def _apportion(counts: np.ndarray, total: int) -> np.ndarray:
    """``total`` split over classes of ``counts`` in proportion (largest remainders)."""
    share = counts * total / max(int(counts.sum()), 1)
    out = np.floor(share).astype(int)
    order = np.argsort(-(share - out), kind="stable")
    out[order[: total - int(out.sum())]] += 1
    return np.minimum(out, counts)
