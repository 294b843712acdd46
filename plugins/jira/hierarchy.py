"""Hierarchy and links on Jira: parent, children, blockers and components, read with the issues themselves.

What each issue's own fields give, at no request of its own:
- `parent`: the parent's key and status category (Cloud company- and team-managed: sub-tasks, and the
  issues of an epic; Data Center: the parent of a sub-task);
- `subtasks`: the sub-tasks' keys and status categories (Jira sends no assignee there);
- `issuelinks` of the "Blocks" link type: an inward link ("is blocked by") is a blocker, an outward link
  ("blocks") an issue this one blocks, each with its status category;
- `components`: their names.

Children are joined within the run (`ChildJoin`): every issue the sweep reads says who its parent is and who
its assignee is, so an issue that may have children (an epic or higher on Cloud, by its type's
`hierarchyLevel`, or any issue with sub-tasks) is held back until the last page is read, and then gets
every child the sweep read, with status and assignee, wherever it was. Children the sweep did not match
(another JQL, `--since`) are read by key at the end, 100 a request (the same bulk read as the sweep), for
their status and assignee. An epic's children on Data Center (the Epic Link field) are not read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from steward.core.model import Issue, Related

from .parse import STATUS_CATEGORIES, as_dict, user_id

BLOCKS = "Blocks"  # the link type Jira ships; a site that renamed it keeps its descriptions, matched too
BLOCKED_BY, BLOCKING = "is blocked by", "blocks"
# The fields a sweep reads for each hierarchy fact; children also need every issue's parent and assignee.
HIERARCHY_FIELDS: dict[str, tuple[str, ...]] = {
    "parent": ("parent",), "parent_status_category": ("parent",),
    "children": ("subtasks", "parent", "issuetype", "status", "assignee"),
    "open_children": ("subtasks", "parent", "issuetype", "status", "assignee"),
    "children_without_owner": ("subtasks", "parent", "issuetype", "status", "assignee"),
    "blocked_by": ("issuelinks",), "open_blockers": ("issuelinks",), "blocks": ("issuelinks",),
    "components": ("components",), "milestone": (),
}
CHILD_FACTS = frozenset({"children", "open_children", "children_without_owner"})
LEVEL = "hierarchy_level"  # Issue.extra: the issue type's hierarchyLevel (Cloud), when Jira sent one


def _category(linked: Any) -> str | None:
    status = as_dict(as_dict(as_dict(linked).get("fields")).get("status"))
    return STATUS_CATEGORIES.get(str(as_dict(status.get("statusCategory")).get("key")))


def _related(linked: Any) -> Related | None:
    key = as_dict(linked).get("key")
    return Related(str(key), _category(linked)) if isinstance(key, str) and key else None


def _is_blocks(kind: dict[str, Any]) -> bool:
    def text(name: str) -> str:
        return str(kind.get(name) or "").casefold()

    return text("name") == BLOCKS.casefold() or (text("inward"), text("outward")) == (BLOCKED_BY, BLOCKING)


def add_hierarchy(issue: Issue, fields: dict[str, Any]) -> None:
    """Parent, sub-tasks, Blocks links and components from the issue's own fields (a field left out: empty)."""
    issue.parent = _related(fields.get("parent"))
    subtasks = fields.get("subtasks") if isinstance(fields.get("subtasks"), list) else []
    issue.children = [r for r in (_related(s) for s in subtasks) if r is not None]
    for link in fields.get("issuelinks") if isinstance(fields.get("issuelinks"), list) else []:
        link = as_dict(link)
        if not _is_blocks(as_dict(link.get("type"))):
            continue
        if link.get("inwardIssue") and (found := _related(link["inwardIssue"])):
            issue.blocked_by.append(found)
        if link.get("outwardIssue") and (found := _related(link["outwardIssue"])):
            issue.blocks.append(found)
    components = fields.get("components") if isinstance(fields.get("components"), list) else []
    issue.components = [str(c["name"]) for c in map(as_dict, components) if isinstance(c.get("name"), str)]
    level = as_dict(fields.get("issuetype")).get("hierarchyLevel")
    if isinstance(level, int) and not isinstance(level, bool):
        issue.extra[LEVEL] = level


def related_of(raw: Any) -> Related | None:
    """An issue read by key for its status and assignee (a child the sweep did not match)."""
    raw = as_dict(raw)
    if not isinstance(raw.get("key"), str):
        return None
    fields = as_dict(raw.get("fields"))
    return Related(raw["key"], _category(raw), user_id(fields.get("assignee")))


def may_have_children(issue: Issue) -> bool:
    return bool(issue.children) or int(issue.extra.get(LEVEL) or 0) >= 1


class ChildJoin:
    """Children joined across the pages of one sweep (see the module doc). `read` reads issues by key (at
    most 100 a call) for their status and assignee."""

    def __init__(self, read: Callable[[list[str]], list[Related]], page_size: int):
        self.read, self.page_size = read, page_size
        self.reads = 0  # requests made for children the sweep did not match

    def pages(self, pages: Iterator[list[Issue]]) -> Iterator[list[Issue]]:
        index: dict[str, Related] = {}
        kids: dict[str, list[str]] = {}
        held: list[Issue] = []
        for page in pages:
            ready = []
            for issue in page:
                index[issue.key] = Related(issue.key, issue.status_category, issue.assignee)
                if issue.parent is not None:
                    kids.setdefault(issue.parent.key, []).append(issue.key)
                (held if may_have_children(issue) else ready).append(issue)
            if ready:
                yield ready
        self.complete(held, index, kids)
        for start in range(0, len(held), self.page_size):
            yield held[start:start + self.page_size]

    def complete(self, held: list[Issue], index: dict[str, Related], kids: dict[str, list[str]]) -> None:
        """Each held issue's children: its sub-tasks and every issue naming it as parent, with status and owner."""
        missing = list(dict.fromkeys(c.key for issue in held for c in issue.children if c.key not in index))
        for start in range(0, len(missing), 100):
            self.reads += 1
            index.update({r.key: r for r in self.read(missing[start:start + 100])})
        for issue in held:
            inline = {c.key: c for c in issue.children}
            keys = dict.fromkeys([*inline, *kids.get(issue.key, [])])
            issue.children = [index.get(key) or inline[key] for key in keys]
