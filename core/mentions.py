"""Mentions: a template asks for a person, the tracker notifies them in its own syntax.

`{{ assignee | mention }}` renders a token holding the person's id and display name. Nothing of an issue's
own text can produce one (the token's characters are removed from every fact value), so a title can never
make Steward notify someone. Just before a write the runner turns each token into the tracker's syntax
(`Tracker.mention`: GitHub `@login`, Jira Cloud `[~accountid:ID]`, Data Center `[~name]`, the files board
`@name`); everything people read in Steward's own output shows `@Display Name`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

START, SEPARATOR, END = "\ue000", "\ue002", "\ue001"  # private-use characters: never in tracker text we keep
_TOKEN = re.compile(f"{START}([^{SEPARATOR}{END}]*){SEPARATOR}([^{END}]*){END}")
_TOKEN_CHARS = re.compile(f"[{START}{SEPARATOR}{END}]")


def token(person: str, name: str | None = None) -> str:
    return f"{START}{person}{SEPARATOR}{name or person}{END}"


def scrub(text: str) -> str:
    """Text from an issue, unable to forge a mention."""
    return _TOKEN_CHARS.sub("", text) if START in text or SEPARATOR in text or END in text else text


def format_mentions(text: str, mention: Callable[[str, str], str]) -> str:
    """Each mention token as `mention(person_id, display_name)` returns it."""
    return _TOKEN.sub(lambda match: mention(match[1], match[2]), text) if START in text else text


def readable(text: str) -> str:
    """For Steward's own output (plan, reports, JSON): `@Display Name`."""
    return format_mentions(text, lambda person, name: f"@{name}")


def people_in(text: str) -> list[str]:
    """The ids of the people a text mentions."""
    return [match[1] for match in _TOKEN.finditer(text)] if START in text else []
