"""CKA's invariances, checked on the study's own activations (not only on random data in tests).

Linear CKA with unit centring is invariant to orthogonal transformations and isotropic scaling of
the units (Kornblith et al. 2019, section 3), and so to permuting them; it is *not* invariant to
invertible linear maps in general (that is CCA's invariance, which Kornblith et al. argue against).
The source thesis (section 3.1) states that CKA is invariant to any invertible linear map: the
anisotropic scaling row measures by how much it is not. RBF CKA with the median bandwidth shares
the orthogonal, scaling and permutation invariances (distances scale, the median with them).

For each layer of a model on a test set, X (n, p) is compared with T(X) for each transform T:

* ``permute units``: the columns of X in a random order;
* ``isotropic scaling``: 3.7 X;
* ``orthogonal rotation``: X H1 H2, two Householder reflections H = I - 2 v v' with dense random
  unit v (a rotation mixing every unit into every other; exactly orthogonal, O(n p) to apply);
* ``anisotropic scaling``: X D, D diagonal with entries log-uniform in [0.1, 10] (invertible, not
  orthogonal): the map the thesis' claim covers and CKA is not invariant to.

The transforms are applied in float64 to the float32 activations; CKA is the engine's, at the
study's precision. At most the first :data:`IMAGES` test images are used: an invariance is a
property of each layer's geometry, not of the sample's size, and the job's time and memory
(five float64 copies of a layer) then stay bounded whatever ``test_images`` is.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..similarity import Estimator, cka_matrix

INVARIANT = ("permute units", "isotropic scaling", "orthogonal rotation")
NOT_INVARIANT = ("anisotropic scaling",)
TRANSFORMS = INVARIANT + NOT_INVARIANT
TOLERANCE = 1e-6  # |1 - CKA| an invariance holds to
IMAGES = 500  # the most test images the check uses (the presets use all of theirs)
COLUMNS = ["model", "test_set", "layer", "estimator", "transform", "cka", "invariant", "holds"]


def transforms(x: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Each transform of :data:`TRANSFORMS` applied to x (n, p), float64."""
    x = np.asarray(x, dtype=np.float64)
    p = x.shape[1]
    out = {"permute units": x[:, rng.permutation(p)], "isotropic scaling": 3.7 * x}
    rotated = x
    for _ in range(2):
        v = rng.standard_normal(p)
        v /= np.linalg.norm(v)
        rotated = rotated - 2.0 * np.outer(rotated @ v, v)
    out["orthogonal rotation"] = rotated
    out["anisotropic scaling"] = x * np.exp(rng.uniform(np.log(0.1), np.log(10.0), p))
    return out


def invariance_table(
    layers: Mapping[str, np.ndarray],
    *,
    model: str,
    test_set: str,
    estimators: list[Estimator],
    seed: int = 0,
) -> pd.DataFrame:
    """CKA(X, T(X)) of every layer (name -> (n, ...) activations) under every transform and
    unit-centred estimator: one row each, with whether the invariance holds (|1 - CKA| <=
    1e-6 for an invariant transform; CKA below 1 - 1e-6 for the others)."""
    global_ = [e.name for e in estimators if e.centering == "global"]
    if global_:
        raise ValueError(f"invariances are CKA's (unit centring), not of {global_}")
    rows = []
    for i, (layer, act) in enumerate(layers.items()):
        x = np.asarray(act[:IMAGES]).reshape(min(act.shape[0], IMAGES), -1)
        moved = transforms(x, np.random.default_rng([seed, i]))
        for e in estimators:
            values = cka_matrix({layer: x}, moved, **e.options())[0]
            for transform, value in zip(moved, values, strict=True):
                invariant = transform in INVARIANT
                holds = abs(1.0 - value) <= TOLERANCE if invariant else value < 1.0 - TOLERANCE
                holds = pd.NA if np.isnan(value) else bool(holds)  # a layer that does not vary
                rows.append((model, test_set, layer, e.name, transform, float(value), invariant,
                             holds))  # fmt: skip
    table = pd.DataFrame(rows, columns=COLUMNS)
    return table.astype({"holds": "boolean"})


def invariance_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per estimator and transform: the largest |1 - CKA| and the CKA range over layers and
    test sets where CKA is defined, whether every such row holds, and how many are undefined
    (layers that do not vary)."""
    t = table.assign(deviation=(1.0 - table["cka"]).abs(), undefined=table["cka"].isna())
    g = t.groupby(["estimator", "transform"], sort=False)
    return g.agg(
        invariant=("invariant", "first"),
        max_deviation=("deviation", "max"),
        cka_min=("cka", "min"),
        cka_max=("cka", "max"),
        holds=("holds", lambda h: bool(h.dropna().all())),
        undefined=("undefined", "sum"),
    ).reset_index()
