"""YAML with line numbers: every key and item keeps the line it came from, so every error can name it.

Also the error types of rule files and their tests: each names the file, the line and the rule id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

Path_ = tuple[Any, ...]


@dataclass(frozen=True)
class RuleError:
    file: str
    line: int
    rule: str | None
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: [{self.rule or '-'}] {self.message}"


class RuleFileErrors(Exception):
    def __init__(self, errors: list[RuleError]):
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


class Source:
    """A parsed YAML document plus the line of every mapping key and sequence item."""

    def __init__(self, file: str, data: Any, lines: dict[Path_, int]):
        self.file = file
        self.data = data
        self.lines = lines

    def line(self, path: Path_) -> int:
        path = tuple(path)
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, 1)

    def rule_id(self, path: Path_) -> str | None:
        if len(path) >= 2 and path[0] == "rules" and isinstance(self.data, dict):
            rules = self.data.get("rules")
            if isinstance(rules, list) and isinstance(path[1], int) and path[1] < len(rules):
                rule = rules[path[1]]
                if isinstance(rule, dict) and isinstance(rule.get("id"), str):
                    return rule["id"]
        if len(path) >= 2 and path[0] == "overrides":
            return str(path[1])
        return None

    def error(self, path: Path_, message: str) -> RuleError:
        return RuleError(self.file, self.line(path), self.rule_id(path), message)


MAX_NODES = 100_000  # values after YAML aliases are expanded: a rule file is far smaller
MAX_DEPTH = 64  # nesting of mappings and lists


def parse_yaml(text: str, file: str) -> Source:
    """The YAML document with the line of every key and item. Aliases are expanded at most up to MAX_NODES
    values and nesting up to MAX_DEPTH, so a "billion laughs" file or a pathologically deep one is a clear
    error, not a hang or a crash."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except RecursionError:
        raise RuleFileErrors([RuleError(file, 1, None, f"invalid YAML: nested more than {MAX_DEPTH} levels "
                                                       "deep")]) from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else 1
        raise RuleFileErrors([RuleError(file, line, None, f"invalid YAML: {error.problem or error}")]) from None
    except yaml.YAMLError as error:
        raise RuleFileErrors([RuleError(file, 1, None, f"invalid YAML: {error}")]) from None
    if root is None:
        raise RuleFileErrors([RuleError(file, 1, None, "the file is empty")])

    lines: dict[Path_, int] = {}
    problems: list[RuleError] = []
    constructor = yaml.SafeLoader("")
    built = 0

    def build(node: yaml.Node, path: Path_) -> Any:
        nonlocal built
        built += 1
        line = node.start_mark.line + 1
        if built > MAX_NODES:
            raise RuleFileErrors([RuleError(file, line, None, f"the file expands to more than {MAX_NODES:,} "
                                                              "values (YAML aliases?): refusing to expand it")])
        if len(path) > MAX_DEPTH * 2:  # a path step per key and per item: keys count twice at most
            raise RuleFileErrors([RuleError(file, line, None, f"nested more than {MAX_DEPTH} levels deep")])
        lines.setdefault(path, line)
        if isinstance(node, yaml.MappingNode):
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = build(key_node, path + ("<key>",))
                if not isinstance(key, (str, int, float, bool)):
                    problems.append(RuleError(file, key_node.start_mark.line + 1, None,
                                              "a mapping key must be a plain value"))
                    continue
                if key in result:
                    problems.append(RuleError(file, key_node.start_mark.line + 1, None,
                                              f"duplicate key {key!r}"))
                lines[path + (key,)] = key_node.start_mark.line + 1
                result[key] = build(value_node, path + (key,))
            return result
        if isinstance(node, yaml.SequenceNode):
            return [build(item, path + (index,)) for index, item in enumerate(node.value)]
        return constructor.construct_object(node, deep=True)

    data = build(root, ())
    if problems:
        raise RuleFileErrors(problems)
    return Source(file, data, lines)
