"""The Jira simulator's people: `GET /rest/api/{2,3}/user` (Cloud by `accountId`, Data Center by `username`),
answered as Jira's User bean, with accounts that were deleted (404) or deactivated (`active: false`).

Hooked into benchmarks/sim/jira.py as the request kind "user"; `JiraSim.gone_users` and `JiraSim.inactive_users`
hold the user names to treat so.
"""

from __future__ import annotations

import re
from typing import Any

from . import jira  # a cycle: jira.py imports this module; names are read when a request is handled
from .server import Request, Response


def user(sim: Any, request: Request, base: str, version: str) -> Response:
    """`sim` is the JiraSim asked."""
    STEWARD, USERS, account_id = jira.STEWARD, jira.USERS, jira.account_id  # noqa: N806
    wanted = request.param("accountId") if sim.cloud else request.param("username") or request.param("key")
    if not wanted:
        return Response(400, {"errorMessages": ["The 'accountId' query parameter needs to be provided." if sim.cloud
                                                else "Either the 'username' or the 'key' query parameters need to be "
                                                     "provided"], "errors": {}})
    name = next((n for n in (*USERS, STEWARD) if wanted == (account_id(n) if sim.cloud else n)), None)
    if name is None or name in sim.gone_users:
        message = ("Specified user does not exist or you do not have required permissions" if sim.cloud
                   else f"The user named '{wanted}' does not exist")
        return Response(404, {"errorMessages": [message], "errors": {}})
    answer = dict(sim._user(name, base, version) or {})
    answer["active"] = name not in sim.inactive_users
    answer["timeZone"] = "Europe/Berlin"
    if not sim.cloud:
        answer["key"] = f"JIRAUSER{10000 + USERS.index(name) if name in USERS else 10100}"
        answer["emailAddress"] = f"{name}@example.com"
    return Response(200, answer)


_MENTION = re.compile(r"\[~(?:accountid:)?([^\]]+)\]")


def readable_comments(sim: Any, key: str) -> list[str]:
    """Steward's comments on an issue as Steward's own output shows them: each Jira mention (`[~accountid:ID]`,
    `[~name]`) as `@Display Name`, so they compare with the actions of a plan."""
    names = {(jira.account_id(n) if sim.cloud else n): n.replace(".", " ").title() for n in (*jira.USERS, jira.STEWARD)}
    return [_MENTION.sub(lambda m: "@" + names.get(m[1], m[1]), body) for body in sim.steward_comments(key)]
