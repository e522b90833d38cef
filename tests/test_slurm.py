"""The SLURM profile: a dry-run of its resources, and the tiny study on a real SLURM cluster."""

from __future__ import annotations

import os
import re

import numpy as np
import pandas as pd
import pytest
from conftest import SLURM_ACCOUNT, SLURM_TIMEOUT, snakemake

from ckaflow.names import depth_of, parse, parse_model
from ckaflow.stages.hsic import PAIR_KEY

pytestmark = pytest.mark.workflow

GPU_RULES = {
    "train_base",
    "finetune",
    "extract_activations",
    "compute_grams",
    "compute_hsic",
    "compute_intervals",
}
TINY = ("--configfile", "config/tiny.yaml")


def planned_resources(stdout: str) -> list[tuple[str, dict[str, str]]]:
    """(rule, resources) of every job a dry-run plans."""
    jobs = []
    for block in re.split(r"\n\[[^\]]+\]\n", stdout):
        rule = re.search(r"^(?:local)?rule (\w+):", block, re.M)
        res = re.search(r"^\s+resources: (.*)$", block, re.M)
        if rule and res:
            items = dict(item.split("=", 1) for item in res.group(1).split(", "))
            jobs.append((rule.group(1), items))
    return jobs


# The target rules: workflow/Snakefile's, and the root Snakefile's that names it the default.
TARGETS = {"all", "default"}


@pytest.mark.parametrize("profile", ["slurm", "profiles/slurm"])
def test_profile_sends_exactly_the_gpu_rules_to_gpus(workdir, profile):
    out = snakemake(workdir, "--profile", profile, "-n", cores=None)
    assert out.returncode == 0, out.stdout[-3000:]
    jobs = planned_resources(out.stdout)
    assert {rule for rule, _ in jobs} >= GPU_RULES | {"build_dataset", "plot_filter_groups"}
    for rule, res in jobs:
        if rule in TARGETS:
            continue
        assert res["slurm_account"] == "CHANGE_ME", (rule, res)
        if rule in GPU_RULES:
            assert res.get("gpu") == "1" and res["slurm_partition"] == "gpu", (rule, res)
        else:
            assert "gpu" not in res and res["slurm_partition"] == "cpu", (rule, res)


def test_local_runs_get_nothing_of_the_cluster(workdir):
    out = snakemake(workdir, "-n")
    assert out.returncode == 0, out.stdout[-3000:]
    jobs = planned_resources(out.stdout)
    assert jobs and not (workdir / "profiles" / "default").exists()
    for rule, res in jobs:
        assert not any(k.startswith("slurm") for k in res), (rule, res)
        assert res.get("mem_mb") is None, (rule, res)  # no cluster memory requests locally


def test_tiny_study_on_a_real_slurm_cluster(slurm_study, tiny_run):
    """The tiny config through `--profile slurm` (run in the background since the session
    started: see conftest.slurm_study)."""
    study = slurm_study.join(SLURM_TIMEOUT)
    if study.skip:
        pytest.skip(study.skip)
    if study.error is not None:
        raise study.error
    out, workdir, cluster = study.out, study.workdir, study.cluster
    assert out.returncode == 0, out.stdout[-5000:] + cluster.logs()
    jobs = study.jobs
    assert jobs, "the controller knew no job"
    rules = {}
    for job in jobs:
        rule = re.match(r"rule_(\w+?)_wildcards", job["Comment"] + "_wildcards").group(1)
        rules[rule] = rules.get(rule, 0) + 1
        assert job["JobState"] == "COMPLETED", job
        assert job["Account"] == SLURM_ACCOUNT, job
        gpus = "gpu" in job.get("TresPerJob", "")
        if rule in GPU_RULES:
            assert gpus and job["Partition"] == "gpu", job
        else:
            assert not gpus and job["Partition"] == "cpu", job
    # the tiny config at depth 1, seed 1 (conftest.DEPTH_1, SEED_1), as its dry run plans it
    assert rules["train_base"] == 2 and rules["compute_grams"] == 12, rules
    assert not TARGETS & set(rules)  # the target rules run on the submitting host
    # TensorFlow ran inside a SLURM job that was given a GPU device, with the threads Snakemake
    # granted: the profile's 4, or fewer where the node really has fewer cores (this test node
    # advertises more CPUs than the machine has, and Snakemake caps threads at the real cores).
    threads = min(4, len(os.sched_getaffinity(0)))
    log = (workdir / "logs" / "train_base" / "synth-1.log").read_text()
    pattern = (rf"computes on the CPU \(no GPU visible\) \({threads} CPU threads; [^)]*\); "
               r"SLURM job \d+, CUDA_VISIBLE_DEVICES=\d")  # fmt: skip
    assert re.search(pattern, log), log
    # The same datasets and initial weights as the local run of the same config, and a table of
    # the same pairs. The trained weights are not bitwise the same: TensorFlow's CPU kernels
    # split their sums by thread count, the profile gives training 4 threads where a local run
    # uses 1, and training amplifies the last-bit differences (README: reproducibility).
    ra, rb = tiny_run / "results", workdir / "results"
    for path in sorted(ra.glob("data/*/*.npy")):
        assert path.read_bytes() == (rb / path.relative_to(ra)).read_bytes(), path
    for path in sorted(rb.glob("models/*/checkpoints/init.npz")):
        if "-from-" in path.parts[-3]:
            continue  # a fine-tuned instance starts from its base's trained weights
        with np.load(ra / path.relative_to(rb)) as a, np.load(path) as b:
            assert all(np.array_equal(a[k], b[k]) for k in a.files), path
    local, cluster_table = (pd.read_parquet(r / "cka.parquet", columns=PAIR_KEY) for r in (ra, rb))
    local, cluster_table = (t.astype({c: str for c in t.select_dtypes("category")})
                            for t in (local, cluster_table))  # fmt: skip
    first = {m: depth_of(m) == 1 and parse(parse_model(m)[0]).seed == 1
             for m in set(local["a_model"]) | set(local["b_model"])}  # fmt: skip
    local = local[local[["a_model", "b_model"]].map(first.get).all(axis=1)]  # depth 1, seed 1
    pd.testing.assert_frame_equal(
        *(t.sort_values(PAIR_KEY, ignore_index=True) for t in (local, cluster_table))
    )
    assert os.environ.get("SLURM_CONF") != str(cluster.conf)  # nothing leaked into this process
