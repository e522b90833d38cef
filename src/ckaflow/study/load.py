"""A study's config read outside Snakemake (``python -m ckaflow``): the files merged as
Snakemake merges them, short forms spelled out, validated against the schema with its defaults
filled in, then checked as a whole."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import yaml

from ..schema import SCHEMA_PATH, load_schema
from .config import check_config, normalize_config


def load_config(paths: Sequence[str | Path]) -> dict:
    """The config of ``paths`` (later files update earlier ones, dicts key by key), ready to
    plan; ``ConfigError``/``ValueError`` naming what is wrong."""
    from snakemake.utils import update_config, validate

    config: dict = {}
    for path in paths:
        with open(path) as f:
            update_config(config, yaml.safe_load(f) or {})
    normalize_config(config)
    validate(config, str(SCHEMA_PATH), set_default=True)
    check_config(config, load_schema())
    return config
