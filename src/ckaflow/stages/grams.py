"""The Gram stage of the workflow: one file of packed centred Gram matrices per model.

:func:`write_grams` (one job per model: final weights or a saved checkpoint): for each test set,
the packed centred Gram of every group, per estimator, in one ``.npz``. Final models keep every
filter, layer and the model group; checkpoints keep layers and the model (the figures compare
checkpoints per layer). A layer without channels (dense: (n, units)) is a layer group only.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..io import atomic_path, read_npz_array, reading
from ..names import is_final
from ..similarity import Estimator, is_filter, packed_instance
from ..similarity.arrays import release, to_numpy
from .activations import load_layers

log = logging.getLogger(__name__)


def gram_key(test_set: str, estimator: Estimator) -> str:
    return f"{test_set}__{estimator.name}"


def write_grams(
    activation_root: str | Path,
    model: str,
    test_sets: Sequence[str],
    estimators: Sequence[Estimator],
    out_path: str | Path,
    xp=None,
) -> None:
    """Packed centred Grams of every kept group of ``model`` on each test set, per estimator,
    in one ``.npz``: ``groups`` (names), ``n``, ``{test_set}__{estimator}`` (g, n(n+1)/2).
    Computed in the array namespace ``xp`` (default NumPy; CuPy's: on the GPU, each block of
    channels moved there as it is read from the memory-mapped activations)."""
    final = is_final(model)
    arrays, names, n = {}, None, None
    for test_set in test_sets:
        layers = load_layers(activation_root, model, test_set)
        n = next(iter(layers.values())).shape[0]
        names, packed = packed_instance(
            layers,
            estimators,
            keep=None if final else lambda g: not is_filter(g),
            channel_axis=1,
            name=f"{model}:{test_set}",
            xp=xp,
        )
        del layers
        arrays.update({gram_key(test_set, e): to_numpy(a) for e, a in packed.items()})
        del packed
        release(xp)  # a GPU's cached memory back to the card, for a TensorFlow job beside us
        log.info("grams of %s on %s: %d groups, n = %d", model, test_set, len(names), n)
    arrays.update(groups=np.array(names), n=np.array(n))
    with atomic_path(out_path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)


def read_grams(path: str | Path, key: str) -> tuple[list[str], int, np.ndarray]:
    """(groups, n, packed Grams of ``key``) from a Gram file. Each array of an ``.npz`` carries
    the zip format's CRC-32, checked as it is read: a changed or truncated file is a
    :class:`~ckaflow.io.CorruptFileError` naming it (no second pass to hash it)."""
    with reading(path, "Gram file"):
        groups, n, packed = (read_npz_array(path, k) for k in ("groups", "n", key))
    return [str(g) for g in groups], int(n), packed
