"""`steward event`: evaluate the one issue of a GitHub Actions event, or sweep the repository on schedule.

It uses the same public pieces as the built-in commands (rule loading, `open_tracker`, the Runner, the
report) and raises `steward.core.errors` exceptions for the command line to report.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import click

from steward.core import report
from steward.core.errors import UsageError, run_exit_code
from steward.core.markers import find_markers
from steward.core.options import TIME, fail_on_findings_option, format_option, max_actions_option, rules_option
from steward.core.plugins import open_tracker
from steward.core.review_markdown import fit
from steward.core.rulefile import load_rules
from steward.core.runner import Runner, RunOptions
from steward.core.timeutil import utcnow

from .parse import ACTIONS_LOGINS, login

SUMMARY_LIMIT = 1024 * 1024 - 4096
ISSUES_ACTIONS = {"opened", "edited", "labeled", "unlabeled", "assigned", "unassigned", "reopened", "closed",
                  "milestoned", "demilestoned", "typed", "untyped"}
ISSUES_IGNORED = {"deleted", "transferred", "pinned", "unpinned", "locked", "unlocked"}
COMMENT_ACTIONS = {"created", "edited", "deleted"}
SWEEP_EVENTS = {"schedule", "workflow_dispatch"}


class PayloadError(Exception):
    pass


@dataclass
class EventTarget:
    repo: str
    number: int | None  # None: sweep the repository
    skip: str | None = None  # why nothing is evaluated
    sender: str | None = None


def read_event(path: str | None, event_name: str | None, steward_logins: set[str]) -> EventTarget:
    """What one workflow event asks for. Raises PayloadError with a message a user can act on."""
    if not path:
        raise PayloadError("no event payload: pass --github-event PATH or set GITHUB_EVENT_PATH")
    try:
        payload = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PayloadError(f"event payload {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as error:
        raise PayloadError(f"cannot read event payload {path}: {error}") from None
    except json.JSONDecodeError as error:
        raise PayloadError(f"event payload {path} is not JSON: line {error.lineno}: {error.msg}") from None
    if not isinstance(payload, dict):
        raise PayloadError(f"event payload {path} must be a JSON object")
    repository = payload.get("repository")
    repo = repository.get("full_name") if isinstance(repository, dict) else None
    repo = repo or os.environ.get("GITHUB_REPOSITORY")
    if not repo:
        raise PayloadError(f"event payload {path} names no repository (`repository.full_name`)")
    if not event_name:
        if "issue" not in payload:
            raise PayloadError(f"event payload {path} has no `issue` with a `number`, and no event name says "
                               f"what it is (GITHUB_EVENT_NAME or --event-name)")
        event_name = "issue_comment" if "comment" in payload else "issues"
    if event_name in SWEEP_EVENTS:
        return EventTarget(repo, None)
    if event_name not in ("issues", "issue_comment"):
        raise PayloadError(f"unsupported event {event_name!r}: Steward handles issues, issue_comment, "
                           f"schedule and workflow_dispatch")
    action = payload.get("action")
    issue = payload.get("issue")
    if not isinstance(issue, dict) or not isinstance(issue.get("number"), int):
        raise PayloadError(f"{event_name} payload {path} has no `issue` with a `number`")
    known = ISSUES_ACTIONS | ISSUES_IGNORED if event_name == "issues" else COMMENT_ACTIONS
    if action not in known:
        raise PayloadError(f"unknown {event_name} action {action!r}; expected one of {', '.join(sorted(known))}")
    number = issue["number"]
    if event_name == "issues" and action in ISSUES_IGNORED:
        return EventTarget(repo, number, skip=f"issues/{action} needs no evaluation")
    if "pull_request" in issue:
        return EventTarget(repo, number, skip=f"#{number} is a pull request")
    sender = login(payload.get("sender"))
    if sender and sender in steward_logins:
        return EventTarget(repo, number, skip=f"the event was caused by Steward itself ({sender})")
    comment = payload.get("comment")
    if event_name == "issue_comment" and isinstance(comment, dict) and find_markers(comment.get("body")):
        return EventTarget(repo, number, skip="the comment is Steward's own")
    return EventTarget(repo, number, sender=sender)


def _append(path: str | None, text: str) -> None:
    if not path:
        return
    with open(path, "a", encoding="utf-8") as out:
        out.write(text)


def _numbers(keys: Iterable[str]) -> str:
    """Issue numbers as a one-line JSON list, each once, in order (`fromJSON` in a workflow reads it)."""
    numbers = sorted({int(key.lstrip("#")) for key in keys if key.lstrip("#").isdigit()})
    return json.dumps(numbers)


def summary_text(markdown: str) -> str:
    return fit(markdown, SUMMARY_LIMIT)


@click.command("event")
@click.option("--github-event", "event_path", envvar="GITHUB_EVENT_PATH", metavar="PATH",
              help="Webhook payload (default: $GITHUB_EVENT_PATH).")
@click.option("--event-name", envvar="GITHUB_EVENT_NAME",
              help="issues, issue_comment, schedule or workflow_dispatch (default: $GITHUB_EVENT_NAME, "
                   "else guessed from the payload).")
@rules_option
@click.option("--github-url", "url", help="API URL (default: $GITHUB_API_URL, else https://api.github.com).")
@click.option("--dry-run", is_flag=True, help="Evaluate and report, write nothing.")
@max_actions_option
@fail_on_findings_option
@click.option("--steward-login", "steward_logins", multiple=True, envvar="STEWARD_GITHUB_LOGIN",
              help="Login(s) Steward writes as; their events are ignored. Default: github-actions[bot], "
                   "plus the token's user outside Actions.")
@format_option("markdown")
@click.option("--now", type=TIME, help="Evaluate as of this time.")
def event(event_path, event_name, rule_specs, url, dry_run, max_actions, fail_on_findings, steward_logins,
          fmt, now) -> None:
    """Evaluate the issue of one GitHub event (or sweep the repository on schedule)."""
    configured = {x.strip() for value in steward_logins for x in value.split(",") if x.strip()}
    logins = configured | set(ACTIONS_LOGINS)
    try:
        target = read_event(event_path, event_name, logins)
    except PayloadError as error:
        raise UsageError(str(error)) from None
    rules = load_rules(rule_specs)
    tracker = None
    if not target.skip:
        tracker = open_tracker(f"github:{target.repo}", {"url": url, "steward_logins": sorted(configured)})
        identity = tracker.identity()
        if target.sender and identity is not None and identity.wrote(target.sender):
            target.skip = f"the event was caused by Steward itself ({target.sender})"
    if target.skip:
        _append(os.environ.get("GITHUB_OUTPUT"), "findings=0\nactions=0\nissues-found=[]\nissues-acted-on=[]\n")
        click.echo(f"steward: nothing to do: {target.skip}")
        return
    now = now or utcnow()
    query = None if target.number is None else f"number:{target.number}"
    options = RunOptions(now=now, apply=not dry_run, max_actions=max_actions, query=query)
    plan = Runner(tracker, rules, options).run()
    mode = "plan" if dry_run else "apply"
    click.echo(report.render(plan, rules, now, mode, fmt), nl=False)
    _append(os.environ.get("GITHUB_STEP_SUMMARY"), summary_text(report.render(plan, rules, now, mode, "markdown")))
    actions = sum(len(s.actions) or 1 for s in plan.steps)
    _append(os.environ.get("GITHUB_OUTPUT"), f"findings={len(plan.findings)}\nactions={actions}\n"
            f"issues-found={_numbers(f.issue for f in plan.findings)}\n"
            f"issues-acted-on={_numbers(s.issue for s in plan.steps)}\n")
    sys.exit(run_exit_code(plan, fail_on_findings))
