"""Shared fixtures: the repository, the tiny config and a runner for snakemake."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

# The suite runs on TensorFlow, Keras' default backend, whatever the shell says; the other
# backends are tested in processes of their own (test_backends.py).
os.environ["KERAS_BACKEND"] = "tensorflow"

from ckaflow.stages.cka_table import PAIR_KEY  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "config" / "tiny.yaml"
SNAKEMAKE = Path(sys.executable).with_name("snakemake")


def copy_workflow(dest: Path) -> Path:
    """Copy the workflow (Snakefile, rules, scripts, schema, configs, profiles) into ``dest``, with
    the overlays :data:`DEPTH_1` and :data:`SEED_1` name. Not the package: the jobs import the
    installed one."""
    for name in ("Snakefile", "workflow", "config", "envs", "profiles", "slurm"):
        src = ROOT / name
        if src.is_symlink():
            (dest / name).symlink_to(os.readlink(src))
        elif src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(src, dest / name)
    (dest / DEPTH_1[0]).write_text("model: {depths: [1]}\n")
    (dest / SEED_1[0]).write_text("seeds: [1]\n")
    return dest


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A copy of the workflow in a fresh folder."""
    return copy_workflow(tmp_path)


def snakemake(
    workdir: Path,
    *args: str,
    timeout: int = 900,
    cores: str | None = "2",
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """Run snakemake in ``workdir``; output (stdout and stderr together) in ``.stdout``.

    ``cores=None`` leaves ``--cores`` out (a profile sets the executor and its limits).
    """
    env = {**(env or os.environ), "MPLBACKEND": "Agg"}
    return subprocess.run(
        [str(SNAKEMAKE), *(["--cores", cores] if cores else []), *args],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
    )


SLURM_TEST = "test_tiny_study_on_a_real_slurm_cluster"
SLURM_ACCOUNT = "ckaflow-test"
# The SLURM study's limit: it runs beside the whole suite (about half an hour on 2 cores), so
# its limit is the suite's, not its own time alone (22 minutes with the tiny fixture beside it,
# on a 2-core AMD EPYC); it guards against a hang.
SLURM_TIMEOUT = 2700


def _slurm_snakemake(workdir: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    workdir.mkdir(parents=True, exist_ok=True)
    copy_workflow(workdir)
    return snakemake(
        workdir,
        "--profile",
        "slurm",
        "--configfile",
        "config/tiny.yaml",
        # The depth-2 models' and the second seed's rules are the same rules: 35 jobs fewer,
        # each of which loads the workflow twice on the cluster (the job and its step).
        *DEPTH_1,
        *SEED_1,
        # The test cluster has no accounting database, so sacct cannot answer.
        "--slurm-status-command",
        "squeue",
        # Short jobs: poll often.
        "--slurm-init-seconds-before-status-checks",
        "2",
        "--seconds-between-status-checks",
        "2",
        cores=None,
        env={**env, "CKAFLOW_SLURM_ACCOUNT": SLURM_ACCOUNT},
        timeout=SLURM_TIMEOUT,
    )


def pytest_collection_modifyitems(items):
    """The SLURM test joins a run that started with the session: run it last, so that the rest
    of the suite overlaps with that run."""
    items.sort(key=lambda item: item.name == SLURM_TEST)


@pytest.fixture(scope="session", autouse=True)
def slurm_study(request, tmp_path_factory):
    """The tiny study on a real SLURM cluster, started in the background as the session starts
    (only when the SLURM test is selected), joined by that test."""
    from slurm_cluster import BackgroundStudy

    if not any(item.name == SLURM_TEST for item in request.session.items):
        yield None
        return
    study = BackgroundStudy(tmp_path_factory.mktemp("slurm"), _slurm_snakemake)
    yield study
    study.join(SLURM_TIMEOUT)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """The whole study on the tiny config, run once for the whole session. Read-mostly: a test
    that changes it must leave the same results behind (test_workflow.py, which runs last)."""
    workdir = copy_workflow(tmp_path_factory.mktemp("tiny"))
    # beside the SLURM study (conftest.slurm_study) on 2 cores it takes twice its time alone
    out = snakemake(workdir, "--configfile", "config/tiny.yaml", timeout=SLURM_TIMEOUT)
    assert out.returncode == 0, out.stdout[-5000:]
    return workdir


# A config overlay (after config/tiny.yaml in --configfile) without the depth-2 models: the runs
# that only need to agree with the full tiny run on what they share (the interrupted run, the
# SLURM run) skip their 16 jobs. A file, not --config depths=[1]: Snakemake's --config reads
# list items as strings.
DEPTH_1 = ("depth1.yaml",)
# The same for the first seed only (after DEPTH_1: the SLURM and the interrupted runs).
SEED_1 = ("seed1.yaml",)


def tables_equal(a: Path, b: Path) -> None:
    """Assert that run ``b`` made what run ``a`` made: byte-identical datasets, identical weights
    and equal tables. ``b`` may be the tiny config at depth 1 only (:data:`DEPTH_1`), or its first
    seed at depth 1 (and :data:`SEED_1`): then it is held to that part of ``a``."""
    from ckaflow.names import parse, parse_model

    ra, rb = a / "results", b / "results"
    datasets = sorted(p.relative_to(ra) for p in ra.glob("data/*/*.npy"))
    assert len(datasets) == 6
    for rel in datasets:
        assert (ra / rel).read_bytes() == (rb / rel).read_bytes(), rel
    checkpoints = sorted(p.relative_to(ra) for p in ra.glob("models/*/checkpoints/*.npz"))
    # the tiny config's base instances (init, step2, step4, phase1, phase2, final), fine-tuned (2),
    # at depth 1 (two seeds) and 2 (the first seed)
    assert len(checkpoints) == (4 + 2) * 6 + (4 + 2) * 2
    depths = {1} if not (rb / "models" / "synth-d2-1").exists() else {1, 2}
    seeds = {1} if not (rb / "models" / "synth-2").exists() else {1, 2}
    whole = depths == {1, 2} and seeds == {1, 2}

    def kept(name: str) -> bool:  # a model or instance name of b's part
        instance = parse(parse_model(name)[0])
        return instance.depth in depths and instance.seed in seeds

    checkpoints = [rel for rel in checkpoints if kept(rel.parts[1])]
    assert sorted(p.relative_to(rb) for p in rb.glob("models/*/checkpoints/*.npz")) == checkpoints
    for rel in checkpoints:
        with np.load(ra / rel) as wa, np.load(rb / rel) as wb:
            assert sorted(wa.files) == sorted(wb.files), rel
            for name in wa.files:
                assert np.array_equal(wa[name], wb[name]), (rel, name)
    for rel, names in (("cka.parquet", ["a_model", "b_model"]),
                       ("tables/test_loss.parquet", ["instance"])):  # fmt: skip
        ta, tb = (_plain(pd.read_parquet(r / rel)) for r in (ra, rb))
        if not whole:  # a's rows of b's part, in b's order (the rows of a block follow its models)
            # each distinct name once (a per-row map of 3 M rows takes minutes)
            rows = np.ones(len(ta), dtype=bool)
            for c in names:
                rows &= ta[c].map({m: kept(m) for m in ta[c].unique()}).to_numpy()
            ta = ta[rows]
            key = PAIR_KEY if "a_model" in names else names
            ta, tb = (t.sort_values(key, kind="stable", ignore_index=True) for t in (ta, tb))
        pd.testing.assert_frame_equal(ta.reset_index(drop=True), tb)
    for rel, column in (("tables/test_accuracy.csv", "instance"),
                        ("tables/table_finetuning.csv", "fine-tuned")):  # fmt: skip
        ta, tb = (pd.read_csv(r / rel) for r in (ra, rb))
        if not whole:  # b's instances (a mean and sd over one seed are not a's)
            ta, tb = (t[[_is_instance(i) and kept(i) for i in t[column]]].reset_index(drop=True)
                      for t in (ta, tb))  # fmt: skip
        pd.testing.assert_frame_equal(ta, tb, check_exact=True)


def _is_instance(name: str) -> bool:
    from ckaflow.names import parse

    try:
        parse(name)
    except ValueError:
        return False
    return True


def _plain(table: pd.DataFrame) -> pd.DataFrame:
    """Categorical columns as strings (two runs' category lists differ with their models)."""
    return table.astype({c: str for c in table.select_dtypes("category")})


DIGEST_KEY = ["test_set", "kernel", "estimator", "centering", "a_model"]


def cka_digest(path: Path) -> pd.DataFrame:
    """A CKA table summed up per test set, estimator and first model: rows, undefined values,
    and the sum and sum of squares of the defined ones (the tiny run's fingerprint; any change
    in what a model computes moves them)."""
    t = pd.read_parquet(path, columns=[*DIGEST_KEY, "cka"])
    t = _plain(t).assign(defined=lambda d: d["cka"].notna(), sq=lambda d: d["cka"] ** 2)
    g = t.groupby(DIGEST_KEY, sort=True)
    return pd.DataFrame({"rows": g.size(), "undefined": g.size() - g["defined"].sum(),
                         "sum": g["cka"].sum(), "sumsq": g["sq"].sum()}).reset_index()  # fmt: skip
