"""CKA's invariances as the study checks them on its own activations (ckaflow.stages.invariance)."""

from __future__ import annotations

import numpy as np
import pytest

from ckaflow.similarity import Estimator
from ckaflow.stages.invariance import INVARIANT, TRANSFORMS, invariance_summary, invariance_table

ESTIMATORS = [Estimator(debiased=False), Estimator(), Estimator(kernel="rbf", debiased=False)]


def relu_layers(seed=0):
    rng = np.random.default_rng(seed)
    return {
        "conv1": np.maximum(rng.normal(size=(40, 4, 6, 5)) + 0.2, 0).astype(np.float32),
        "pool1": np.maximum(rng.normal(size=(40, 4, 3, 2)), 0).astype(np.float32),
    }


def test_invariant_transforms_keep_cka_and_anisotropic_scaling_changes_it():
    table = invariance_table(relu_layers(), model="synth-1", test_set="synth",
                             estimators=ESTIMATORS, seed=3)  # fmt: skip
    assert len(table) == 2 * len(ESTIMATORS) * len(TRANSFORMS)
    assert table["holds"].all(), table[~table["holds"]]
    kept = table[table["transform"].isin(INVARIANT)]
    assert (1.0 - kept["cka"]).abs().max() <= 1e-6
    changed = table[table["transform"] == "anisotropic scaling"]
    assert (changed["cka"] < 0.99).all()  # not a rounding effect: a real change
    summary = invariance_summary(table)
    assert len(summary) == len(ESTIMATORS) * len(TRANSFORMS) and summary["holds"].all()


def test_the_transforms_are_what_they_claim():
    from ckaflow.stages.invariance import transforms

    x = np.random.default_rng(1).normal(size=(10, 7))
    t = transforms(x, np.random.default_rng(2))
    assert np.allclose(np.sort(t["permute units"], axis=1), np.sort(x, axis=1))
    # a rotation: inner products between examples are unchanged, and every unit moved
    assert np.allclose(t["orthogonal rotation"] @ t["orthogonal rotation"].T, x @ x.T)
    assert not np.isclose(t["orthogonal rotation"], x).any(axis=0).all()
    d = t["anisotropic scaling"] / x
    assert np.allclose(d, d[0]) and 0.1 <= d.min() and d.max() <= 10 and d.std() > 0.5


def test_global_centring_is_refused_naming_it():
    with pytest.raises(ValueError, match="linear-biased-global"):
        invariance_table(relu_layers(), model="m", test_set="synth",
                         estimators=[Estimator(debiased=False, centering="global")])  # fmt: skip
