"""A tiny run killed (SIGKILL to its whole process group) at five points and resumed each time
the way the README says, ends with exactly the tables of an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import DEPTH_1, SEED_1, SNAKEMAKE, copy_workflow, snakemake, tables_equal
from PIL import Image

pytestmark = pytest.mark.workflow

# its first seed at depth 1 only: what it shows is the same, at 35 fewer jobs
# (conftest.tables_equal)
TINY = ("--configfile", "config/tiny.yaml", *DEPTH_1, *SEED_1)

# Where to kill: the stage; the log of one of its jobs and what it says once that job runs;
# the job's output, which must still be missing after the kill (so the kill cut the job); and,
# for the longer jobs, the temporary folder the cut job leaves behind (its rerun clears it).
KILL_POINTS = [
    ("data synthesis", "logs/build_dataset/synth.log", "", "data/synth/dataset.json", None),
    (
        "training",
        "logs/train_base/natural-1.log",
        "training on",
        "models/natural-1/history.parquet",
        "models/natural-1/.tensorboard.tmp-*",
    ),
    (  # natural-1: the instance whose training was cut, so its extraction cannot have run yet
        "activation extraction",
        "logs/extract_activations/natural-1.log",
        "layers on",
        "activations/natural-1",
        "activations/.natural-1.tmp-*",
    ),
    (
        "an HSIC shard",
        "logs/compute_hsic/synth-linear-debiased-0.log",
        "",
        "similarity/hsic/synth/linear-debiased/shard0.parquet",
        None,
    ),
    (
        "plotting",
        "logs/plot_filter_groups/synth-1.log",
        "",
        "figures/filter_groups_synth-1.png",
        None,
    ),
]


def _start(workdir: Path, *args: str) -> subprocess.Popen:
    """snakemake in its own process group, as a user's shell would start it."""
    log = open(workdir / "run.log", "a")
    return subprocess.Popen(
        [str(SNAKEMAKE), "--cores", "2", *TINY, *args],
        cwd=workdir,
        env={**os.environ, "MPLBACKEND": "Agg"},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _kill_when(proc: subprocess.Popen, path: Path, text: str, timeout: float = 600) -> None:
    """SIGKILL the whole process group as soon as ``path`` exists and contains ``text``."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if path.exists() and text in path.read_text(errors="replace"):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=60)
            return
        if proc.poll() is not None:
            pytest.fail(f"the run ended (rc {proc.returncode}) before {path} said {text!r}")
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    pytest.fail(f"{path} did not say {text!r} within {timeout} s")


def _group_is_gone(pgid: int, timeout: float = 10) -> bool:
    """No live process is left in the group (killed children may linger as zombies until the
    system reaps them; they run nothing)."""
    end = time.monotonic() + timeout
    while True:
        alive = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                alive.append(stat.parent.name)
        if not alive or time.monotonic() > end:
            return not alive
        time.sleep(0.1)


def assert_nothing_half_written(results: Path) -> None:
    """Every file under its final name reads completely; temporaries are hidden and are all a
    killed job leaves behind."""
    for path in results.rglob("*"):
        hidden = any(part.startswith(".") for part in path.relative_to(results).parts)
        if hidden or not path.is_file():
            continue
        suffix = path.suffix
        if suffix == ".npy":
            np.load(path)  # reads every byte the header promises, or raises
        elif suffix == ".npz":
            assert zipfile.ZipFile(path).testzip() is None, path  # every member's CRC
            with np.load(path) as z:
                for name in z.files:
                    z[name]
        elif suffix == ".parquet":
            pd.read_parquet(path)
        elif suffix == ".json":
            json.loads(path.read_text())
        elif suffix == ".png":
            with Image.open(path) as im:
                im.load()
        elif suffix == ".pdf":
            assert path.read_bytes().rstrip().endswith(b"%%EOF"), path
        elif suffix == ".csv":
            pd.read_csv(path)


def test_killed_five_times_then_resumed_equals_an_uninterrupted_run(tmp_path, tiny_run):
    workdir = copy_workflow(tmp_path)
    results = workdir / "results"
    resume: tuple[str, ...] = ()
    for stage, marker, text, output, left in KILL_POINTS:
        proc = _start(workdir, *resume)
        _kill_when(proc, workdir / marker, text)
        assert _group_is_gone(proc.pid), f"processes survived the kill during {stage}"
        assert not (results / output).exists(), f"the {stage} job finished before the kill"
        if left:
            assert list(results.glob(left)), f"the cut {stage} job left no temporary folder"
        assert_nothing_half_written(results)
        # The README's resume: release the dead run's lock, then rerun its incomplete jobs.
        unlock = snakemake(workdir, *TINY, "--unlock")
        assert unlock.returncode == 0, unlock.stdout[-3000:]
        resume = ("--rerun-incomplete",)
    final = snakemake(workdir, *TINY, *resume)
    assert final.returncode == 0, final.stdout[-5000:]
    tables_equal(tiny_run, workdir)
    assert not list(results.rglob(".*tmp*")), "a temporary file was left behind"
    again = snakemake(workdir, "-n", *TINY)
    assert "Nothing to be done" in again.stdout
