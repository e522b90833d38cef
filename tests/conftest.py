"""Shared fixtures: the repository, the tiny config and a runner for snakemake."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "config" / "tiny.yaml"
SNAKEMAKE = Path(sys.executable).with_name("snakemake")


def copy_workflow(dest: Path) -> Path:
    """Copy the workflow (Snakefile, rules, scripts, configs, package) into ``dest``."""
    for name in ("Snakefile", "workflow", "config", "envs", "src"):
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(src, dest / name)
    return dest


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A copy of the workflow in a fresh folder."""
    return copy_workflow(tmp_path)


def snakemake(workdir: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    """Run snakemake in ``workdir``; output (stdout and stderr together) in ``.stdout``."""
    env = {**os.environ, "MPLBACKEND": "Agg"}
    return subprocess.run(
        [str(SNAKEMAKE), "--cores", "2", *args],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
    )
