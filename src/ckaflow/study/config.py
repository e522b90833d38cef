"""The study a config describes, checked as a whole before any job runs.

The JSON schema (:mod:`ckaflow.schema`) checks each key alone: type, range, default; it is the one
source of every default. What it
cannot express lives here: keys that must agree with each other (split sizes against the test set,
the batch and the fine-tuning images; a font-size range; figure settings that name instances and
estimators), integers written as floats, and estimator lists that repeat themselves.
:func:`check_config` raises one :class:`ConfigError` listing every problem, each naming its keys,
the values and what is allowed; the workflow calls it when it loads, so nothing is computed from
a config that cannot run to the end.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..data.dataset import split_sizes
from ..names import base_instances
from ..schema import SCHEMA_PATH, load_schema, schema_default  # noqa: F401  (re-exported)
from ..similarity import Estimator

# The HSIC blocks a test set and estimator are split into (see ckaflow.stages.hsic): the layers
# block, then one block of filters per layer.
MAX_SHARDS = 11


class ConfigError(ValueError):
    """A config whose keys cannot work together; the message names every offending key."""


def check_config(config: Mapping, schema: Mapping | None = None) -> dict[str, dict]:
    """Check a validated config (defaults filled in) as a whole; return the estimators by name.

    ``schema`` (:func:`load_schema`), when given, is used to refuse floats where
    the schema asks for integers (JSON schema accepts 2.0 as an integer; ``range(2.0)`` does not).
    """
    problems = _integers(config, schema) if schema else []
    problems += _splits(config) + _fonts(config) + _figures(config) + _early(config)
    problems += _depths(config)
    estimators, more = estimators_by_name(config["similarity"]["estimators"])
    problems += more
    chosen = config["figures"]["estimator"]
    if chosen not in estimators:
        problems.append(
            f"figures.estimator: {chosen!r} is not among similarity.estimators {list(estimators)}"
        )
    shards = config["similarity"]["shards"]
    if shards > MAX_SHARDS:
        problems.append(f"similarity.shards = {shards}: at most {MAX_SHARDS} (one per HSIC block)")
    if problems:
        raise ConfigError("config: " + "\n  ".join(problems))
    return estimators


def estimators_by_name(entries: list[Mapping]) -> tuple[dict[str, dict], list[str]]:
    """similarity.estimators as {name: entry}, and the problems found (bad or repeated entries)."""
    out, problems = {}, []
    for i, entry in enumerate(entries):
        key = f"similarity.estimators[{i}] = {dict(entry)}"
        try:
            est = Estimator.from_dict(entry)
        except ValueError as err:
            problems.append(f"{key}: {err}")
            continue
        if est.name in out:
            problems.append(f"{key}: {est.name} is listed twice")
        out[est.name] = dict(entry)
    return out, problems


def _early(config: Mapping) -> list[str]:
    """train.early_checkpoints: validation steps (multiples of eval_every) before max_steps."""
    t = config["train"]
    steps, every, cap = t["early_checkpoints"], t["eval_every"], t["max_steps"]
    bad = [s for s in steps if s % every or s >= cap]
    if not bad:
        return []
    return [f"train.early_checkpoints {bad}: each must be a multiple of train.eval_every ({every}) "
            f"and below train.max_steps ({cap})"]  # fmt: skip


def _depths(config: Mapping) -> list[str]:
    """depths must hold 1 (the thesis' study); deep_seeds must be among seeds."""
    problems = []
    if 1 not in config["depths"]:
        problems.append(
            f"depths = {config['depths']}: depth 1, the thesis' model, is always trained (the "
            "deeper models are compared with it)"
        )
    deep_seeds = config["deep_seeds"] or []
    stray = [s for s in deep_seeds if s not in config["seeds"]]
    if stray:
        problems.append(f"deep_seeds {stray}: not among seeds {config['seeds']}")
    return problems


def _splits(config: Mapping) -> list[str]:
    images, frac, test = config["images_per_domain"], config["val_fraction"], config["test_images"]
    try:
        sizes = split_sizes(images, frac, test)
    except ValueError as err:
        return [f"images_per_domain, val_fraction, test_images: {err}"]
    problems = []
    batch, finetune = config["train"]["batch_size"], config["finetune"]["images"]
    if sizes["train"] < batch:
        problems.append(
            f"train.batch_size = {batch} is larger than the training split: images_per_domain "
            f"{images} x (1 - val_fraction {frac}) = {sizes['train']} images"
        )
    if not batch <= finetune <= sizes["train"]:
        problems.append(
            f"finetune.images = {finetune} must lie between train.batch_size ({batch}) and the "
            f"training split ({sizes['train']} images: images_per_domain {images} x "
            f"(1 - val_fraction {frac}))"
        )
    return problems


def _fonts(config: Mapping) -> list[str]:
    lo, hi = config["synth"]["font_size"]
    if lo > hi:
        return [f"synth.font_size = [{lo}, {hi}]: the smallest size comes first"]
    return []


def _figures(config: Mapping) -> list[str]:
    base = base_instances(config["seeds"])
    return [
        f"figures.filter_instances: {name!r} is not a base instance of seeds {config['seeds']} "
        f"(one of {base})"
        for name in config["figures"]["filter_instances"]
        if name not in base
    ]


def _integers(config, schema, where: str = "") -> list[str]:
    """Keys the schema types as integers whose value is a float (2.0 passes JSON schema)."""
    problems = []
    kind = schema.get("type")
    if kind == "integer" and isinstance(config, float):
        problems.append(f"{where} = {config!r}: an integer is expected (no decimal point)")
    elif kind == "object" and isinstance(config, Mapping):
        for key, sub in schema.get("properties", {}).items():
            if key in config:
                problems += _integers(config[key], sub, f"{where}.{key}" if where else key)
    elif kind == "array" and isinstance(config, list) and "items" in schema:
        for i, value in enumerate(config):
            problems += _integers(value, schema["items"], f"{where}[{i}]")
    return problems
