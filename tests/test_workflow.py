"""The workflow end to end: dry-runs on the default config, one real run on the tiny config."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import DIGEST_KEY, ROOT, cka_digest, snakemake

from ckaflow.findings.baselines import COMPARISONS
from ckaflow.provenance import config_sha256, read_parquet_provenance, sidecar
from ckaflow.similarity import cka
from ckaflow.stages.activations import load_layers
from ckaflow.stages.cka_table import read_cka_table
from ckaflow.stages.hsic import CKA_COLUMNS, PAIR_KEY
from ckaflow.stages.intervals import read_intervals

pytestmark = pytest.mark.workflow

# The instances of the tiny config (seeds 1 and 2).
BASE = [f"{d}-{s}" for d in ("natural", "synth") for s in (1, 2)]
FINETUNED = [
    f"{d}-from-{o}-{s}" for d, o in (("natural", "synth"), ("synth", "natural")) for s in (1, 2)
]
# the tiny config's depth-2 instances (config depths [1, 2], the first seed)
DEEP_BASE = ["natural-d2-1", "synth-d2-1"]
DEEP = [*DEEP_BASE, "natural-from-synth-d2-1", "synth-from-natural-d2-1"]
TINY = ("--configfile", "config/tiny.yaml")


def planned(out) -> dict[str, int]:
    """Job counts of a dry-run, by rule."""
    stats = out.stdout[out.stdout.index("Job stats") :].split("\n\n")[0]
    return {
        line.split()[0]: int(line.split()[1])
        for line in stats.splitlines()[3:]
        if line.strip() and line.split()[0] not in ("total",)
    }


def test_dry_run_default_config_plans_the_study(workdir):
    out = snakemake(workdir, "-n")
    assert out.returncode == 0, out.stdout
    jobs = planned(out)
    assert jobs["build_dataset"] == 2 and jobs["train_base"] == 8 and jobs["finetune"] == 8
    assert jobs["extract_activations"] == 16 and jobs["compute_grams"] == 16 + 24 + 3
    assert (
        jobs["compute_hsic"] == 2 * 4 * 2 and jobs["reduce_cka"] == 1
    )  # test sets x estimators x shards
    assert (
        jobs["write_findings"] == 1
        and jobs["plot_filter_groups"] == 2
        and jobs["plot_cka"] == 5 + 3
    )
    assert "This was a dry-run" in out.stdout


def test_the_catalogs_test_case_plans_from_the_repository_root(workdir):
    """The Snakemake catalog's test case: `snakemake -d .test --configfile
    .test/config/config.yaml -n`, from the repository root (.test's config is the tiny one)."""
    shutil.copytree(ROOT / ".test", workdir / ".test", symlinks=True)
    out = snakemake(workdir, "-d", ".test", "--configfile", ".test/config/config.yaml", "-n")
    assert out.returncode == 0, out.stdout[-3000:]
    assert planned(out)["train_base"] == 6 and "This was a dry-run" in out.stdout
    assert not (workdir / "results").exists()  # nothing outside .test


def test_changing_a_training_value_plans_training_but_no_datasets(workdir):
    first = snakemake(workdir, *TINY, "--until", "build_dataset")
    assert first.returncode == 0, first.stdout
    (workdir / "override.yaml").write_text("train: {patience: 3}\n")
    out = snakemake(workdir, "-n", "--configfile", "config/tiny.yaml", "override.yaml")
    assert out.returncode == 0, out.stdout
    jobs = planned(out)
    # depth 1 (two seeds) and depth 2 (the first seed)
    assert jobs["train_base"] == 6 and jobs["finetune"] == 6 and "build_dataset" not in jobs


def test_tiny_run_datasets_models_and_figures(tiny_run):
    results = tiny_run / "results"
    for domain in ("natural", "synth"):
        prov = json.loads((results / "data" / domain / "dataset.json").read_text())
        assert prov["counts"] == {"train": 48, "val": 4, "test": 8}
        test = np.load(results / "data" / domain / "test.npy")
        assert test.shape == (8, 64, 80, 1) and test.dtype == np.uint8
    figures = [
        "samples",
        "loss_curves",
        "test_loss",
        "reconstructions_synth",
        "reconstructions_natural",
        "conv1_filters_synth-1",
        "conv1_filters_natural-1",
        "base_layer_strips",
        "finetuned_vs_base",
        "layer_matrices",
        "checkpoints_vs_final",
        "checkpoint_matrices",
        "depth_matrices",
        "depth_comparison",
        "filters_synth-1_vs_synth-1",
        "filters_natural-1_vs_natural-1",
        "filters_synth-1_vs_natural-1",
        "filter_groups_synth-1",
        "filter_groups_natural-1",
        "null_baselines",
        "claim_effects",
        "layer_identification",
    ]
    for name in figures:
        for suffix in ("png", "pdf"):
            assert (results / "figures" / f"{name}.{suffix}").stat().st_size > 10_000, name
    for name in BASE + FINETUNED + DEEP:
        folder = results / "models" / name
        base = name in BASE + DEEP_BASE
        checkpoints = ("init", "phase1", "phase2", "final") if base else ("init", "final")
        for c in checkpoints:
            assert (folder / "checkpoints" / f"{c}.npz").exists(), (name, c)
        prov = json.loads((folder / "provenance.json").read_text())
        assert prov["instance"] == name and prov["datasets"]["synth"]
        assert len(pd.read_parquet(folder / "history.parquet")) > 0
    losses = pd.read_parquet(results / "tables" / "test_loss.parquet")
    assert len(losses) == 12 * 2 * 8 and set(losses["instance"]) == set(BASE + FINETUNED + DEEP)
    assert losses["loss"].between(0, 1).all()
    acc = pd.read_csv(results / "tables" / "test_accuracy.csv")
    assert len(acc) == 24 and np.allclose(acc["accuracy"], 1 - acc["mean_loss"])
    assert acc["constant_loss"].between(0, 1).all()  # the mean training image's loss
    assert acc.groupby("test_set")["constant_loss"].nunique().eq(1).all()
    change = pd.read_csv(results / "tables" / "weight_change.csv")
    shallow = change[~change["instance"].isin(DEEP)]
    assert len(shallow) == 8 * 4 and set(shallow["layer"]) == {"conv1", "conv2", "conv3", "output"}
    deep = change[change["instance"].isin(DEEP)]  # a kernel per convolution of depth 2
    assert len(deep) == 4 * 7 and {"conv1a", "conv1b", "conv3b"} <= set(deep["layer"])
    assert (change["relative_change"] > 0).all()  # six steps move every kernel a little
    assert np.allclose(change["relative_change"], change["change_norm"] / change["init_norm"])
    assert "max_steps=6 reached" in (tiny_run / "logs" / "train_base" / "synth-1.log").read_text()
    table = pd.read_csv(results / "tables" / "table_finetuning.csv")
    assert len(table) == 4 + 2 * 2 and table["CKA base, synth"].notna().any()  # two halves
    assert list(table["fine-tuned"].iloc[[2, 3]]) == [
        "mean (natural-from-synth)",
        "sd (natural-from-synth)",
    ]
    assert (results / "tables" / "table_finetuning.md").read_text().count("|") > 50
    findings = (results / "findings.md").read_text()
    for claim in ("(a)", "(b)", "(c)", "(d)", "(e)"):
        assert claim in findings
    assert findings.count("**") >= 10 and "global centring" in findings
    assert "## How far training moved the weights" in findings
    assert "## Null baselines" in findings and "95% bootstrap interval" in findings
    # block structure of the depth-2 models, read against their initial weights and depth 1
    assert "## Block structure in the deeper models" in findings
    blocks = pd.read_csv(results / "tables" / "block_structure.csv").set_index("model")
    assert set(DEEP) | {"synth-1", "synth-d2-1@init"} <= set(blocks.index)
    assert blocks.loc[DEEP, "within"].notna().all() and blocks.loc["synth-1", "within"] != 0
    assert blocks.loc[DEEP_BASE, "beyond_init"].notna().all()
    assert np.allclose(blocks.loc[DEEP, "effect"], blocks.loc[DEEP, "within"] - blocks.loc[
        DEEP, "across"], atol=1e-5)  # fmt: skip
    # CKA's invariances on the run's own activations: every defined row holds
    assert "## CKA's invariances, on this study's activations" in findings
    inv = pd.read_csv(results / "tables" / "invariances.csv")
    assert set(inv["test_set"]) == {"natural", "synth"} and inv["holds"].dropna().all()
    assert inv["holds"].notna().sum() > len(inv) / 2
    # the intervals' estimates are the CKA table's values, from the same Gram files
    intervals = read_intervals(results / "cka_intervals.parquet")
    defined = intervals.dropna(subset=["low", "high"])  # the tiny models have dead layers
    assert len(defined) > len(intervals) / 2 and (defined["low"] <= defined["high"]).all()
    assert intervals["replicates"].map(len).eq(1000).all()
    cka_table = read_cka_table(results / "cka.parquet")
    both = intervals.merge(cka_table, on=PAIR_KEY, suffixes=("", "_table"))
    assert len(both) == len(intervals)
    assert np.allclose(both["cka"], both["cka_table"], atol=1e-12, equal_nan=True)
    baselines = pd.read_csv(results / "tables" / "null_baselines.csv")
    assert set(baselines["comparison"]) == set(COMPARISONS)
    # a model no better than the mean image on its own domain: no verdicts, and the reason
    own = acc[acc["test_set"] == acc["instance"].str.split("-").str[0]]
    untrained = bool((own["mean_loss"] >= own["constant_loss"]).any())
    assert ("no verdict from models that have not learnt" in findings) == untrained
    report = snakemake(tiny_run, *TINY, "--report", "report.html")
    assert report.returncode == 0, report.stdout[-3000:]
    html = (tiny_run / "report.html").read_text()
    assert "ckaflow-findings" in html and "(a) Fine-tuned instances stay" in html  # findings first
    for name in figures:
        assert f"{name}.png" in html, name
    again = snakemake(tiny_run, "-n", *TINY)
    assert "Nothing to be done" in again.stdout
    assert not list(results.rglob(".*tmp*")), "a temporary file was left behind"


def test_the_tiny_run_compares_what_it_compared_before_the_study_became_configuration(tiny_run):
    """The thesis' study as a preset compares what the hard-wired study compared: the CKA
    table's rows per test set, estimator and model, recorded from a run of the code before
    issue 25, and each test set's constant baseline. Only what holds on any CPU: the trained
    values themselves follow the CPU's rounding (docs/reproducibility.md), and
    tests/test_fixed_weights.py holds the values computed from committed weights instead."""
    got = cka_digest(tiny_run / "results" / "cka.parquet")
    want = pd.read_csv(ROOT / "tests" / "data" / "tiny_cka_digest.csv")
    assert got[DIGEST_KEY + ["rows"]].equals(want[DIGEST_KEY + ["rows"]])
    assert (got["undefined"] < got["rows"]).all()  # every model has defined values
    acc = pd.read_csv(tiny_run / "results" / "tables" / "test_accuracy.csv")
    before = pd.read_csv(ROOT / "tests" / "data" / "tiny_test_accuracy.csv")
    pd.testing.assert_frame_equal(acc[before.columns], before, rtol=1e-5)
    assert set(acc["metric"]) == {"1 - mean squared error"} and acc["accuracy"].between(0, 1).all()


def test_cka_table_is_complete_unique_and_right(tiny_run):
    table = pd.read_parquet(tiny_run / "results" / "cka.parquet")
    assert list(table.columns) == CKA_COLUMNS
    assert not table.duplicated(subset=PAIR_KEY).any()
    assert set(table["estimator"]) == {"biased", "debiased"} and (table["n"] == 8).all()
    # labels compare as a user expects: a with b row by row, < in network order, isin
    assert (table["a_group"] == table["b_group"]).any() and table["a_group"].cat.ordered
    assert list(table["a_group"].cat.categories[:2]) == ["conv1", "pool1"]
    assert ((table["a_group"] < "pool1") == (table["a_group"] == "conv1")).all()
    assert table["a_model"].isin(["synth-1"]).any() and (table["a_model"] == table["b_model"]).any()
    models = (
        set(BASE + FINETUNED + DEEP)
        | {f"{b}@{c}" for b in BASE for c in ("init", "phase1", "phase2")}
        | {"synth-1@step2", "synth-1@step4"}  # the first synth instance's early checkpoints
        | {f"{b}@init" for b in DEEP_BASE}  # the deeper models: initial and final weights only
    )
    assert set(table["a_model"]) == models
    # Every layer and model pair across all models and checkpoints, per test set and estimator.
    layer_rows = table[~table["a_group"].str.contains("/")]
    per = layer_rows.groupby(["test_set", "kernel", "estimator", "centering"], observed=True).size()
    assert len(per) == 2 * 4  # test sets x the four default estimators
    # depth 1: 8 instances, 4 x 3 earlier checkpoints and 2 early ones, 11 groups each; depth 2:
    # 4 instances and 2 initial weights, 17 groups each (16 layers and the model)
    assert (per == (22 * 11 + 6 * 17) ** 2).all()
    deep = layer_rows[
        (layer_rows["a_model"] == "synth-1") & (layer_rows["b_model"] == "synth-d2-1")
    ]
    assert "conv1a" in set(deep["b_group"]) and "conv1" in set(deep["a_group"])
    # the filters of a depth-2 layer: its own block, the 4 depth-2 final instances
    conv1b = table[table["a_group"].str.startswith("conv1b/") & (table["test_set"] == "synth")]
    assert len(conv1b[conv1b["estimator"] == "debiased"]) == (4 * 16) ** 2
    # Filter pairs within each layer, across the 8 final instances.
    conv1 = table[table["a_group"].str.startswith("conv1/") & (table["test_set"] == "synth")]
    assert set(conv1["b_group"].str.split("/").str[0]) == {"conv1"}
    assert len(conv1[(conv1["estimator"] == "debiased")]) == (8 * 16) ** 2
    # CKA of every model with itself is 1 per group (where defined).
    self_rows = table[
        (table["a_model"] == table["b_model"]) & (table["a_group"] == table["b_group"])
    ]
    defined = self_rows["cka"].notna()
    assert defined.mean() > 0.5 and np.allclose(self_rows.loc[defined, "cka"], 1.0, atol=1e-6)
    # ... and undefined exactly where the group does not vary (tiny training leaves dead filters).
    assert (self_rows.loc[~defined, "hsic_xx"] == 0).all()
    biased = table[(table["estimator"] == "biased") & table["cka"].notna()]
    assert biased["cka"].between(0, 1 + 1e-9).all()


@pytest.mark.parametrize(
    "a, b, debiased",
    [
        (("synth-1", "conv2"), ("natural-from-synth-1", "conv2"), False),
        (("synth-2@init", "model"), ("synth-2", "model"), True),
        (("natural-2", "conv1/f04"), ("synth-from-natural-2", "conv1/f04"), False),
        (("natural-1", "pool3"), ("natural-2", "deconv1"), True),
    ],
)
def test_table_agrees_with_cka_on_stored_activations(tiny_run, a, b, debiased):
    table = pd.read_parquet(tiny_run / "results" / "cka.parquet")
    row = table[
        (table["test_set"] == "natural")
        & (table["kernel"] == "linear")
        & (table["centering"] == "unit")
        & (table["estimator"] == ("debiased" if debiased else "biased"))
        & (table["a_model"] == a[0])
        & (table["a_group"] == a[1])
        & (table["b_model"] == b[0])
        & (table["b_group"] == b[1])
    ]
    assert len(row) == 1

    def units(model, group):
        layers = load_layers(
            tiny_run / "results" / "activations" / model.split("@")[0], model, "natural"
        )
        if group == "model":
            return np.concatenate([v.reshape(len(v), -1) for v in layers.values()], axis=1)
        layer, _, f = group.partition("/f")
        return layers[layer][:, int(f)] if f else layers[layer]

    want = cka(units(*a), units(*b), debiased=debiased)
    got = float(row["cka"].iloc[0])
    assert (np.isnan(want) and np.isnan(got)) or abs(got - want) <= 1e-6


def test_a_deleted_shard_is_the_only_job_a_rerun_plans(tiny_run):
    rel = "results/similarity/hsic/synth/linear-debiased/shard0.parquet"
    shard = tiny_run / rel
    before = pd.read_parquet(shard)
    shard.unlink()
    jobs = planned(snakemake(tiny_run, "-n", *TINY))
    # That shard, then only what reads the table it feeds: no activations, Grams or other shards.
    assert jobs.pop("compute_hsic") == 1 and jobs.pop("reduce_cka") == 1
    downstream = {
        "default",
        "write_findings",
        "plot_cka",
        "plot_filter_groups",
        "plot_null_baselines",
        "plot_claim_effects",
        "plot_layer_identification",
    }
    assert set(jobs) <= downstream
    # Rebuilt (alone, to keep the suite short: its dependants are the same code as above), it
    # holds exactly what it held.
    assert snakemake(tiny_run, rel, *TINY).returncode == 0
    pd.testing.assert_frame_equal(pd.read_parquet(shard), before)


@pytest.mark.parametrize(
    "rel, rebuilt",
    [
        ("results/models/synth-1/checkpoints/final.npz", {"train_base": 1}),
        ("results/models/natural-1/checkpoints/init.json", {"train_base": 1}),
        ("results/models/synth-1/history.parquet", {"train_base": 1}),
        # the tiny config keeps the activations: the Gram alone is made again from them
        ("results/similarity/grams/natural-1.npz", {"compute_grams": 1}),
        ("results/similarity/intervals/synth/linear-debiased.parquet", {"compute_intervals": 1}),
        # one file inside a kept activation folder: the dry run plans what the run will do
        # (the run removes the incomplete folder at start-up and makes it again)
        ("results/activations/synth-1/synth-1/synth/conv2.npy", {"extract_activations": 1}),
    ],
)
def test_a_deleted_intermediate_is_rebuilt_with_what_was_made_from_it(tiny_run, rel, rebuilt):
    """A plain run after a deletion plans the job that makes the file and everything made from
    it (a checkpoint's record too: it holds the checkpoint's hash), not 'Nothing to be done'.
    Dry runs: the file is put back unchanged afterwards."""
    path = tiny_run / rel
    aside = path.with_name(path.name + ".aside")
    path.rename(aside)
    try:
        out = snakemake(tiny_run, "-n", *TINY)
    finally:
        aside.rename(path)
    assert out.returncode == 0, out.stdout[-3000:]
    jobs = planned(out)
    for rule, count in rebuilt.items():
        assert jobs.get(rule) == count, jobs
    assert "compute_grams" in jobs or "compute_intervals" in jobs, jobs
    assert "write_findings" in jobs  # and what was made from it, to the findings
    if "train_base" in rebuilt:
        assert "finetune" in jobs and "compute_hsic" in jobs and "build_dataset" not in jobs


def test_changing_only_the_kernel_list_plans_no_training(tiny_run):
    (tiny_run / "kernels.yaml").write_text(
        "similarity:\n  estimators: [{kernel: linear, debiased: false}, {kernel: linear},"
        " {kernel: rbf, sigma_frac: 0.8}]\n"
    )
    out = snakemake(tiny_run, "-n", "--configfile", "config/tiny.yaml", "kernels.yaml")
    assert out.returncode == 0, out.stdout[-3000:]
    jobs = planned(out)
    assert jobs["compute_grams"] == 22 + 6  # depth 1 (with checkpoints) and depth 2
    assert jobs["reduce_cka"] == 1 and jobs["compute_hsic"] == 3 * 2
    for rule in (
        "train_base",
        "finetune",
        "extract_activations",
        "build_dataset",
        "evaluate_test_loss",
    ):
        assert rule not in jobs


def test_every_model_and_table_says_what_made_it(tiny_run):
    results = tiny_run / "results"
    config = yaml.safe_load((tiny_run / "config" / "tiny.yaml").read_text())
    datasets = {
        d: json.loads((results / "data" / d / "dataset.json").read_text())
        for d in ("natural", "synth")
    }

    def check(prov, where):
        assert prov["config"]["images_per_domain"] == config["images_per_domain"], where
        assert prov["config_sha256"] == config_sha256(prov["config"]), where
        assert prov["seeds"] == {"datasets": 0, "instances": [1, 2]}, where
        for d, info in datasets.items():
            assert prov["datasets"][d]["dataset_id"] == info["dataset_id"], where
            assert prov["datasets"][d]["sha256"] == info["sha256"], where
        assert prov["packages"]["tensorflow-cpu"] and prov["packages"]["numpy"], where
        assert set(prov["code"]) == {"ckaflow", "git"}, where

    for name in BASE + FINETUNED:
        folder = results / "models" / name
        record = json.loads((folder / "provenance.json").read_text())
        check(record["run"], name)
        check(json.loads((folder / "checkpoints" / "final.json").read_text())["run"], name)
        assert record["machine"]["cpu"] and record["machine"]["cores"] >= 1, name  # trained on
    for rel in (
        "cka.parquet",
        "tables/test_loss.parquet",
        "similarity/hsic/natural/linear-biased/shard0.parquet",
    ):
        check(read_parquet_provenance(results / rel), rel)
    for rel in ("tables/test_accuracy.csv", "tables/table_finetuning.csv"):
        check(json.loads(sidecar(results / rel).read_text()), rel)
    for rel in ("findings.md", "tables/table_finetuning.md"):
        last = (results / rel).read_text().strip().splitlines()[-1]
        assert last.startswith("Made by ckaflow") and datasets["synth"]["dataset_id"] in last
    # every figure: the code, the config's digest and the digest of each file it was drawn from
    from ckaflow.figures.common import read_figure_provenance

    figures = sorted((results / "figures").glob("*.png"))
    assert figures and not (results / "stale").exists()  # nothing stale in a first run
    cka_sha = hashlib.sha256((results / "cka.parquet").read_bytes()).hexdigest()
    for png in figures:
        stamp = read_figure_provenance(png)
        assert stamp["code"]["git"] and len(stamp["config_sha256"]) == 64, png.name
        assert stamp["inputs"], png.name
        if "results/cka.parquet" in stamp["inputs"]:
            assert stamp["inputs"]["results/cka.parquet"] == cka_sha, png.name


def test_make_run_writes_the_report_under_a_temporary_name_then_renames_it():
    """A report step killed while writing must leave the previous report whole: make run and
    make resume write results/report.partial.html and rename it over report.html."""
    root = Path(__file__).resolve().parents[1]
    for target in ("run", "resume"):
        out = subprocess.run(["make", "-n", target, "CONFIG=config/tiny.yaml"], cwd=root,
                             capture_output=True, text=True, check=True).stdout  # fmt: skip
        report = [line for line in out.splitlines() if "--report" in line]
        assert report == [  # the suite runs with KERAS_BACKEND=tensorflow (conftest)
            "KERAS_BACKEND=tensorflow .venv/bin/snakemake --configfile config/tiny.yaml --report "
            "results/report.partial.html && mv results/report.partial.html results/report.html"
        ], out
