"""The study's vocabulary: each naming convention round-trips, and a malformed name is refused."""

from __future__ import annotations

import math

import pytest

from ckaflow.names import (
    CHECKPOINTS,
    DOMAINS,
    FAMILIES,
    FINAL,
    Estimator,
    Group,
    Instance,
    base_instances,
    filter_group,
    finetuned_instances,
    model_name,
    other,
    parse,
    parse_group,
    parse_model,
    phase_checkpoint,
)


def test_instances_round_trip_and_know_their_relatives():
    names = base_instances([1, 12]) + finetuned_instances([1, 12])
    assert names[:2] == ["natural-1", "natural-12"] and "synth-from-natural-12" in names
    for name in names:
        assert parse(name).name == name
    ft = parse("synth-from-natural-3")
    assert (ft.domain, ft.seed, ft.source, ft.finetuned) == ("synth", 3, "natural", True)
    assert (ft.base, ft.scratch, ft.family) == ("natural-3", "synth-3", "synth-from-natural")
    assert parse("natural-3").checkpoints == CHECKPOINTS and ft.checkpoints == ("init", FINAL)
    assert {parse(n).family for n in names} == set(FAMILIES)
    assert [other(d) for d in DOMAINS] == list(reversed(DOMAINS))


@pytest.mark.parametrize("bad", ["synth", "synth-x", "synth-from-synth-1", "photo-1", "natural-1@"])
def test_a_malformed_instance_is_refused_naming_the_forms(bad):
    with pytest.raises(ValueError, match="bad instance name"):
        parse(bad)
    with pytest.raises(ValueError):
        Instance("natural", 1, "natural")


def test_models_round_trip():
    for instance in ("synth-2", "natural-from-synth-4"):
        for c in parse(instance).checkpoints:
            assert parse_model(model_name(instance, c)) == (instance, c)
    assert model_name("synth-2") == "synth-2" and model_name("synth-2", "init") == "synth-2@init"
    assert phase_checkpoint(2) == "phase2"
    for bad in ("synth-2@final", "synth-2@epoch3", "synth@init", "synth-2@step0", "synth-2@step"):
        with pytest.raises(ValueError):
            parse_model(bad)
    # early checkpoints: the weights after N batches, in training order between init and phase1
    from ckaflow.names import checkpoint_order, early_checkpoint, early_step

    assert parse_model(model_name("synth-2", early_checkpoint(50))) == ("synth-2", "step50")
    assert early_step("step50") == 50 and early_step("phase1") is None
    order = ["final", "phase2", "step200", "phase1", "step50", "init"]
    assert sorted(order, key=checkpoint_order) == [
        "init", "step50", "step200", "phase1", "phase2", "final"]  # fmt: skip
    for bad in (0, -5, 2.0, True):
        with pytest.raises(ValueError, match="positive number of steps"):
            early_checkpoint(bad)
    with pytest.raises(ValueError, match="phase 3"):
        phase_checkpoint(3)


def test_groups_round_trip():
    for group in (Group(), Group("conv1"), Group("deconv2", 7), Group("conv1", 123)):
        assert parse_group(group.name) == group
    assert filter_group("conv1", 3) == "conv1/f03" and parse_group("conv1/f03").kind == "filter"
    assert parse_group("model").kind == "model" and parse_group("pool2").kind == "layer"
    for bad in ("conv1/x3", "", "a/b/f01"):
        with pytest.raises(ValueError, match="bad group name"):
            parse_group(bad)


@pytest.mark.parametrize(
    "est",
    [
        Estimator(),
        Estimator(debiased=True),
        Estimator(centering="global"),
        Estimator("rbf", sigma_frac=0.5),
        Estimator("rbf", True, sigma_frac=2.0),
        Estimator("rbf", sigma_frac=1e-3),
    ],
)
def test_estimators_round_trip_by_name_dict_and_table_columns(est):
    assert Estimator.from_name(est.name) == est
    assert Estimator.from_dict(est.options()) == est
    assert Estimator.from_columns(est.columns()) == est
    assert est.label.startswith(est.kernel)


def test_the_bandwidth_is_part_of_an_rbf_estimators_identity_only():
    a, b = Estimator("rbf", sigma_frac=0.5), Estimator("rbf", sigma_frac=2)
    assert a != b and a.name != b.name and a.label != b.label
    assert Estimator(sigma_frac=3.0) == Estimator() and math.isnan(
        Estimator().columns()["sigma_frac"]
    )
    for bad in ("linear", "rbf-biased", "rbfx-biased", "linear-debiased-global", "rbf0-biased"):
        with pytest.raises(ValueError, match="not an estimator name"):
            Estimator.from_name(bad)
    with pytest.raises(ValueError, match="unknown estimator keys"):
        Estimator.from_dict({"kernal": "rbf"})
