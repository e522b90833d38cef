"""The code a job runs, as data (ckaflow.code): the files a script imports, and the hash that
makes an edit rerun exactly the jobs that run the edited code."""

from pathlib import Path

import pytest

from ckaflow.code import ckaflow_files, files_sha256, imported_files, package_root, user_files

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "workflow" / "scripts"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_imports_are_followed_through_packages_and_relative_names(tmp_path):
    write(tmp_path / "pkg" / "__init__.py", "")
    write(tmp_path / "pkg" / "sub" / "__init__.py", "from .leaf import f\n")
    write(tmp_path / "pkg" / "sub" / "leaf.py", "import numpy\nfrom .. import helper\n")
    write(tmp_path / "pkg" / "helper.py", "def g():\n    import json\n    from pkg import lazy\n")
    write(tmp_path / "pkg" / "lazy.py", "")
    write(tmp_path / "pkg" / "unused.py", "")
    script = write(tmp_path / "scripts" / "job.py", "from pkg.sub import f\nimport os\n")
    found = imported_files(script, [tmp_path], lambda name: name.startswith("pkg"))
    names = {p.relative_to(tmp_path).as_posix() for p in found}
    assert names == {
        "scripts/job.py",
        "pkg/__init__.py",
        "pkg/sub/__init__.py",
        "pkg/sub/leaf.py",
        "pkg/helper.py",  # a relative import two levels up
        "pkg/lazy.py",  # an import inside a function counts: the job may run it
    }  # not pkg/unused.py, not numpy, json or os


def test_an_import_added_to_a_file_is_followed_in_the_same_process(tmp_path):
    """Imports are parsed once per file contents (the workflow hashes 28 scripts that share
    their modules): an edit, in the same process, is read anew."""
    write(tmp_path / "pkg" / "__init__.py", "")
    write(tmp_path / "pkg" / "a.py", "")
    write(tmp_path / "pkg" / "b.py", "")
    script = write(tmp_path / "job.py", "from pkg import a\n")
    found = imported_files(script, [tmp_path])
    assert {p.name for p in found} == {"job.py", "__init__.py", "a.py"}
    write(tmp_path / "pkg" / "a.py", "from . import b\n")
    assert {p.name for p in imported_files(script, [tmp_path])} == {
        "job.py",
        "__init__.py",
        "a.py",
        "b.py",
    }


def test_the_hash_follows_content_and_names_not_times(tmp_path):
    a = write(tmp_path / "a.py", "x = 1\n")
    before = files_sha256([a], base=tmp_path)
    a.touch()
    assert files_sha256([a], base=tmp_path) == before
    a.write_text("x = 2\n")
    assert files_sha256([a], base=tmp_path) != before


def test_a_builders_own_modules_count_and_installed_ones_do_not(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "models" / "blocks.py", "import keras\n")
    write(tmp_path / "shared_layers.py", "")  # the working directory is importable too
    builder = write(
        tmp_path / "models" / "net.py",
        "import numpy\nimport keras\nfrom blocks import conv\nimport shared_layers\n",
    )
    names = {p.relative_to(tmp_path).as_posix() for p in user_files(builder)}
    assert names == {"models/net.py", "models/blocks.py", "shared_layers.py"}


def rules_running(module: str) -> set[str]:
    """The workflow scripts whose code includes ckaflow's ``module`` (a path in the package)."""
    target = (package_root() / "ckaflow" / module).resolve()
    return {s.stem for s in SCRIPTS.glob("*.py") if target in ckaflow_files(s)}


def test_a_figure_module_is_the_code_of_its_figures_only():
    """Editing how the CKA matrices are drawn reruns those figures, no training or similarity."""
    assert rules_running("figures/matrices.py") == {"plot_cka"}
    assert rules_running("figures/training.py") <= {
        "plot_loss_curves", "plot_test_loss", "plot_reconstructions", "plot_conv1_filters",
        "plot_samples",
    }  # fmt: skip
    for job in ("train", "compute_grams", "compute_hsic", "extract_activations"):
        assert not any("figures" in p.parts for p in ckaflow_files(SCRIPTS / f"{job}.py")), job


def test_the_similarity_engine_is_the_code_of_the_similarity_jobs():
    running = rules_running("similarity/hsic.py")
    assert {"compute_grams", "compute_hsic", "compute_intervals"} <= running
    assert "build_dataset" not in running and "plot_samples" not in running


@pytest.mark.parametrize("rules", sorted((ROOT / "workflow" / "rules").glob("*.smk")))
def test_every_rule_with_a_script_carries_the_hash_of_that_script(rules):
    import re

    text = rules.read_text()
    for block in re.split(r"\n(?=rule \w+:)", text):
        script = re.search(r'script:\s*\n\s*"([^"]+)"', block)
        if script:
            name = block.split(":")[0]
            assert f'code=code_of("{script.group(1)}")' in block, (rules.name, name)


def test_a_rules_code_hash_is_made_once_per_load_and_anew_by_the_next(tmp_path):
    """The params entry hashes when a job is planned, keeps it for the rule's other jobs, and a
    new entry (the next workflow load) reads the code as it is by then."""
    from ckaflow.code import script_param

    script = write(tmp_path / "job.py", "import json\n")
    entry = script_param(script)
    first = entry(None)
    script.write_text("import json, os\n")
    assert entry(None) == first  # the same load: made once
    assert script_param(script)(None) != first  # the next load: the edit counts
