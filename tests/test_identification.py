"""Kornblith et al.'s layer-identification test (ckaflow.findings.identification): for each layer
of each seed, is the other seed's most similar layer the same one?"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from ckaflow.findings.identification import (
    cka_long,
    identification_section,
    identification_table,
    layer_hits,
    layers_in,
    matching_matrix,
    pair_accuracy,
)
from ckaflow.similarity import Estimator

LAYERS = ["conv1", "conv2", "conv3", "conv4"]
EST = Estimator(debiased=False)


def cka_rows(models, similarity, test_set="synth", estimator=EST):
    """The layer rows of a CKA table: one per ordered pair of models (a before b) and pair of
    layers, CKA from ``similarity(a, b, i, j)``."""
    rows = []
    for a, b in itertools.combinations(models, 2):
        for (i, x), (j, y) in itertools.product(enumerate(LAYERS), repeat=2):
            rows.append({"test_set": test_set, **estimator.columns(), "a_model": a,
                         "a_group": x, "b_model": b, "b_group": y,
                         "cka": similarity(a, b, i, j)})  # fmt: skip
    return pd.DataFrame(rows)


def diagonal(a, b, i, j):
    return 0.9 if i == j else 0.5 - 0.1 * abs(i - j)


def test_layers_matched_on_the_diagonal_are_all_identified():
    table = cka_rows(["synth-1", "synth-2", "synth-3"], diagonal)
    found = identification_table(cka_long(table), ["synth-1", "synth-2", "synth-3"], LAYERS)
    row = found.iloc[0]
    assert (row["accuracy"], row["seeds"], row["pairs"], row["layers"]) == (1.0, 3, 6, 4)
    assert row["chance"] == 0.25 and row["low"] == row["high"] == 1.0


def test_a_layer_whose_twin_is_elsewhere_is_a_miss_in_both_directions():
    """Seed 2's conv3 is most like seed 1's conv4: a's conv4 row and b's conv3 row (read from
    the pair's other order) both miss."""

    def swapped(a, b, i, j):
        if {a, b} == {"synth-1", "synth-2"} and {i, j} == {2, 3}:
            return 0.95
        return diagonal(a, b, i, j)

    table = cka_rows(["synth-1", "synth-2"], swapped)
    similar = cka_long(table)
    assert layer_hits(similar, "synth-1", "synth-2", LAYERS).tolist() == [1.0, 1.0, 0.0, 0.0]
    assert layer_hits(similar, "synth-2", "synth-1", LAYERS).tolist() == [1.0, 1.0, 0.0, 0.0]
    found = identification_table(cka_long(table), ["synth-1", "synth-2"], LAYERS)
    assert found["accuracy"].item() == 0.5
    assert np.isnan(found["low"].item())  # two seeds: no interval over seeds


def test_the_matching_matrix_reads_either_order_of_the_models():
    table = cka_rows(["synth-1", "synth-2"], lambda a, b, i, j: 10 * i + j)
    m = matching_matrix(cka_long(table), "synth-2", "synth-1", LAYERS)
    assert m[1, 3] == 31 and m[3, 1] == 13


def test_a_dead_layer_is_left_out_not_counted_a_miss():
    def dead_first(a, b, i, j):
        return np.nan if i == 0 else diagonal(a, b, i, j)

    table = cka_rows(["synth-1", "synth-2"], dead_first)
    hits = layer_hits(cka_long(table), "synth-1", "synth-2", LAYERS)
    assert np.isnan(hits[0]) and hits[1:].tolist() == [1.0, 1.0, 1.0]


def test_a_draw_of_networks_counts_each_pair_of_distinct_networks_drawn():
    """pair_accuracy against a slow reference: list the networks drawn, and average the hit of
    every ordered pair of draws that are two different networks."""
    rng = np.random.default_rng(7)
    k = 5
    hits = rng.random((k, k))
    hits[np.diag_indices(k)] = np.nan
    hits[3, 1] = np.nan  # a dead layer's pair
    counts = rng.multinomial(k, np.full(k, 1 / k), size=200)
    got = pair_accuracy(hits, counts)
    for c, value in zip(counts, got, strict=True):
        drawn = np.repeat(np.arange(k), c)
        pairs = [hits[p, q] for p in drawn for q in drawn if p != q and np.isfinite(hits[p, q])]
        want = np.mean(pairs) if pairs else np.nan
        np.testing.assert_allclose(value, want, rtol=1e-12)
    assert np.isnan(pair_accuracy(hits, np.array([[5, 0, 0, 0, 0]])))[0]


def test_every_estimator_test_set_and_domain_gets_its_row():
    models = ["synth-1", "synth-2", "synth-3", "natural-1"]
    table = pd.concat([cka_rows(models, diagonal, test_set=t, estimator=e)
                       for t in ("synth", "natural") for e in (EST, Estimator())])  # fmt: skip
    found = identification_table(cka_long(table), models, LAYERS)
    # natural has one seed: no row; synth on two test sets under two estimators
    assert sorted(found["domain"].unique()) == ["synth"] and len(found) == 4
    assert layers_in(table, ["conv4", "conv1", "fc"]) == ["conv4", "conv1"]


def test_the_finding_puts_trained_beside_initial_weights_with_chance():
    seeds = ["synth-1", "synth-2", "synth-3"]
    trained = cka_rows(seeds, diagonal)

    def flat(a, b, i, j):  # at initial weights the first layer looks most like every layer
        return 0.8 if j == 0 else 0.4

    init = cka_rows([f"{s}@init" for s in seeds], flat)
    found = identification_table(cka_long(pd.concat([trained, init])), seeds, LAYERS)
    assert found.set_index("weights")["accuracy"].to_dict() == {"final": 1.0, "init": 0.25}
    text = "\n".join(identification_section(found))
    assert "| linear-biased | synth | 100.0% | [100.0%, 100.0%] | 25.0% | 25.0% |" in text
    assert "6 ordered pairs of 3 seeds and 4 layers (chance 25.0%)" in text
    assert identification_section(found.iloc[:0]) == []


def test_a_measure_stored_in_both_orders_is_read_in_the_pair_s_own_order():
    """linreg is not symmetric: a's row against b is a's fit of b, not b's fit of a."""
    forward = cka_long(cka_rows(["synth-1", "synth-2"], lambda a, b, i, j: 10 * i + j))
    backward = forward.rename(columns={"a_model": "b_model", "b_model": "a_model",
                                       "a_group": "b_group", "b_group": "a_group"})  # fmt: skip
    both = pd.concat([forward, backward.assign(value=-backward["value"])])
    m = matching_matrix(both, "synth-2", "synth-1", LAYERS)
    assert m[1, 3] == -31 and matching_matrix(both, "synth-1", "synth-2", LAYERS)[1, 3] == 13


def test_the_figure_has_a_panel_per_domain_and_chance_drawn(tmp_path):
    from ckaflow.figures.common import save_figure
    from ckaflow.figures.identification import identification

    seeds = ["synth-1", "synth-2", "synth-3", "natural-1", "natural-2"]
    trained = pd.concat(
        [cka_rows(seeds, diagonal, test_set=t) for t in ("synth", "natural")], ignore_index=True
    )
    found = identification_table(cka_long(trained), seeds, LAYERS)
    plot = identification(found)
    panels = sorted(plot.data["panel"].unique())
    assert panels == ["natural (2 seeds, own test set)", "synth (3 seeds, own test set)"]
    save_figure(plot, tmp_path / "f.png", tmp_path / "f.pdf", width=9, height=4, provenance={})
    assert (tmp_path / "f.png").stat().st_size > 10_000


def test_the_finding_sets_the_paper_beside_and_says_whether_its_ranking_holds():
    seeds = ["synth-1", "synth-2", "synth-3"]

    def long(measure, similarity):
        t = cka_long(cka_rows(seeds, similarity))
        return t.assign(measure=measure)

    def misses(k):  # the last k layers' twins are the first layer
        return lambda a, b, i, j: (0.99 if j == 0 else 0.5) if i >= 4 - k else diagonal(a, b, i, j)

    similar = pd.concat([long("linear-biased", diagonal), long("linreg", misses(1)),
                         long("cca-r2", misses(2)), long("rsa", misses(3))])  # fmt: skip
    text = "\n".join(identification_section(identification_table(similar, seeds, LAYERS)))
    assert "| linear-biased | synth | 100.0% |" in text and "| 99.3% |" in text
    assert "| linreg | synth | 75.0% |" in text and "| 45.4% |" in text
    assert "| rsa | synth | 25.0% |" in text  # no paper row: an empty cell
    assert "ranking (CKA above linear regression above the CCA family) holds" in text
    assert "the best of the CCA family 50.0% (cca-r2)" in text
    worse = similar.assign(value=np.where(similar["measure"] == "linreg", 0.0, similar["value"]))
    flat = "\n".join(identification_section(identification_table(worse, seeds, LAYERS)))
    assert "does not hold" in flat
