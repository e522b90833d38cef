"""Each rule's script imports only what its conda environment (envs/*.yaml) installs.

No conda is reachable here, so each environment's pip list stands for it: a script's imports (and
everything ckaflow imports in turn when they load) run in a fresh interpreter where any
third-party module that is not provided by that list, or by what its packages require, fails to
import. Imports inside functions (TensorFlow after the thread setup, tabulate inside pandas'
to_markdown) run only when the rule does; each env lists those by hand.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from importlib import metadata

import pytest
import yaml
from conftest import ROOT

RULE = re.compile(r"^rule (\w+):\n(.*?)(?=^rule |\Z)", re.M | re.S)
CONDA = re.compile(r'conda:\s*(?:"\.\./\.\./(envs/[\w.-]+)"|(TF_ENV))')
# common.smk: the GPU rules' env, the CPU or the GPU build of TensorFlow (config gpu_env)
TF_ENVS = ("envs/tensorflow.yaml", "envs/tensorflow-gpu.yaml")
SCRIPT = re.compile(r'script:\s*"\.\./(scripts/[\w.]+)"')

# A fresh interpreter that refuses every top-level module outside ``allowed`` (the standard
# library always passes), then imports ``modules``.
CHILD = """
import importlib, importlib.abc, json, sys
allowed = set(json.loads(sys.argv[1])) | set(sys.stdlib_module_names)
class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if top not in allowed and not top.startswith("_"):
            raise ImportError(f"{top} is not installed in this environment (imported as {name})")
        return None
sys.meta_path.insert(0, Refuse())
for module in json.loads(sys.argv[2]):
    importlib.import_module(module)
"""


def rules_and_envs() -> list[tuple[str, str, str]]:
    """(rule, env file, script) of every rule that runs a script in a conda env."""
    out = []
    for smk in sorted((ROOT / "workflow" / "rules").glob("*.smk")):
        for name, body in RULE.findall(smk.read_text()):
            conda, script = CONDA.search(body), SCRIPT.search(body)
            if conda and script:
                envs = TF_ENVS if conda.group(2) else (conda.group(1),)
                out += [(name, env, f"workflow/{script.group(1)}") for env in envs]
    return out


def script_imports(path: str) -> list[str]:
    modules = []
    for node in ast.walk(ast.parse((ROOT / path).read_text())):
        if isinstance(node, ast.Import):
            modules += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            modules.append(node.module)
    return [m for m in dict.fromkeys(modules) if m != "__future__"]


def provided_modules(env: str) -> set[str]:
    """Top-level modules of the env's pip packages and everything they require, as installed."""
    spec = yaml.safe_load((ROOT / env).read_text())
    pip = next(d["pip"] for d in spec["dependencies"] if isinstance(d, dict) and "pip" in d)
    todo = [re.split(r"[=<>\[ ;]", p, maxsplit=1)[0] for p in pip]
    seen: set[str] = set()
    while todo:
        dist = todo.pop().lower().replace("_", "-")
        if dist in seen:
            continue
        seen.add(dist)
        try:
            requires = metadata.requires(dist) or []
        except metadata.PackageNotFoundError:
            continue
        needed = [r for r in requires if "extra ==" not in r]
        todo += [re.split(r"[=<>!~\[ ;(]", r, maxsplit=1)[0] for r in needed]
    return {
        module
        for module, dists in metadata.packages_distributions().items()
        if any(d.lower().replace("_", "-") in seen for d in dists)
    } | {"ckaflow", "snakemake"}  # snakemake: the script's `snakemake` object, not an import


def import_in(env: str, modules: list[str]) -> subprocess.CompletedProcess:
    allowed = sorted(provided_modules(env))
    return subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(allowed), json.dumps(modules)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )


@pytest.mark.parametrize("rule, env, script", rules_and_envs(), ids=lambda v: str(v))
def test_each_rule_imports_only_what_its_env_installs(rule, env, script):
    res = import_in(env, script_imports(script))
    assert res.returncode == 0, f"rule {rule} ({script}) in {env}: {res.stderr.strip()[-600:]}"


def test_every_script_rule_names_an_env():
    rules = rules_and_envs()
    assert len({rule for rule, _, _ in rules}) == 26
    gpu_rules = {rule for rule, env, _ in rules if env == "envs/tensorflow-gpu.yaml"}
    assert gpu_rules == {"train_base", "finetune", "extract_activations", "compute_grams",
                         "compute_hsic", "compute_intervals"}  # fmt: skip


def test_a_module_the_env_lacks_fails_the_check():
    """The check can fail: the data env has no plotnine, which the reconstruction figure uses."""
    assert "fontTools" in provided_modules("envs/data.yaml")
    res = import_in("envs/data.yaml", script_imports("workflow/scripts/plot_reconstructions.py"))
    assert res.returncode != 0 and "plotnine is not installed" in res.stderr
