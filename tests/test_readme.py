"""What the README says is what a user gets: its numbers are the committed reference run's, its
library example runs, every command it shows is run by a test, every link resolves; and a run is
compared with the reference as `make run` does."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import platform
import re
import shutil
import subprocess
import sys

import pandas as pd
import pytest
import yaml
from conftest import ROOT
from snakemake.utils import validate

from ckaflow.machine import compare_machines, machine
from ckaflow.provenance import config_sha256
from ckaflow.study.reference import claims, compare, fill_markers, readme_blocks, run_machines

README = (ROOT / "README.md").read_text()
REFERENCE = ROOT / "docs" / "reference-run"

# Every command the README shows, and the test that runs it (a new command needs a test).
OWN = "examples/own_study/config.yaml"
COMMANDS = {
    "make run": "test_workflow.py: make -n run; the default study is the reference run",
    "make test": "CI runs it (.ci/run)",
    "make run CONFIG=config/tiny.yaml": "test_workflow.py: make -n run CONFIG=...; the tiny run",
    ".venv/bin/python examples/own_study/make_images.py data/own": "test_own_study.py",
    f".venv/bin/python -m ckaflow layers --configfile {OWN}": "test_own_study.py",
    f".venv/bin/python -m ckaflow plan --configfile {OWN}": "test_own_study.py",
    f".venv/bin/snakemake --cores all --configfile {OWN}": "test_own_study.py",
}


def code_blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, re.S)


def test_the_readmes_numbers_are_the_reference_runs():
    """The text between each reference marker is what docs/reference-run/ gives
    (python tools/reference_run.py readme writes it)."""
    assert "<!-- reference:claims -->" in README and "<!-- reference:null -->" in README
    assert fill_markers(README, readme_blocks(REFERENCE)) == README


def test_the_reference_run_states_where_and_how_it_was_made():
    prov = json.loads((REFERENCE / "provenance.json").read_text())
    assert re.fullmatch(r"[0-9a-f]{40}", prov["commit"])
    assert prov["run_seconds"] > 0 and prov["machine"]["cpu"] and prov["machine"]["tensorflow"]
    assert len(prov["weights"]) == 16 and set(prov["datasets"]) == {"natural", "synth"}
    found = claims((REFERENCE / "findings.md").read_text())
    assert list(found["claim"]) == ["(a)", "(b)", "(c)", "(d)", "(e)"]
    assert set(found["verdict"]) <= {"supported", "contradicted", "inconclusive"}


def test_the_jax_run_the_docs_quote_is_kept_and_says_what_they_say():
    """docs/reproducibility.md quotes the default study trained on JAX; its findings are kept in
    docs/backend-runs/jax/ and each claim's verdict the doc prints is theirs, beside the
    reference's."""
    kept = ROOT / "docs" / "backend-runs" / "jax"
    prov = json.loads((kept / "provenance.json").read_text())
    assert prov["backend"] == "jax" and len(prov["weights"]) == 16
    doc = (ROOT / "docs" / "reproducibility.md").read_text()
    jax = claims((kept / "findings.md").read_text()).set_index("claim")["verdict"]
    ref = claims((REFERENCE / "findings.md").read_text()).set_index("claim")["verdict"]
    for claim, verdict in jax.items():
        same = "same" if verdict == ref[claim] else "DIFFERENT"
        assert f"claim {claim}: {verdict} (reference: {ref[claim]}; {same})" in doc


def test_the_library_example_runs_as_printed():
    (example,) = code_blocks(README.split("<!-- library-example -->")[1], "python")[:1]
    assert len(example.strip().splitlines()) <= 12
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(example, "README.md", "exec"), {})
    printed = out.getvalue().split("\n")
    related, unrelated, biased = (float(v) for v in printed[:3])
    assert abs(unrelated) < 0.02 and related > 0.3 and biased > related  # what the comments say


def test_every_command_the_readme_shows_is_run_by_a_test():
    shown = set()
    for block in code_blocks(README, "sh"):
        for line in block.splitlines():
            command = line.split("#")[0].strip()
            if command:
                shown.add(command)
    assert shown == set(COMMANDS), "a README command no test runs, or a test for one it dropped"


def test_every_link_of_the_readme_resolves():
    links = re.findall(r"\]\(((?:docs|examples)/[^)#]+)\)", README)
    assert links and [link for link in links if not (ROOT / link).exists()] == []


def _fake_run(tmp_path, verdict_of_a: str | None = None, config: dict | None = None):
    """A results folder with the reference's findings and effects (and no models), made with
    the reference's config or ``config``."""
    results = tmp_path / "results"
    (results / "tables").mkdir(parents=True)
    findings = (REFERENCE / "findings.md").read_text()
    if verdict_of_a:
        pattern = r"(### \(a\) [^\n]+\n\n\*\*)\w+"
        findings = re.sub(pattern, rf"\g<1>{verdict_of_a}", findings, count=1)
    (results / "findings.md").write_text(findings)
    shutil.copy(REFERENCE / "tables/claim_effects.csv", results / "tables/claim_effects.csv")
    config = config or json.loads((REFERENCE / "provenance.json").read_text())["config"]
    made = {"code": {"git": "x"}, "config": config, "config_sha256": config_sha256(config)}
    (results / "tables/claim_effects.provenance.json").write_text(json.dumps(made))
    return results


def test_a_run_is_compared_with_the_reference_claim_by_claim(tmp_path):
    same = compare(_fake_run(tmp_path), REFERENCE)
    assert same[0] == "config: the reference's"
    assert same[1] == "backend: no model in " + str(tmp_path / "results") + " says (the "\
                      "reference: tensorflow)"  # fmt: skip
    assert "weights: 0 of 16 identical to the reference's bytes" in same
    assert not any("DIFFERENT" in line for line in same)
    assert "claim (a) effects: largest difference from the reference 0 CKA" in same
    assert "claim (d) effects: largest difference from the reference 0 training steps" in same
    ref_a = claims((REFERENCE / "findings.md").read_text()).set_index("claim")["verdict"]["(a)"]
    other = "supported" if ref_a != "supported" else "contradicted"
    changed = compare(_fake_run(tmp_path / "b", other), REFERENCE)
    assert f"claim (a): {other} (reference: {ref_a}; DIFFERENT)" in changed


def test_a_runs_config_is_compared_with_the_references_key_by_key(tmp_path):
    """Keys added to the schema since the reference are named, not taken for another study; a
    changed key is named with both values."""
    prov = json.loads((REFERENCE / "provenance.json").read_text())
    assert config_sha256(prov["config"]) == prov["config_sha256"]  # the config it was run with
    newer = copy.deepcopy(prov["config"])
    newer["similarity"]["new_key"] = None
    default = copy.deepcopy(newer)
    (line, *_) = compare(_fake_run(tmp_path / "a", config=newer), REFERENCE, default)
    assert line == ("config: the reference's, and 1 keys added since at the default config's "
                    "values (similarity.new_key: null)")  # fmt: skip
    newer["similarity"]["new_key"] = "other"  # added since, not as the default config has it
    (line, *_) = compare(_fake_run(tmp_path / "b", config=newer), REFERENCE, default)
    assert line.startswith('config: not the reference\'s (similarity.new_key "other" (added')
    epochs = prov["config"]["train"]["epochs"]
    for value, shown in ((epochs + 1, epochs + 1), (float(epochs), f"{epochs}.0")):
        newer["train"]["epochs"] = value  # a float where an int was: another config file
        (line, *_) = compare(_fake_run(tmp_path / f"c{value}", config=newer), REFERENCE, default)
        assert f"config: not the reference's (train.epochs {epochs} -> {shown};" in line


def test_the_current_default_config_is_the_references_with_keys_added_since(tmp_path):
    """What `make run` prints first today: the default config differs from the reference's only
    by keys added since (remake the reference run when a key it had changes)."""
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    validate(config, str(ROOT / "src/ckaflow/schema.yaml"), set_default=True)
    (line, backend, *_) = compare(_fake_run(tmp_path, config=config), REFERENCE, config)
    assert line == "config: the reference's" or line.startswith("config: the reference's, and ")
    assert backend.startswith("backend: no model in")  # the fake run has no models


def test_compare_reference_on_the_command_line(tmp_path):
    results = _fake_run(tmp_path)
    command = [sys.executable, "-m", "ckaflow", "compare-reference", str(results)]
    run = subprocess.run([*command, "--reference", str(REFERENCE)], capture_output=True, text=True)
    assert run.returncode == 0 and "claim (b):" in run.stdout
    none = str(tmp_path / "none")
    missing = subprocess.run([*command, "--reference", none], capture_output=True, text=True)
    assert missing.returncode == 0 and "no reference run" in missing.stdout


def test_the_claims_table_is_read_from_the_findings_not_typed():
    blocks = readme_blocks(REFERENCE)
    effects = pd.read_csv(REFERENCE / "tables/claim_effects.csv")
    a = effects[(effects["claim"] == "(a)") & (effects["kind"] == "effect")]
    a = a[a["estimator"] == "linear, debiased"].iloc[0]
    assert f"{a['estimate']:+.4f} [{a['low']:+.4f}, {a['high']:+.4f}]" in blocks["claims"]


@pytest.mark.parametrize("doc", sorted((ROOT / "docs").glob("*.md")), ids=lambda p: p.name)
def test_the_docs_name_no_figure_or_function_that_is_gone(doc):
    text = doc.read_text()
    assert "chord" not in text.replace("chord diagram, Figure 5.8", "")
    assert "issue " not in text.lower()  # the project's history stays in git, not in the docs


def test_claims_are_read_with_any_verdict_and_only_from_the_first_section():
    text = (
        "## The claims (linear, debiased)\n\n### (a) A.\n\n**not drawn.** models did not learn\n\n"
        "### (b) B.\n\n**supported.** x. The effect exceeds its baseline (init) by 1.\n\n"
        "## The claims (linear, biased)\n\n### (a) A.\n\n**contradicted.** y\n"
    )
    found = claims(text)
    assert list(found["verdict"]) == ["not drawn", "supported"]
    assert list(found["beyond_baseline"]) == ["", "exceeds"]


def test_a_run_names_how_its_machine_differs_from_the_references(tmp_path):
    """Byte-identical weights are only to be expected on the same CPU type: the line says
    whether the machine that trained the run is the reference's, each field that differs, and
    the fields only one record holds (never taken for a difference)."""
    reference = tmp_path / "reference"  # a reference recorded before the CPU's type was
    shutil.copytree(REFERENCE, reference)
    prov = json.loads((reference / "provenance.json").read_text())
    old = ("cpu", "cores", "instruction_sets", "os", "python", "tensorflow", "numpy")
    prov["machine"] = ref = {k: prov["machine"][k] for k in old}
    (reference / "provenance.json").write_text(json.dumps(prov))
    assert compare_machines(ref, ref) == (True, [], [], [])
    newer = {**ref, "family": "26"}  # recorded since: the same type as far as both go
    assert compare_machines(newer, ref) == (True, [], [], ["family"])
    other = {**newer, "cpu": "Intel Xeon", "instruction_sets": ["avx", "avx2"], "cores": 8}
    assert compare_machines(other, ref) == (
        False,
        ["cpu Intel Xeon (AMD EPYC)",
         "instruction_sets -sse4_2 -fma -avx512f -avx512_vnni -avx512_bf16"],
        ["cores 8 (2)"],
        ["family"],
    )  # fmt: skip
    here = machine()
    assert here["cpu"] and here["cores"] >= 1 and here["numpy"]
    if sys.platform == "linux" and platform.machine() == "x86_64":  # what tells CPUs apart
        assert {"vendor", "family", "model", "stepping", "vector_extensions"} <= set(here)

    def line(run):
        return next(x for x in compare(run, reference) if x.startswith("machine: "))

    run = _fake_run(tmp_path)
    assert line(run).startswith("machine: this machine (the models record none) is ")
    for name, record in (("synth-1", newer), ("synth-2", newer)):
        (run / "models" / name).mkdir(parents=True)
        (run / "models" / name / "provenance.json").write_text(json.dumps({"machine": record}))
    assert run_machines(run) == [newer]
    assert line(run) == (
        "machine: the models trained on the reference's CPU type as far as "
        "both records go (AMD EPYC); recorded by one of the two only: family"
    )
    (run / "models" / "synth-2" / "provenance.json").write_text(json.dumps({"machine": other}))
    assert run_machines(run) == [newer, other]
    assert line(run).endswith("; the models name 2 machines, the first compared")
    (run / "models" / "synth-1" / "provenance.json").write_text(json.dumps({"machine": other}))
    assert line(run) == (
        "machine: the models trained on another CPU type than the reference's: cpu Intel Xeon "
        "(AMD EPYC), instruction_sets -sse4_2 -fma -avx512f -avx512_vnni -avx512_bf16; also "
        "cores 8 (2) (the reference's in parentheses); recorded by one of the two only: family"
    )
