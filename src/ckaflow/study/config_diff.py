"""How a finished run's config and backend compare with the reference run's
(:mod:`.reference`): key by key, so that keys the schema gained since the reference was made
are told apart from a changed study.

    config_line(reference, run, default)   the config: the same, keys added since, or what differs
    backend_line(reference, results)       the Keras backend the run's models trained on
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path


def config_line(reference: dict, run: dict, default: Mapping | None) -> str:
    """How the run's config (its validated config and digest) compares with the reference's,
    key by key: the same; the same with keys added to the schema since, at the values the
    ``default`` config gives them (the default config is the reference's study); or which keys
    differ (a value, its type, a key added since at another value, or a key removed since)."""
    if run["config_sha256"] == reference["config_sha256"]:
        return "config: the reference's"
    if "config" not in reference or "config" not in run:
        return ("config: not the reference's (another config, or options given on the command "
                "line): the numbers below are not expected to match")  # fmt: skip
    ref, now = _leaves(reference["config"]), _leaves(run["config"])
    usual = _leaves(default) if default is not None else {}
    changed = [f"{k} {_show(ref, k)} -> {_show(now, k)}"
               for k in sorted(ref) if _show(now, k) != _show(ref, k)]  # fmt: skip
    added = sorted(set(now) - set(ref))
    as_default = [k for k in added if k in usual and _show(usual, k) == _show(now, k)]
    changed += [f"{k} {_show(now, k)} (added since; the default config: {_show(usual, k)})"
                for k in added if k not in as_default]  # fmt: skip
    if changed:
        return (f"config: not the reference's ({'; '.join(changed)}): the numbers below are "
                "not expected to match")  # fmt: skip
    if not as_default:  # equal values of other JSON spellings: nothing to name
        return "config: the reference's (written differently)"
    shown = ", ".join(f"{k}: {_show(now, k)}" for k in as_default)
    return (
        f"config: the reference's, and {len(as_default)} keys added since at the default "
        f"config's values ({shown})"
    )


def run_backend(results: Path) -> str | None:
    """The Keras backend a run's models trained on (their provenance; TensorFlow before the
    backends were recorded), or None where ``results`` holds no model."""
    models = sorted(Path(results).glob("models/*/provenance.json"))
    return json.loads(models[0].read_text()).get("backend", "tensorflow") if models else None


def backend_line(reference: dict, results: Path) -> str:
    """The run's Keras backend beside the reference's (TensorFlow, from before the backends)."""
    ref, now = reference.get("backend", "tensorflow"), run_backend(results)
    if now is None:
        return f"backend: no model in {results} says (the reference: {ref})"
    if now == ref:
        return f"backend: {now}, the reference's"
    return (f"backend: {now} (the reference: {ref}): its own initial weights and noise, so the "
            "weights and effects differ as another seed's would")  # fmt: skip


def _show(config: dict, key: str) -> str:
    return json.dumps(config[key], sort_keys=True) if key in config else "(absent)"


def _leaves(config: dict, prefix: str = "") -> dict:
    """``{"similarity.filters.layers": "all", ...}``: every leaf of a nested config."""
    out = {}
    for key, value in config.items():
        if isinstance(value, dict) and value:
            out.update(_leaves(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out
