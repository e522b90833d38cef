"""Each rule's script imports only what its conda environment (envs/*.yaml) installs.

No conda is reachable here, so each environment's pip list stands for it, checked two ways:
* a script's imports (and everything ckaflow imports in turn when they load) run in a fresh
  interpreter where any third-party module that is not provided by that list, or by what its
  packages require, fails to import (fast, per rule);
* each env's pip list (ckaflow's wheel, built from this checkout, included) is installed by uv
  into an empty venv, and every module its rules import,
  plus those imported inside functions when the rule runs (TensorFlow after the thread setup,
  tabulate inside pandas' to_markdown; listed by hand in LAZY), is imported there. The GPU env is
  resolved, not installed (gigabytes of CUDA wheels, no GPU to use them).
"""

from __future__ import annotations

import ast
import functools
import json
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

RULE = re.compile(r"^rule (\w+):\n(.*?)(?=^rule |\Z)", re.M | re.S)
CONDA = re.compile(r'conda:\s*(?:"\.\./\.\./(envs/[\w.-]+)"|(TF_ENV))')
# common.smk: the GPU rules' env, the CPU or the GPU build of TensorFlow (config gpu_env)
TF_ENVS = ("envs/tensorflow.yaml", "envs/tensorflow-gpu.yaml")
SCRIPT = re.compile(r'script:\s*"\.\./(scripts/[\w.]+)"')

# A fresh interpreter that refuses every top-level module outside ``allowed`` (the standard
# library always passes), then imports each of ``modules``, printing {module: error or ""}.
CHILD = """
import importlib, importlib.abc, json, sys, traceback
allowed = set(json.loads(sys.argv[1])) | set(sys.stdlib_module_names)
class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if top not in allowed and not top.startswith("_"):
            raise ImportError(f"{top} is not installed in this environment (imported as {name})")
        return None
sys.meta_path.insert(0, Refuse())
errors = {}
for module in json.loads(sys.argv[2]):
    try:
        importlib.import_module(module)
        errors[module] = ""
    except Exception:
        errors[module] = traceback.format_exc()[-600:]
print(json.dumps(errors))
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


def import_in(env: str, modules: list[str]) -> dict[str, str]:
    """Each of ``modules`` imported in one fresh interpreter limited to ``env``'s modules: the
    error of each, "" where it imported."""
    allowed = sorted(provided_modules(env))
    res = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(allowed), json.dumps(modules)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    return json.loads(res.stdout.splitlines()[-1])


@functools.cache
def env_imports(env: str) -> dict[str, str]:
    """:func:`import_in` of every module the rules of ``env`` import, in one interpreter per env
    (TensorFlow imported once, not once per rule)."""
    modules = {m for _, e, script in rules_and_envs() if e == env for m in script_imports(script)}
    return import_in(env, sorted(modules))


@pytest.mark.parametrize("rule, env, script", rules_and_envs(), ids=lambda v: str(v))
def test_each_rule_imports_only_what_its_env_installs(rule, env, script):
    errors = {m: e for m in script_imports(script) if (e := env_imports(env)[m])}
    assert not errors, f"rule {rule} ({script}) in {env}: {errors}"


def test_every_script_rule_names_an_env():
    rules = rules_and_envs()
    scripted = {
        name
        for smk in (ROOT / "workflow" / "rules").glob("*.smk")
        for name, body in RULE.findall(smk.read_text())
        if SCRIPT.search(body)
    }
    assert len(scripted) >= 25 and {rule for rule, _, _ in rules} == scripted
    gpu_rules = {rule for rule, env, _ in rules if env == "envs/tensorflow-gpu.yaml"}
    assert gpu_rules == {"train_base", "finetune", "extract_activations", "compute_grams",
                         "compute_hsic", "compute_intervals"}  # fmt: skip


def test_a_module_the_env_lacks_fails_the_check():
    """The check can fail: the data env has no plotnine, which the reconstruction figure uses."""
    assert "fontTools" in provided_modules("envs/data.yaml")
    errors = import_in("envs/data.yaml", script_imports("workflow/scripts/plot_reconstructions.py"))
    assert any("plotnine is not installed" in e for e in errors.values()), errors


# Imported inside functions, when the rule runs: the fresh venvs import these too.
LAZY = {
    "envs/tensorflow.yaml": ["tensorflow", "keras", "scipy.stats"],
    "envs/figures.yaml": ["tabulate", "scipy.stats"],
}
UV = Path(sys.executable).with_name("uv")


def env_pins(env: str) -> list[str]:
    spec = yaml.safe_load((ROOT / env).read_text())
    pip = next(d["pip"] for d in spec["dependencies"] if isinstance(d, dict) and "pip" in d)
    return [p.split("#")[0].strip() for p in pip]


def lock_pins(lock: str) -> dict[str, str]:
    return dict(line.split("==") for line in (ROOT / lock).read_text().split())


@pytest.fixture(scope="module")
def wheels(tmp_path_factory) -> Path:
    """A folder holding ckaflow's wheel, built from this checkout (what PIP_FIND_LINKS names for
    ``--sdm conda``, config/README.md)."""
    out = tmp_path_factory.mktemp("wheels")
    subprocess.run([UV, "build", "-q", "--wheel", "--out-dir", out, ROOT], check=True)
    return out


def test_the_wheel_holds_the_one_config_schema(wheels):
    """The package reads the schema Snakemake validates against: one file in the checkout (a
    link), its contents in the wheel."""
    import zipfile

    (wheel,) = wheels.glob("ckaflow-*.whl")
    packed = zipfile.ZipFile(wheel).read("ckaflow/schema.yaml")
    assert packed == (ROOT / "workflow" / "schemas" / "config.schema.yaml").read_bytes()
    assert (ROOT / "src" / "ckaflow" / "schema.yaml").is_symlink()


def fresh_venv(tmp_path: Path, wheels: Path, *requirements: str) -> Path:
    """A new venv holding only ``requirements`` (uv; ckaflow from ``wheels``); its python."""
    venv = tmp_path / "venv"
    subprocess.run([UV, "venv", "-q", "--python", sys.executable, venv], check=True)
    python = venv / "bin" / "python"
    # --refresh-package: uv's cache may hold an older wheel of the same name and version (a
    # wheel built by an earlier test run at a path this run reuses)
    subprocess.run([UV, "pip", "install", "-q", "--refresh-package", "ckaflow", "--python", python,
                    "--find-links", wheels, *requirements], check=True)  # fmt: skip
    return python


def import_in_fresh_venv(
    env: str, modules: set[str], tmp_path: Path, wheels: Path
) -> subprocess.CompletedProcess:
    """``modules`` imported in a new venv holding only the env's pip list, ckaflow included:
    run outside the checkout, so ckaflow is found because it is installed."""
    python = fresh_venv(tmp_path, wheels, *env_pins(env))
    return subprocess.run(
        [python, "-c", "import importlib, json, sys\n"
         "for m in json.loads(sys.argv[1]): importlib.import_module(m)",
         json.dumps(sorted(modules - {"snakemake"}))],
        capture_output=True, text=True, cwd=tmp_path,
        env={"MPLBACKEND": "Agg", "TF_CPP_MIN_LOG_LEVEL": "3", "HOME": str(tmp_path)},
    )  # fmt: skip


def project_version() -> str:
    import tomllib

    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


@pytest.mark.parametrize("env", ["envs/data.yaml", "envs/figures.yaml", "envs/tensorflow.yaml"])
def test_each_env_alone_in_a_fresh_venv_imports_what_its_rules_import(env, tmp_path, wheels):
    """The env's pip list installed by uv into an empty venv (the conda env's pip section, ckaflow
    from its wheel): every module its rules' scripts import, and what they import when they run,
    imports there."""
    modules = {m for _, e, script in rules_and_envs() if e == env for m in script_imports(script)}
    res = import_in_fresh_venv(env, modules | set(LAZY.get(env, [])), tmp_path, wheels)
    assert res.returncode == 0, f"{env}: {res.stderr.strip()[-800:]}"
    pins = dict(p.split("==") for p in env_pins(env))
    assert pins.pop("ckaflow") == project_version()
    lock = lock_pins("requirements.lock")
    assert {k: v for k, v in pins.items() if lock.get(k) != v} == {}, "pins differ from the lock"


def test_a_fresh_venv_lacking_a_module_fails_the_check(tmp_path, wheels):
    plots = set(script_imports("workflow/scripts/plot_reconstructions.py"))
    res = import_in_fresh_venv("envs/data.yaml", plots, tmp_path, wheels)
    assert res.returncode != 0 and "No module named 'plotnine'" in res.stderr


def test_the_gpu_env_resolves_and_agrees_with_the_gpu_lock(tmp_path, wheels):
    """envs/tensorflow-gpu.yaml is not installed here (its CUDA wheels are gigabytes, and no GPU
    would use them): uv resolves it, and its pins are requirements-gpu.lock's."""
    pins = env_pins("envs/tensorflow-gpu.yaml")
    (tmp_path / "in.txt").write_text("\n".join(pins))
    subprocess.run([UV, "pip", "compile", "-q", "--python-version", "3.11", tmp_path / "in.txt",
                    "--find-links", wheels, "-o", tmp_path / "out.txt"], check=True)  # fmt: skip
    lock = lock_pins("requirements-gpu.lock")
    assert pins.pop() == f"ckaflow=={project_version()}"
    for pin in pins:
        name, version = re.sub(r"\[.*\]", "", pin).split("==")
        assert lock[name] == version, f"{pin}: requirements-gpu.lock has {lock[name]}"
    assert "cupy-cuda12x" in (tmp_path / "out.txt").read_text()


def test_the_library_alone_needs_only_its_base_dependencies(tmp_path, wheels):
    """`pip install ckaflow` (no extras) gives the similarity engine: the wheel with pyproject's
    base dependencies in an empty venv computes CKA, its intervals (over images, over seeds and
    images) and its permutation null, without TensorFlow or pandas."""
    import tomllib

    base = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert not any(d.startswith(("tensorflow", "pandas", "snakemake")) for d in base)
    python = fresh_venv(tmp_path, wheels, f"ckaflow=={project_version()}")
    code = (
        "import numpy as np\n"
        "from ckaflow.similarity import cka, cka_interval, cka_matrix\n"
        "x = np.random.default_rng(0).normal(size=(50, 8, 4))\n"
        "print(cka(x, x[..., :2]), cka_interval(x, x ** 2, resamples=100))\n"
        "from ckaflow.similarity import cka_interval_seeds, cka_null\n"
        "print(cka_interval_seeds([(x, x ** 2), (x, x ** 3)], resamples=100).seeds_covered)\n"
        "print(cka_null(x, x ** 2, permutations=19).p_value)\n"
        "print(cka_matrix({f'f{c}': x[..., c] for c in range(4)}).shape)\n"
    )
    res = subprocess.run([python, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                         env={"HOME": str(tmp_path)})  # fmt: skip
    assert res.returncode == 0, res.stderr[-800:]
    assert res.stdout.splitlines()[-1] == "(4, 4)"
