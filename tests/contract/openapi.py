"""Requests and answers checked against an OpenAPI 3.0 description (a vendor's, trimmed; see the NOTICE files).

Query parameters are checked closed-world: a parameter the operation does not document is a violation, since
that is how a misunderstanding such as `properties` on Jira Data Center's classic search shows. Values are
checked against the parameter's schema (a comma-separated value for an array parameter, as Jira and GitHub
read them). JSON bodies and JSON answers are checked with `jsonschema` against the operation's schemas,
converted from OpenAPI 3.0 (`nullable`) to JSON Schema.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, ValidationError
from jsonschema.exceptions import best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

JSON = "application/json"


@dataclass(frozen=True)
class Operation:
    method: str
    template: str  # the described path, such as /rest/api/2/issue/{issueIdOrKey}
    spec: dict[str, Any]

    @property
    def name(self) -> str:
        return f"{self.method} {self.template}"


class Description:
    """One vendor description: finds the operation for a request and checks requests and answers against it."""

    def __init__(self, path: Path, *, nullable_everywhere: bool = False,
                 corrections: dict[str, dict[str, Any]] | None = None):
        """`corrections`: JSON pointer -> keys to set there, where the description contradicts the vendor's own
        examples (each one is listed, with its evidence, where the description is loaded)."""
        self.path = path
        self.base = f"urn:steward-contract:{path.name}"
        raw = json.loads(path.read_text(encoding="utf-8"))
        for pointer, patch in (corrections or {}).items():
            target = raw
            for part in pointer.lstrip("/").split("/"):
                target = target[part]
            target.update(patch)
        self.document = _to_json_schema(raw, nullable_everywhere, self.base)
        resource = Resource.from_contents(self.document, default_specification=DRAFT202012)
        self.registry = Registry().with_resource(self.base, resource)
        self._validators: dict[str, Draft202012Validator] = {}
        self._routes = [(_route_pattern(template), template) for template in self.document["paths"]]

    def operation(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        """The operation for METHOD PATH and the path parameters, or None when the description has none."""
        for pattern, template in self._routes:
            match = pattern.fullmatch(path)
            spec = self.document["paths"][template].get(method.lower())
            if match and spec is not None:
                return Operation(method.upper(), template, spec), match.groupdict()
        return None

    def check_request(self, operation: Operation, path_params: dict[str, str], query: dict[str, list[str]],
                      body: bytes | None, *, check_body: bool = True) -> list[str]:
        """`check_body=False`: the body is not known (a cassette that does not record it)."""
        found: list[str] = []
        params = {(p["in"], p["name"]): p for p in self._parameters(operation)}
        for name, value in path_params.items():
            found += self._value_errors(params.get(("path", name)), name, [value])
        documented = {name for (where, name) in params if where == "query"}
        for name, values in query.items():
            if name not in documented:
                found.append(f"query parameter {name!r} is not in the description (it has: "
                             f"{', '.join(sorted(documented)) or 'none'})")
                continue
            found += self._value_errors(params[("query", name)], name, values)
        for (where, name), param in params.items():
            if where == "query" and param.get("required") and name not in query:
                found.append(f"required query parameter {name!r} is missing")
        return found + (self._body_errors(operation, body) if check_body else [])

    def check_response(self, operation: Operation, status: int, body: Any) -> list[str]:
        responses = operation.spec.get("responses", {})
        answer = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX") or responses.get("default")
        if answer is None:
            return [f"status {status} is not a documented answer (documented: {', '.join(sorted(responses))})"]
        schema = (answer.get("content") or {}).get(JSON, {}).get("schema")
        if schema is None or status >= 400:  # error bodies are the vendor's generic error shape, not described here
            return []
        return [f"answer {status}: {error}" for error in self._schema_errors(schema, body)]

    # ------------------------------------------------------------------------------------------------ helpers

    def _parameters(self, operation: Operation) -> list[dict[str, Any]]:
        shared = self.document["paths"][operation.template].get("parameters", [])
        return [self._deref(p) for p in shared + operation.spec.get("parameters", [])]

    def _deref(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            target: Any = self.document
            for part in node["$ref"].split("#", 1)[1].lstrip("/").split("/"):
                target = target[part]
            node = target
        return node

    def _value_errors(self, param: dict[str, Any] | None, name: str, values: list[str]) -> list[str]:
        if param is None:
            return [f"path parameter {name!r} is not in the description"]
        schema = param.get("schema", {})
        types = _types(schema)
        if "array" not in types and len(values) > 1:
            return [f"parameter {name!r} is sent {len(values)} times but is not a list"]
        found = []
        for raw in values:
            if "array" in types:
                items = [part for part in raw.split(",")] if raw else []
                value: Any = [_coerce(part, _types(schema.get("items", {}))) for part in items]
            else:
                value = _coerce(raw, types)
            found += [f"parameter {name}={raw!r}: {error}" for error in self._schema_errors(schema, value)]
        return found

    def _body_errors(self, operation: Operation, body: bytes | None) -> list[str]:
        described = operation.spec.get("requestBody")
        if not body:
            return ["the request body is required but missing"] if described and described.get("required") else []
        if described is None:
            return ["the request has a body but the operation takes none"]
        schema = described.get("content", {}).get(JSON, {}).get("schema")
        if schema is None:
            return [f"the operation takes no JSON body (it takes: {', '.join(described.get('content', {}))})"]
        try:
            value = json.loads(body)
        except ValueError:
            return ["the request body is not JSON"]
        return [f"body: {error}" for error in self._schema_errors(schema, value)]

    def _schema_errors(self, schema: dict[str, Any], value: Any) -> list[str]:
        key = json.dumps(schema, sort_keys=True)
        validator = self._validators.get(key)
        if validator is None:
            validator = self._validators[key] = Draft202012Validator(schema, registry=self.registry)
        errors = sorted((_deepest(e) for e in validator.iter_errors(value)),
                        key=lambda e: list(map(str, e.absolute_path)))
        return [f"{_where(e.absolute_path)}{e.message[:300]}" for e in errors][:5]


def _deepest(error: ValidationError) -> ValidationError:
    """For "not valid under any of the given schemas", the error of the branch that came closest."""
    while error.context:
        error = best_match(error.context)
    return error


def _where(path: Any) -> str:
    parts = list(path)
    return ("at " + "/".join(map(str, parts)) + ": ") if parts else ""


def _types(schema: dict[str, Any]) -> set[str]:
    value = schema.get("type")
    if value is None:
        return set()
    return set(value) if isinstance(value, list) else {value}


def _coerce(raw: str, types: set[str]) -> Any:
    """A query string value as the JSON value it stands for, when the schema wants one (else the text)."""
    if types & {"integer", "number"} and re.fullmatch(r"-?\d+", raw):
        return int(raw)
    if "number" in types and re.fullmatch(r"-?\d+\.\d*", raw):
        return float(raw)
    if "boolean" in types and raw in ("true", "false"):
        return raw == "true"
    return raw


def _route_pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    return re.compile("".join(f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") else re.escape(p) for p in parts))


def _to_json_schema(node: Any, nullable_everywhere: bool, base: str, names: bool = False) -> Any:
    """OpenAPI 3.0 schema objects as JSON Schema 2020-12: `nullable: true` becomes a "null" type (and a None
    enum member); local refs become absolute (`base#/...`) so that a schema taken out of the document still
    resolves them. `names`: this object's keys are names (properties, paths), never keywords."""
    if isinstance(node, list):
        return [_to_json_schema(v, nullable_everywhere, base) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _to_json_schema(v, nullable_everywhere, base, not names and k in ("properties", "paths", "schemas"))
           for k, v in node.items()}
    if names:
        return out
    if isinstance(out.get("$ref"), str) and out["$ref"].startswith("#/"):
        out["$ref"] = base + out["$ref"]
    if "discriminator" in out and "oneOf" in out:
        # The discriminator picks exactly one branch; without it, an object valid under two branches (GitHub's
        # private-user is also a valid public-user) would fail `oneOf`.
        out["anyOf"] = out.pop("oneOf")
    # Everywhere-nullable: typed nodes only; a ref then points at a typed, so nullable, schema.
    nullable = out.pop("nullable", False) is True or (nullable_everywhere and "type" in out)
    if nullable:
        if "type" in out:
            types = out["type"] if isinstance(out["type"], list) else [out["type"]]
            out["type"] = types + ["null"] if "null" not in types else types
            if "enum" in out and None not in out["enum"]:
                out["enum"] = out["enum"] + [None]
        elif "$ref" in out or "allOf" in out or "oneOf" in out or "anyOf" in out:
            out = {"anyOf": [{"type": "null"}, out]}
    return out
