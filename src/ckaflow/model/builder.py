"""The config's ``model``: a built-in architecture or the user's builder, resolved and called.

``model.builder`` is ``"package.module:function"`` (an importable module; the working directory
is tried too) or ``"path/to/file.py:function"`` (a file, relative to the working directory).
ckaflow seeds Keras with the instance's seed (``keras.utils.set_random_seed``) and then calls the
builder with the keyword arguments ``input_shape`` (height, width, channels) and
``num_classes`` (None unless the task is classify); it must return a ``keras.Model``. Built-in
architectures (the schema's ``model.architecture``) seed their own initialisers from the
instance's seed.

Nothing here imports TensorFlow until a model is built: :func:`builder_source` (the file whose
edits make the trainings stale) runs when the workflow loads.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import pkgutil
import sys
from collections.abc import Callable, Mapping
from pathlib import Path


class BuilderError(ValueError):
    """A builder that cannot be found, imported or called, or that returns no Keras model."""


def split_builder(spec: str, where: str = "model.builder") -> tuple[str, str]:
    """(module or file, function) of a builder string; ``BuilderError`` for a malformed one."""
    target, sep, func = str(spec).rpartition(":")
    if not sep or not target or not func.isidentifier():
        raise BuilderError(
            f"{where} is {spec!r}; expected 'package.module:function' or 'path/to/file.py:function'"
        )
    return target, func


def _is_file(target: str) -> bool:
    return target.endswith(".py") or os.sep in target or "/" in target


def builder_source(spec: str, where: str = "model.builder") -> Path:
    """The source file of a builder (without running it): editing it makes the model stale."""
    target, _ = split_builder(spec, where)
    if _is_file(target):
        path = Path(target)
        if not path.is_file():
            raise BuilderError(
                f"{where} is {spec!r}, but {target!r} is not a file "
                f"(relative to the working directory {os.getcwd()})"
            )
        return path.resolve()
    try:
        found = _with_cwd(lambda: importlib.util.find_spec(target))
    except (ImportError, ValueError) as err:
        found, reason = None, f"{type(err).__name__}: {err}"
    else:
        reason = "no such module"
    if found is None or not found.origin or not Path(found.origin).is_file():
        raise BuilderError(
            f"{where} is {spec!r}, but module {target!r} cannot be found ({reason}); install it, "
            "run from the folder that holds it, or give the file: 'path/to/file.py:function'"
        )
    return Path(found.origin).resolve()


def builder_files(spec: str, where: str = "model.builder") -> list[Path]:
    """The builder's source file and the modules it imports from the user's own folders
    (beside it or in the working directory; not installed packages): what the model is made of."""
    from ..code import user_files

    return user_files(builder_source(spec, where))


# The module a builder imports that ties it to one Keras backend.
BACKEND_MODULES = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}


def backends_imported(spec: str, where: str = "model.builder") -> dict[str, list[str]]:
    """{backend: the builder's files that import it}: a builder whose files import TensorFlow,
    JAX or PyTorch may run on that Keras backend only; one that imports none of them uses Keras
    alone and runs on every backend. Read from the source, nothing run."""
    import ast

    found: dict[str, list[str]] = {}
    for path in builder_files(spec, where):
        tree = ast.parse(path.read_text(), str(path))
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        for backend, module in BACKEND_MODULES.items():
            if any(name.split(".")[0] == module for name in names):
                found.setdefault(backend, []).append(path.name)
    return found


def source_sha256(spec: str, where: str = "model.builder") -> str:
    """SHA-256 of the builder's source and the user's modules it imports (:func:`builder_files`)."""
    from ..code import files_sha256

    return files_sha256(builder_files(spec, where), base=Path.cwd())


def resolve_builder(spec: str, where: str = "model.builder") -> Callable:
    """The builder function named by ``spec``; ``BuilderError`` naming what failed."""
    target, func = split_builder(spec, where)
    path = builder_source(spec, where)
    try:
        if _is_file(target):
            name = f"ckaflow_user_model_{hashlib.sha1(str(path).encode()).hexdigest()[:8]}"
            module_spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(module_spec)
            sys.modules[name] = module
            _with_path(str(path.parent), lambda: module_spec.loader.exec_module(module))
            fn = getattr(module, func)
        else:
            fn = _with_cwd(lambda: pkgutil.resolve_name(f"{target}:{func}"))
    except AttributeError as err:
        raise BuilderError(f"{where} is {spec!r}, but {path} has no function {func!r}") from err
    except Exception as err:  # noqa: BLE001  the user's module failed to import: say where
        raise BuilderError(
            f"{where} is {spec!r}: importing {path} failed ({type(err).__name__}: {err})"
        ) from err
    if not callable(fn):
        raise BuilderError(f"{where} is {spec!r}, but {func!r} in {path} is not a function")
    return fn


def call_builder(
    spec: str,
    *,
    seed: int,
    input_shape: tuple,
    num_classes: int | None,
    where: str = "model.builder",
):
    """Seed Keras with ``seed``, call the builder and check that it returned a Keras model."""
    import keras

    fn = resolve_builder(spec, where)
    keras.utils.set_random_seed(int(seed))
    try:
        model = fn(input_shape=tuple(input_shape), num_classes=num_classes)
    except Exception as err:  # noqa: BLE001  the user's code failed: name the call
        raise BuilderError(
            f"{where} {spec!r} failed when called as {fn.__name__}(input_shape="
            f"{tuple(input_shape)}, num_classes={num_classes}): {type(err).__name__}: {err}"
        ) from err
    if not isinstance(model, keras.Model):
        raise BuilderError(
            f"{where} {spec!r} returned {type(model).__name__}, not a keras.Model (return the "
            "model itself, e.g. keras.Model(inputs, outputs) or keras.Sequential([...]))"
        )
    return model


def _with_cwd(fn):
    """``fn()`` with the working directory importable (a user's module beside the config)."""
    return fn() if "" in sys.path else _with_path(os.getcwd(), fn)


def _with_path(folder: str, fn):
    """``fn()`` with ``folder`` importable (a builder file's helper modules beside it, as
    Python does for a script it runs)."""
    if folder in sys.path:
        return fn()
    sys.path.append(folder)
    try:
        return fn()
    finally:
        sys.path.remove(folder)


def describe(model_config: Mapping) -> str:
    """``tied_autoencoder`` or the builder string, for logs and provenance."""
    return model_config.get("builder") or model_config["architecture"]
