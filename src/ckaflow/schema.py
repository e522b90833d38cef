"""The config's JSON schema (``schema.yaml`` beside this module: a link to the workflow's
workflow/schemas/config.schema.yaml in a checkout, that file itself in a wheel): the one source of
every default.

The workflow validates its config against it when it loads; library functions whose arguments
are config keys take their defaults from it (:func:`schema_default`), so the two never disagree.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

SCHEMA_PATH = Path(__file__).with_name("schema.yaml")


@cache
def load_schema() -> dict:
    """The config's JSON schema (draft 2020-12), as the workflow validates against it."""
    return yaml.safe_load(SCHEMA_PATH.read_text())


def schema_default(dotted: str):
    """The schema's default of a config key such as ``"train.batch_size"``."""
    node = load_schema()
    for key in dotted.split("."):
        node = node["properties"][key]
    default = node["default"]
    return tuple(default) if isinstance(default, list) else default
