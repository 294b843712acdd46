"""GraphQL documents, their variables and their answers checked against GitHub's public schema (vendored).

A request is checked as GitHub checks it: the document must validate against the schema, and the variables
must coerce to the operation's variable types. An answer is checked by executing the (valid part of the)
document against the schema with resolvers that return the answer's own data: GraphQL's executor then
enforces every field's type, non-null and enum value, and the result must equal the answer, so an answer
with a field nobody asked for, or a missing one, shows too.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from graphql import (
    REMOVE,
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    build_schema,
    execute,
    parse,
    validate,
    visit,
)
from graphql.execution.values import get_variable_values

SCHEMA_FILE = Path(__file__).parent / "github" / "schema.graphql"


@cache
def schema() -> GraphQLSchema:
    """GitHub's schema. GitHub's own SDL breaks two rules graphql-core enforces (a field defined twice on
    EnterpriseOwnerInfo; deprecated fields implementing non-deprecated interface fields), so the schema is
    taken as valid, as GitHub's server takes it."""
    built = build_schema(SCHEMA_FILE.read_text(encoding="utf-8"), assume_valid_sdl=True, assume_valid=True)
    for name, check in (("DateTime", _date_time), ("URI", _uri)):
        scalar = built.type_map[name]
        scalar.serialize = check  # type: ignore[union-attr]  # graphql-core 3.2 calls this one,
        scalar.coerce_output_value = check  # type: ignore[union-attr]  # 3.3 this one
    return built


def _date_time(value: Any) -> str:
    """GitHub's DateTime: an ISO-8601 string, such as 2026-11-20T09:00:00Z."""
    if not isinstance(value, str):
        raise TypeError(f"DateTime must be an ISO-8601 string, not {value!r}")
    datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value


def _uri(value: Any) -> str:
    if not isinstance(value, str) or "://" not in value:
        raise TypeError(f"URI must be an absolute URI string, not {value!r}")
    return value


def check_request(payload: Any) -> list[str]:
    """What is wrong with one POST /graphql body ({"query": ..., "variables": ...})."""
    if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
        return ["the body is not a GraphQL request: no `query` string"]
    try:
        document = parse(payload["query"])
    except GraphQLError as error:
        return [f"the query does not parse: {error.message}"]
    found = [f"query: {error.message}" for error in validate(schema(), document)]
    return found + check_variables(document, payload.get("variables"))


def check_variables(document: DocumentNode, variables: Any) -> list[str]:
    """The variables against the variable types of the document's (single) operation."""
    if variables is not None and not isinstance(variables, dict):
        return [f"variables must be an object, not {type(variables).__name__}"]
    operation = _operation(document)
    if operation is None:
        return ["the document has no single operation to run"]
    coerced = get_variable_values(schema(), operation.variable_definitions or [], variables or {})
    if isinstance(coerced, list):
        return [f"variables: {error.message}" for error in coerced]
    undefined = set(variables or {}) - {d.variable.name.value for d in operation.variable_definitions or []}
    return [f"variables: ${name} is not defined by the operation" for name in sorted(undefined)]


def check_response(payload: Any, answer: Any) -> list[str]:
    """What is wrong with a GraphQL answer to `payload`: its shape, and its data against the selection."""
    if not isinstance(answer, dict) or not set(answer) <= {"data", "errors", "extensions"} or not answer:
        shown = sorted(answer) if isinstance(answer, dict) else repr(answer)
        return [f"an answer has `data` and/or `errors` only, not {shown}"]
    found = [f"errors[{i}] must be an object with a `message` string" for i, e in enumerate(answer.get("errors") or [])
             if not isinstance(e, dict) or not isinstance(e.get("message"), str)]
    data = answer.get("data")
    if data is None or not isinstance(payload, dict):
        return found
    try:
        document, unknown = _known_part(parse(payload["query"]))
    except (GraphQLError, KeyError, TypeError):
        return found  # the request was already reported
    result = execute(schema(), document, root_value=data, variable_values=payload.get("variables") or {},
                     field_resolver=_resolve_field, type_resolver=_resolve_type)
    # An answer with errors may leave parts null that the schema calls non-null (GitHub does: NOT_FOUND).
    if not answer.get("errors"):
        found += [f"data{_path(e.path)}: {e.message}" for e in result.errors or []]
    if not result.errors and result.data != data:
        found += [f"data{where}: {what}" for where, what in _differences(data, result.data)
                  if not (what == "not asked for" and where.rsplit(".", 1)[-1] in unknown)][:5]
    return found


# ---------------------------------------------------------------------------------------------- helpers


def _operation(document: DocumentNode) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    return operations[0] if len(operations) == 1 else None


def _known_part(document: DocumentNode) -> tuple[DocumentNode, set[str]]:
    """The document without the fields the schema does not have (already reported on the request), so the
    rest of the answer can still be checked; and the names of the fields taken out."""
    info = TypeInfo(schema())
    unknown: set[str] = set()

    class Strip(Visitor):
        def enter_field(self, node: FieldNode, *_: Any) -> Any:
            if info.get_field_def() is None:
                unknown.add(node.alias.value if node.alias else node.name.value)
                return REMOVE
            return None

    return visit(document, TypeInfoVisitor(info, Strip())), unknown


def _resolve_field(source: Any, info: Any, **_: Any) -> Any:
    key = info.field_nodes[0].alias.value if info.field_nodes[0].alias else info.field_name
    return source.get(key) if isinstance(source, dict) else None


def _resolve_type(value: Any, info: Any, abstract_type: Any) -> str | None:
    """The object type of an interface or union value: its `__typename` when asked for, else the one possible
    type that has every field the value carries (as for `actor { login }`)."""
    if isinstance(value, dict) and isinstance(value.get("__typename"), str):
        return value["__typename"]
    for candidate in info.schema.get_possible_types(abstract_type):
        if isinstance(value, dict) and all(name in candidate.fields for name in value):
            return candidate.name
    return None


def _path(path: Any) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in (path or []))


def _differences(sent: Any, expected: Any, where: str = "") -> list[tuple[str, str]]:
    if isinstance(sent, dict) and isinstance(expected, dict):
        found = [(f"{where}.{k}", "not asked for") for k in sent if k not in expected]
        found += [(f"{where}.{k}", "missing") for k in expected if k not in sent]
        for key in sent.keys() & expected.keys():
            found += _differences(sent[key], expected[key], f"{where}.{key}")
        return found
    if isinstance(sent, list) and isinstance(expected, list) and len(sent) == len(expected):
        pairs = enumerate(zip(sent, expected, strict=True))
        return [d for i, (a, b) in pairs for d in _differences(a, b, f"{where}[{i}]")]
    return [] if sent == expected else [(where, f"served {sent!r}, which the schema's type makes {expected!r}")]

