"""A study's config read outside Snakemake (``python -m ckaflow``): the files merged as
Snakemake merges them, short forms spelled out, validated against the schema with its defaults
filled in, then checked as a whole."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import yaml

from ..schema import SCHEMA_PATH, load_schema
from .config import ConfigError, check_config, check_counts, normalize_config
from .schema_check import coerce_strings, schema_problems


def load_config(paths: Sequence[str | Path]) -> dict:
    """The config of ``paths`` (later files update earlier ones, dicts key by key), ready to
    plan; ``ConfigError``/``ValueError`` naming what is wrong."""
    from snakemake.utils import update_config, validate

    config: dict = {}
    for path in paths:
        update_config(config, read_config_file(path))
    check_schema(config)
    validate(config, str(SCHEMA_PATH), set_default=True)
    check_config(config, load_schema())
    return config


def read_config_file(path: str | Path) -> dict:
    """The YAML config file ``path``; ``ConfigError`` naming the file, the key and its lines when
    a mapping gives a key twice (YAML keeps the last one silently: the first is lost)."""
    with open(path) as f:
        return yaml.load(f, Loader=_UniqueKeys) or {}


def check_config_files(paths: Sequence[str | Path]) -> None:
    """Each config file Snakemake read (``workflow.configfiles``) has no key given twice."""
    for path in paths:
        read_config_file(path)


class _UniqueKeys(yaml.SafeLoader):
    def construct_mapping(self, node, deep=False):
        seen: dict = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise ConfigError(
                    f"config: {self.name}: key {key!r} is given twice (lines {seen[key] + 1} and "
                    f"{key_node.start_mark.line + 1}); YAML would keep the second silently"
                )
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)


def check_schema(config: dict) -> dict:
    """``config`` (as given: files and ``--config`` merged) with its short forms spelled out and
    its numbers-as-strings read as numbers, in place, checked against the schema before the
    schema's defaults are filled in; ``ConfigError`` with one line per problem (the key, the
    value, what is allowed; an unknown key's closest valid one)."""
    normalize_config(config)
    schema = load_schema()
    problems = coerce_strings(config, schema)
    unread = {p.split(":")[0] for p in problems}  # a string left unread: its type error is said
    problems += [p for p in schema_problems(config, schema) if p.split(":")[0] not in unread]
    if problems:
        raise ConfigError("config: " + "\n  ".join(problems))
    return config


def check_inputs(config: dict, classify: bool):
    """What the workflow checks once when a run starts, after the config: the domains' fonts,
    photographs, archives, folders and arrays (:func:`~ckaflow.data.preflight.check_sources`),
    then the splits of the images they hold. Returns what was found (counts, classes)."""
    from ..data.images import ImageSpec
    from ..data.preflight import check_sources

    found = check_sources(
        config["domains"], ImageSpec(**config["image"]), config["images_per_domain"], classify
    )
    check_counts(config, found.counts)  # the splits of all of a folder's images
    return found
