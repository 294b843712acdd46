"""The GitHub tracker (GitHub.com and GitHub Enterprise Server) on PyGithub.

It wires the rooms of this package together: transport (requester, retries, pacing), read (sweeps and one
issue), write (comments first, then labels, assignees and state), comments (what happens to Steward's
comments after they are written).

Two runs may take the same step at the same moment (a scheduled sweep and an event about one of its issues
run in different concurrency groups): just before writing a page the runner asks `recheck` (one read of the
page's acted-on issues) and skips what another run took meanwhile; just after, `reconcile` reads their recent
comments once and, where a step's comment is there twice, deletes every copy but the earliest. A run whose
copy was deleted says so, so every report stays true. docs/github.md says what window remains.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from steward.core.errors import TrackerError
from steward.core.fields import FieldMapping
from steward.core.ledger import Identity
from steward.core.markers import dedupe, find_markers, new_run_id
from steward.core.model import Issue, Marker, Step
from steward.core.readahead import Later
from steward.core.tracker import DigestRecord, Tracker
from steward.plugins.transport import read_timeout

from .comments import PostedComment, later_copies
from .digest import GitHubDigests
from .parse import ACTIONS_LOGINS, DEFAULT_PRIORITY_PREFIX
from .projects import Projects
from .read import GitHubReader
from .transport import DEFAULT_API_URL, DEFAULT_TIMEOUT, PAGE_SIZE, WRITES_PER_MINUTE, GitHubConnection, Pacer
from .write import GitHubWriter

GHOST = "ghost"  # the login GitHub shows in place of a deleted account
log = logging.getLogger("steward.github")


class GitHubTracker(Tracker):
    name = "github"

    def __init__(self, repo: str, token: str | None, url: str | None = None, *,
                 priority_prefix: str = DEFAULT_PRIORITY_PREFIX, page_size: int = PAGE_SIZE, reads: str = "graphql",
                 timeout: float = DEFAULT_TIMEOUT, pacer: Pacer | None = None,
                 steward_logins: Iterable[str] = (), run: str | None = None):
        owner, slash, name = (repo or "").partition("/")
        if not owner or (slash and not name) or "/" in name:
            raise TrackerError("--tracker github:OWNER/REPO names a repository (github:octo-org/octo-repo), "
                               "github:ORG every repository of an organisation")
        if not token:
            raise TrackerError("set GITHUB_TOKEN to a token that can read issues (and write them for apply)")
        if reads not in ("graphql", "rest"):
            raise TrackerError(f"STEWARD_GITHUB_READS must be graphql or rest, not {reads!r}")
        self.repo = repo
        self._reads = reads
        self.run = run or new_run_id()  # written into every marker of this run: whose copy of a step is whose
        self.connection = GitHubConnection(repo, token, url, timeout=timeout, pacer=pacer, page_size=page_size)
        self.steward_logins = frozenset(steward_logins)
        # Asked on first use only: a run whose issues carry no marked comment never asks who Steward is.
        self._identity = Identity.later(self._logins)
        self.org = not name  # github:ORG: every repository of the organisation, issues keyed OWNER/REPO#N
        self.priority_prefix = priority_prefix
        self.projects = Projects(self.connection)
        self._repos: dict[str, tuple[GitHubReader, GitHubWriter]] = {}  # by OWNER/REPO: reads and writes there
        self.reader, self.writer = self._at(repo) if not self.org else (self._reader(owner, ""), None)
        # The digest issue lives in the repository; an organisation run has none to put it in.
        self.digests = GitHubDigests(self.connection, self.writer, self._identity) if self.writer else None

    def _reader(self, owner: str, name: str) -> GitHubReader:
        reader = GitHubReader(self.connection, owner, name, self.priority_prefix, self._reads, qualified=self.org)
        reader.identity, reader.projects = self._identity, self.projects
        return reader

    def _at(self, repo: str) -> tuple[GitHubReader, GitHubWriter]:
        """The reader and writer of one repository (in an organisation run, created on first use)."""
        if repo not in self._repos:
            owner, _, name = repo.partition("/")
            writer = GitHubWriter(self.connection, owner, name, self.run)
            writer.projects = self.projects
            self._repos[repo] = (self._reader(owner, name), writer)
        return self._repos[repo]

    def _of(self, issue: Issue) -> tuple[GitHubReader, GitHubWriter]:
        return self._at(issue.project or self.repo if self.org else self.repo)

    @property
    def requests(self) -> dict[str, int]:
        """Requests sent so far by kind (graphql, rest_read, write), retries included."""
        return self.connection.requests

    @property
    def request_count(self) -> int:
        return sum(self.connection.requests.values())

    def configure(self, settings: Mapping[str, Any]) -> None:
        self.projects.configure(settings)

    def map_fields(self, fields: dict[str, FieldMapping]) -> None:
        """Mapped fields are Projects (v2) fields of the projects in `settings.github.projects`, resolved here
        (one request per project) and read with each issue (plugins/github/projects.py)."""
        if self.reader.reads != "graphql" and any(m.on("github") for m in fields.values()):
            raise TrackerError("project fields are read with GraphQL, not with STEWARD_GITHUB_READS=rest: "
                               f"{', '.join(sorted(n for n, m in fields.items() if m.on('github')))}")
        self.projects.map_fields(fields)

    def fetch(self, query: str | None = None,
              since: datetime | None = None) -> Iterator[list[Issue] | Later[list[Issue]]]:
        return self.reader.issues(query, since)

    def skipped(self) -> list[str]:
        return list(self.reader.skipped)

    def fetch_one(self, key: str) -> Issue | None:
        repo, _, number = key.rpartition("#")
        if not number.isdigit() or (repo and not self.org) or (self.org and repo.count("/") != 1):
            raise TrackerError(f"{key!r} is not a GitHub issue such as "
                               f"{'octo-org/octo-repo#12' if self.org else '#12'}")
        return self._at(repo if self.org else self.repo)[0].one(int(number))

    def apply(self, issue: Issue, steps: list[Step], now: datetime) -> None:
        self._of(issue)[1].apply(issue, steps, now)

    def _by_repo(self, issues: Iterable[Issue]) -> dict[str, list[Issue]]:
        """Issues grouped by repository: a re-check or reconcile reads each repository's in one request."""
        groups: dict[str, list[Issue]] = {}
        for issue in issues:
            groups.setdefault(issue.project or self.repo if self.org else self.repo, []).append(issue)
        return groups

    def recheck(self, issues: list[Issue]) -> dict[str, Issue]:
        read = {issue.key: issue for issue in issues}
        fresh = {issue.key: issue for repo, group in self._by_repo(issues).items()
                 for issue in self._at(repo)[0].several([_number(issue) for issue in group])}
        for key, issue in fresh.items():
            _leave_to_its_run(issue, read[key])
        return fresh

    def reconcile(self, written: list[tuple[Issue, list[Step]]], now: datetime) -> list[Step]:
        if not written:
            return []
        # The page is written: a failure here must not lose its report. A copy left behind stays one step
        # for the ledger, and the next run that writes to the issue removes it.
        recent: dict[str, list[PostedComment]] = {}
        try:
            for repo, group in self._by_repo(issue for issue, _ in written).items():
                reader, writer = self._at(repo)
                if reader.reads == "graphql":
                    found = reader.recent_comments([_number(issue) for issue in group])
                    recent.update({issue.key: found.get(_number(issue), []) for issue in group})
                else:
                    recent.update({issue.key: writer.recent_comments(issue, now) for issue in group})
        except TrackerError as error:
            log.warning("could not read back the comments just written, to remove a copy another run may have "
                        "written at the same moment (%s)", error)
            return []
        removed = []
        for issue, steps in written:
            kept, later = later_copies(recent.get(issue.key, []), self._identity)
            for comment in later:
                self._delete(issue, comment)
            for step in steps:
                # A step this run posted, whose kept copy is another one: this run's copy was the later one.
                ours = self._of(issue)[1].posted.pop((issue.key, step.rule, step.level), None)
                first = kept.get((step.rule, step.level))
                if ours is not None and first is not None and first.id != ours.id:
                    removed.append(step)
        return removed

    def _delete(self, issue: Issue, comment: PostedComment) -> None:
        markers = ", ".join(f"{m.rule} step {m.level}" for m in find_markers(comment.body))
        try:
            self._of(issue)[1].delete(issue, comment)
        except TrackerError as error:
            log.warning("%s: could not delete a second copy of %s (%s); the next run that writes to it does",
                        issue.key, markers, error)
            return
        log.info("%s: deleted a second copy of %s (comment %s)", issue.key, markers, comment.id)

    def record_done(self, issue: Issue, marker: Marker) -> None:
        self._of(issue)[1].record_pending(issue, marker)

    def _digests(self) -> GitHubDigests:
        if self.digests is None:
            raise TrackerError(f"a digest issue needs a repository: use --tracker github:{self.repo}/REPO to say "
                               "where it goes")
        return self.digests

    def find_digest(self, period: str) -> DigestRecord | None:
        return self._digests().find(period)

    def publish_digest(self, period: str, title: str, body: str, sent: frozenset[str],
                       now: datetime) -> DigestRecord:
        return self._digests().publish(period, title, body, sent, now)

    def mention(self, person: str, name: str) -> str:
        """`@login`. GitHub shows a deleted account as `ghost` (on its issues and comments), whom a mention
        would not reach: that one is written as plain text, with a warning."""
        if person.casefold() == GHOST:
            log.warning("a person Steward would mention has deleted their GitHub account (shown as %r): "
                        "written as plain text", person)
            return name or person
        return f"@{person}"

    def identity(self) -> Identity:
        return self._identity

    def _logins(self) -> set[str]:
        """The logins Steward writes as: those configured (`--steward-login`, `STEWARD_GITHUB_LOGIN`) and
        github-actions[bot]; outside Actions and with none configured, also the token's own user (one
        request, once)."""
        logins = set(self.steward_logins) | set(ACTIONS_LOGINS)
        if not self.steward_logins and os.environ.get("GITHUB_ACTIONS") != "true":
            viewer = self.viewer_login()
            if viewer:
                logins.add(viewer)
        return logins

    def viewer_login(self) -> str | None:
        """The login of the token's user, or None when the token cannot say (e.g. an Actions token)."""
        try:
            _, data = self.connection.rest("GET", "/user", what="reading the token's user")
        except TrackerError:
            return None
        return data.get("login") if isinstance(data, dict) else None

    def close(self) -> None:
        self.connection.close()


def _leave_to_its_run(fresh: Issue, read: Issue) -> None:
    """A step whose comment is there but whose labels are not all there yet (GitHub writes the comment first)
    is another run's step in the middle of being written when its comment appeared since this run read the
    issue, or when any Steward write reached the issue since: it counts as taken here, so this run neither
    reports it nor sends its changes. Had that run died just then, the next run finishes it. A step found
    half-written with no Steward write since the read is finished here, as a dead run's step is."""
    known = {(m.rule, m.level) for m in read.markers + read.unfinished}
    busy = _steward_writes(fresh) > _steward_writes(read)
    started = [m for m in fresh.unfinished if busy or (m.rule, m.level) not in known]
    if started:
        fresh.unfinished = [m for m in fresh.unfinished if m not in started]
        fresh.markers = dedupe(fresh.markers + started)


def _steward_writes(issue: Issue) -> int:
    """How many of the issue's comments and changes are Steward's own (the ledger's flags)."""
    return sum(c.by_steward for c in issue.comments) + sum(c.by_steward for c in issue.changes)


def _number(issue: Issue) -> int:
    return int(issue.extra.get("number") or issue.key.lstrip("#"))


def _env_int(name: str, default: int, minimum: int) -> int:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) < minimum:
        raise TrackerError(f"{name} must be a whole number of at least {minimum}, not {text!r}")
    return int(text)


def make_tracker(target: str, options: dict[str, Any]) -> GitHubTracker:
    per_minute = _env_int("STEWARD_GITHUB_WRITES_PER_MINUTE", WRITES_PER_MINUTE, 0)
    return GitHubTracker(
        target, os.environ.get("GITHUB_TOKEN") or os.environ.get("GH_TOKEN"),
        options.get("url") or os.environ.get("GITHUB_API_URL") or DEFAULT_API_URL,
        priority_prefix=os.environ.get("STEWARD_GITHUB_PRIORITY_PREFIX", DEFAULT_PRIORITY_PREFIX),
        reads=os.environ.get("STEWARD_GITHUB_READS", "graphql"),
        timeout=read_timeout(os.environ, DEFAULT_TIMEOUT),
        pacer=Pacer(per_minute=per_minute),
        steward_logins=options.get("steward_logins") or _configured_logins(),
    )


def _configured_logins() -> list[str]:
    return [x.strip() for x in os.environ.get("STEWARD_GITHUB_LOGIN", "").split(",") if x.strip()]
