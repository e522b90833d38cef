"""A user's own study, end to end: the README's worked example (examples/own_study: two
folders of images with class subfolders, of different sizes, greyscale and colour; a Keras
classifier of the user's own in a file; task classify), at a tiny size. The whole workflow runs
on it; editing the model's source makes exactly its trainings stale; a builder or layer the
workflow cannot use stops it before any training, naming what is wrong."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import ROOT, copy_workflow, snakemake
from PIL import Image

from ckaflow.figures import layout
from ckaflow.schema import load_schema
from ckaflow.study.load import load_config
from ckaflow.study.plan import Plan

pytestmark = pytest.mark.workflow

EXAMPLE = ROOT / "examples" / "own_study"
sys.path.insert(0, str(EXAMPLE))
from make_images import CLASSES, make_images  # noqa: E402

sys.path.remove(str(EXAMPLE))
# examples/own_study/config.yaml at a tiny size
CONFIG = {
    "seed": 0,
    "domains": {
        "photos": {"source": "folder", "path": "data/own/photos"},
        "paintings": {"source": "folder", "path": "data/own/paintings"},
    },
    "image": {"height": 16, "width": 16, "channels": 3, "fit": "resize"},
    "images_per_domain": None,
    "val_fraction": 0.4,
    "test_images": 9,
    "task": "classify",
    "model": {"builder": "examples/own_study/model.py:build", "layers": "auto"},
    "seeds": [1, 2],
    "train": {
        "batch_size": 8,
        "learning_rate": 0.01,
        "patience": 4,
        "eval_every": 2,
        "max_steps": 6,
        "early_checkpoints": [2],
    },
    "finetune": {"images": 16, "max_steps": 4},
    # minibatches of 4 and 5 of the 9 test images: the minibatch path end to end
    "similarity": {"shards": 2, "resamples": 100, "batch_size": 4},
    "figures": {"samples_per_domain": 3},
}
RECORDED = ["conv_a", "bn_a", "pool_a", "conv_b", "bn_b", "gap", "logits"]


def make_folders(root: Path, per_class: int = 14) -> None:
    """The example's folders, and one 16-bit greyscale PNG among the photos."""
    make_images(root / "data" / "own", per_class)
    rng = np.random.default_rng(1)
    deep = (rng.random((30, 25)) * 40000 + 20000).astype(np.uint16)  # scaled to 8, not clipped
    Image.fromarray(deep).save(root / "data" / "own" / "photos" / "checks" / "deep.png")


def own_workdir(tmp: Path, **changes) -> Path:
    """A fresh workflow folder holding the user's data, model file and config (``my.yaml``)."""
    copy_workflow(tmp)
    make_folders(tmp)
    shutil.copytree(EXAMPLE, tmp / "examples" / "own_study")
    (tmp / "models").mkdir()
    (tmp / "models" / "broken.py").write_text(
        "def build(input_shape, num_classes):\n    return None  # forgot the model\n"
    )
    config = {**CONFIG, **changes}
    (tmp / "my.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return tmp


@pytest.fixture(scope="module")
def own_study(tmp_path_factory) -> Path:
    workdir = own_workdir(tmp_path_factory.mktemp("own"))
    out = snakemake(workdir, "--configfile", "my.yaml")
    assert out.returncode == 0, out.stdout[-5000:]
    return workdir


def test_the_own_study_runs_to_its_findings(own_study, monkeypatch):
    monkeypatch.chdir(own_study)  # the config's paths are relative to the working directory
    results = own_study / "results"
    spec = pd.read_csv(results / "model_spec" / "d1.csv")
    assert list(spec.loc[spec["recorded"], "name"]) == RECORDED  # auto: no activations
    assert "relu_a" in set(spec["name"]) and not spec.set_index("name").loc["relu_a", "recorded"]
    data = yaml.safe_load((results / "data" / "photos" / "dataset.json").read_text())
    assert data["classes"] == list(CLASSES) and data["shape"] == [16, 16, 3]
    assert data["counts"] == {"train": 26, "val": 8, "test": 9}
    conversions = " ".join(data["conversions"])
    assert "scaled to 8 bits" in conversions and "L to RGB" in conversions
    test = np.load(results / "data" / "photos" / "test.npy")
    assert test.shape == (9, 16, 16, 3) and test.std() > 10  # not clipped to one colour
    labels = np.load(results / "data" / "photos" / "test_labels.npy")
    assert sorted(np.bincount(labels)) == [3, 3, 3]  # every class in the test set
    acc = pd.read_csv(results / "tables" / "test_accuracy.csv")
    assert set(acc["metric"]) == {"classification accuracy"} and len(acc) == 8 * 2
    assert acc["accuracy"].between(0, 1).all() and np.allclose(acc["chance"], 1 / 3, atol=1e-6)
    cka = pd.read_parquet(results / "cka.parquet", columns=["test_set", "kernel", "estimator",
                                                            "centering", "a_model", "a_group",
                                                            "b_model"])  # fmt: skip
    groups = set(cka["a_group"].astype(str))
    assert {"logits", "gap", "conv_a/f07", "bn_b", "model"} <= groups
    # similarity.filters by default: the first convolution's filters of the filter instances
    # (photos-1, paintings-1), across them; every other layer and model pair as ever
    filters = cka[cka["a_group"].str.contains("/")]
    assert set(filters["a_group"].str.split("/").str[0]) == {"conv_a"}
    assert set(filters["a_model"]) | set(filters["b_model"]) == {"photos-1", "paintings-1"}
    per = filters.groupby(["test_set", "kernel", "estimator", "centering"], observed=True).size()
    assert (per == (2 * 8) ** 2).all()  # conv_a's 8 filters of two instances, every pair
    assert "photos-from-paintings-2" in set(cka["a_model"].astype(str))
    plan = Plan(load_config([own_study / "my.yaml"]))
    for name in layout.figures(plan):
        assert (results / "figures" / f"{name}.png").stat().st_size > 5_000, name
    findings = (results / "findings.md").read_text()
    assert "Each claim of this study" in findings and "(a) Fine-tuned instances" in findings
    assert "(b) conv_a changes least" in findings and "(e) Fine-tuned accuracy" in findings
    assert "(c)" not in findings and "(d)" not in findings  # the thesis' own claims
    assert "classification accuracy" in findings
    assert "photos-from-paintings" in (results / "tables" / "table_finetuning.md").read_text()


def planned(out) -> dict[str, int]:
    stats = out.stdout[out.stdout.index("Job stats") :].split("\n\n")[0]
    return {
        line.split()[0]: int(line.split()[1])
        for line in stats.splitlines()[3:]
        if line.strip() and line.split()[0] != "total"
    }


def test_editing_the_model_makes_exactly_its_trainings_stale(own_study):
    model = own_study / "examples" / "own_study" / "model.py"
    before = model.read_text()
    try:
        model.write_text(before.replace('conv_block(x, 16, "b")', 'conv_block(x, 12, "b")'))
        out = snakemake(own_study, "-n", "--configfile", "my.yaml")
        assert out.returncode == 0, out.stdout[-3000:]
        jobs = planned(out)
        assert jobs["model_spec"] == 1 and jobs["train_base"] == 4 and jobs["finetune"] == 4
        assert "build_dataset" not in jobs and "plot_samples" not in jobs
        assert "Updated input files: " in out.stdout or "Params have changed" in out.stdout
        assert "own_study/model.py" in out.stdout  # the reason names the edited source
    finally:
        model.write_text(before)


def test_editing_a_module_the_builder_imports_makes_exactly_its_trainings_stale(own_study):
    """The builder's helper module beside it (blocks.py) is the model's code too."""
    blocks = own_study / "examples" / "own_study" / "blocks.py"
    before = blocks.read_text()
    try:
        blocks.write_text(before.replace('padding="same"', 'padding="same", use_bias=False'))
        out = snakemake(own_study, "-n", "--configfile", "my.yaml")
        assert out.returncode == 0, out.stdout[-3000:]
        jobs = planned(out)
        assert jobs["model_spec"] == 1 and jobs["train_base"] == 4 and jobs["finetune"] == 4
        assert "build_dataset" not in jobs and "plot_samples" not in jobs
        assert "own_study/blocks.py" in out.stdout  # the reason names the edited module
    finally:
        blocks.write_text(before)


def test_an_output_this_config_does_not_make_is_moved_even_with_nothing_to_do(own_study):
    """A figure left by another config (or by a move a kill cut short): a dry run names it, a
    run with nothing else to do moves it to results/stale/."""
    old = own_study / "results" / "figures" / "groups_photos-9.png"
    old.write_bytes(b"an old figure")
    try:
        dry = snakemake(own_study, "-n", "--configfile", "my.yaml")
        assert dry.returncode == 0 and old.exists()
        assert f"{old.relative_to(own_study)} is not made by this config" in dry.stdout
        run = snakemake(own_study, "--configfile", "my.yaml")
        assert run.returncode == 0, run.stdout[-3000:]
        assert "Nothing to be done" in run.stdout
        moved = own_study / "results" / "stale" / "figures" / old.name
        assert not old.exists() and moved.read_bytes() == b"an old figure"
        assert "1 output(s) this config no longer makes moved" in run.stdout
    finally:
        old.unlink(missing_ok=True)


def test_editing_a_ckaflow_figure_module_redraws_exactly_its_figures(own_study):
    """ckaflow's own code is tracked per rule: the matrices' module is plot_cka's code only."""
    from ckaflow.code import package_root

    module = package_root() / "ckaflow" / "figures" / "matrices.py"
    if package_root() != ROOT / "src" or not os.access(module, os.W_OK):
        pytest.skip("ckaflow is not installed editable from this tree")
    before = module.read_bytes()
    try:
        module.write_bytes(before + b"\n# an edit\n")
        out = snakemake(own_study, "-n", "--configfile", "my.yaml")
        assert out.returncode == 0, out.stdout[-3000:]
        jobs = planned(out)
        assert set(jobs) - {"all", "default"} == {"plot_cka"}, jobs
        assert jobs["plot_cka"] == len(
            layout.cka_figures(Plan(load_config([own_study / "my.yaml"])))
        )
        assert "Params have changed" in out.stdout
    finally:
        module.write_bytes(before)


@pytest.mark.parametrize(
    "model, words",
    [
        (
            {"builder": "models/broken.py:build"},
            ["models/broken.py:build", "returned NoneType, not a keras.Model"],
        ),
        (
            {"builder": "examples/own_study/model.py:build", "layers": ["conv_a", "conv_z"]},
            ["model.layers: no layer ['conv_z']", "'bn_a'", "'logits'"],
        ),
        (
            {"builder": "examples/own_study/model.py:biuld"},
            ["own_study/model.py:biuld", "has no function 'biuld'"],
        ),
    ],
)
def test_a_model_the_workflow_cannot_use_stops_before_any_training(tmp_path, model, words):
    workdir = own_workdir(tmp_path, model=model)
    out = snakemake(workdir, "--configfile", "my.yaml", "--until", "model_spec")
    assert out.returncode != 0
    logs = "".join(p.read_text() for p in (workdir / "logs").rglob("*.log"))
    message = " ".join((out.stdout + logs).split())
    for word in words:
        assert word in message, (word, message[-3000:])
    assert not (workdir / "results" / "models").exists()


def test_plan_predicts_the_rows_the_run_wrote_and_its_jobs_memory(own_study):
    """python -m ckaflow plan, as the README shows it: the CKA rows are the table's, and each
    stage's largest job the benchmark's measured peak within 30% (+ 100 MB: at this size the
    interpreter and libraries are most of it)."""
    run = [sys.executable, "-m", "ckaflow", "plan", "--configfile", "my.yaml"]
    out = subprocess.run(run, cwd=own_study, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    stages = {line.split()[0]: line.split() for line in out.stdout.splitlines() if line.strip()}
    rows = len(pd.read_parquet(own_study / "results" / "cka.parquet", columns=["cka"]))
    assert stages["compute_hsic"][4] == f"{rows:,}"
    units = {"MB": 1e6, "GB": 1e9, "kB": 1e3}
    for stage in ("extract_activations", "compute_grams", "compute_hsic", "compute_intervals"):
        predicted = float(stages[stage][2]) * units[stages[stage][3]]
        measured = max(pd.read_csv(f, sep="\t")["max_rss"].iloc[0] * 1e6 for f in
                       (own_study / "benchmarks" / "results" / stage).glob("*.tsv"))  # fmt: skip
        assert abs(predicted - measured) <= 0.3 * measured + 100e6, (stage, predicted, measured)
    assert "fits." in out.stdout


def test_the_layers_command_lists_the_models_layers_before_training(own_study):
    run = [sys.executable, "-m", "ckaflow", "layers", "--configfile", "my.yaml"]
    out = subprocess.run(run, cwd=own_study, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.splitlines()
    assert "own_study/model.py:build, depth 1: input 16 x 16 x 3, output logits" in lines[0]
    assert "7 of 9 layers recorded" in lines[0]
    rows = {line.split()[0]: line for line in lines[2:] if line.strip()}
    assert rows["conv_a"].split()[1:3] == ["Conv2D", "conv"] and rows["conv_a"].endswith("yes")
    assert not rows["relu_a"].endswith("yes") and "BatchNormalization" in rows["bn_b"]
    bad = own_study / "bad.yaml"
    bad.write_text(yaml.safe_dump({**CONFIG, "model": {**CONFIG["model"], "layers": ["conv_q"]}}))
    out = subprocess.run(
        [*run[:-1], "bad.yaml"], cwd=own_study, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 2 and "no layer ['conv_q']" in out.stderr


def test_the_config_loads_the_same_way_outside_snakemake(own_study, monkeypatch):
    monkeypatch.chdir(own_study)
    config = load_config([own_study / "my.yaml"])
    assert config["finetune"]["enabled"] is True and config["preset"] is None
    assert load_schema()["properties"]["model"]["properties"]["builder"]["default"] is None


def test_pretrained_models_are_imported_instead_of_trained(tmp_path):
    """model.pretrained: the user's saved models become the base instances (final: their
    weights; init: a fresh draw of the architecture for the seed); fine-tuning starts from them."""
    import keras

    from ckaflow.data import ImageSpec, build_domain, write_dataset
    from ckaflow.model.checkpoints import read_checkpoint
    from ckaflow.training.job import import_pretrained

    workdir = own_workdir(tmp_path, model={"pretrained": "models/{domain}-{seed}.keras"})
    sys.path.insert(0, str(EXAMPLE))
    try:
        from model import build
    finally:
        sys.path.remove(str(EXAMPLE))
    for domain in CONFIG["domains"]:
        for seed in CONFIG["seeds"]:
            keras.utils.set_random_seed(50 + seed)
            build((16, 16, 3), 3).save(workdir / "models" / f"{domain}-{seed}.keras")
    out = snakemake(workdir, "-n", "--configfile", "my.yaml")
    assert out.returncode == 0, out.stdout[-3000:]
    jobs = planned(out)
    assert jobs["import_pretrained"] == 4 and "train_base" not in jobs and jobs["finetune"] == 4
    image = ImageSpec(**CONFIG["image"])
    dirs = {}
    for domain, entry in CONFIG["domains"].items():
        entry = {**entry, "path": str(workdir / entry["path"])}
        dirs[domain] = str(tmp_path / "data-out" / domain)
        write_dataset(
            dirs[domain],
            build_domain(
                domain,
                entry,
                images=None,
                seed=0,
                image=image,
                val_fraction=0.4,
                test_images=9,
                classify=True,
            ),
        )
    saved = workdir / "models" / "photos-2.keras"
    record = {
        "architecture": None,
        "builder": None,
        "pretrained": str(saved),
        "input_shape": [16, 16, 3],
        "num_classes": 3,
        "output": "logits",
    }
    import_pretrained(
        "photos-2", path=saved, data_dirs=dirs, out_dir=tmp_path / "photos-2", model=record
    )
    final = read_checkpoint(tmp_path / "photos-2" / "checkpoints" / "final.npz")
    init = read_checkpoint(tmp_path / "photos-2" / "checkpoints" / "init.npz")
    kernel = next(k for k in final if k.endswith("kernel"))
    want = {v.path: v.numpy() for v in keras.models.load_model(saved).weights}
    assert np.array_equal(final[kernel], want[kernel]) and not np.array_equal(
        init[kernel], final[kernel]
    )
    with pytest.raises(ValueError, match="is not the architecture of"):
        keras.Sequential(
            [keras.Input((16, 16, 3)), keras.layers.Flatten(), keras.layers.Dense(3)]
        ).save(tmp_path / "other.keras")
        import_pretrained(
            "photos-1",
            path=tmp_path / "other.keras",
            data_dirs=dirs,
            out_dir=tmp_path / "photos-1",
            model=record,
        )


def test_choosing_other_layers_records_again_and_retrains_nothing(own_study):
    config = own_study / "fewer.yaml"
    # The user's config with only model.layers changed (its other keys in their order: the
    # domains' order is the study's order of instances and figures)
    layers = {**CONFIG["model"], "layers": ["conv_a", "conv_b", "logits"]}
    config.write_text(yaml.safe_dump({**CONFIG, "model": layers}, sort_keys=False))
    out = snakemake(own_study, "-n", "--configfile", "fewer.yaml")
    assert out.returncode == 0, out.stdout[-3000:]
    jobs = planned(out)
    assert jobs["record_layers"] == 1 and jobs["extract_activations"] == 8
    assert not {"model_spec", "train_base", "finetune", "build_dataset"} & set(jobs)


def test_a_folder_too_small_for_the_fine_tuning_images_stops_at_start_up(tmp_path):
    workdir = own_workdir(tmp_path, finetune={"images": 500})
    out = snakemake(workdir, "-n", "--configfile", "my.yaml")
    assert out.returncode != 0
    message = " ".join(out.stdout.split())
    assert "finetune.images = 500" in message and "domains.photos (all its images) 43" in message


def test_the_scale_example_makes_its_inputs_and_plans(tmp_path):
    """examples/scale_study at a small size: its data and saved models are made, and the plan of
    its config (test_images lowered by an overlay) fits and lists every similarity stage."""
    example = ROOT / "examples" / "scale_study"
    shutil.copytree(example, tmp_path / "examples" / "scale_study")
    make = [sys.executable, str(example / "make_study.py"), "data/scale", "models/scale",
            "--images", "300", "--train-images", "120", "--epochs", "1"]  # fmt: skip
    made = subprocess.run(make, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert made.returncode == 0, made.stderr[-3000:]
    assert np.load(tmp_path / "data" / "scale" / "images.npy").shape == (300, 16, 16, 3)
    assert sorted(p.name for p in (tmp_path / "models" / "scale").iterdir()) == [
        "digits-1.keras", "digits-2.keras", "digits-3.keras"]  # fmt: skip
    (tmp_path / "small.yaml").write_text("test_images: 100\n")
    plan = subprocess.run(
        [sys.executable, "-m", "ckaflow", "plan", "--configfile",
         "examples/scale_study/config.yaml", "small.yaml"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert plan.returncode == 0, plan.stderr[-3000:]
    for stage in ("extract_activations", "compute_grams", "compute_hsic", "compute_intervals"):
        assert stage in plan.stdout
    assert "all 100 test images at once (automatic)" in plan.stdout
