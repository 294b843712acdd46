"""The rule-file JSON Schema (published by `steward schema`, used by editors) and its errors in plain words."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .yamlsource import Path_, RuleError, Source

if TYPE_CHECKING:
    import jsonschema

SCHEMA_PATH = Path(__file__).with_name("rulefile.schema.json")


@cache
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def _schema_message(error: jsonschema.ValidationError) -> str:
    what = error.schema.get("title") if isinstance(error.schema, dict) else None
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = _extra_keys(error)
        names = ", ".join(repr(e) for e in extra)
        what = what if error.absolute_path else "top-level key"
        return f"unknown {what or 'key'} {names} (expected one of: {', '.join(allowed)})"
    if error.validator == "minProperties" and what == "ladder step":
        return "a ladder step needs at least one action besides after_days"
    if error.validator == "required":
        return f"missing required key {error.message.split(' ')[0]}"
    if error.validator == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        return f"expected {expected}, got {json.dumps(error.instance, default=str)}"
    if error.validator == "enum":
        return f"{error.instance!r} is not one of: {', '.join(map(str, error.validator_value))}"
    if error.validator == "const":
        return f"expected {error.validator_value!r}, got {error.instance!r}"
    if error.validator == "pattern" and error.path and error.path[-1] == "id":
        return f"rule id {error.instance!r} must be kebab-case (lower-case words joined by '-')"
    if error.validator == "maxProperties" and what == "action":
        return f"one action per list item, got {', '.join(error.instance)}"
    return error.message


def _extra_keys(error: jsonschema.ValidationError) -> list[str]:
    """The keys an additionalProperties error is about, in document order."""
    if not isinstance(error.instance, dict):
        return []
    allowed = error.schema.get("properties", {})
    return [key for key in error.instance if key not in allowed]


def _error_path(error: jsonschema.ValidationError) -> Path_:
    """Where to point: an unknown key's own line, not the line of the mapping that holds it."""
    path = tuple(error.absolute_path)
    if error.validator == "additionalProperties":
        extra = _extra_keys(error)
        if extra:
            path += (extra[0],)
    return path


def check_schema(source: Source) -> list[RuleError]:
    import jsonschema  # 60 ms at import: only for commands that load rule files, not for --help

    validator = jsonschema.Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(source.data), key=lambda e: list(map(str, e.absolute_path)))
    return [source.error(_error_path(e), _schema_message(e)) for e in errors]
