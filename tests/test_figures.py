"""What a reader relies on in a figure's data: alike filters drawn side by side, dead ones named."""

import numpy as np
import pytest

from ckaflow.figures.filter_groups import filter_groups


def _two_groups(rng, dead=()):
    """Six filters' CKA: {0, 2, 4} alike (0.95), {1, 3, 5} alike (0.9), 0.3 across."""
    group = np.arange(6) % 2
    cka = np.where(group[:, None] == group[None, :], np.where(group[:, None] == 0, 0.95, 0.9), 0.3)
    np.fill_diagonal(cka, 1.0)
    for d in dead:
        cka[d, :] = cka[:, d] = np.nan
    return cka, rng.normal(size=(3, 3, 6))


def test_filter_groups_puts_alike_filters_side_by_side_and_joins_them_at_their_cka():
    cka, kernels = _two_groups(np.random.default_rng(0))
    plot = filter_groups(cka, kernels, "t")
    leaves = list(plot.layers[2]._data["label"])
    assert sorted(leaves) == [f"f{i:02d}" for i in range(6)]
    sides = [set(leaves[:3]), set(leaves[3:])]
    assert {"f00", "f02", "f04"} in sides and {"f01", "f03", "f05"} in sides
    joins = np.round(sorted(set(plot.layers[0]._data["cka"]) - {1.0}), 6)
    assert list(joins) == [0.3, 0.9, 0.95]  # average linkage: the mean CKA across groups


def test_filter_groups_leaves_dead_filters_out_and_names_them():
    cka, kernels = _two_groups(np.random.default_rng(1), dead=(3,))
    plot = filter_groups(cka, kernels, "t")
    assert "f03" not in set(plot.layers[2]._data["label"])
    assert "dead (constant) filters, not drawn: f03" in plot.labels.subtitle
    with pytest.raises(ValueError, match="6 filters in the CKA matrix but 5 kernels"):
        filter_groups(cka, kernels[..., :5], "t")


def test_filter_groups_names_many_leaves_upright_and_a_few_across():
    rng = np.random.default_rng(2)
    for f, angle in ((6, 0), (64, 90)):
        x = rng.normal(size=(f, f))
        cka = np.clip(np.abs(np.corrcoef(x)), 0, 1)
        text = filter_groups(cka, rng.normal(size=(3, 3, f)), "t").layers[2]
        assert text.geom.aes_params.get("angle", 0) == angle
