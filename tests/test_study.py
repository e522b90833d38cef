"""The config checked as a whole before any job: every cross-key problem named, with what is
allowed; unit-tested here without Snakemake (one workflow case in test_config shows it is wired)."""

from __future__ import annotations

import copy

import pytest
import yaml
from conftest import ROOT, TINY
from snakemake.utils import validate

from ckaflow.names import parse
from ckaflow.study.config import ConfigError, check_config

SCHEMA_PATH = str(ROOT / "src" / "ckaflow" / "schema.yaml")
SCHEMA = yaml.safe_load(open(SCHEMA_PATH))


def config_with(**changes):
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
        ["images_per_domain, val_fraction, test_images", "test_images=200", "100 validation"],
    ),
    "validation fraction leaves no validation image": (
        dict(val_fraction=0.05, images_per_domain=60, test_images=4),
        ["val_fraction=0.05", "gives 3 validation images"],
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
        dict(synth__font_size=[22, 10]),
        ["synth.font_size = [22, 10]", "smallest size comes first"],
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
        dict(
            similarity__estimators=[{"kernel": "linear"}, {"kernel": "linear", "debiased": False}]
        ),
        ["similarity.estimators[1]", "linear-biased is listed twice"],
    ),
    "global centring with the debiased estimator": (
        dict(
            similarity__estimators=[{"kernel": "linear", "centering": "global", "debiased": True}]
        ),
        ["similarity.estimators[0]", "centering='global'", "figures.estimator"],
    ),
    "depths without the thesis' depth 1": (
        dict(depths=[2]),
        ["depths = [2]", "depth 1, the thesis' model"],
    ),
    "a deep seed that is not a seed": (
        dict(deep_seeds=[7]),
        ["deep_seeds [7]", "not among seeds [1, 2]"],
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
    config = config_with(synth__font_size=[22, 10], finetune__images=1000)
    with pytest.raises(ConfigError) as err:
        check_config(config, SCHEMA)
    assert "synth.font_size" in str(err.value) and "finetune.images" in str(err.value)


@pytest.mark.parametrize("bad", [0.001, 1000.0, 0.0])
def test_the_schema_bounds_the_rbf_bandwidth(bad):
    config = copy.deepcopy(yaml.safe_load(open(TINY)))
    config["similarity"]["estimators"] = [{"kernel": "rbf", "sigma_frac": bad}]
    with pytest.raises(Exception, match="sigma_frac"):
        validate(config, SCHEMA_PATH)


def test_the_plan_of_the_default_config():
    """Which instances, models, estimators and figures the shipped default implies."""
    from ckaflow.names import parse_model
    from ckaflow.study.plan import Plan

    plan = Plan.from_config(_default(), SCHEMA)
    assert len(plan.base) == len(plan.finetuned) == 8 and len(plan.instances) == 16
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
    assert list(plan.checkpoint_matrix_options()["pairs"])[:2] == [
        "synth-1@init vs final", "synth-1@step50 vs final"]  # fmt: skip
    assert plan.estimator_names == list(check_config(_default(), SCHEMA))
    figures = plan.figures()
    assert len(figures) == len(set(figures))
    assert "filters_synth-1_vs_natural-1" in figures and "chord_natural-1" in figures
    assert plan.reconstruction_models("synth") == {
        "in_domain": "synth-1",
        "cross_domain": "natural-1",
        "finetuned": "synth-from-natural-1",
    }
    base, ft = plan.schedule("synth-1"), plan.schedule("synth-from-natural-1")
    assert base["max_steps"] == 3500 and ft["max_steps"] == 2500 and ft["start_phase"] == 0
    assert base["early_checkpoints"] == [50, 100, 200] and "early_checkpoints" not in ft
    assert plan.train_images("synth-1") is None and plan.train_images("synth-from-natural-1")
    assert plan.dataset_params("synth")["source"] == "pillow-text"
    with pytest.raises(ValueError, match="unknown CKA figure 'chord'"):
        plan.cka_options("chord")


def test_the_plan_of_a_study_with_deeper_models():
    """depths [1, 2]: the first seed's depth-2 instances (base and fine-tuned) are trained and
    recorded at init and final, get their own HSIC blocks, the depth figures and the
    block-structure intervals; the thesis' claims keep reading depth 1 only."""
    from ckaflow.study.plan import DEPTH_FIGURES, Plan

    plan = Plan.from_config(config_with(depths=[2, 1]), SCHEMA)
    assert plan.depths == [1, 2] and plan.deep_seeds == [1]
    assert plan.deep_base == ["natural-d2-1", "synth-d2-1"]
    assert plan.deep_finetuned == ["natural-from-synth-d2-1", "synth-from-natural-d2-1"]
    assert all(parse(b).depth == 1 for b in plan.base + plan.finetuned)
    assert plan.instances[-4:] == plan.deep_base + plan.deep_finetuned
    assert plan.models_of("synth-d2-1") == ["synth-d2-1@init", "synth-d2-1"]
    rates = {i: plan.schedule(i)["learning_rate"] for i in ("synth-1", "synth-from-natural-d2-1")}
    assert rates == {"synth-1": 0.01, "synth-from-natural-d2-1": 0.001}  # train.deep_learning_rate
    assert "synth-d2-1@init" in plan.models and "synth-d2-1@phase1" not in plan.models
    assert {"conv1a", "deconv1a", "conv1"} <= set(plan.hsic_blocks)
    assert plan.hsic_blocks[0] == "layers" and len(plan.hsic_blocks) == 1 + 10 + 12
    figures = plan.figures()
    assert all(f in figures for f in DEPTH_FIGURES)
    panels = plan.cka_options("depth_comparison")["panels"]
    assert panels["synth-from-natural-1 vs synth-from-natural-d2-1"] == [
        "synth-from-natural-1", "synth-from-natural-d2-1", "synth"]  # fmt: skip
    within = [r for r in plan.interval_rows if r[0] == r[2] == "synth-d2-1"]
    assert ("synth-d2-1", "conv1a", "synth-d2-1", "conv1b") in within and len(within) == 10
    assert "synth-d2-1@init" in plan.block_models and "synth-1@init" in plan.block_models
    assert set(plan.interval_models) >= set(plan.block_models)
    overlay = {**_default(), **yaml.safe_load(open(ROOT / "config" / "depth2.yaml"))}
    validate(overlay, SCHEMA_PATH, set_default=True)  # config/depth2.yaml over the default
    assert Plan.from_config(overlay, SCHEMA).deep_base == ["natural-d2-1", "synth-d2-1"]
    shallow = Plan.from_config(config_with(depths=[1]), SCHEMA)
    assert not any(f in shallow.figures() for f in DEPTH_FIGURES) and not shallow.block_models


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
    from ckaflow.schema import schema_default
    from ckaflow.training.train import TrainConfig

    cfg = TrainConfig()
    for key in ("batch_size", "learning_rate", "patience", "eval_every", "max_steps"):
        assert getattr(cfg, key) == schema_default(f"train.{key}") == _default()["train"][key]
    assert (cfg.pepper, cfg.salt) == (schema_default("noise.pepper"), schema_default("noise.salt"))
    params = inspect.signature(build_domain).parameters
    assert params["test_images"].default == _default()["test_images"]
    assert list(params["font_size"].default) == _default()["synth"]["font_size"]
