"""The study's figures, drawn with plotnine and written as PNG and PDF.

The names below are imported on first use (PEP 562): the workflow reads :mod:`.layout` when it
loads, every job's start included, and should not pay for importing plotnine there."""

import importlib

_HOMES = {"save_figure": ".common", "save_rule_figure": ".common", "sample_grid": ".samples"}

__all__ = sorted(_HOMES)


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name], __name__), name)
