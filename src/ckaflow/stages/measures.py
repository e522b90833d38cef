"""The measures beside CKA between every recorded layer of two models (rule compute_measures).

For the layer-identification test (Kornblith et al. 2019, Table 2) the study compares every
layer of a model with every layer of another under each of ``similarity.measures``
(:data:`MEASURES`), on one test set of n images. The numbers are those of the library's
functions (:mod:`ckaflow.similarity`: ``cca``, ``svcca``, ``pwcca``, ``linreg``, ``procrustes``,
``rsa``), computed from each layer's reduced form (:class:`Reduced`), made once per model and
layer and reused for every pair: each layer is read from its ``.npy`` memory map alone (n x p
float32, and the engine's float64 working copies of it), reduced, and dropped; the job keeps
only the reduced forms, each (n, at most n) or n (n - 1) / 2 values (RSA's ranks).

Every one of these measures needs the whole test set at once: the CCA family, linear regression
and Procrustes take the SVD of each whole (n, p) layer, RSA ranks all n (n - 1) / 2 pairs of
examples. There is no minibatch form.

Where a measure is undefined, this says so, never a silent number:

* CCA, SVCCA, PWCCA and linear regression are invariant to invertible linear maps, so a layer
  whose centred units span all n - 1 dimensions (most convolutional layers at a few hundred
  test images) makes every canonical correlation, and every fit, 1. Each layer therefore enters
  them with at most k = (n - 1) // 2 directions (:func:`cca_directions`): a layer with more
  varying units than k is represented by its top k principal directions (its principal
  component scores U_k S_k of the centred units; PWCCA then weights by those components, not
  by its units), so that no pair has correlations forced to 1 (r_a + r_b <= n - 1). SVCCA keeps
  the fewest directions that explain 99% of the variance (Raghu et al.), at most k. Linear
  regression's predictor side is capped the same way (its response side is the whole layer).
  Layers of at most k varying units are used whole: the library's numbers.
* A layer that does not vary over the test images (a dead layer): NaN under every measure.
* RSA: a layer with fewer than two units, an example with one value in every unit, or a
  constant RDM: NaN (the library's reasons).

Each such case is one log line per measure and layer, over the models it holds for.

Asymmetric measures are stored in both orders. The row (a_model=a, a_group=L, b_model=b,
b_group=M) holds, as Kornblith et al.'s s(X, Y) with X = a:L and Y = b:M: for ``pwcca``,
``pwcca(a:L, b:M)`` (the correlations weighted by a's layer); for ``linreg``, the R^2 of the
least-squares fit of a:L from b:M, ``linreg(b:M, a:L)`` in the library's order (Kornblith et
al.'s R^2_LR = ||Q_Y' X||^2 / ||X||^2: fit every feature of X from Y). Procrustes is a distance
d = 2 - 2 ||X'Y||_*; the table holds the similarity ||X'Y||_* = 1 - d / 2 (1: the same
representation up to rotation and scale). Higher is more similar under every measure.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..similarity.cca import _directions
from ..similarity.representations import UndefinedMeasureWarning, _representation
from ..similarity.rsa import MIN_UNITS, _rdm_upper
from .activations import load_layers

log = logging.getLogger(__name__)

MEASURES = ("cca-r2", "cca-rho", "svcca-r2", "svcca-rho", "pwcca", "linreg", "procrustes", "rsa")
ASYMMETRIC = ("pwcca", "linreg")  # stored in both orders
# the measures a wide layer enters as at most k principal directions
CAPPED_AT_K = ("cca-r2", "cca-rho", "svcca-r2", "svcca-rho", "pwcca", "linreg")
SVCCA_KEEP = 0.99  # Raghu et al.'s share of the variance, as Kornblith et al. used it
# The long form of the identification test (findings.identification.LONG) and n, the images.
COLUMNS = ["measure", "test_set", "a_model", "a_group", "b_model", "b_group", "value", "n"]
_DEAD = "it does not vary over the examples (every unit constant): NaN under every measure"


def cca_directions(n: int) -> int:
    """k = (n - 1) // 2: the most directions a layer enters the CCA family with, so that two
    layers never span more than the n - 1 dimensions of n centred examples together."""
    return (n - 1) // 2


@dataclass
class Reduced:
    """One layer of one model on a test set of ``n`` images, as every measure reads it.

    ``basis`` (n, r <= k): an orthonormal basis of its (capped) span, the CCA family's and the
    linear-regression predictor's; ``units`` (n, p'): what PWCCA weights by (its varying centred
    units, or its principal component scores when capped); ``svcca`` (n, d <= k): its top
    directions explaining 99% of the variance; ``factor`` (n, r): U s / ||s|| of the centred
    layer (X = factor V', ||X||_F = 1), Procrustes' and linear regression's response side;
    ``ranks`` (n (n - 1) / 2,): its RDM's ranks, centred and of norm 1 (RSA). None: undefined.
    ``notes``: {measures: what was reduced or undefined}."""

    n: int
    basis: np.ndarray | None = None
    units: np.ndarray | None = None
    svcca: np.ndarray | None = None
    factor: np.ndarray | None = None
    ranks: np.ndarray | None = None
    notes: dict[str, str] = field(default_factory=dict)


def reduce_layer(name: str, values) -> Reduced:
    """The :class:`Reduced` form of one layer, ``values`` (n, ...) (read into memory here)."""
    rep = _representation("measures", name, np.asarray(values))  # (n, p) float64, scaled
    n, k = rep.n, cca_directions(rep.n)
    out = Reduced(n)
    out.ranks = _rsa_ranks(rep, out.notes)
    xc, constant = rep.centred()
    u, s = rep.basis(equilibrate=False)  # (n, r), (r,): its principal directions
    if s.size == 0:
        out.notes[", ".join(m for m in MEASURES if m != "rsa")] = _DEAD
        return out
    out.factor = u * (s / np.linalg.norm(s))
    varying = xc.shape[1] - int(constant.sum())
    if varying <= k:
        out.basis, out.units = rep.basis(equilibrate=True)[0], xc[:, ~constant]
    else:
        d = min(k, s.size)
        out.basis, out.units = u[:, :d], u[:, :d] * s[:d]
        out.notes["cca-r2, cca-rho, pwcca, linreg"] = (
            f"more varying units than k = (n - 1) // 2 = {k} (n = {n}): reduced to its top {d} "
            "principal directions"
        )
    d = _directions(s, SVCCA_KEEP)
    if d > k:
        out.notes["svcca-r2, svcca-rho"] = (
            f"99% of its variance needs more than k = (n - 1) // 2 = {k} directions (n = {n}): "
            "capped at k"
        )
    out.svcca = u[:, : min(d, k)]
    return out


def _rsa_ranks(rep, notes: dict[str, str]) -> np.ndarray | None:
    """RSA's form of a layer: the ranks of its RDM's upper triangle, centred, of norm 1 (the
    Spearman correlation of two layers is then their dot product); None when undefined."""
    if rep.values.shape[1] < MIN_UNITS:
        notes["rsa"] = f"{rep.values.shape[1]} unit: an RDM needs >= {MIN_UNITS}; NaN"
        return None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UndefinedMeasureWarning)
        upper = _rdm_upper(rep)  # (n (n - 1) / 2,), or None after a warning saying why
    if upper is None:
        notes["rsa"] = str(caught[-1].message) if caught else "undefined; NaN"
        return None
    from scipy.stats import rankdata  # here: seconds to import, and only RSA ranks

    r = rankdata(upper)
    r -= r.mean()
    return r / np.linalg.norm(r)


def pair_values(x: Reduced, y: Reduced, measures: Iterable[str]) -> dict[str, tuple[float, float]]:
    """{measure: (s(x, y), s(y, x))} of two reduced layers (equal for a symmetric measure);
    NaN where either layer's form is undefined. R^2 statistics are Frobenius norms of Q_x'Q_y
    (sum rho_i^2), the others' singular values come from the smaller Gram of that product;
    only PWCCA, which needs the canonical variates, takes a full SVD."""
    wanted, nan = set(measures), (math.nan, math.nan)
    out = dict.fromkeys(wanted, nan)
    if x.basis is not None and y.basis is not None:
        g, m = x.basis.T @ y.basis, min(x.basis.shape[1], y.basis.shape[1])  # (r1, r2)
        out["cca-r2"] = (min(float(np.sum(g * g)) / m, 1.0),) * 2
        if "pwcca" in wanted:
            u, rho, vt = np.linalg.svd(g, full_matrices=False)
            rho = np.clip(rho, 0.0, 1.0)  # cosines of principal angles: rounding can pass 1
            out["pwcca"] = (_pwcca(x.basis @ u, x.units, rho), _pwcca(y.basis @ vt.T, y.units, rho))
        if "cca-rho" in wanted:
            out["cca-rho"] = (float(np.mean(np.minimum(_singular(g), 1.0))),) * 2
        g, m = x.svcca.T @ y.svcca, min(x.svcca.shape[1], y.svcca.shape[1])
        out["svcca-r2"] = (min(float(np.sum(g * g)) / m, 1.0),) * 2
        if "svcca-rho" in wanted:
            out["svcca-rho"] = (float(np.mean(np.minimum(_singular(g), 1.0))),) * 2
        # the fit of x from y, and of y from x: a projection keeps at most all of ||F||^2 = 1
        out["linreg"] = (min(float(np.sum((y.basis.T @ x.factor) ** 2)), 1.0),
                         min(float(np.sum((x.basis.T @ y.factor) ** 2)), 1.0))  # fmt: skip
    if x.factor is not None and y.factor is not None and "procrustes" in wanted:
        nuclear = float(np.sum(_singular(x.factor.T @ y.factor)))
        out["procrustes"] = (min(nuclear, 1.0),) * 2  # ||X'Y||_* <= 1; rounding can pass it
    if x.ranks is not None and y.ranks is not None:
        out["rsa"] = (float(x.ranks @ y.ranks),) * 2
    return {m: out[m] for m in measures}


def _singular(g: np.ndarray) -> np.ndarray:
    """The singular values of g (r1, r2), from the eigenvalues of its smaller Gram (faster than
    an SVD at these sizes; accurate to about 1e-8 of the largest, far below what is stored)."""
    gram = g.T @ g if g.shape[1] <= g.shape[0] else g @ g.T
    return np.sqrt(np.clip(np.linalg.eigvalsh(gram), 0.0, None))


def _pwcca(h: np.ndarray, units: np.ndarray, rho: np.ndarray) -> float:
    """Morcos et al.'s weighted mean of ``rho`` (m,): h (n, m) the canonical variates of a
    side, ``units`` (n, p) what they are weighed against."""
    alpha = np.sum(np.abs(h.T @ units), axis=1)  # (m,)
    return float(alpha @ rho / alpha.sum())


def reduce_model(folder, model: str, test_set: str) -> dict[str, Reduced]:
    """Every recorded layer of ``model`` on ``test_set`` (its activation ``folder``), reduced
    one layer at a time, in network order."""
    return {layer: reduce_layer(f"{model}:{layer}", a)
            for layer, a in load_layers(folder, model, test_set).items()}  # fmt: skip


def measure_table(
    folders: Mapping[str, str],
    pairs: Sequence[tuple[str, str]],
    test_set: str,
    measures: Sequence[str],
) -> pd.DataFrame:
    """Every layer of a against every layer of b for each (a, b) of ``pairs`` (models) under
    each of ``measures`` on ``test_set``, in long form (:data:`COLUMNS`): a symmetric measure
    once, as (a, b); an asymmetric one also as (b, a). ``folders``: {model: the activation
    folder holding it}. Each model is reduced once, whatever the pairs it is in."""
    unknown = [m for m in measures if m not in MEASURES]
    if unknown:
        raise ValueError(f"unknown measures {unknown}; expected some of {list(MEASURES)}")
    models = list(dict.fromkeys(m for pair in pairs for m in pair))
    reduced = {m: reduce_model(folders[m], m, test_set) for m in models}
    log_notes(reduced, test_set, measures)
    rows = []
    for a, b in pairs:
        for (la, x), (lb, y) in ((p, q) for p in reduced[a].items() for q in reduced[b].items()):
            for measure, (ab, ba) in pair_values(x, y, measures).items():
                rows.append((measure, a, la, b, lb, ab))
                if measure in ASYMMETRIC:
                    rows.append((measure, b, lb, a, la, ba))
    table = pd.DataFrame(rows, columns=["measure", "a_model", "a_group", "b_model", "b_group",
                                        "value"])  # fmt: skip
    n = next((r.n for layers in reduced.values() for r in layers.values()), 0)
    return table.assign(test_set=test_set, n=n)[COLUMNS]


def log_notes(
    reduced: Mapping[str, Mapping[str, Reduced]], test_set: str, measures: Sequence[str]
) -> None:
    """One line per measure and layer whose form was reduced or is undefined (of ``measures``),
    counting the models it holds for (not one warning per pair)."""
    seen: dict[tuple[str, str, str], list[str]] = {}
    for model, layers in reduced.items():
        for layer, r in layers.items():
            for about, text in r.notes.items():
                if named := ", ".join(m for m in about.split(", ") if m in measures):
                    key = (layer, named, text.replace(f"{model}:", ""))
                    seen.setdefault(key, []).append(model)
    for (layer, measures, text), models in seen.items():
        log.info("%s, layer %s (%d of %d models, e.g. %s): %s: %s", test_set, layer,
                 len(models), len(reduced), models[0], measures, text)  # fmt: skip


def reduction_note(measures: Iterable[str]) -> list[str]:
    """The findings' sentences on how the measures beside CKA met wide and dead layers and which
    way an asymmetric one reads (none when no such measure was computed)."""
    found = set(measures) & set(MEASURES)
    parts = []
    if found & set(CAPPED_AT_K):
        parts.append(
            "CCA, SVCCA, PWCCA and linear regression are invariant to invertible linear maps: a "
            "layer whose units span all n - 1 dimensions of n test images makes every correlation "
            "and every fit 1. Each layer therefore enters them with at most k = (n - 1) // 2 "
            "directions: one with more varying units is represented by its top k principal "
            "directions (SVCCA: those of 99% of the variance, at most k); the log of "
            "compute_measures names each layer reduced."
        )
    if "linreg" in found:
        parts.append("linreg's row for a layer of seed a is the fit of it from seed b's layer.")
    if "procrustes" in found:
        parts.append("Procrustes is shown as the similarity 1 - d/2 (d its distance).")
    if found:
        parts.append("A layer where a measure is undefined (a dead layer) is left out (NaN).")
    return ["", " ".join(parts)] if parts else []
