"""ckaflow used from another workflow, as a Snakemake ``module`` with that workflow's own config:
from a folder that holds no copy of ckaflow (the jobs import the installed package), a study runs
to its findings and figures, and the importing workflow's own rule reads them. The study is the
blog study's tiny preset (config/allcnn_tiny.yaml), so that this one run also shows that preset
end to end: All-CNN-C at depths 1 and 2 on the ten-class digits, SGD with the step schedule,
checkpoints by epoch, no fine-tuning, and the blog's figures and block-structure finding."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml
from conftest import ROOT, snakemake

from ckaflow.model.spec import read_spec

pytestmark = pytest.mark.workflow

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
        "sections.txt",


# The importing workflow's own step, on ckaflow's output.
rule sections:
    input:
        "results/findings.md",
    output:
        "sections.txt",
    shell:
        "grep '^## ' {{input}} > {{output}}"
"""


def test_the_blog_study_runs_as_a_module_of_another_workflow(tmp_path):
    config = yaml.safe_load((ROOT / "config" / "allcnn_tiny.yaml").read_text())
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "ckaflow.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    snakefile = ROOT / "workflow" / "Snakefile"
    (tmp_path / "Snakefile").write_text(USER_SNAKEFILE.format(snakefile=snakefile))
    assert not (tmp_path / "src").exists() and not (tmp_path / "workflow").exists()

    out = snakemake(tmp_path)
    assert out.returncode == 0, out.stdout[-5000:]
    assert "ckaflow_train_base" in out.stdout  # the module's rules, under the prefix chosen
    sections = (tmp_path / "sections.txt").read_text()
    assert "## Block structure in the deeper models" in sections
    assert "Nothing to be done" in snakemake(tmp_path, "-n").stdout

    results = tmp_path / "results"
    # All-CNN-C: every convolution and batch normalisation recorded, 9 and 17 blocks
    assert len(read_spec(results / "model_spec" / "d1.recorded.json").recorded) == 18
    assert len(read_spec(results / "model_spec" / "d2.recorded.json").recorded) == 34
    ckpts = sorted(p.stem for p in (results / "models" / "digits-1" / "checkpoints").glob("*.npz"))
    assert ckpts == ["epoch1", "epoch2", "final", "init"]  # by epoch
    acc = pd.read_csv(results / "tables" / "test_accuracy.csv")
    assert set(acc["metric"]) == {"classification accuracy"}
    assert set(acc["instance"]) == {"digits-1", "digits-2", "digits-d2-1"}  # no fine-tuning
    assert acc["chance"].between(0.1, 0.3).all()  # ten classes
    cka = pd.read_parquet(results / "cka.parquet", columns=["a_model", "b_model"])
    assert {"digits-1@epoch1", "digits-d2-1"} <= set(cka["a_model"].astype(str))
    blocks = pd.read_csv(results / "tables" / "block_structure.csv")
    assert "digits-d2-1" in set(blocks["model"]) and blocks["within"].notna().all()
    figures = {p.stem for p in (results / "figures").glob("*.png")}
    wanted = {"layer_matrices", "checkpoint_matrices", "depth_matrices", "depth_comparison"}
    assert wanted <= figures
    assert not {"finetuned_vs_base", "claim_effects"} & figures  # no fine-tuning, no claims
