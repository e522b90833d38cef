"""ckaflow used from another workflow, as a Snakemake ``module`` with that workflow's own config:
from a folder that holds no copy of ckaflow (the jobs import the installed package), the tiny
study runs to its findings, and the importing workflow's own rule reads them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from conftest import ROOT, TINY, snakemake
from test_workflow import planned

from ckaflow.stages.cka_table import PAIR_KEY

# The README's snippet ("Use it from your own workflow"), with a local path for the snakefile.
USER_SNAKEFILE = """\
configfile: "config/ckaflow.yaml"


module ckaflow:
    snakefile:
        "{snakefile}"
    config:
        config


use rule * from ckaflow as ckaflow_*


rule all:
    default_target: True
    input:
        rules.ckaflow_all.input,
        "verdicts.txt",


# The importing workflow's own step, on ckaflow's output.
rule verdicts:
    input:
        "results/findings.md",
    output:
        "verdicts.txt",
    shell:
        "grep -Eo 'supported|contradicted|inconclusive' {{input}} > {{output}}"
"""


def test_the_tiny_study_runs_as_a_module_of_another_workflow(tmp_path, tiny_run):
    config = yaml.safe_load(TINY.read_text())
    # One seed at depth 1 (the same rules as the others, at a quarter of the trainings)
    config["model"]["depths"], config["seeds"] = [1], [1]
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "ckaflow.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    snakefile = ROOT / "workflow" / "Snakefile"
    (tmp_path / "Snakefile").write_text(USER_SNAKEFILE.format(snakefile=snakefile))
    assert not (tmp_path / "src").exists() and not (tmp_path / "workflow").exists()

    # The importing workflow's own rule, and everything of ckaflow's that the findings need
    out = snakemake(tmp_path, "verdicts.txt")
    assert out.returncode == 0, out.stdout[-5000:]
    assert "ckaflow_train_base" in out.stdout  # the module's rules, under the prefix chosen
    verdicts = (tmp_path / "verdicts.txt").read_text().split()
    assert verdicts and set(verdicts) <= {"supported", "contradicted", "inconclusive"}
    same_as_from_the_checkout(tiny_run, tmp_path)
    # The whole study is what the user's `rule all` asks for, with ckaflow's figures
    plan = planned(snakemake(tmp_path, "-n"))
    assert plan["ckaflow_plot_cka"] > 0 and "ckaflow_train_base" not in plan


def same_as_from_the_checkout(checkout: Path, module: Path) -> None:
    """The module's run made what the checkout's tiny run made for the same instances: the same
    dataset bytes, weights and CKA rows."""
    ra, rb = checkout / "results", module / "results"
    for rel in sorted(p.relative_to(rb) for p in rb.glob("data/*/*.npy")):
        assert (ra / rel).read_bytes() == (rb / rel).read_bytes(), rel
    weights = sorted(p.relative_to(rb) for p in rb.glob("models/*/checkpoints/final.npz"))
    assert len(weights) == 4  # two domains' bases and their fine-tuned versions
    for rel in weights:
        with np.load(ra / rel) as wa, np.load(rb / rel) as wb:
            assert all(np.array_equal(wa[k], wb[k]) for k in wb.files), rel
    tb = pd.read_parquet(rb / "cka.parquet")
    models = set(tb["a_model"].astype(str)) | set(tb["b_model"].astype(str))
    ta = pd.read_parquet(ra / "cka.parquet")
    ta = ta[ta["a_model"].astype(str).isin(models) & ta["b_model"].astype(str).isin(models)]
    ta, tb = (
        t.astype({c: str for c in t.select_dtypes("category")}).sort_values(
            PAIR_KEY, ignore_index=True
        )
        for t in (ta, tb)
    )
    assert len(tb) > 1000
    pd.testing.assert_frame_equal(ta, tb)
