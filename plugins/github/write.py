"""Writing to GitHub issues: comments first, as the commit point, then labels, assignees and state.

Every marked step is one comment carrying the hidden marker (a step without a comment action gets a short
comment so its marker is recorded); labels are added and removed one at a time (a label missing from the
repository is created first); `transition` accepts `open`, `closed`, `completed` or `not_planned`. A comment
whose POST failed with a 5xx or a connection error is only sent again after the issue's comments were read
back without its marker; label, assignee and state writes are idempotent, so they are simply sent again.

GitHub has no request that writes a comment and labels together, so a run can die between them. Each marked
comment therefore carries a changes note (core/markers.py) next to its marker, and the ledger treats a step
whose announced changes never reached the issue as unfinished: `apply` then writes only the missing changes,
never the comment again. Writing the labels first instead would let a step's own label exempt its rule
(`escalated` exempts `blocked-without-escalation`), and the comment would never follow.

After it is written, a step's comment is edited only to record what happened after it (comments.py): an
assignee GitHub silently refused, Steward's own actions that have run. Its id comes from GitHub's answer to
the POST, or from a read of the issue for a step an earlier run wrote.
"""

from __future__ import annotations

import logging
import urllib.parse
from datetime import datetime, timedelta, timezone
from typing import Any

from steward.core.errors import TrackerError
from steward.core.markers import find_markers, format_changes, format_marker, step_changes, step_marker, with_marker
from steward.core.model import Action, Issue, Marker, Step, transition_target
from steward.core.timeutil import format_time

from . import transport
from .comments import PostedComment, from_rest, own_step_comment, with_pending, without_assignment
from .projects import Projects
from .transport import GitHubConnection, GitHubError

log = logging.getLogger("steward.github")

NEW_LABEL_COLOR = "ededed"
_STATES = {"open": {"state": "open"}, "reopened": {"state": "open"}, "closed": {"state": "closed"},
           "completed": {"state": "closed", "state_reason": "completed"},
           "not_planned": {"state": "closed", "state_reason": "not_planned"}}


def step_comment(step: Step, now: datetime, run: str | None = None) -> str | None:
    """The comment a step posts: its comment actions, and for a marked step what else it changes and its
    marker, naming the run (a marked step without a comment action still posts one: the marker is its record)."""
    comments = [str(a.value) for a in step.actions if a.type == "comment"]
    if not step.marks:
        return "\n\n".join(comments) or None
    body = "\n\n".join(comments) or f"Steward recorded step {step.level} of rule `{step.rule}` (no comment to post)."
    changes = step_changes(step)
    if changes:
        body = f"{body}\n\n{format_changes(changes)}"
    return with_marker(body, step_marker(step, now, run))


class GitHubWriter:
    def __init__(self, connection: GitHubConnection, owner: str, name: str, run: str | None = None):
        self.connection = connection
        self.owner, self.name = owner, name
        self.run = run
        self._repo_labels: set[str] | None = None
        # This run's step comments, by (issue key, rule, level): what a later edit of them starts from.
        self.posted: dict[tuple[str, str, int], PostedComment] = {}
        self._refused: set[tuple[str, str]] = set()  # (issue key, login) GitHub did not assign: warned once
        self.projects: Projects | None = None  # the mapped project fields set_field writes

    def _issue_path(self, issue: Issue) -> str:
        return f"/repos/{self.owner}/{self.name}/issues/{issue.extra.get('number') or issue.key.lstrip('#')}"

    def apply(self, issue: Issue, steps: list[Step], now: datetime) -> None:
        """All the comments first (each marked one is its step's commit point), then the labels, assignees
        and states they announce: see the module docstring for why this order survives a run that dies."""
        unfinished = {(m.rule, m.level) for m in issue.unfinished}
        for action in (a for step in steps for a in step.actions if a.type == "set_field"):
            if self.projects is None:
                raise TrackerError(f"{issue.key}: the GitHub tracker has no project fields to set")
            self.projects.check(issue, action.value["field"], action.value["value"])  # refused before writing
        for step in steps:
            body = step_comment(step, now, self.run)
            if body is None:
                continue
            if step.marks and (step.rule, step.level) in unfinished:
                log.info("%s: the comment of %s step %d is there already", issue.key, step.rule, step.level)
                continue
            posted = self._comment(issue, body, now)
            if posted is not None and step.marks:
                self.posted[(issue.key, step.rule, step.level)] = posted
        labels = list(issue.labels)
        for step in steps:
            for action in list(step.actions):
                if action.type == "add_labels":
                    for label in action.value:
                        if label not in labels:
                            self._add_label(issue, label)
                            labels.append(label)
                elif action.type == "remove_labels":
                    for label in action.value:
                        self._remove_label(issue, label)
                        labels = [x for x in labels if x != label]
                elif action.type == "assign":
                    self._assign(issue, step, action)
                elif action.type == "transition":
                    self._transition(issue, action.value)
                elif action.type == "set_field" and self.projects is not None:
                    self.projects.write(issue, action.value["field"], action.value["value"])
                elif action.type != "comment":
                    log.warning("%s: the GitHub tracker cannot %s; skipped", issue.key, action.type)

    def _assign(self, issue: Issue, step: Step, action: Action) -> None:
        assignee = str(action.value)
        _, answer = self.connection.rest("POST", f"{self._issue_path(issue)}/assignees",
                                         body={"assignees": [assignee]}, what=f"assigning {issue.key}")
        if not isinstance(answer, dict) or not isinstance(answer.get("assignees"), list):
            return  # nothing to judge by: take GitHub's 201 at its word
        if assignee in {a.get("login") for a in answer["assignees"] if isinstance(a, dict)}:
            return
        # GitHub answers 201 to a login without push access and assigns nobody. The step's changes note must
        # stop announcing it, or every later run would see the step unfinished and send it again; and this
        # run's report must not list it.
        if (issue.key, assignee) not in self._refused:
            self._refused.add((issue.key, assignee))
            log.warning("%s: GitHub did not assign %s (a login needs push access to %s/%s to be assigned); "
                        "not asked again for this step", issue.key, assignee, self.owner, self.name)
        step.actions.remove(action)
        comment = self.step_comment(issue, step.rule, step.level)
        if comment is None:
            return
        try:
            self.edit(issue, comment, without_assignment(comment.body, assignee))
        except TrackerError as error:
            log.warning("%s: could not record on its comment that %s was not assigned (%s); the next run asks "
                        "again", issue.key, assignee, error)

    def step_comment(self, issue: Issue, rule: str, level: int) -> PostedComment | None:
        """The comment of a step: written by this run, else the one an earlier run wrote (from the read)."""
        return self.posted.get((issue.key, rule, level)) or own_step_comment(issue, rule, level)

    def edit(self, issue: Issue, comment: PostedComment, body: str) -> None:
        """Replace the body of one of Steward's comments (idempotent: safe to send again)."""
        if body == comment.body:
            return
        self.connection.rest("PATCH", f"/repos/{self.owner}/{self.name}/issues/comments/{comment.id}",
                             body={"body": body}, what=f"editing Steward's comment on {issue.key}")
        for key, posted in self.posted.items():
            if posted.id == comment.id:
                self.posted[key] = PostedComment(posted.id, posted.author, posted.created, body)

    def delete(self, issue: Issue, comment: PostedComment) -> None:
        """Delete one of Steward's comments; one already gone is fine (another run deleted it)."""
        try:
            self.connection.rest("DELETE", f"/repos/{self.owner}/{self.name}/issues/comments/{comment.id}",
                                 what=f"deleting a second copy of Steward's comment on {issue.key}")
        except GitHubError as error:
            if error.status != 404:
                raise

    def record_pending(self, issue: Issue, marker: Marker) -> None:
        """Edit the step's marker so that it lists only `marker.pending` as still to run."""
        comment = self.step_comment(issue, marker.rule, marker.level)
        body = None if comment is None else with_pending(comment.body, marker.rule, marker.level, marker.pending)
        if comment is None or body is None:
            raise TrackerError(f"{issue.key}: the comment of {marker.rule} step {marker.level} was not found")
        self.edit(issue, comment, body)

    def _transition(self, issue: Issue, value: Any) -> None:
        """open, closed, completed or not_planned; `{to: closed, resolution: not_planned}` closes with that
        reason."""
        target, resolution = transition_target(value)
        if resolution and target.strip().lower() == "closed":
            target = resolution.strip().lower().replace(" ", "_")
        body = _STATES.get(target.strip().lower())
        if body is None:
            raise TrackerError(f"{issue.key}: GitHub issues can only move to open, closed, completed or "
                               f"not_planned, not {target!r}")
        self.connection.rest("PATCH", self._issue_path(issue), body=body, what=f"moving {issue.key} to {target}")

    def ensure_label(self, label: str) -> None:
        """Create the label in the repository if it is not there yet."""
        if self._repo_labels is None:
            self._repo_labels = set()
            for items in self.connection.rest_pages(f"/repos/{self.owner}/{self.name}/labels", {},
                                                    "listing labels"):
                self._repo_labels.update(i["name"] for i in items if isinstance(i, dict) and "name" in i)
        if label in self._repo_labels:
            return
        try:
            self.connection.rest("POST", f"/repos/{self.owner}/{self.name}/labels",
                                 body={"name": label, "color": NEW_LABEL_COLOR, "description": "Added by Steward"},
                                 what=f"creating label {label!r}")
        except GitHubError as error:
            if error.status != 422:  # 422: it exists already (created meanwhile)
                raise
        self._repo_labels.add(label)

    def _add_label(self, issue: Issue, label: str) -> None:
        self.ensure_label(label)
        self.connection.rest("POST", f"{self._issue_path(issue)}/labels", body={"labels": [label]},
                             what=f"adding label {label!r} to {issue.key}")

    def _remove_label(self, issue: Issue, label: str) -> None:
        try:
            self.connection.rest("DELETE", f"{self._issue_path(issue)}/labels/{urllib.parse.quote(label, safe='')}",
                                 what=f"removing label {label!r} from {issue.key}")
        except GitHubError as error:
            if error.status != 404:  # already gone: nothing to do
                raise

    def _comment(self, issue: Issue, body: str, now: datetime) -> PostedComment | None:
        """Post a comment; returns it as GitHub holds it (None for an unmarked one whose answer was lost)."""
        markers = find_markers(body)
        found: list[PostedComment] = []

        def landed() -> bool:
            comment = self._marker_landed(issue, markers[0], now)
            if comment is not None:
                log.info("%s: the comment landed despite an error; not sending it again", issue.key)
                found.append(comment)
                return True
            return False

        answer = self.connection.comment(f"{self._issue_path(issue)}/comments", body, f"commenting on {issue.key}",
                                         landed if markers else None)
        return from_rest(answer) if answer is not None else found[0] if found else None

    def recent_comments(self, issue: Issue, now: datetime) -> list[PostedComment]:
        """The issue's comments of the last day (REST)."""
        # `now` may be pinned (--now): look back from the earlier of it and the real time.
        real_now = datetime.fromtimestamp(transport.WALL_CLOCK(), tz=timezone.utc)
        since = format_time(min(now, real_now) - timedelta(days=1))
        comments = []
        for items in self.connection.rest_pages(f"{self._issue_path(issue)}/comments", {"since": since},
                                                f"re-reading the comments of {issue.key}"):
            comments += [c for c in map(from_rest, items) if c is not None]
        return comments

    def _marker_landed(self, issue: Issue, marker: Marker, now: datetime) -> PostedComment | None:
        wanted = format_marker(marker)
        return next((c for c in self.recent_comments(issue, now) if wanted in c.body), None)
