"""Kornblith et al. 2019's Table 2 CNN (``kornblith_cnn``) and its presets: the layer table of
Appendix Table E.1, seeded weights, the recorded layers, the config checks, and the presets
config/kornblith_table2.yaml and config/kornblith_table2_tiny.yaml planned (no training here)."""

from __future__ import annotations

import re

import numpy as np
import pytest
import yaml
from conftest import ROOT, snakemake

from ckaflow.model.build import build_model, make_spec, model_record, with_recorded
from ckaflow.model.kornblith_cnn import adjacent_convolutions, blocks
from ckaflow.study.load import load_config
from ckaflow.study.plan import Plan

KORNBLITH = {"architecture": "kornblith_cnn", "builder": None, "width": 1.0}
PRESET = ROOT / "config" / "kornblith_table2.yaml"
TINY = ROOT / "config" / "kornblith_table2_tiny.yaml"

# Table E.1 at a 32 x 32 x 3 input: each convolution's output (its batch norm's is the same).
TABLE_E1 = {
    "conv1": [32, 32, 16], "conv2": [32, 32, 16], "conv3": [16, 16, 32], "conv4": [16, 16, 32],
    "conv5": [16, 16, 32], "conv6": [8, 8, 64], "conv7": [6, 6, 64], "conv8": [6, 6, 64],
    "pool": [64], "logits": [10],
}  # fmt: skip


def spec(**kwargs):
    args = {"depth": 1, "input_shape": (32, 32, 3), "num_classes": 10, "task": "classify"}
    return make_spec(KORNBLITH, **{**args, **kwargs})


def test_the_layers_have_table_e1s_shapes():
    rows = {r["name"]: r for r in spec().layers}
    assert {name: rows[name]["output_shape"] for name in TABLE_E1} == TABLE_E1
    for k in range(1, 9):  # Conv-BatchNorm-ReLU, one shape
        assert rows[f"bn{k}"]["output_shape"] == rows[f"relu{k}"]["output_shape"] == TABLE_E1[
            f"conv{k}"]  # fmt: skip
    kernels = [(b.kernel, b.stride, b.padding) for b in blocks()]
    assert kernels[6] == (3, 1, "valid") and kernels[7] == (1, 1, "same")
    assert [k for k, s, _ in kernels if s == 2] == [3, 3]  # conv3 and conv6 halve the image
    assert rows["logits"]["kind"] == "dense" and rows["pool"]["kind"] == "pool"
    assert spec().output == "logits"
    # the two stride-2 convolutions are where a stage ends
    assert [(a, b) for a, b, within in adjacent_convolutions() if not within] == [
        ("conv2", "conv3"), ("conv5", "conv6")]  # fmt: skip


def test_width_multiplies_every_convolution():
    assert [b.filters for b in blocks(0.5)] == [8, 8, 16, 16, 16, 32, 32, 32]
    rows = {r["name"]: r for r in make_spec({**KORNBLITH, "width": 0.5}, depth=1,
            input_shape=(16, 16, 3), num_classes=4, task="classify").layers}  # fmt: skip
    assert rows["conv7"]["output_shape"] == [2, 2, 32] and rows["logits"]["output_shape"] == [4]


def test_the_same_seed_gives_the_same_weights_and_another_seed_others():
    record = model_record(KORNBLITH, depth=1, input_shape=(16, 16, 3), num_classes=10)
    a, b, c = (build_model(record, s).get_weights() for s in (1, 1, 2))
    assert len(a) == len(b) == len(c) == 8 * 5 + 2  # kernel + batch norm's four, then dense's two
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    kernels = [i for i, w in enumerate(a) if w.ndim > 1]
    assert all(not np.array_equal(a[i], c[i]) for i in kernels)


def test_auto_records_every_convolution_batch_norm_and_the_pool():
    recorded = with_recorded(spec(), "auto").recorded
    assert recorded == (*(f"{k}{i}" for i in range(1, 9) for k in ("conv", "bn")), "pool")
    assert "logits" not in recorded and not any(n.startswith("relu") for n in recorded)


@pytest.mark.parametrize("kwargs, words", [
    ({"task": "denoise", "num_classes": None}, ["classifier", "classify"]),
    ({"depth": 2}, ["depth 2", "model.depths"]),
    ({"input_shape": (8, 8, 3)}, ["smaller than 9 x 9"]),
])  # fmt: skip
def test_the_model_refuses_what_it_cannot_build(kwargs, words):
    with pytest.raises(ValueError) as err:
        spec(**kwargs)
    assert all(w in str(err.value) for w in words), str(err.value)


@pytest.mark.parametrize("overlay, words", [
    ({"task": "reconstruct"}, ["model.architecture is kornblith_cnn", "task is 'reconstruct'",
                               "set task: classify"]),
    ({"image": {"height": 8, "width": 8}}, ["image: 8 x 8 is too small for kornblith_cnn",
                                            "at least 9 x 9"]),
    ({"model": {"depths": [1, 2]}}, ["model.depths = [1, 2]", "kornblith_cnn", "one depth"]),
])  # fmt: skip
def test_the_config_checks_name_the_key(tmp_path, overlay, words):
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(overlay))
    with pytest.raises(ValueError) as err:
        load_config([TINY, tmp_path / "bad.yaml"])
    message = " ".join(str(err.value).split())
    assert all(w in message for w in words), message


@pytest.mark.parametrize("path, seeds", [(PRESET, 10), (TINY, 3)])
def test_the_presets_validate_and_plan_a_study_of_seeds(path, seeds):
    config = load_config([path])
    plan = Plan.from_config(config)
    assert config["model"]["architecture"] == "kornblith_cnn" and plan.task == "classify"
    assert plan.base == [f"digits-{s}" for s in range(1, seeds + 1)]
    assert plan.finetuned == [] and plan.depths == [1]
    assert config["similarity"]["filters"] == {"layers": "first", "instances": None,
                                               "across": True}  # fmt: skip
    # Table 2's nine layers (logits left out), all in the model: chance 1/9
    shape = [config["image"][k] for k in ("height", "width", "channels")]
    recorded = with_recorded(spec(input_shape=shape), config["model"]["layers"]).recorded
    assert recorded == (*(f"conv{k}" for k in range(1, 9)), "pool")


@pytest.mark.workflow
def test_a_dry_run_of_the_tiny_preset_trains_three_seeds(workdir):
    out = snakemake(workdir, "-n", "--configfile", "config/kornblith_table2_tiny.yaml")
    assert out.returncode == 0, out.stdout[-3000:]
    jobs = dict(re.findall(r"^(\w+)\s+(\d+)$", out.stdout, re.M))
    assert jobs["train_base"] == "3" and "finetune" not in jobs, jobs
    assert jobs["compute_hsic"] == "5"  # one per Table 2 estimator: linear, debiased, RBF x 3
