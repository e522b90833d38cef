"""The config checked as a whole before any job: every cross-key problem named, with what is
allowed; unit-tested here without Snakemake (one workflow case in test_config shows it is wired)."""

from __future__ import annotations

import copy

import pytest
import yaml
from conftest import ROOT, TINY
from snakemake.utils import validate

from ckaflow.names import parse, parse_model
from ckaflow.study import params
from ckaflow.study.comparisons import Comparisons
from ckaflow.study.config import ConfigError, check_config

SCHEMA_PATH = str(ROOT / "workflow" / "schemas" / "config.schema.yaml")
SCHEMA = yaml.safe_load(open(SCHEMA_PATH))


def config_with(**changes):
    """The tiny config with ``key__subkey=value`` changes, validated (defaults filled in)."""
    config = yaml.safe_load(open(TINY))
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node = config
        for p in parents:
            node = node[p]
        node[last] = value
    validate(config, SCHEMA_PATH)
    return config


@pytest.mark.parametrize("name", ["config.yaml", "paper.yaml", "tiny.yaml"])
def test_shipped_configs_pass_and_name_their_estimators(name):
    config = yaml.safe_load(open(ROOT / "config" / name))
    validate(config, SCHEMA_PATH)
    assert list(check_config(config, SCHEMA)) == [
        "linear-biased",
        "linear-debiased",
        "rbf1-biased",
        "linear-biased-global",
    ]


CASES = {
    "too few images for the test set": (
        dict(images_per_domain=500, test_images=200),
        [
            "images_per_domain, val_fraction, test_images",
            "test_images=200",
            "= 100 images",
            "test_images 200 -> at most 99",
        ],
    ),
    "validation fraction leaves no validation image": (
        dict(val_fraction=0.05, images_per_domain=60, test_images=4),
        ["val_fraction=0.05", "= 3 images", "val_fraction 0.05 -> at least 0.084"],
    ),
    "batch larger than the training split": (
        dict(train__batch_size=64),
        ["train.batch_size = 64", "48 images"],
    ),
    "fine-tuning more images than the training split": (
        dict(finetune__images=1000),
        ["finetune.images = 1000", "training split (48 images"],
    ),
    "fine-tuning fewer images than a batch": (
        dict(finetune__images=4),
        ["finetune.images = 4", "train.batch_size (8)"],
    ),
    "font sizes in the wrong order": (
        dict(domains__synth__font_size=[22, 10]),
        ["domains.synth.font_size = [22, 10]", "smallest size comes first"],
    ),
    "a float where an integer belongs": (
        dict(images_per_domain=60.0),
        ["images_per_domain = 60.0", "an integer is expected"],
    ),
    "a float in a list of integers": (
        dict(seeds=[1, 2.0]),
        ["seeds[1] = 2.0", "an integer is expected"],
    ),
    "an estimator listed twice": (
        dict(similarity__estimators=[{"kernel": "linear"}, {"kernel": "linear", "debiased": True}]),
        ["similarity.estimators[1]", "linear-debiased is listed twice"],
    ),
    "global centring with the debiased estimator": (
        dict(
            similarity__estimators=[{"kernel": "linear", "centering": "global", "debiased": True}]
        ),
        ["similarity.estimators[0]", "centering='global'", "figures.estimator"],
    ),
    "depths without depth 1": (
        dict(model__depths=[2]),
        ["model.depths = [2]", "depth 1 is always trained"],
    ),
    "a deep seed that is not a seed": (
        dict(model__deep_seeds=[7]),
        ["model.deep_seeds [7]", "not among seeds [1, 2]"],
    ),
    "fine-tuning with one domain": (
        dict(domains={"photos": {"source": "standin"}}, preset=None),
        ["finetune.enabled is true", "['photos']", "finetune: false"],
    ),
    "the thesis preset without its domains": (
        dict(domains={"photos": {"source": "standin"}, "synth": {"source": "synth"}}),
        ["preset is thesis", "['photos', 'synth']", "preset: null"],
    ),
    "a domain name that cannot name a domain": (
        dict(domains={"natural": {"source": "standin"}, "from": {"source": "synth"}}, preset=None),
        ["domains: 'from' cannot name a domain"],
    ),
    "a key of another source": (
        dict(domains__natural={"source": "standin", "font_size": [8, 9]}),
        ["domains.natural: ['font_size'] do not apply to source 'standin'", "['photos']"],
    ),
    "classify with sources that have no labels": (
        dict(task="classify"),
        [
            "domains.natural: task is classify, but source 'standin' has no class labels",
            "give your classifier as model.builder",
        ],
    ),
    "all of a generated domain's images": (
        dict(images_per_domain=None),
        ["domains.synth: source 'synth' generates its images", "not null"],
    ),
    "a builder that does not resolve": (
        dict(model__builder="no/such/file.py:build"),
        ["model.builder is 'no/such/file.py:build'", "is not a file"],
    ),
    "a malformed builder": (
        dict(model__builder="models.small.build"),
        ["model.builder is 'models.small.build'", "'package.module:function'"],
    ),
    "a builder's model with deeper depths": (
        dict(model__builder="examples/own_study/model.py:build", model__depths=[1, 2]),
        ["model.depths = [1, 2]", "a builder's model has one depth"],
    ),
    "an unknown layer of the tied autoencoder": (
        dict(model__layers=["conv1", "conv9"], model__depths=[1]),
        ["model.layers: no layer ['conv9']", "'deconv1'"],
    ),
    "named layers with deeper models": (
        dict(model__layers=["conv1", "conv2"]),
        ["model.layers = ['conv1', 'conv2']", "record them all (layers: auto)"],
    ),
    "saved models of several depths": (
        dict(model__pretrained="m/{domain}-{seed}.keras", model__depths=[1, 2]),
        ["model.depths = [1, 2]: saved models have one depth"],
    ),
    "both kinds of early checkpoints": (
        dict(train__schedule="step", train__checkpoint_epochs=[2], train__epochs=4),
        ["train.early_checkpoints [2, 4] and train.checkpoint_epochs [2]", "one or the other"],
    ),
    "an image the tied autoencoder cannot take": (
        dict(image={"height": 32, "width": 32, "channels": 3}),
        ["image: the tied autoencoder takes greyscale images", "32 x 32 x 3"],
    ),
    "epoch checkpoints with the patience schedule": (
        dict(train__checkpoint_epochs=[2]),
        ["train.checkpoint_epochs [2]", "train.schedule: step"],
    ),
    "a filter instance of another seed": (
        dict(figures__filter_instances=["synth-9"]),
        ["figures.filter_instances: 'synth-9'", "seeds [1, 2]", "'natural-1'"],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_problem_is_refused_naming_its_keys_and_what_is_allowed(case):
    changes, words = CASES[case]
    with pytest.raises(ConfigError) as err:
        check_config(config_with(**changes), SCHEMA)
    for word in words:
        assert word in str(err.value), (word, str(err.value))


def test_every_problem_is_listed_at_once():
    config = config_with(domains__synth__font_size=[22, 10], finetune__images=1000)
    with pytest.raises(ConfigError) as err:
        check_config(config, SCHEMA)
    assert "synth.font_size" in str(err.value) and "finetune.images" in str(err.value)


def test_finetune_false_is_short_for_enabled_false():
    from ckaflow.study.config import normalize_config

    assert normalize_config({"finetune": False})["finetune"] == {"enabled": False}
    assert normalize_config({"finetune": {"images": 3}})["finetune"] == {"images": 3}


@pytest.mark.parametrize("bad", [0.001, 1000.0, 0.0])
def test_the_schema_bounds_the_rbf_bandwidth(bad):
    config = copy.deepcopy(yaml.safe_load(open(TINY)))
    config["similarity"]["estimators"] = [{"kernel": "rbf", "sigma_frac": bad}]
    with pytest.raises(Exception, match="sigma_frac"):
        validate(config, SCHEMA_PATH)


def test_the_plan_of_the_default_config():
    """Which instances, models, estimators and figures the shipped default implies."""
    from ckaflow.figures import layout
    from ckaflow.names import parse_model
    from ckaflow.study.plan import Plan

    plan = Plan.from_config(_default(), SCHEMA)
    assert plan.domains == ["natural", "synth"] and plan.task == "denoise"
    assert len(plan.base) == len(plan.finetuned) == 8 and len(plan.instances) == 16
    assert plan.finetuned[:2] == ["natural-from-synth-1", "natural-from-synth-2"]
    # every base instance's init and phase ends; the first synth one's early steps too
    assert len(plan.models) == 16 + 8 * 3 + 3 and all(parse_model(m) for m in plan.models)
    assert plan.models_of("synth-2") == ["synth-2@init", "synth-2@phase1", "synth-2@phase2",
                                         "synth-2"]  # fmt: skip
    assert plan.models_of("synth-1") == ["synth-1@init", "synth-1@step50", "synth-1@step100",
                                         "synth-1@step200", "synth-1@phase1", "synth-1@phase2",
                                         "synth-1"]  # fmt: skip
    assert plan.checkpoints("natural-3") == ("init", "step50", "step100", "step200", "phase1",
                                             "phase2", "final")  # fmt: skip
    assert plan.checkpoints("natural-from-synth-1") == ("init", "final")
    assert list(layout.checkpoint_matrix_options(plan)["pairs"])[:2] == [
        "synth-1@init vs final", "synth-1@step50 vs final"]  # fmt: skip
    assert Comparisons(plan).estimator_names == list(check_config(_default(), SCHEMA))
    figures = layout.figures(plan)
    assert len(figures) == len(set(figures))
    assert "filters_synth-1_vs_natural-1" in figures and "filter_groups_natural-1" in figures
    assert layout.reconstruction_models(plan, "synth") == {
        "in_domain": "synth-1",
        "cross_domain": "natural-1",
        "finetuned": "synth-from-natural-1",
    }
    base, ft = params.schedule(plan, "synth-1"), params.schedule(plan, "synth-from-natural-1")
    assert base["max_steps"] == 3500 and ft["max_steps"] == 2500 and ft["start_phase"] == 0
    assert base["early_checkpoints"] == [50, 100, 200] and "early_checkpoints" not in ft
    assert params.train_images(plan, "synth-1") is None
    assert params.train_images(plan, "synth-from-natural-1")
    assert params.dataset(plan, "synth")["entry"]["source"] == "synth"
    assert Comparisons(plan).resample_seed("synth") == [0, 1]
    with pytest.raises(ValueError, match="unknown CKA figure 'chord'"):
        layout.cka_options(plan, "chord")


def test_the_plan_of_a_study_with_deeper_models():
    """depths [1, 2]: the first seed's depth-2 instances (base and fine-tuned) are trained and
    recorded at init and final, get the depth figures and the block-structure intervals; the
    thesis' claims keep reading depth 1 only."""
    from ckaflow.figures import layout
    from ckaflow.study.plan import Plan

    plan = Plan.from_config(config_with(model__depths=[2, 1]), SCHEMA)
    assert plan.depths == [1, 2] and plan.deep_seeds == [1]
    assert plan.deep_base == ["natural-d2-1", "synth-d2-1"]
    assert plan.deep_finetuned == ["natural-from-synth-d2-1", "synth-from-natural-d2-1"]
    assert all(parse(b).depth == 1 for b in plan.base + plan.finetuned)
    assert plan.instances[-4:] == plan.deep_base + plan.deep_finetuned
    assert plan.models_of("synth-d2-1") == ["synth-d2-1@init", "synth-d2-1"]
    rates = {
        i: params.schedule(plan, i)["learning_rate"] for i in ("synth-1", "synth-from-natural-d2-1")
    }
    assert rates == {"synth-1": 0.01, "synth-from-natural-d2-1": 0.001}  # train.deep_learning_rate
    assert "synth-d2-1@init" in plan.models and "synth-d2-1@phase1" not in plan.models
    figures = layout.figures(plan)
    assert all(f in figures for f in layout.DEPTH_FIGURES)
    panels = layout.cka_options(plan, "depth_comparison")["panels"]
    assert panels["synth-from-natural-1 vs synth-from-natural-d2-1"] == [
        "synth-from-natural-1", "synth-from-natural-d2-1", "synth"]  # fmt: skip
    within = [r for r in Comparisons(plan).interval_rows if r[0] == r[2] == "synth-d2-1"]
    # every two convolutions of each side of the bottleneck (6 a side: 15 pairs), 10 adjacent
    assert ("synth-d2-1", "conv1a", "synth-d2-1", "conv1b") in within and len(within) == 2 * 15
    assert ("synth-d2-1", "conv1a", "synth-d2-1", "conv3b") in within
    compared = Comparisons(plan)
    assert "synth-d2-1@init" in compared.block_models and "synth-1@init" in compared.block_models
    assert set(compared.interval_models) >= set(compared.block_models)
    shallow = Plan.from_config(config_with(model__depths=[1]), SCHEMA)
    assert not any(f in layout.figures(shallow) for f in layout.DEPTH_FIGURES)
    assert not Comparisons(shallow).block_models


def test_the_depth_overlay_adds_depth_2_to_the_default():
    from snakemake.utils import update_config

    from ckaflow.study.plan import Plan

    overlay = _default()
    update_config(overlay, yaml.safe_load(open(ROOT / "config" / "depth2.yaml")))
    validate(overlay, SCHEMA_PATH, set_default=True)
    plan = Plan.from_config(overlay, SCHEMA)
    assert plan.deep_base == ["natural-d2-1", "synth-d2-1"] and len(plan.domains) == 2


def three_domains(**changes):
    """A study of three folder domains of a classifier, at the plan level (no images read)."""
    domains = {d: {"source": "folder", "path": f"data/{d}"} for d in ("a", "bb", "c_3")}
    return config_with(preset=None, domains=domains, task="classify", images_per_domain=None,
                       model={"builder": "examples/own_study/model.py:build"},
                       figures__filter_instances=None, **changes)  # fmt: skip


def test_the_plan_of_three_domains_fine_tunes_each_base_on_every_other_domain():
    from ckaflow.figures import layout
    from ckaflow.study.plan import Plan

    plan = Plan.from_config(three_domains(seeds=[1, 2]), SCHEMA)
    assert plan.base == ["a-1", "a-2", "bb-1", "bb-2", "c_3-1", "c_3-2"]
    assert len(plan.finetuned) == 3 * 2 * 2
    assert plan.finetuned[:4] == ["a-from-bb-1", "a-from-bb-2", "a-from-c_3-1", "a-from-c_3-2"]
    assert {parse(f).scratch for f in plan.finetuned if parse(f).domain == "c_3"} == {
        "c_3-1", "c_3-2"}  # fmt: skip
    pairs = set(Comparisons(plan).interval_pairs)
    assert ("bb-from-c_3-2", "c_3-2") in pairs and ("bb-from-c_3-2", "bb-2") in pairs
    assert Comparisons(plan).resample_seed("c_3") == [0, 2]
    assert plan.filter_instances == ["a-1", "bb-1"]
    builder = "examples/own_study/model.py:build"
    assert params.model(plan) == {"architecture": None, "builder": builder}
    figures = layout.figures(plan)
    assert not any(f.startswith("reconstructions_") for f in figures)  # a classifier
    assert "finetuned_vs_base" in figures and "depth_matrices" not in figures
    assert layout.layer_matrix_pairs(plan) == {
        "a-1 with itself": ["a-1", "a-1"], "a-1 vs a-2": ["a-1", "a-2"],
        "bb-1 vs a-from-bb-1": ["bb-1", "a-from-bb-1"]}  # fmt: skip


def test_a_study_without_fine_tuning_trains_and_compares_the_bases_only():
    from ckaflow.figures import layout
    from ckaflow.study.plan import Plan

    plan = Plan.from_config(three_domains(finetune={"enabled": False}), SCHEMA)
    assert plan.finetuned == [] and plan.instances == plan.base
    pairs = Comparisons(plan).interval_pairs
    assert all(not parse(parse_model(a)[0]).finetuned for pair in pairs for a in pair)
    assert "finetuned_vs_base" not in layout.figures(plan)
    assert list(layout.layer_matrix_pairs(plan)) == ["a-1 with itself", "a-1 vs a-2"]


def test_a_step_schedule_saves_epoch_checkpoints():
    from ckaflow.study.plan import Plan

    config = three_domains(train={"schedule": "step", "optimizer": "sgd", "epochs": 6,
                                  "decay_epochs": [4], "checkpoint_epochs": [1, 3],
                                  "early_checkpoints": []})  # fmt: skip
    plan = Plan.from_config(config, SCHEMA)
    assert plan.base_checkpoints == ("init", "epoch1", "epoch3", "final")
    assert plan.models_of("a-1") == ["a-1@init", "a-1@epoch1", "a-1@epoch3", "a-1"]
    assert plan.models_of("a-2") == ["a-2@init", "a-2"]
    s = params.schedule(plan, "a-1")
    assert (s["optimizer"], s["schedule"], s["epochs"], s["checkpoint_epochs"]) == (
        "sgd", "step", 6, [1, 3])  # fmt: skip


def test_a_plan_is_made_only_from_a_config_that_passes_the_checks():
    from ckaflow.study.plan import Plan

    with pytest.raises(ConfigError, match="finetune.images"):
        Plan.from_config(config_with(finetune__images=100000), SCHEMA)


def _default():
    config = yaml.safe_load(open(ROOT / "config" / "config.yaml"))
    validate(config, SCHEMA_PATH)
    return config


def test_library_defaults_are_the_schemas():
    """TrainConfig and build_domain take their defaults from the schema: the one source."""
    import inspect

    from ckaflow.data.dataset import build_domain
    from ckaflow.data.images import THESIS_IMAGE
    from ckaflow.schema import schema_default
    from ckaflow.training import TrainConfig

    cfg = TrainConfig()
    for key in ("batch_size", "learning_rate", "patience", "eval_every", "max_steps"):
        assert getattr(cfg, key) == schema_default(f"train.{key}") == _default()["train"][key]
    assert (cfg.pepper, cfg.salt) == (schema_default("noise.pepper"), schema_default("noise.salt"))
    params = inspect.signature(build_domain).parameters
    assert params["test_images"].default == _default()["test_images"]
    image = _default()["image"]
    assert THESIS_IMAGE.shape == (image["height"], image["width"], image["channels"])
    assert THESIS_IMAGE.fit == image["fit"] == schema_default("image.fit")


def test_outputs_the_config_no_longer_makes_are_moved_aside_and_named(tmp_path, caplog):
    """After a run, a figure or table that the targets do not name (an old seed's filter-groups
    diagram) is moved to results/stale/<folder>/ and logged; the run's own outputs stay."""
    import logging

    from ckaflow.study.stale import move_stale

    results = tmp_path / "results"
    for rel in (
        "figures/groups_a-1.png",
        "figures/groups_a-3.png",
        "tables/x.csv",
        "tables/old.csv",
        "cka.parquet",
        "figures/.groups_a-1.tmp-6276.pdf",
    ):  # fmt: skip  (a killed job's temporary)
        (results / rel).parent.mkdir(parents=True, exist_ok=True)
        (results / rel).write_text(rel)
    targets = [f"{results}/figures/groups_a-1.png", "results/tables/x.csv", "results/cka.parquet"]
    with caplog.at_level(logging.WARNING):
        import os

        cwd = os.getcwd()
        os.chdir(tmp_path)  # targets relative to the run folder, as Snakemake gives them
        try:
            moved = move_stale("results", targets)
        finally:
            os.chdir(cwd)
    assert sorted(p.as_posix() for p in moved) == [
        "results/stale/figures/groups_a-3.png", "results/stale/tables/old.csv"]  # fmt: skip
    assert (results / "figures/groups_a-1.png").exists() and (results / "cka.parquet").exists()
    assert (results / "figures/.groups_a-1.tmp-6276.pdf").exists(), "left for its next writer"
    assert "2 output(s) this config no longer makes" in caplog.text and "groups_a-3" in caplog.text


def test_a_config_without_estimators_gets_the_four_default_ones():
    """The schema's default estimators are valid (global centring is biased) and are the
    shipped configs' four."""
    from ckaflow.study.load import load_config
    from ckaflow.study.plan import Plan

    plan = Plan(load_config([str(ROOT / "config/allcnn_tiny.yaml")]))
    names = Comparisons(plan).estimator_names
    assert names == ["linear-biased", "linear-debiased", "rbf1-biased", "linear-biased-global"]


def test_the_filters_compared_are_bounded_unless_asked():
    """similarity.filters: the thesis' presets compare every layer's filters of every instance;
    the default compares the first convolution of the figures' instances; a name the study
    lacks, or a scope without the figures' instances, stops at load naming the key."""
    from ckaflow.study.comparisons import filter_scope
    from ckaflow.study.plan import Plan

    tiny = Plan.from_config(config_with())
    scope = filter_scope(tiny)
    assert scope.instances == tuple(tiny.instances) and scope.layers == "all" and scope.across
    own = Plan.from_config(three_domains(seeds=[1, 2], similarity__filters={}), SCHEMA)
    default = filter_scope(own)
    assert default.instances == ("a-1", "bb-1") and default.layers == "first"
    assert default.layers_of("a-1") == "first" and default.layers_of("a-2") == []
    assert default.layers_of("a-1@init") == []
    narrow = {"layers": ["conv_a"], "instances": ["bb-1", "a-1", "c_3-2"], "across": False}
    scope = filter_scope(own, narrow)
    assert scope.instances == ("a-1", "bb-1", "c_3-2")  # in the study's order
    assert scope.layers_of("c_3-2") == ["conv_a"] and not scope.across
    with pytest.raises(ConfigError, match=r"'a-9' is not an instance of this study"):
        filter_scope(own, {**narrow, "instances": ["a-9", "a-1", "bb-1"]})
    with pytest.raises(ConfigError, match=r"leaves out \['bb-1'\].*figures.filter_instances"):
        filter_scope(own, {**narrow, "instances": ["a-1"]})
