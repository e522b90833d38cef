"""The study a config describes, checked as a whole before any job runs.

The JSON schema (:mod:`ckaflow.schema`) checks each key alone: type, range, default; it is the one
source of every default. What it cannot express lives here: keys that must agree with each other
(domain names and their sources' keys, the task and the sources' labels, the model and the image,
split sizes against the test set, the batch and the fine-tuning images; figure settings that
name instances and estimators), integers written as floats, and estimator lists that repeat
themselves. :func:`check_config` raises one :class:`ConfigError` listing every problem, each
naming its keys, the values and what is allowed; the workflow calls it when it loads, so nothing
is computed from a config that cannot run to the end.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..data.sources import SOURCES
from ..data.splits import split_sizes
from ..findings.claims import NATURAL, SYNTH
from ..names import check_domain_name
from ..similarity import Estimator
from .checks import builder_problems, figure_problems, model_problems, pretrained_problems


class ConfigError(ValueError):
    """A config whose keys cannot work together; the message names every offending key."""


def normalize_config(config: dict) -> dict:
    """Short forms spelled out, in place, before the schema sees the config: ``finetune: true``
    or ``false`` is ``finetune: {enabled: ...}``."""
    if isinstance(config.get("finetune"), bool):
        config["finetune"] = {"enabled": config["finetune"]}
    return config


def check_config(config: Mapping, schema: Mapping | None = None) -> dict[str, dict]:
    """Check a validated config (defaults filled in) as a whole; return the estimators by name.

    ``schema`` (:func:`~ckaflow.schema.load_schema`), when given, is used to refuse floats where
    the schema asks for integers (JSON schema accepts 2.0 as an integer; ``range(2.0)`` does not).
    """
    problems = _integers(config, schema) if schema else []
    problems += _domains(config) + _splits(config) + _early(config) + model_problems(config)
    problems += builder_problems(config) + figure_problems(config) + pretrained_problems(config)
    estimators, more = estimators_by_name(config["similarity"]["estimators"])
    problems += more
    chosen = config["figures"]["estimator"]
    if chosen not in estimators:
        problems.append(
            f"figures.estimator: {chosen!r} is not among similarity.estimators {list(estimators)}"
        )
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


def _domains(config: Mapping) -> list[str]:
    """Domain names; each source's keys; labels for classify; two domains to fine-tune; the
    thesis preset's two domains."""
    domains, problems = config["domains"], []
    classify = config["task"] == "classify"
    for name, entry in domains.items():
        key = f"domains.{name}"
        try:
            check_domain_name(name, "domains")
        except ValueError as err:
            problems.append(str(err))
        source = SOURCES[entry["source"]]
        stray = sorted(set(entry) - {"source", *source.keys})
        if stray:
            problems.append(
                f"{key}: {stray} do not apply to source {entry['source']!r} (its "
                f"keys: {list(source.keys) or 'none'})"
            )
        missing = [k for k in source.required if not entry.get(k)]
        if missing:
            problems.append(f"{key}: source {entry['source']!r} needs {missing}")
        if classify and not source.labelled:
            problems.append(
                f"{key}: task is classify, but source {entry['source']!r} has no class "
                "labels (use folder with class subfolders, npy with labels, digits or cifar10)"
            )
        if classify and entry["source"] == "npy" and not entry.get("labels"):
            problems.append(f"{key}.labels: task is classify, so the labels file is needed")
        if source.generated and config["images_per_domain"] is None:
            problems.append(
                f"{key}: source {entry['source']!r} generates its images, so "
                "images_per_domain must be a number, not null"
            )
        lo, hi = entry.get("font_size") or (0, 0)
        if lo > hi:
            problems.append(f"{key}.font_size = [{lo}, {hi}]: the smallest size comes first")
    if config["finetune"]["enabled"] and len(domains) < 2:
        problems.append(
            f"finetune.enabled is true, but domains has only {list(domains)}: fine-tuning moves a "
            "model to another domain; add a domain or set finetune: false"
        )
    if config.get("preset") == "thesis" and set(domains) != {NATURAL, SYNTH}:
        problems.append(
            f"preset is thesis, whose claims are about domains natural and synth; "
            f"domains has {list(domains)} (set preset: null for your own study)"
        )
    return problems


def _early(config: Mapping) -> list[str]:
    """train.early_checkpoints: validation steps (multiples of eval_every) before max_steps;
    train.checkpoint_epochs before epochs, step schedule only."""
    t = config["train"]
    steps, every, cap = t["early_checkpoints"], t["eval_every"], t["max_steps"]
    problems = []
    bad = [s for s in steps if s % every or (t["schedule"] == "patience" and s >= cap)]
    if bad:
        problems.append(
            f"train.early_checkpoints {bad}: each must be a multiple of "
            f"train.eval_every ({every}) and, with the patience schedule, below train.max_steps "
            f"({cap})"
        )
    epochs = t["checkpoint_epochs"]
    if epochs and t["schedule"] != "step":
        problems.append(
            f"train.checkpoint_epochs {epochs}: epochs are counted by the step "
            "schedule only (train.schedule: step); use train.early_checkpoints"
        )
    if epochs and steps:
        problems.append(
            f"train.early_checkpoints {steps} and train.checkpoint_epochs {epochs}: use one or "
            "the other (checkpoints counted in one unit sort in training order)"
        )
    if t["schedule"] == "step" and config["finetune"]["mode"] == "final_phase":
        problems.append(
            "finetune.mode is final_phase, the patience schedule's last phase, but "
            "train.schedule is step: set finetune.mode: full"
        )
    late = [e for e in [*epochs, *t["decay_epochs"]] if e >= t["epochs"]]
    if t["schedule"] == "step" and late:
        problems.append(
            f"train.checkpoint_epochs and decay_epochs {late}: each must lie below "
            f"train.epochs ({t['epochs']})"
        )
    return problems


def _splits(config: Mapping) -> list[str]:
    images = config["images_per_domain"]
    if images is None:  # all of each source's images: checked by check_counts once counted
        return []
    return split_problems(config, images, "images_per_domain")


def split_problems(config: Mapping, images: int, what: str) -> list[str]:
    """The splits of ``images`` images (``what`` says where the number comes from) against
    test_images, val_fraction, the batch and the fine-tuning images."""
    frac, test = config["val_fraction"], config["test_images"]
    try:
        sizes = split_sizes(images, frac, test)
    except ValueError as err:
        return [f"{what}, val_fraction, test_images: {err}"]
    problems, train = [], sizes["train"]
    batch, finetune = config["train"]["batch_size"], config["finetune"]["images"]
    split = f"{what} {images} x (1 - val_fraction {frac}) = {train} images"
    if train < batch:
        problems.append(f"train.batch_size = {batch} is larger than the training split: {split}")
    if config["finetune"]["enabled"] and not batch <= finetune <= train:
        problems.append(
            f"finetune.images = {finetune} must lie between train.batch_size ({batch}) and the "
            f"training split ({train} images: {split.rpartition(' = ')[0]})"
        )
    return problems


def check_counts(config: Mapping, counts: Mapping[str, int]) -> None:
    """With ``images_per_domain: null``: each domain's splits, from the number of images its
    source holds (``counts``, from the start-up check), against the keys that need room."""
    if config["images_per_domain"] is not None:
        return
    problems = []
    for domain, n in counts.items():
        problems += split_problems(config, n, f"domains.{domain} (all its images)")
    if problems:
        raise ConfigError("config: " + "\n  ".join(problems))


def _integers(config, schema, where: str = "") -> list[str]:
    """Keys the schema types as integers whose value is a float (2.0 passes JSON schema)."""
    problems = []
    kinds = schema.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    if "integer" in kinds and isinstance(config, float):
        problems.append(f"{where} = {config!r}: an integer is expected (no decimal point)")
    elif "object" in kinds and isinstance(config, Mapping):
        for key, sub in schema.get("properties", {}).items():
            if key in config:
                problems += _integers(config[key], sub, f"{where}.{key}" if where else key)
    elif "array" in kinds and isinstance(config, list) and "items" in schema:
        for i, value in enumerate(config):
            problems += _integers(value, schema["items"], f"{where}[{i}]")
    return problems
