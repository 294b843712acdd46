"""When Steward itself fails: one line on the terminal, the details in a crash report, no secret anywhere.

A Python traceback is for the maintainers, not for the cron log of the person running Steward: the command
line prints `internal error: ...` with the path of a report file, and exits 4.
"""

from __future__ import annotations

import os
import re
import tempfile
import traceback
from datetime import datetime, timezone
from pathlib import Path

from .text import clean_text

SECRET_ENV = ("JIRA_API_TOKEN", "JIRA_TOKEN", "JIRA_EMAIL", "GITHUB_TOKEN", "GH_TOKEN")
_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")


def redact(text: str) -> str:
    """The text without credentials: URL user-info and the values of the credential variables."""
    text = _USERINFO.sub("***@", text)
    for name in SECRET_ENV:
        value = os.environ.get(name)
        if value and len(value) >= 4:
            text = text.replace(value, f"${name}")
    return text


def write_report(error: BaseException, argv: list[str]) -> Path | None:
    """Write the traceback (redacted) to a file and return its path; None when no file can be written."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    body = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    text = clean_text(redact(f"steward {' '.join(argv)}\n{stamp}\n\n{body}"))
    try:
        handle, name = tempfile.mkstemp(prefix=f"steward-crash-{stamp}-", suffix=".txt")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
    except OSError:
        return None
    return Path(name)
