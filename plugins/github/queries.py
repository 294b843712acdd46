"""The GraphQL documents the GitHub adapter sends, one place for all of them.

A sweep asks for 100 issues per request, each with its labels, assignees, milestone and its first 100
timeline items (comments, labeled, unlabeled, assigned, unassigned, renamed, closed, reopened). Only an issue
with more than 100 timeline items costs follow-up requests (`TIMELINE_QUERY`). `repository.issues` never
contains pull requests. Just before writing a page, the issues Steward acts on are read again in one request
(`recheck_query`: one aliased `issue(number:)` per issue); just after, their recent comments are read in one
request (`reconcile_query`). Every document is validated against GitHub's published schema in the tests.
"""

from __future__ import annotations

TIMELINE_PAGE = 100
TIMELINE_TYPES = ("ISSUE_COMMENT", "LABELED_EVENT", "UNLABELED_EVENT", "ASSIGNED_EVENT", "UNASSIGNED_EVENT",
                  "RENAMED_TITLE_EVENT", "CLOSED_EVENT", "REOPENED_EVENT")

_ACTOR = "actor { login }"
_PERSON = "__typename login ... on User { name }"  # a person's display name, for what people read
_ASSIGNEE = ("assignee { __typename ... on User { login } ... on Bot { login } ... on Mannequin { login } "
             "... on Organization { login } }")
TIMELINE_FIELDS = f"""
  totalCount
  pageInfo {{ hasNextPage endCursor }}
  nodes {{
    __typename
    ... on IssueComment {{ fullDatabaseId author {{ login }} createdAt body }}
    ... on LabeledEvent {{ {_ACTOR} createdAt label {{ name }} }}
    ... on UnlabeledEvent {{ {_ACTOR} createdAt label {{ name }} }}
    ... on AssignedEvent {{ {_ACTOR} createdAt {_ASSIGNEE} }}
    ... on UnassignedEvent {{ {_ACTOR} createdAt {_ASSIGNEE} }}
    ... on RenamedTitleEvent {{ {_ACTOR} createdAt previousTitle currentTitle }}
    ... on ClosedEvent {{ {_ACTOR} createdAt stateReason }}
    ... on ReopenedEvent {{ {_ACTOR} createdAt }}
  }}"""


# An issue tied to this one (its parent, a sub-issue): its key, whether it is open, whether it has an owner.
_RELATED = "number state repository { nameWithOwner } assignees(first: 1) { nodes { login } }"
SUB_ISSUES = 100  # GitHub allows at most 100 sub-issues per issue: one page holds them all
HIERARCHY = f"""
  parent {{ {_RELATED} }}
  subIssues(first: {SUB_ISSUES}) {{ totalCount nodes {{ {_RELATED} }} }}"""


def _issue_fields(with_type: bool, extra: str = "") -> str:
    """The fields of one issue. `extra`: what the run reads besides (HIERARCHY, project field values)."""
    issue_type = "issueType { name }" if with_type else ""
    return f"""
  number url title body state stateReason createdAt updatedAt closedAt
  author {{ {_PERSON} }}
  {issue_type}
  milestone {{ title dueOn }}{extra}
  labels(first: 100) {{ nodes {{ name }} }}
  assignees(first: 20) {{ nodes {{ login name }} }}
  timelineItems(first: {TIMELINE_PAGE}, itemTypes: [{", ".join(TIMELINE_TYPES)}]) {{{TIMELINE_FIELDS}
  }}"""


def sweep_query(with_type: bool = True, extra: str = "") -> str:
    # Ordered by creation, which never changes: GitHub's cursors carry the sort key, so with UPDATED_AT an
    # issue Steward writes to during the sweep would move behind the cursor and be read a second time.
    return f"""query($owner: String!, $name: String!, $first: Int!, $cursor: String, $states: [IssueState!],
      $since: DateTime) {{
  repository(owner: $owner, name: $name) {{
    issues(first: $first, after: $cursor, states: $states, filterBy: {{since: $since}},
           orderBy: {{field: CREATED_AT, direction: ASC}}) {{
      totalCount
      pageInfo {{ hasNextPage endCursor }}
      nodes {{{_issue_fields(with_type, extra)}
      }}
    }}
  }}
}}"""


def sweep_numbers_query() -> str:
    """The sweep's page with only the issues' numbers: how a sweep steps past issues GitHub cannot answer
    for in full (sweep.py)."""
    return """query SweepNumbers($owner: String!, $name: String!, $first: Int!, $cursor: String,
      $states: [IssueState!], $since: DateTime) {
  repository(owner: $owner, name: $name) {
    issues(first: $first, after: $cursor, states: $states, filterBy: {since: $since},
           orderBy: {field: CREATED_AT, direction: ASC}) {
      pageInfo { hasNextPage endCursor }
      nodes { number }
    }
  }
}"""


def search_query(with_type: bool = True, extra: str = "") -> str:
    """Issues matching a search string (`$q`: qualifiers such as `repo:`, `label:`, `sort:created-asc`)."""
    return f"""query($q: String!, $first: Int!, $cursor: String) {{
  search(query: $q, type: ISSUE, first: $first, after: $cursor) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{
      __typename
      ... on Issue {{{_issue_fields(with_type, extra)}
        repository {{ nameWithOwner }}
      }}
    }}
  }}
}}"""


def issue_query(with_type: bool = True, extra: str = "") -> str:
    return f"""query($owner: String!, $name: String!, $number: Int!) {{
  repository(owner: $owner, name: $name) {{
    issue(number: $number) {{{_issue_fields(with_type, extra)}
    }}
  }}
}}"""


_TYPES = ", ".join(TIMELINE_TYPES)
TIMELINE_QUERY = f"""query($owner: String!, $name: String!, $number: Int!, $cursor: String) {{
  repository(owner: $owner, name: $name) {{
    issue(number: $number) {{
      timelineItems(first: {TIMELINE_PAGE}, after: $cursor, itemTypes: [{_TYPES}]) {{{TIMELINE_FIELDS}
      }}
    }}
  }}
}}"""


def _numbers(count: int) -> str:
    """The variable definitions of `count` issue numbers: `, $n0: Int!, $n1: Int!, ...`."""
    return "".join(f", $n{i}: Int!" for i in range(count))


def recheck_query(count: int, with_type: bool = True, extra: str = "") -> str:
    """`count` issues by number (variables `n0`, `n1`, ...), each under the alias `i0`, `i1`, ... with every
    field a sweep reads: one request re-reads a page of acted-on issues."""
    fields = _issue_fields(with_type, extra)
    issues = "".join(f"\n    i{i}: issue(number: $n{i}) {{{fields}\n    }}" for i in range(count))
    return f"""query Recheck($owner: String!, $name: String!{_numbers(count)}) {{
  repository(owner: $owner, name: $name) {{{issues}
  }}
}}"""


RECENT_COMMENTS = 100  # a race leaves its copies among an issue's newest comments


def reconcile_query(count: int) -> str:
    """The newest comments (`$last` of them) of `count` issues by number, with the ids needed to delete one."""
    issues = "".join(f"\n    i{i}: issue(number: $n{i}) {{ comments(last: $last) {{ nodes {{ fullDatabaseId "
                     f"author {{ login }} createdAt body }} }} }}" for i in range(count))
    return f"""query Reconcile($owner: String!, $name: String!, $last: Int!{_numbers(count)}) {{
  repository(owner: $owner, name: $name) {{{issues}
  }}
}}"""
