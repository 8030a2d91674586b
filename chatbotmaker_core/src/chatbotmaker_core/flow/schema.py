"""The flow format's JSON Schema, and its errors told in the flow's own words.

The schema (``flow.schema.json`` beside this module) is the published contract: editors can
use it through ``# yaml-language-server: $schema=...``. jsonschema's messages speak of
instances and properties; here each one becomes ``file:line:column: state 'menu', route 2:
unknown key 'gp' (did you mean 'go'?)``.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from ..errors import did_you_mean
from .yamlnodes import Document

SCHEMA_FILE = "flow.schema.json"


@lru_cache(maxsize=1)
def flow_schema() -> dict[str, Any]:
    """The JSON Schema of the flow format, as shipped in the package."""
    text = resources.files(__package__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    return json.loads(text)


@lru_cache(maxsize=1)
def _validator() -> Any:
    from jsonschema import Draft202012Validator

    schema = flow_schema()
    # The same schema with each $ref replaced by its definition: jsonschema resolves a $ref
    # on every use, which doubles the time a 500-state flow takes to validate.
    return Draft202012Validator(_inline(schema, schema["$defs"]))


def _inline(node: Any, definitions: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_inline(item, definitions) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = _inline(definitions[node["$ref"].rsplit("/", 1)[-1]], definitions)
        return {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return {k: _inline(v, definitions) for k, v in node.items() if k != "$defs"}


def suggestion(word: str, choices: list[str] | dict[str, Any]) -> str:
    """`` (did you mean 'go'?)``: difflib's closest match, or a name one letter away (difflib
    finds nothing close for short words such as ``gp``)."""
    hint = did_you_mean(word, choices)
    if hint:
        return hint
    for choice in choices:
        if len(choice) == len(word) and sum(a != b for a, b in zip(choice, word, strict=True)) == 1:
            return f" (did you mean {choice!r}?)"
    return ""


def describe(path: tuple[Any, ...]) -> str:
    """What part of a flow a path names: ``state 'menu', route 2`` (routes count from 1)."""
    if len(path) < 2 or path[0] != "states":
        return "flow" if not path else f"{path[0]!r}"
    words = [f"state {path[1]!r}"]
    if len(path) >= 3:
        if path[2] == "routes" and len(path) >= 4 and isinstance(path[3], int):
            words.append(f"route {path[3] + 1}")
        else:
            words.append(str(path[2]))
    return ", ".join(words)


def validate(document: Document) -> list[tuple[tuple[int, int], str]]:
    """Every schema error as ``((line, column), message)``, in file order."""
    problems = []
    for error in _validator().iter_errors(document.data):
        for path, key, text in _explain(error):
            where = document.where(path, key=key)
            owner = describe(path[:-1] if key else path)
            problems.append((_sort_key(where), f"{where}: {owner}: {text}"))
    return sorted(set(problems))  # "required" reports each missing key once per key


def _sort_key(where: str) -> tuple[int, int]:
    parts = where.rsplit(":", 2)
    try:
        return int(parts[1]), int(parts[2])
    except (IndexError, ValueError):
        return 0, 0


def _explain(error: Any) -> list[tuple[tuple[Any, ...], bool, str]]:
    """``(path, at_key, message)`` for one jsonschema error."""
    path = tuple(error.absolute_path)
    kind, expected, instance = error.validator, error.validator_value, error.instance
    if kind == "additionalProperties":
        allowed = list(error.schema.get("properties", {}))
        return [
            (
                (*path, key),
                True,
                f"unknown key {key!r}{suggestion(str(key), allowed)}; "
                f"allowed: {', '.join(allowed)}",
            )
            for key in instance
            if key not in allowed
        ]
    if kind == "required":
        missing = [key for key in expected if key not in instance]
        hint = {"flow": " (flow: 1 is the format version)"}
        return [(path, False, f"missing key {key!r}{hint.get(key, '')}") for key in missing]
    if kind == "not" and expected == {"required": ["go"]}:
        return [
            (
                (*path, "go"),
                True,
                f"'go' is not allowed in {path[-1]!r}; change state in a route or in 'enter'",
            )
        ]
    if kind == "not":
        return [(path, False, "a route has either 'match' or 'regex', not both")]
    if kind == "dependentRequired":
        return [
            (
                (*path, key),
                True,
                f"{key!r} needs a 'say' in the same block (the options go with the last say)",
            )
            for key in expected
            if key in instance and "say" not in instance
        ]
    return [(path, False, _value_message(path, kind, expected, instance))]


def _value_message(path: tuple[Any, ...], kind: str, expected: Any, instance: Any) -> str:
    name = repr(path[-1]) if path and isinstance(path[-1], str) else "this value"
    if kind == "const":
        return f"{name} must be {expected!r} (the format version), got {instance!r}"
    if kind == "type":
        wanted = expected if isinstance(expected, str) else " or ".join(expected)
        return f"{name} must be {_article(wanted)}, got {_type_name(instance)} {instance!r}"
    if kind == "oneOf":
        return f"{name} must be a text or a list of texts, got {_type_name(instance)} {instance!r}"
    if kind in ("minItems", "minProperties", "minLength"):
        return f"{name} must not be empty"
    if kind == "pattern":
        return f"{name} must look like 'module:function', got {instance!r}"
    return f"{name}: {kind} {expected!r} not met by {instance!r}"


_NAMES = {
    "string": "a text",
    "object": "a mapping",
    "array": "a list",
    "boolean": "true or false",
    "number": "a number",
    "null": "null",
    "integer": "a whole number",
}


def _article(types: str) -> str:
    return " or ".join(_NAMES.get(t, t) for t in types.split(" or "))


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, dict):
        return "mapping"
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "text"
    if value is None:
        return "null"
    return type(value).__name__
