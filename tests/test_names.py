"""The study's vocabulary: each naming convention round-trips, and a malformed name is refused."""

from __future__ import annotations

import math

import pytest

from ckaflow.model.tied_layers import (
    DEPTHS,
    conv_layers,
    layer_groups,
    layer_sort_key,
    layers,
    parse_layer,
)
from ckaflow.names import (
    Instance,
    check_domain_name,
    depth_of,
    model_name,
    parse,
    parse_model,
    phase_checkpoint,
)
from ckaflow.similarity import Estimator, Group, filter_group, parse_group


def base_instances(domains, seeds, depth=1):
    return [Instance(d, s, depth=depth).name for d in domains for s in seeds]


def finetuned_instances(domains, seeds, depth=1):
    return [Instance(t, s, f, depth).name for t in domains for f in domains if f != t
            for s in seeds]  # fmt: skip


@pytest.mark.parametrize("domains", [("natural", "synth"), ("photos", "paintings", "x_ray2")])
def test_instances_of_any_domains_round_trip_and_know_their_relatives(domains):
    names = base_instances(domains, [1, 12]) + finetuned_instances(domains, [1, 12])
    for name in names:
        assert parse(name).name == name
    a, b = domains[:2]
    ft = parse(f"{b}-from-{a}-3")
    assert (ft.domain, ft.seed, ft.source, ft.finetuned) == (b, 3, a, True)
    assert (ft.base, ft.scratch, ft.family) == (f"{a}-3", f"{b}-3", f"{b}-from-{a}")
    assert not parse(f"{a}-3").finetuned and parse(f"{a}-3").base == f"{a}-3"


@pytest.mark.parametrize("bad", ["Photos", "2nd", "x-ray", "from", "model", "d2", "", "a b"])
def test_a_name_that_cannot_name_a_domain_is_refused_naming_where_it_came_from(bad):
    with pytest.raises(ValueError, match="domains.x: .* cannot name a domain"):
        check_domain_name(bad, "domains.x")


def test_a_deeper_instance_names_its_depth_and_keeps_it_in_its_relatives():
    names = base_instances(("natural", "synth"), [1, 3], depth=2)
    names += finetuned_instances(("natural", "synth"), [3], depth=3)
    assert names == ["natural-d2-1", "natural-d2-3", "synth-d2-1", "synth-d2-3",
                     "natural-from-synth-d3-3", "synth-from-natural-d3-3"]  # fmt: skip
    for name in names:
        assert parse(name).name == name
    ft = parse("natural-from-synth-d3-3")
    assert (ft.depth, ft.seed, ft.base, ft.scratch) == (3, 3, "synth-d3-3", "natural-d3-3")
    assert ft.family == "natural-from-synth-d3" and ft.at_depth(1).name == "natural-from-synth-3"
    assert parse("synth-4").depth == 1 and depth_of("synth-d2-4@init") == 2


def test_layers_of_every_depth_are_unique_ordered_and_parse_back():
    assert layers(1) == ("conv1", "pool1", "conv2", "pool2", "conv3", "pool3", "deconv3",
                         "deconv2", "deconv1", "output")  # fmt: skip
    deep = layers(2)
    assert deep[:3] == ("conv1a", "conv1b", "pool1") and deep[-3:] == ("deconv1b", "deconv1a",
                                                                        "output")  # fmt: skip
    for depth in DEPTHS:
        names = layers(depth)
        assert (
            len(names) == len(set(names)) == 6 * depth + 4
        )  # convolutions and transposes, pools, output
        assert conv_layers(depth) == tuple(n for n in names if n.startswith("conv"))
        assert all(parse_layer(n, depth).name == n for n in names)
        assert layer_groups(depth)[-1] == "model"
        # one order for every depth: each depth's layers come out of the sort as they are
        assert tuple(sorted(names, key=layer_sort_key)) == names
    with pytest.raises(ValueError, match="no layer 'conv1' in a model of depth 2"):
        parse_layer("conv1", 2)
    with pytest.raises(ValueError, match="unknown tied autoencoder depth 4"):
        layers(4)


@pytest.mark.parametrize("bad", ["synth", "synth-x", "synth-from-synth-1", "Photo-1", "natural-1@",
                                 "synth-d1-1", "synth-d2", "from-1", "a-from-b"])  # fmt: skip
def test_a_malformed_instance_is_refused_naming_the_forms(bad):
    with pytest.raises(ValueError, match="bad instance name"):
        parse(bad)
    with pytest.raises(ValueError):
        Instance("natural", 1, "natural")


def test_models_round_trip():
    for instance in ("synth-2", "natural-from-synth-4"):
        for c in ("init", "step50", "epoch5", "phase1", "phase2", "final"):
            assert parse_model(model_name(instance, c)) == (instance, c)
    assert model_name("synth-2") == "synth-2" and model_name("synth-2", "init") == "synth-2@init"
    assert phase_checkpoint(2) == "phase2"
    for bad in ("synth-2@final", "synth-2@later", "synth@init", "synth-2@step0", "synth-2@step",
                "synth-2@epoch0"):  # fmt: skip
        with pytest.raises(ValueError):
            parse_model(bad)
    # early checkpoints: the weights after N batches, in training order between init and phase1
    from ckaflow.names import checkpoint_order, early_checkpoint, early_step

    assert parse_model(model_name("synth-2", early_checkpoint(50))) == ("synth-2", "step50")
    assert early_step("step50") == 50 and early_step("phase1") is None
    assert early_step("epoch5", "epoch") == 5 and early_step("epoch5") is None
    order = ["final", "phase2", "epoch3", "step200", "phase1", "step50", "init"]
    assert sorted(order, key=checkpoint_order) == [
        "init", "step50", "step200", "epoch3", "phase1", "phase2", "final"]  # fmt: skip
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
        Estimator(debiased=False, centering="global"),
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


def test_one_default_estimator_everywhere():
    """The class, a config entry without keys and the schema agree: linear, debiased."""
    from ckaflow.schema import load_schema

    item = load_schema()["properties"]["similarity"]["properties"]["estimators"]["items"]
    defaults = {k: v["default"] for k, v in item["properties"].items()}
    assert Estimator.from_dict({}) == Estimator() == Estimator.from_dict(defaults)
    assert Estimator().name == "linear-debiased"
