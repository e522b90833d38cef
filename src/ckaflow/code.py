"""The code a job runs, as data: the source files a script imports, found by reading their
``import`` statements, and one SHA-256 over them.

Snakemake reruns a job when its script, params or inputs change, never when a module the
script imports changes. Each rule's params carry :func:`script_sha256` (the script and every
ckaflow module it imports, transitively: editing a figure's module reruns that figure, not the
trainings), and the model's params carry :func:`builder_sha256` (the user's builder and the
modules it imports from the user's own folders, not from installed packages).

Imports are read, not run: every ``import`` anywhere in a file counts (also one inside a
function), so the set is what the job may run, a little more than what one call runs.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

PACKAGE = "ckaflow"


def imported_files(
    path: str | Path, roots: Iterable[Path], accept: Callable[[str], bool] = lambda name: True
) -> list[Path]:
    """``path`` and every source file it imports, transitively, of the modules whose dotted
    name ``accept`` takes and that are found under one of ``roots`` (folders searched like
    ``sys.path`` entries); package ``__init__.py`` files on the way count (importing a module
    runs them). Sorted, resolved; a name found under no root is left out (an installed library)."""
    roots = tuple(Path(r).resolve() for r in roots)
    seen: set[Path] = set()
    todo = [Path(path).resolve()]
    while todo:
        file = todo.pop()
        if file in seen:
            continue
        seen.add(file)
        for name in _imports(file, _package_of(file, roots)):
            if accept(name):
                todo += [f for f in _module_files(name, roots) if f not in seen]
    return sorted(seen)


def files_sha256(files: Iterable[Path], base: Path | None = None) -> str:
    """One SHA-256 over ``files``' names (relative to ``base`` when given) and contents."""
    h = hashlib.sha256()
    for f in sorted(files):
        name = f.relative_to(base) if base and f.is_relative_to(base) else Path(f.name)
        h.update(f"{name.as_posix()}\0".encode())
        h.update(hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()


def package_root() -> Path:
    """The folder that holds the installed ckaflow package (its ``sys.path`` entry)."""
    return Path(__file__).resolve().parent.parent


def ckaflow_files(script: str | Path) -> list[Path]:
    """``script`` and the ckaflow modules it imports, transitively."""
    return imported_files(script, [package_root()], _is_ckaflow)


def script_sha256(script: str | Path) -> str:
    """The SHA-256 of the code a workflow script runs: itself and the ckaflow modules it
    imports (:func:`ckaflow_files`), named relative to the package's folder."""
    files = ckaflow_files(script)
    return files_sha256(files, base=package_root())


def script_param(script: str | Path) -> Callable[[object], str]:
    """A rule's params entry holding :func:`script_sha256` of ``script``, computed when a job of
    the rule is first planned and kept for the rule's other jobs (each workflow load makes its
    own entry, so it reads the code as it is then). A cluster job's load (every cluster job
    loads the workflow again) then hashes only its own rule's code."""
    script, known = str(script), []

    def code(wildcards) -> str:
        if not known:
            known.append(script_sha256(script))
        return known[0]

    return code


def user_files(source: str | Path) -> list[Path]:
    """A builder's source file and the modules it imports from the user's own folders: found
    beside it or in the working directory, never under this Python's installation (the
    environment's packages)."""
    source = Path(source).resolve()
    roots = [source.parent, Path.cwd()]
    installed = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    files = imported_files(source, roots)
    return [f for f in files if not any(f.is_relative_to(p) for p in installed)]


def _is_ckaflow(name: str) -> bool:
    return name == PACKAGE or name.startswith(PACKAGE + ".")


def _imports(file: Path, package: str | None) -> tuple[str, ...]:
    """The dotted names ``file`` imports (``from a import b`` gives ``a.b`` and ``a``: ``b``
    may be a module or a name in ``a``), relative imports resolved against ``package``."""
    return _imports_of_source(file.read_bytes(), str(file), package)


@functools.lru_cache(maxsize=4096)
def _imports_of_source(source: bytes, filename: str, package: str | None) -> tuple[str, ...]:
    """:func:`_imports` of one file's contents, parsed once per process: the workflow hashes
    every rule's script when it loads, and the scripts share most of their modules (keyed on
    the contents, so an edited file is read anew)."""
    try:
        tree = ast.parse(source, filename=filename)
    except (SyntaxError, ValueError):
        return ()  # the job itself reports it when it runs
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node.module, node.level, package)
            if base is None:
                continue
            names.append(base)
            names += [f"{base}.{a.name}" for a in node.names if a.name != "*"]
    return tuple(names)


def _absolute(module: str | None, level: int, package: str | None) -> str | None:
    if level == 0:
        return module
    if package is None:
        return None
    parts = package.split(".")
    if level - 1 > len(parts) - 1:
        return None
    head = parts[: len(parts) - (level - 1)]
    return ".".join(head + ([module] if module else []))


@functools.lru_cache(maxsize=16384)
def _module_files(name: str, roots: tuple[Path, ...]) -> tuple[Path, ...]:
    """The files importing ``name`` runs under the first root that has its top package: each
    package's ``__init__.py`` on the way and the module itself. Looked up once per process (the
    workflow follows the same names from every rule's script): a module file made after its
    name was first looked up is not seen by the same process."""
    parts = name.split(".")
    for root in roots:
        if not ((root / parts[0]).is_dir() or (root / f"{parts[0]}.py").is_file()):
            continue
        found, folder = [], root
        for i, part in enumerate(parts):
            if (folder / part).is_dir():
                folder = folder / part
                if (folder / "__init__.py").is_file():
                    found.append(folder / "__init__.py")
            elif (folder / f"{part}.py").is_file() and i == len(parts) - 1:
                found.append(folder / f"{part}.py")
            else:
                break  # not a module: a name inside the one before
        return tuple(f.resolve() for f in found)
    return ()


def _package_of(file: Path, roots: tuple[Path, ...]) -> str | None:
    """The dotted package ``file`` belongs to (for its relative imports), or None."""
    for root in roots:
        if file.is_relative_to(root):
            return ".".join(file.relative_to(root).parts[:-1])  # a module's or __init__'s
    return None
