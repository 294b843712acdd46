"""The violations found and not fixed here, each with the test that fails until it is fixed.

Adapter code is not changed in this suite (the adapters are being restructured elsewhere). Every entry is a
real request or answer that the vendor's description does not allow; `test_known_violation_is_gone[...]`
checks it is absent and is marked xfail(strict=True), so it fails the suite (XPASS) the day the adapter
stops sending it: then delete the entry. Any violation NOT listed here fails `test_no_other_violation`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.server import Violation


@dataclass(frozen=True)
class Known:
    id: str
    tracker: str  # jira-cloud, jira-datacenter, github
    operation: str
    side: str
    text: str  # a piece of the violation's message
    reason: str

    def matches(self, tracker: str, violation: Violation) -> bool:
        return (tracker == self.tracker and violation.operation == self.operation and violation.side == self.side
                and self.text in violation.message)


KNOWN = (
    Known("github-graphql-issuetype", "github", "POST /graphql", "request",
          "Cannot query field 'issueType' on type 'Issue'",
          "GitHub adapter's sweep and single-issue queries select `Issue.issueType`, which GitHub's public "
          "GraphQL schema (octokit/graphql-schema, newest commit; its schema.graphql last changed 2025-02-27) "
          "does not have. The adapter retries without it when a server says the field does not exist."),
)


def unlisted(tracker: str, violations: list[Violation]) -> list[str]:
    return [str(v) for v in violations if not any(k.matches(tracker, v) for k in KNOWN)]


def present(known: Known, tracker: str, violations: list[Violation]) -> list[str]:
    return [str(v) for v in violations if known.matches(tracker, v)]
