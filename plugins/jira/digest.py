"""The digest issue on Jira: one issue per review period in a configured project, found again and updated.

`steward digest --post` keeps one issue per period in the project named by `STEWARD_DIGEST_PROJECT` (issue
type `STEWARD_DIGEST_ISSUE_TYPE`, default Task). The issue carries the label `steward-digest-<period>` (how
it is searched for) and the issue property `steward.digest` ({period, sent}: what it records); it is Steward's
only when Steward reported it (proved by author, as the ledger proves comments) and the property names the
period, so a person's issue with the same label is never taken for it, nor written to.

Two `--post` runs at the same moment may both find none and both create one. After creating, Steward searches
again: where more than one of its digests exist for the period, the earliest (lowest id) is kept, the later
one is deleted by the run that created it (`DELETE /issue`, which needs the Delete issues permission; without
it a warning names both), and that run updates the kept issue instead.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from steward.core.errors import TrackerError, UsageError
from steward.core.ledger import Identity
from steward.core.tracker import DigestRecord
from steward.plugins.transport import Failure

from .answers import answer
from .parse import as_dict, user_id
from .transport import JiraConnection

log = logging.getLogger("steward.jira")

DIGEST_PROPERTY = "steward.digest"
DESCRIPTION_LIMIT = 32_000  # Jira refuses a description over 32,767 characters


def digest_label(period: str) -> str:
    return f"steward-digest-{period}".lower()


class JiraDigests:
    def __init__(self, connection: JiraConnection, identity: Identity, env: Mapping[str, str]):
        self.connection, self.identity = connection, identity
        self.project = (env.get("STEWARD_DIGEST_PROJECT") or "").strip()
        self.issue_type = (env.get("STEWARD_DIGEST_ISSUE_TYPE") or "Task").strip()
        self._found: dict[str, list[tuple[int, DigestRecord]]] = {}

    def _project(self) -> str:
        if not self.project:
            raise UsageError("set STEWARD_DIGEST_PROJECT to the key of the Jira project that holds Steward's "
                             "digest issues (one per period), e.g. STEWARD_DIGEST_PROJECT=GOV")
        return self.project

    def find(self, period: str) -> DigestRecord | None:
        found = self._found[period] = self._digests(period)
        return found[0][1] if found else None

    def publish(self, period: str, title: str, body: str, sent: frozenset[str]) -> DigestRecord:
        project = self._project()
        # What `find` just saw (the command asks it first): one search, not two, before the write.
        found = self._found.pop(period) if period in self._found else self._digests(period)
        if found:
            return self._update(found[0][1], period, title, body, sent)
        created = self._create(project, period, title, body, sent)
        found = self._digests(period)
        if not found:  # the search does not show it yet (Cloud's index lags a moment): the issue is there
            return created or self._missing(period)
        kept = found[0][1]
        for _, record in found[1:]:
            if created is not None and record.key == created.key:
                self._remove(record.key, kept.key, period)
        if created is not None and kept.key != created.key:
            log.warning("another Steward run created the %s digest at the same moment: %s is kept, this run's "
                        "%s removed", period, kept.key, created.key)
            return self._update(kept, period, title, body, sent | kept.sent)
        return kept

    # ------------------------------------------------------------------ reads

    def _digests(self, period: str) -> list[tuple[int, DigestRecord]]:
        """Steward's digest issues of this period, earliest first: labelled, reported by Steward, and with the
        property naming the period."""
        project, site, what = self._project(), self.connection.base_url, f"looking for the {period} digest"
        jql = f'project = "{_jql_text(project)}" AND labels = "{digest_label(period)}"'
        params: dict[str, Any] = {"jql": jql, "fields": "summary,reporter,labels", "maxResults": 50}
        if self.connection.cloud:
            params["properties"] = DIGEST_PROPERTY
            url = self.connection.url("search/jql", "3")
        else:
            url = self.connection.url("search", "2")
        data = answer(self.connection.request("GET", url, what, params=params), site, what, "issues")
        found = []
        for raw in data["issues"]:
            raw = as_dict(raw)
            key, ident = raw.get("key"), str(raw.get("id") or "")
            if not isinstance(key, str) or not ident.isdigit():
                continue
            if not self.identity.wrote(user_id(as_dict(raw.get("fields")).get("reporter"))):
                continue  # a person's issue with the label: never Steward's digest
            value = as_dict(as_dict(raw.get("properties")).get(DIGEST_PROPERTY)) if self.connection.cloud else \
                self._property(key)
            if value.get("period") != period:
                continue
            sent = value.get("sent") if isinstance(value.get("sent"), list) else []
            found.append((int(ident), DigestRecord(key, f"{site}/browse/{key}", frozenset(str(s) for s in sent))))
        return sorted(found, key=lambda item: item[0])

    def _property(self, key: str) -> dict[str, Any]:
        """Data Center: the search returns no issue property, so it is read on its own (a candidate or two)."""
        data = self.connection.read_optional(self.connection.issue_url(key, f"/properties/{DIGEST_PROPERTY}", "2"),
                                             f"reading the digest record of {key}")
        return as_dict(as_dict(data).get("value"))

    # ------------------------------------------------------------------ writes

    def _fields(self, title: str, body: str) -> dict[str, Any]:
        if len(body) > DESCRIPTION_LIMIT:
            body = body[:DESCRIPTION_LIMIT] + "\n\n(cut at Jira's description limit)"
        return {"summary": title[:250], "description": body}

    def _create(self, project: str, period: str, title: str, body: str,
                sent: frozenset[str]) -> DigestRecord | None:
        """POST /issue; None when the answer was lost but a re-read showed the issue had been created."""
        fields = {"project": {"key": project}, "issuetype": {"name": self.issue_type},
                  "labels": [digest_label(period)], **self._fields(title, body)}
        request = {"fields": fields, "properties": [_record(period, sent)]}
        what = f"creating the {period} digest in {project}"
        answered: dict[str, Any] = {}

        def send() -> None:
            answered.update(answer(self.connection.send("POST", self.connection.url("issue", "2"), what, None,
                                                        request), self.connection.base_url, what))

        self.connection.transport.write_once(send, what, landed=lambda: bool(self._digests(period)))
        key = answered.get("key")
        if not answered:
            return None
        if not isinstance(key, str) or not key:
            raise TrackerError(f"Jira at {self.connection.base_url} answered {what} without the new issue's key")
        return DigestRecord(key, f"{self.connection.base_url}/browse/{key}", sent)

    def _update(self, record: DigestRecord, period: str, title: str, body: str,
                sent: frozenset[str]) -> DigestRecord:
        """One edit: summary, description and the record property together (the same PUT twice is harmless)."""
        request = {"fields": self._fields(title, body), "properties": [_record(period, sent)]}
        what = f"updating the {period} digest {record.key}"
        self.connection.transport.write_once(
            lambda: self.connection.send("PUT", self.connection.issue_url(record.key, version="2"), what, None,
                                         request),
            what, landed=None, idempotent=True)
        return DigestRecord(record.key, record.url, sent)

    def _remove(self, key: str, kept: str, period: str) -> None:
        what = f"removing the second {period} digest {key}"

        def send() -> None:
            try:
                self.connection.send("DELETE", self.connection.issue_url(key, version="2"), what, None, None)
            except Failure as failure:
                if failure.status != 404:  # already gone is what was wanted
                    raise

        try:
            self.connection.transport.write_once(send, what, landed=None, idempotent=True)
        except TrackerError as error:
            log.warning("two %s digests exist, %s and %s; %s could not be removed (%s): delete it by hand",
                        period, kept, key, key, error)

    def _missing(self, period: str) -> DigestRecord:
        raise TrackerError(f"Jira created the {period} digest but it cannot be found again; run again later")


def _record(period: str, sent: frozenset[str]) -> dict[str, Any]:
    return {"key": DIGEST_PROPERTY, "value": {"period": period, "sent": sorted(sent)}}


def _jql_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')
