"""The house's rules, checked: each package folder imports only from the floors below it (the
engine from nothing else of ckaflow), no import cycle, no file over 300 lines, no function over
60 (STYLE.md, issue 25's acceptance)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from conftest import ROOT

SRC = ROOT / "src" / "ckaflow"
# Lowest first: a module may import from its own floor and the floors below it.
FLOORS = [
    {"similarity"},
    {"names", "code", "io", "machine", "npz", "provenance", "schema", "logs", "runlock", "device"}
    | {"backend"},
    {"data"},
    {"model"},
    {"training"},
    {"stages"},
    {"findings"},
    {"figures"},
    {"study"},
    {"__main__", "__init__"},
]


def floor(module: str) -> int:
    """The floor of a module ``ckaflow.x.y``: that of its first part below ckaflow."""
    top = module.split(".")[1] if "." in module else "__init__"
    for i, names in enumerate(FLOORS):
        if top in names:
            return i
    raise AssertionError(f"{module} is on no floor: add {top!r} to FLOORS")


def modules() -> dict[str, Path]:
    out = {}
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def imports(name: str, path: Path, top_level_only: bool = False) -> list[str]:
    """The ckaflow modules ``name`` imports (relative imports resolved)."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    nodes = tree.body if top_level_only else ast.walk(tree)
    out = []
    for node in nodes:
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, *([base] if base else [])])
            if base.startswith("ckaflow"):
                known = modules()
                out += [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base
                        for a in node.names]  # fmt: skip
        elif isinstance(node, ast.Import):
            out += [a.name for a in node.names if a.name.startswith("ckaflow")]
    return out


def test_every_folder_imports_only_from_the_floors_below_it():
    upward = [
        f"{name} (floor {floor(name)}) imports {target} (floor {floor(target)})"
        for name, path in modules().items()
        if name != "ckaflow"
        for target in imports(name, path)
        if target != "ckaflow" and floor(target) > floor(name)
    ]
    assert not upward, "\n".join(upward)


def test_the_engine_imports_nothing_else_of_ckaflow():
    outside = [
        (name, target)
        for name, path in modules().items()
        if name.startswith("ckaflow.similarity")
        for target in imports(name, path)
        if not target.startswith("ckaflow.similarity")
    ]
    assert not outside


def test_no_import_cycle():
    graph = {
        name: set(imports(name, path, top_level_only=True)) for name, path in modules().items()
    }
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1:
                pytest.fail("import cycle: " + " -> ".join([*trail, node, nxt]))
            if nxt in graph and not state.get(nxt):
                visit(nxt, [*trail, node])
        state[node] = 2

    for name in graph:
        if not state.get(name):
            visit(name, [])


def code_files() -> list[Path]:
    return [*SRC.rglob("*.py"), *(ROOT / "workflow").rglob("*.py"),
            *(ROOT / "workflow").rglob("*.smk"), ROOT / "Snakefile"]  # fmt: skip


def test_no_file_over_300_lines():
    long = {str(p.relative_to(ROOT)): n for p in code_files()
            if (n := len(p.read_text().splitlines())) > 300}  # fmt: skip
    assert not long


def test_no_function_over_60_lines():
    long = []
    for path in code_files():
        if path.suffix != ".py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = node.end_lineno - node.lineno + 1
                if n > 60:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({n} lines)")
    assert not long, "\n".join(long)


def test_every_results_path_is_spelled_once_in_study_paths():
    """The rules name a file under results/ through ckaflow.study.paths, never by a literal: a
    moved file is a change in one place (benchmark logs, beside it, are Snakemake's own)."""
    literal = re.compile(r"""["'](?:\.\./)*results/""")
    found = [
        f"{path.relative_to(ROOT)}:{i}: {line.strip()}"
        for path in [*(ROOT / "workflow").rglob("*.smk"), ROOT / "workflow" / "Snakefile"]
        for i, line in enumerate(path.read_text().splitlines(), 1)
        if literal.search(line)
    ]
    assert not found, "\n".join(found)
