"""Example Steward plugin: one custom fact and one custom action, registered through entry points.

- fact `sla_breached` (boolean): the issue's SLA field says the SLA is breached. On the files tracker
  the field is `sla` on the board issue; a Jira adapter exposes custom fields in `Issue.extra` the same way.
- action `notify_chat` (string template): posts `{"text": ...}` to the webhook URL in
  $STEWARD_CHAT_WEBHOOK. It runs during `apply` only; `plan` sends nothing.
"""

from __future__ import annotations

import json
import os
import urllib.request

from steward.core.errors import TrackerError
from steward.core.hookspecs import hookimpl
from steward.core.registry import ActionSpec, FactSpec

WEBHOOK_ENV = "STEWARD_CHAT_WEBHOOK"


def sla_breached(issue, ctx) -> bool | None:
    value = issue.extra.get("sla")
    if value is None:
        return None
    return str(value).lower() in ("breached", "true", "yes")


def notify_chat(issue, text: str, context) -> str:
    url = os.environ.get(WEBHOOK_ENV)
    if not url:
        raise TrackerError(f"notify_chat needs the webhook URL in ${WEBHOOK_ENV}")
    message = f"{issue.key}: {text}"
    request = urllib.request.Request(url, data=json.dumps({"text": message}).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
    except OSError as error:
        # The webhook URL embeds its secret, so it is never repeated in the message.
        raise TrackerError(f"notify_chat: the chat webhook did not accept the post ({type(error).__name__})") from None
    return f"posted to the chat webhook: {message}"


@hookimpl
def register_facts(register):
    register(FactSpec("sla_breached", "boolean", "The issue's `sla` field says breached.", sla_breached))


@hookimpl
def register_actions(register):
    register(ActionSpec("notify_chat", {"type": "string", "minLength": 1},
                        "Post a message to the team chat webhook ($STEWARD_CHAT_WEBHOOK).", notify_chat))
