"""The Gram stage of the workflow: one file of packed centred Gram matrices per model.

:func:`write_grams` (one job per model: final weights or a saved checkpoint): for each test set,
the packed centred Gram of every group, per estimator, in one ``.npz``. Every model keeps its
layer groups and the model group; its filter groups only in the layers whose filters the study
compares for it (``similarity.filters``: :class:`~ckaflow.study.comparisons.FilterScope`). A
layer without channels (dense: (n, units)) is a layer group only.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Collection, Sequence
from pathlib import Path

import numpy as np

from ..io import reading
from ..names import is_final
from ..npz import npz_writer, read_npz_array
from ..similarity import Estimator, batch_bounds, is_filter, packed_instance, parse_group
from ..similarity.arrays import release, to_numpy
from .activations import load_layers

log = logging.getLogger(__name__)


def gram_key(test_set: str, estimator: Estimator, batch: int | None = None) -> str:
    """The key of a test set's and estimator's packed Grams in a Gram file: of all its images,
    or (``batch``) of one minibatch of them."""
    key = f"{test_set}__{estimator.name}"
    return key if batch is None else f"{key}__b{batch}"


def batch_keys(test_set: str, estimator: Estimator, bounds: Sequence[int]) -> list[str]:
    """The keys of a test set's and estimator's Grams, one per minibatch of ``bounds``."""
    if len(bounds) == 2:
        return [gram_key(test_set, estimator)]
    return [gram_key(test_set, estimator, j) for j in range(len(bounds) - 1)]


def read_batches(path: str | Path) -> list[int]:
    """The minibatch bounds a Gram file's Grams were made on (:func:`batch_bounds`)."""
    with reading(path, "Gram file"):
        n = int(read_npz_array(path, "n"))
        try:
            return [int(b) for b in read_npz_array(path, "batches")]
        except KeyError:  # written before minibatches: all n images at once
            return [0, n]


def write_grams(
    activation_root: str | Path,
    model: str,
    test_sets: Sequence[str],
    estimators: Sequence[Estimator],
    out_path: str | Path,
    xp=None,
    *,
    filter_layers: Collection[str] | None = None,
    batch_size: int | None = None,
) -> None:
    """Packed centred Grams of every kept group of ``model`` on each test set, per estimator,
    in one ``.npz``: ``groups`` (names), ``n``, ``{test_set}__{estimator}`` (g, n(n+1)/2).
    Kept: every layer group, the model group and the filter groups of ``filter_layers`` (None:
    every layer's filters for final weights, none for a checkpoint). With ``batch_size`` under
    the test set's size, one set of Grams per minibatch of consecutive images
    (``{test_set}__{estimator}__b{j}``, :func:`batch_keys`), and ``batches`` their bounds.
    Computed in the array namespace ``xp`` (default NumPy; CuPy's: on the GPU, each block of
    channels moved there as it is read from the memory-mapped activations)."""
    if filter_layers is None and not is_final(model):
        filter_layers = ()
    keep = None if filter_layers is None else _keeps(set(filter_layers))
    names, n, bounds = None, None, None
    with npz_writer(out_path) as add:  # one minibatch of one test set held at a time
        for test_set in test_sets:
            layers = load_layers(activation_root, model, test_set)
            n = next(iter(layers.values())).shape[0]
            bounds = batch_bounds(n, batch_size)
            for j, (b0, b1) in enumerate(itertools.pairwise(bounds)):
                if len(bounds) > 2:  # fresh maps: the pages read stay mapped only for one batch
                    layers = load_layers(activation_root, model, test_set)
                batch = layers if len(bounds) == 2 else {k: v[b0:b1] for k, v in layers.items()}
                names, packed = packed_instance(
                    batch,
                    estimators,
                    keep=keep,
                    channel_axis=1,
                    name=f"{model}:{test_set}",
                    xp=xp,
                )
                for e in list(packed):
                    key = gram_key(test_set, e, None if len(bounds) == 2 else j)
                    add(key, to_numpy(packed.pop(e)))
                del batch
                release(xp)  # a GPU's cached memory back to the card, for TensorFlow beside us
            del layers
            log.info("grams of %s on %s: %d groups, n = %d in %d minibatch(es)", model, test_set,
                     len(names), n, len(bounds) - 1)  # fmt: skip
        add("groups", np.array(names))
        add("n", np.array(n))
        add("batches", np.array(bounds))


def _keeps(filter_layers: set[str]):
    """A group filter: layers and the model always, filters of ``filter_layers`` only."""
    return lambda g: not is_filter(g) or parse_group(g).layer in filter_layers


def read_grams(path: str | Path, key: str) -> tuple[list[str], int, np.ndarray]:
    """(groups, n, packed Grams of ``key``) from a Gram file. Each array of an ``.npz`` carries
    the zip format's CRC-32, checked as it is read: a changed or truncated file is a
    :class:`~ckaflow.io.CorruptFileError` naming it (no second pass to hash it)."""
    with reading(path, "Gram file"):
        groups, n, packed = (read_npz_array(path, k) for k in ("groups", "n", key))
    return [str(g) for g in groups], int(n), packed
