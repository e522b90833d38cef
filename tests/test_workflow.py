"""The workflow end to end: dry-run on the default config, a real run on the tiny one."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import snakemake

pytestmark = pytest.mark.workflow


def test_dry_run_default_config_plans_the_study(workdir):
    out = snakemake(workdir, "-n")
    assert out.returncode == 0, out.stdout
    for rule in ("build_dataset", "plot_samples", "all"):
        assert rule in out.stdout
    assert "This was a dry-run" in out.stdout


def test_tiny_run_builds_datasets_and_figures(workdir):
    out = snakemake(workdir, "--configfile", "config/tiny.yaml")
    assert out.returncode == 0, out.stdout
    results = workdir / "results"
    for domain in ("natural", "synth"):
        prov = json.loads((results / "data" / domain / "dataset.json").read_text())
        assert prov["counts"] == {"train": 48, "val": 4, "test": 8}
        test = np.load(results / "data" / domain / "test.npy")
        assert test.shape == (8, 64, 80) and test.dtype == np.uint8
        assert (workdir / "logs" / "build_dataset" / f"{domain}.log").read_text().count("images")
    for suffix in ("png", "pdf"):
        assert (results / "figures" / f"samples.{suffix}").stat().st_size > 10_000
    # Nothing is left to do, and nothing half-written lies around.
    again = snakemake(workdir, "-n", "--configfile", "config/tiny.yaml")
    assert "Nothing to be done" in again.stdout
    assert not list(results.rglob(".*tmp*"))
