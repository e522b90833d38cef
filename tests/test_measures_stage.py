"""The measures beside CKA in the workflow (ckaflow.stages.measures, rule compute_measures): the
stage's numbers are the library functions' on the same activations (a wide layer reduced as
documented), in long form with both orders of an asymmetric measure; the config key; a dry run
that plans one job per test set and feeds the findings."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import yaml
from conftest import TINY, snakemake
from test_workflow import planned

from ckaflow.findings.identification import LONG, identification_section, identification_table
from ckaflow.schema import load_schema
from ckaflow.similarity import cca, linreg, procrustes, pwcca, rsa, svcca
from ckaflow.stages.activations import save_activations
from ckaflow.stages.measures import (
    ASYMMETRIC,
    COLUMNS,
    MEASURES,
    cca_directions,
    measure_table,
    pair_values,
    reduce_layer,
)
from ckaflow.study.comparisons import Comparisons
from ckaflow.study.config import ConfigError
from ckaflow.study.load import check_schema, load_config
from ckaflow.study.plan import Plan

N = 30  # k = 14 directions


def pca(x: np.ndarray, d: int) -> np.ndarray:
    """The top d principal component scores of x (n, ...), float64: the documented reduction."""
    xc = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    xc = xc - xc.mean(axis=0)
    u, s, _ = np.linalg.svd(xc, full_matrices=False)
    return u[:, :d] * s[:d]


def reference(x, y) -> dict[str, tuple[float, float]]:
    """The library's numbers, (s(x, y), s(y, x)) as the stage stores them (linreg: the fit of the
    first from the second; Procrustes as the similarity 1 - d/2)."""
    return {
        "cca-r2": (cca(x, y), cca(y, x)),
        "cca-rho": (cca(x, y, statistic="rho"), cca(y, x, statistic="rho")),
        "svcca-r2": (svcca(x, y), svcca(y, x)),
        "svcca-rho": (svcca(x, y, statistic="rho"), svcca(y, x, statistic="rho")),
        "pwcca": (pwcca(x, y), pwcca(y, x)),
        "linreg": (linreg(y, x), linreg(x, y)),
        "procrustes": (1 - procrustes(x, y) / 2, 1 - procrustes(y, x) / 2),
        "rsa": (rsa(x, y), rsa(y, x)),
    }


def layers(seed: int):
    """Two narrow layers (p < k) of related activations and a wide one (p > n), float32."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(N, 3, 2, 2)).astype(np.float32)  # 12 units
    y = (x.reshape(N, -1) @ rng.normal(size=(12, 9)) + rng.normal(size=(N, 9))).astype(np.float32)
    wide = np.maximum(rng.normal(size=(N, 4, 5, 5)), 0).astype(np.float32)  # 100 units
    return x, np.maximum(y, 0), wide


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_stage_gives_the_library_numbers_for_narrow_layers(seed):
    x, y, _ = layers(seed)
    got = pair_values(reduce_layer("a:x", x), reduce_layer("b:y", y), MEASURES)
    for measure, values in reference(x, y).items():
        np.testing.assert_allclose(got[measure], values, atol=1e-6, err_msg=measure)
    assert got["linreg"][0] != pytest.approx(got["linreg"][1])  # both orders, not one


@pytest.mark.parametrize("seed", [0, 1])
def test_a_wide_layer_enters_the_cca_family_as_its_top_k_principal_directions(seed):
    x, _, wide = layers(seed)
    k = cca_directions(N)
    w = reduce_layer("a:wide", wide)
    assert w.basis.shape == (N, k) and w.svcca.shape[1] <= k
    assert any("reduced to its top 14 principal directions" in t for t in w.notes.values())
    got = pair_values(w, reduce_layer("b:x", x), MEASURES)
    scores = pca(wide, k)
    assert got["cca-r2"][0] == pytest.approx(cca(scores, x), abs=1e-6)
    assert got["cca-rho"][0] == pytest.approx(cca(scores, x, statistic="rho"), abs=1e-6)
    assert got["pwcca"] == pytest.approx((pwcca(scores, x), pwcca(x, scores)), abs=1e-6)
    assert got["linreg"] == pytest.approx((linreg(x, wide), linreg(scores, x)), abs=1e-6)
    d = w.svcca.shape[1]  # 99% of the variance, capped at k
    assert got["svcca-r2"][0] == pytest.approx(cca(pca(wide, d), pca(x, 12)), abs=1e-6)
    # Procrustes and RSA take the whole layer: the library's numbers
    assert got["procrustes"][0] == pytest.approx(1 - procrustes(wide, x) / 2, abs=1e-6)
    assert got["rsa"][0] == pytest.approx(rsa(wide, x), abs=1e-6)


def test_a_dead_layer_is_nan_under_every_measure_with_one_note():
    x, _, _ = layers(0)
    dead = reduce_layer("a:dead", np.ones((N, 8), np.float32))
    got = pair_values(dead, reduce_layer("b:x", x), MEASURES)
    assert all(np.isnan(v).all() for v in got.values())
    assert len(dead.notes) == 2  # one for every measure but RSA, one for RSA


@pytest.fixture
def activations(tmp_path):
    """Activation folders of two seeds at final and initial weights, three layers each."""
    folders = {}
    for seed, instance in enumerate(("d-1", "d-2")):
        x, y, wide = layers(seed)
        for model in (instance, f"{instance}@init"):
            save_activations(tmp_path / instance / model / "t", {"c1": wide, "c2": x, "fc": y})
            folders[model] = str(tmp_path / instance)
    return folders


def test_the_table_is_long_form_with_both_orders_of_an_asymmetric_measure(activations, caplog):
    pairs = [("d-1", "d-2"), ("d-1@init", "d-2@init")]
    with caplog.at_level(logging.INFO, logger="ckaflow.stages.measures"):
        table = measure_table(activations, pairs, "t", list(MEASURES))
    assert list(table.columns) == COLUMNS == [*LONG, "n"] and (table["n"] == N).all()
    per = table.groupby("measure").size()
    assert all(per[m] == 2 * 9 * (2 if m in ASYMMETRIC else 1) for m in MEASURES)  # pairs x 3 x 3
    lin = table[table["measure"] == "linreg"].set_index(["a_model", "a_group", "b_model",
                                                         "b_group"])["value"]  # fmt: skip
    x, y, _ = layers(0)
    y2 = layers(1)[2]
    # a's layer fitted from b's: the wide predictor capped at k = 14 (uncapped it fits anything)
    assert lin[("d-1", "fc", "d-2", "c1")] == pytest.approx(linreg(pca(y2, 14), y), abs=1e-6)
    assert lin[("d-2", "c1", "d-1", "fc")] == pytest.approx(linreg(y, y2), abs=1e-6)
    # one line per layer and measure family reduced, over the four models: not one per pair
    reduced = [r for r in caplog.records if "c1" in r.getMessage()]
    assert len(reduced) == 2 and "4 of 4 models" in reduced[0].getMessage()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_the_identification_test_reads_the_measures(tmp_path):
    """Two seeds with the same activations: every layer is identified under each measure."""
    x, y, wide = layers(0)
    for instance in ("d-1", "d-2"):
        save_activations(tmp_path / instance / instance / "t", {"c1": wide, "c2": x, "fc": y})
    folders = {i: str(tmp_path / i) for i in ("d-1", "d-2")}
    table = measure_table(folders, [("d-1", "d-2")], "t", ["procrustes", "linreg", "rsa"])
    found = identification_table(table[LONG], ["d-1", "d-2"], ["c1", "c2", "fc"])
    assert set(found["measure"]) == {"procrustes", "linreg", "rsa"} and len(found) == 3
    assert (found["accuracy"] == 1.0).all() and (found["pairs"] == 2).all()
    text = "\n".join(identification_section(found.assign(domain="t")))
    assert "| procrustes | t | 100.0% |" in text and "1 - d/2" in text and "at most k" in text


def test_the_schema_lists_the_stage_measures_and_refuses_another_naming_it():
    items = load_schema()["properties"]["similarity"]["properties"]["measures"]
    assert tuple(items["items"]["enum"]) == MEASURES and items["default"] == []
    with pytest.raises(ConfigError, match=r"similarity\.measures\[1\]: 'cka' is not one of"):
        check_schema({"similarity": {"measures": ["cca-r2", "cka"]}})


def test_the_measures_compare_every_two_seeds_of_a_domain_trained_and_initial(tmp_path):
    (tmp_path / "m.yaml").write_text("similarity: {measures: [rsa]}\n")
    compared = Comparisons(Plan(load_config([str(TINY), str(tmp_path / "m.yaml")])))
    assert compared.measure_pairs == [
        ("natural-1", "natural-2"),
        ("natural-1@init", "natural-2@init"),
        ("synth-1", "synth-2"),
        ("synth-1@init", "synth-2@init"),
    ]
    models = compared.measure_models
    assert models["synth-2@init"] == "synth-2" and len(models) == 8
    assert Comparisons(Plan(load_config([str(TINY)]))).measure_pairs == []


@pytest.mark.workflow
def test_a_dry_run_plans_one_measures_job_per_test_set_read_by_the_findings(workdir):
    measures = {"similarity": {"measures": ["cca-r2", "procrustes"]}}
    (workdir / "m.yaml").write_text(yaml.safe_dump(measures))
    out = snakemake(workdir, "-n", "--configfile", "config/tiny.yaml", "m.yaml")
    assert out.returncode == 0, out.stdout[-3000:]
    assert planned(out)["compute_measures"] == 2 and "This was a dry-run" in out.stdout
    findings = out.stdout[out.stdout.index("rule write_findings:") :].split("\n")[1]
    for test_set in ("natural", "synth"):
        assert f"results/similarity/measures/{test_set}.parquet" in findings


def test_the_plan_counts_the_measures_job_only_when_asked(tmp_path):
    from ckaflow.model.build import make_spec, with_recorded
    from ckaflow.study import params
    from ckaflow.study.comparisons import filter_scope
    from ckaflow.study.cost import study_costs

    (tmp_path / "m.yaml").write_text("similarity: {measures: [cca-r2, rsa]}\n")
    for files, expected in (([TINY], 0), ([TINY, tmp_path / "m.yaml"], 2)):
        plan = Plan(load_config([str(f) for f in files]))
        specs = {d: with_recorded(make_spec(params.model(plan), depth=d, num_classes=None,
                                            input_shape=params.input_shape(plan),
                                            task=plan.task), "auto")
                 for d in plan.depths}  # fmt: skip
        costs = [c for c in study_costs(plan, filter_scope(plan), specs, rate=1e9)
                 if c.stage == "compute_measures"]  # fmt: skip
        assert sum(c.jobs for c in costs) == expected
        if costs:  # the reduced forms and one whole layer (n x p), over what the job imports
            assert 250e6 < costs[0].memory < 1e9 and costs[0].seconds > 0
