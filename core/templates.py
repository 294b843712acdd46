"""Comment templates: `{{ fact }}` and nothing else, substituted in one pass.

A placeholder names a fact, optionally `| mention` (notify the person the fact names) and a fallback in
double quotes for when the fact is missing: `{{ assignee | mention | "nobody yet" }}`. That is the whole
language: no expressions. Issue text is data: a value containing `{{ 7*7 }}` or `{% ... %}` is inserted
literally and never rendered again, because substitution happens once over the rule author's text only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .mentions import scrub, token

PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_FIELD = re.compile(r'^\s*(?P<name>[a-z_][a-z0-9_]*(?:\([^(){}|"]+\))?)\s*'  # a fact, maybe with its argument
                    r'(?P<mention>\|\s*mention\s*)?'
                    r'(?:\|\s*"(?P<fallback>[^"{}]*)"\s*)?$')
MISSING = "(not set)"  # what a missing fact without a fallback shows: never the word "none"


@dataclass(frozen=True)
class Placeholder:
    name: str
    mention: bool
    fallback: str | None


def placeholders(template: str) -> tuple[list[Placeholder], list[str]]:
    """The placeholders of a template, and the texts in braces that are not a valid placeholder."""
    found, invalid = [], []
    for match in PLACEHOLDER.finditer(template):
        field = _FIELD.match(match[1])
        if field:
            found.append(Placeholder(field["name"], bool(field["mention"]), field["fallback"]))
        else:
            invalid.append(match[0])
    if "{%" in template:
        invalid.append("{% ... %}")
    rest = PLACEHOLDER.sub("", template)
    if "{{" in rest or "}}" in rest:
        invalid.append("an unclosed {{ or a stray }}")
    return found, invalid


def referenced_names(template: str) -> tuple[list[str], list[str]]:
    """Fact names a template uses, and placeholders that are not valid."""
    found, invalid = placeholders(template)
    return [p.name for p in found], invalid


def missing_in(template: str, facts: dict[str, Any]) -> list[str]:
    """The facts a template shows that are missing here and have no fallback: it would print MISSING."""
    found, _ = placeholders(template)
    return [p.name for p in found if p.fallback is None and facts.get(p.name) in (None, [])]


def _display(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(scrub(str(v)) for v in value)
    return scrub(str(value))


def render(template: str, facts: dict[str, Any], names: dict[str, str] | None = None) -> str:
    """The template with its facts; `names` gives display names for the people it mentions."""
    def substitute(match: re.Match) -> str:
        field = _FIELD.match(match[1])
        if not field:
            return match[0]
        value = facts.get(field["name"])
        if value is None or value == []:
            return field["fallback"] if field["fallback"] is not None else MISSING
        if field["mention"] and isinstance(value, str):
            return token(value, (names or {}).get(value))
        return _display(value)

    return PLACEHOLDER.sub(substitute, template)
