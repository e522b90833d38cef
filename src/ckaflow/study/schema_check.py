"""The config against its JSON schema, as a few lines a person reads.

Two things come before the schema's own check. Numbers given as strings are read as numbers where
the schema asks for a number or an integer: Snakemake's ``--config 'train={"patience": 300}'``
hands over the string "300", and YAML 1.1 reads ``1e-3`` as a string; a string that is not a
number there is refused naming the key, the value and the cause. Then every schema violation is
one line naming the key, the value and what is allowed (an unknown key: the closest valid one),
never the schema itself (Snakemake's own validation prints all of it, 100-800 lines).
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping

import yaml

_INTEGER = re.compile(r"^[+-]?\d+$")


def _resolve(node: Mapping, schema: Mapping) -> Mapping:
    ref = node.get("$ref") if isinstance(node, Mapping) else None
    if ref and ref.startswith("#/$defs/"):
        return schema["$defs"][ref.rsplit("/", 1)[1]]
    return node if isinstance(node, Mapping) else {}


def _types(node: Mapping) -> set[str]:
    t = node.get("type", [])
    return {t} if isinstance(t, str) else set(t)


def _from_string(value: str, types: set[str], key: str, problems: list[str]):
    """``value`` read as the schema's non-string type, or itself with a problem noted."""
    text = value.strip()
    if types & {"number", "integer"}:
        if _INTEGER.match(text):
            return int(text)
        try:
            number = float(text)
        except ValueError:
            number = None
        if number is not None and math.isfinite(number):
            return number
    if types & {"array", "boolean", "null", "object"}:
        parsed = yaml.safe_load(text) if text else None
        kinds = {list: "array", bool: "boolean", type(None): "null", dict: "object"}
        if kinds.get(type(parsed)) in types:
            return parsed
    problems.append(
        f"{key}: {value!r} is a string; expected {' or '.join(sorted(types))} (write it without "
        "quotes, or as a number such as 0.001 where YAML reads 1e-3 as text)"
    )
    return value


def coerce_strings(config: dict, schema: Mapping) -> list[str]:
    """Read, in place, the strings of ``config`` that stand for numbers, lists, booleans or
    null where the schema allows no string; return the strings that cannot be read so."""
    problems: list[str] = []

    def walk(value, node, key):
        node = _resolve(node, schema)
        types = _types(node)
        if isinstance(value, str) and types and "string" not in types:
            return _from_string(value, types, key, problems)
        if isinstance(value, dict):
            props = node.get("properties", {})
            extra = node.get("additionalProperties")
            for k in list(value):
                child = props.get(k, extra if isinstance(extra, Mapping) else None)
                if child is not None:
                    value[k] = walk(value[k], child, f"{key}.{k}" if key else str(k))
        elif isinstance(value, list) and isinstance(node.get("items"), Mapping):
            for i, item in enumerate(value):
                value[i] = walk(item, node["items"], f"{key}[{i}]")
        return value

    walk(config, schema, "")
    return problems


def schema_problems(config: Mapping, schema: Mapping) -> list[str]:
    """One line per violation of ``schema`` by ``config``: the key, the value, what is allowed."""
    from jsonschema import Draft202012Validator

    out = []
    for err in sorted(Draft202012Validator(schema).iter_errors(config), key=lambda e: e.path):
        key = _dotted(err.absolute_path)
        if err.validator == "additionalProperties":
            allowed = sorted(err.schema.get("properties", {}))
            for extra in sorted(set(err.instance) - set(allowed)):
                out.append(_unknown(f"{key}.{extra}" if key else extra, extra, allowed))
            continue
        line = f"{key or 'config'}: {_short(err.message)}"
        about = _describe(err.schema) if err.validator in ("minimum", "maximum") else ""
        out.append(line + (f" ({about})" if about else ""))
    return out


def _unknown(key: str, name: str, allowed: list[str]) -> str:
    close = difflib.get_close_matches(name, allowed, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"{key}: unknown key{hint} (allowed here: {', '.join(allowed)})"


def _dotted(path) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _short(message: str, limit: int = 240) -> str:
    message = " ".join(message.split())
    return message if len(message) <= limit else message[: limit - 3] + "..."


def _describe(node: Mapping) -> str:
    """The first sentence of a key's description (why its bound is what it is)."""
    text = " ".join(str(node.get("description", "")).split())
    return re.split(r"\. |: ", text)[0].rstrip(".")


__all__ = ["coerce_strings", "schema_problems"]
