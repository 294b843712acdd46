"""Comment templates: `{{ fact }}` and nothing else, substituted in one pass.

Issue text is data: a value containing `{{ 7*7 }}` or `{% ... %}` is inserted literally and never
rendered again, because substitution happens once over the rule author's text only.
"""

from __future__ import annotations

import re
from typing import Any

PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_NAME = re.compile(r"^\s*([a-z_][a-z0-9_]*(?:\([^(){}]+\))?)\s*$")  # a fact, or a fact with its argument


def referenced_names(template: str) -> tuple[list[str], list[str]]:
    """Fact names a template uses, and placeholders that are not a plain fact name."""
    names, invalid = [], []
    for match in PLACEHOLDER.finditer(template):
        name = _NAME.match(match[1])
        if name:
            names.append(name[1])
        else:
            invalid.append(match[0])
    if "{%" in template:
        invalid.append("{% ... %}")
    rest = PLACEHOLDER.sub("", template)
    if "{{" in rest or "}}" in rest:
        invalid.append("an unclosed {{ or a stray }}")
    return names, invalid


def _display(value: Any) -> str:
    if value is None or value == []:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def render(template: str, facts: dict[str, Any]) -> str:
    def substitute(match: re.Match) -> str:
        name = _NAME.match(match[1])
        return _display(facts.get(name[1])) if name else match[0]

    return PLACEHOLDER.sub(substitute, template)
