"""Mentioning people on Jira so that Jira notifies them, and the names people read.

Steward writes comments through REST v2, whose bodies are wiki markup on both deployments: a mention is
`[~accountid:ID]` on Jira Cloud (its users have no user names in the API) and `[~name]` on Data Center /
Server. A mention of someone Jira does not know (a deleted or deactivated account, a mistyped id in a rule)
would notify nobody and read as markup, so each person is looked up once per run (`GET /user`); one that does
not exist or is inactive is written as their plain name, with a warning, and the write goes ahead. A lookup
Jira refuses or fails (no Browse users permission, a server error) mentions all the same.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from steward.core.errors import TrackerError

from .answers import answer
from .transport import JiraConnection

log = logging.getLogger("steward.jira")

# What may sit inside `[~...]` without ending it or starting other markup: Cloud accountIds are letters,
# digits, `:` and `-`; Data Center user names are a little wider, never brackets, `|`, `~` or spaces.
_ACCOUNT_ID = re.compile(r"^[A-Za-z0-9:_-]{1,128}$")
_USER_NAME = re.compile(r"^[^\s\[\]|~{}]{1,255}$")


class JiraPeople:
    """Who exists on this Jira, asked once per person and run."""

    def __init__(self, connection: JiraConnection):
        self.connection = connection
        self.known: dict[str, str | None] = {}  # id -> why it cannot be mentioned (None: it can)

    def mention(self, person: str, name: str) -> str:
        cloud = self.connection.cloud
        if not (_ACCOUNT_ID if cloud else _USER_NAME).match(person):
            problem: str | None = "it is not a Jira " + ("accountId" if cloud else "user name")
        else:
            if person not in self.known:
                self.known[person] = self._problem(person)
                if self.known[person]:
                    log.warning("cannot mention %s on Jira (%s): written as the plain name, nobody is notified",
                                name or person, self.known[person])
            problem = self.known[person]
        if problem:
            return name or person
        return f"[~accountid:{person}]" if cloud else f"[~{person}]"

    def _problem(self, person: str) -> str | None:
        """Why Jira cannot notify `person` (no such user, deactivated), or None when it can or Jira would not
        say; a failed lookup never fails the write it is for."""
        cloud = self.connection.cloud
        params = {"accountId": person} if cloud else {"username": person}
        what = f"looking up the person {person}"
        try:
            data = self.connection.read_optional(self.connection.url("user"), what, params)
            if data is None:
                return "no such user"
            user: dict[str, Any] = answer(data, self.connection.base_url, what)
        except TrackerError as error:
            # Not knowing is not "gone" (the account may lack Browse users and groups): mention, and say so.
            log.info("could not look up %s on Jira (%s): mentioned all the same", person, error)
            return None
        if user.get("active") is False:
            return "the account is deactivated"
        return None
