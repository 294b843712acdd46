"""The built-in `notify` action: a message to a chat channel or a mailbox, sent once per step.

```yaml
settings:
  channels:
    ops-chat: {type: slack, url_env: OPS_CHAT_URL}        # also: teams, webhook (generic JSON), email
rules:
  - ...
    then:
      - notify: {channel: ops-chat, text: "{{ key }} has had no owner for {{ days_unassigned }} days"}
```

A notification runs after the tracker write of its step and is recorded in the ledger only once the channel
accepted it (the step's marker lists it as pending until then): a channel that fails is tried again on the
next `apply`, and one that accepted is never sent to twice. `plan` shows it and sends nothing. Secrets (the
webhook URL, the SMTP password) come only from the environment and never appear in a message.
"""

from __future__ import annotations

import json
import os
import smtplib
import ssl
import urllib.error
import urllib.request
from email.message import EmailMessage
from typing import Any

from .errors import TrackerError
from .hookspecs import hookimpl
from .mentions import readable
from .model import Issue
from .registry import ActionSpec, FactContext

SMTP_ENV = ("STEWARD_SMTP_HOST", "STEWARD_SMTP_PORT", "STEWARD_SMTP_USER", "STEWARD_SMTP_PASSWORD",
            "STEWARD_SMTP_FROM")
TIMEOUT = 15.0

VALUE_SCHEMA = {
    "type": "object", "additionalProperties": False, "required": ["channel", "text"],
    "properties": {"channel": {"type": "string", "minLength": 1}, "text": {"type": "string", "minLength": 1}},
}


class ChannelError(TrackerError):
    """A channel that did not take the message; the step stays pending and the next apply tries again."""


def check(value: Any, settings: dict[str, Any]) -> str | None:
    """Load-time check: the channel is defined in the rule files' settings."""
    channels = settings.get("channels") or {}
    name = value.get("channel") if isinstance(value, dict) else None
    if name not in channels:
        known = ", ".join(sorted(channels)) or "none defined"
        return f"notify names channel {name!r}, which settings.channels does not define (channels: {known})"
    return None


def _message(issue: Issue, text: str) -> str:
    return readable(text)


def _post_json(channel: str, url: str, body: dict[str, Any]) -> None:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    timeout = float(os.environ.get("STEWARD_HTTP_TIMEOUT") or TIMEOUT)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
    except urllib.error.HTTPError as error:
        raise ChannelError(f"channel {channel!r} refused the message (HTTP {error.code})") from None
    except (urllib.error.URLError, OSError) as error:
        # The URL holds the channel's secret, so only the kind of failure is named.
        reason = getattr(error, "reason", None) or error
        raise ChannelError(f"channel {channel!r} could not be reached ({type(reason).__name__})") from None


def _send_email(channel: str, config: dict[str, Any], issue: Issue, text: str) -> None:
    host = os.environ.get("STEWARD_SMTP_HOST")
    sender = os.environ.get("STEWARD_SMTP_FROM")
    if not host or not sender:
        raise ChannelError(f"channel {channel!r} (email) needs STEWARD_SMTP_HOST and STEWARD_SMTP_FROM")
    message = EmailMessage()
    message["From"], message["To"] = sender, ", ".join(config["to"])
    message["Subject"] = f"[Steward] {issue.key}: {issue.title}"[:200]
    message.set_content(f"{text}\n\n{issue.url or issue.key}\n")
    port = int(os.environ.get("STEWARD_SMTP_PORT") or 587)
    try:
        with smtplib.SMTP(host, port, timeout=TIMEOUT) as smtp:
            if os.environ.get("STEWARD_SMTP_STARTTLS", "true").lower() != "false" and smtp.has_extn("starttls"):
                smtp.starttls(context=ssl.create_default_context())
            user, password = os.environ.get("STEWARD_SMTP_USER"), os.environ.get("STEWARD_SMTP_PASSWORD")
            if user and password:
                smtp.login(user, password)
            smtp.send_message(message)
    except (smtplib.SMTPException, OSError) as error:
        raise ChannelError(f"channel {channel!r} (email) did not accept the message ({type(error).__name__})") \
            from None


def notify(issue: Issue, value: dict[str, Any], context: FactContext) -> str:
    """Send the step's message to its channel; raise ChannelError when the channel did not take it."""
    name = value["channel"]
    config = (context.settings.get("channels") or {}).get(name)
    if config is None:
        raise ChannelError(f"channel {name!r} is not defined in settings.channels")
    text = _message(issue, value["text"])
    link = issue.url or ""
    if config["type"] == "email":
        _send_email(name, config, issue, text)
        return f"emailed {', '.join(config['to'])} via channel {name!r}"
    variable = config.get("url_env")
    url = os.environ.get(variable) if variable else None
    if not url:
        raise ChannelError(f"channel {name!r} needs its webhook URL in ${variable}, which is not set")
    if config["type"] == "slack":
        head = f"<{link}|{issue.key}>" if link else issue.key
        _post_json(name, url, {"text": f"{head} {text}"})
    elif config["type"] == "teams":
        head = f"[{issue.key}]({link})" if link else issue.key
        _post_json(name, url, {"@type": "MessageCard", "@context": "https://schema.org/extensions",
                               "summary": f"{issue.key}: {issue.title}"[:100], "text": f"{head} {text}"})
    else:
        _post_json(name, url, {"issue": issue.key, "url": link or None, "title": issue.title, "text": text})
    return f"posted to channel {name!r}"


@hookimpl
def register_actions(register):
    register(ActionSpec("notify", VALUE_SCHEMA, "Send a message to a channel from settings.channels (slack, teams, "
                        "webhook, email), once per step.", notify, check=check))
