"""The governance review: what leadership looks at, collected from a run page by page.

`ReviewCollector` is a runner observer. It keeps counters, a few numbers per escalated issue and the
`limit` most urgent and oldest items, never whole issues, so memory stays bounded however large the
tracker is. `Review` is the result; the HTML and Markdown renderers only format it.
"""

from __future__ import annotations

import heapq
import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from typing import Any, Generic, TypeVar

from .facts import has_rationale, lookback_start
from .governance import altitude
from .history import Run
from .markers import dedupe
from .model import SEVERITIES, Finding, Issue, Plan
from .registry import FactContext
from .report import one_line
from .review_governance import GovernanceCollector, GovernanceView
from .rules import RuleSet
from .text import public_url
from .timeutil import days_between, format_time

NO_OWNER = "no owner"
SEVERE = ("high", "critical")
DEFAULT_LIMIT = 50
DECIDE_LIMIT = 10
OWNER_ITEMS = 10  # items listed per owner in "Your items"

T = TypeVar("T")


@dataclass(frozen=True)
class Item:
    """An issue with at least one finding, cut down to what the report shows."""

    key: str
    title: str
    url: str | None
    owner: str | None  # the display name
    created: datetime | None
    findings: tuple[tuple[str, str], ...]  # (rule id, severity), most severe first
    owner_id: str | None = None  # the tracker's id, to mention them
    altitude: str | None = None  # strategic, operational, tactical; None when unclassified

    @property
    def severity(self) -> str:
        return self.findings[0][1]


@dataclass(frozen=True)
class Ladder:
    """One rule's escalation ladder on one issue: when each step was taken, and whether it is still open."""

    key: str
    title: str
    url: str | None
    owner: str | None
    rule: str
    steps: tuple[tuple[int, datetime], ...]  # (level, taken at), lowest level first
    open: bool  # the rule still fires, so the ladder waits at its last step


@dataclass
class LadderStats:
    ladders: int = 0
    open: int = 0
    # level -> days spent at that step before the next one was taken (completed steps only)
    days_at_step: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    open_days: list[float] = field(default_factory=list)  # how long each open ladder has waited at its last step


class _Smallest(Generic[T]):
    """The `limit` smallest items by `key`, in bounded memory; `total` counts everything offered."""

    def __init__(self, limit: int, key: Callable[[T], Any]):
        self.limit = max(1, limit)
        self.key = key
        self.items: list[T] = []
        self.total = 0

    def add(self, item: T) -> None:
        self.total += 1
        self.items.append(item)
        if len(self.items) >= 4 * self.limit:
            self.items = heapq.nsmallest(self.limit, self.items, key=self.key)

    def result(self) -> list[T]:
        return heapq.nsmallest(self.limit, self.items, key=self.key)


def _created_order(item: Item) -> tuple[float, str]:
    return (item.created.timestamp() if item.created else math.inf, item.key)


def _urgency(item: Item) -> tuple[int, float, str]:
    return (-SEVERITIES.index(item.severity), *_created_order(item))


def _ladder_order(ladder: Ladder) -> tuple[bool, float, str, str]:
    """Open ladders first, the longest-waiting first; then ended ones, the most recently moved first."""
    last = ladder.steps[-1][1].timestamp()
    return (not ladder.open, last if ladder.open else -last, ladder.key, ladder.rule)


def _hours(earlier: datetime, later: datetime) -> float:
    return (later - earlier).total_seconds() / 3600


@dataclass
class Review:
    """The measures of one run. `measures()` is what the history file keeps."""

    now: datetime
    tracker: str
    rules: RuleSet
    issues: int = 0
    findings: int = 0
    by_rule: Counter = field(default_factory=Counter)
    by_severity: Counter = field(default_factory=Counter)
    by_owner: dict[str | None, Counter] = field(default_factory=lambda: defaultdict(Counter))
    no_owner: int = 0
    items: int = 0
    decide: list[Item] = field(default_factory=list)
    oldest: list[Item] = field(default_factory=list)
    ladders: list[Ladder] = field(default_factory=list)
    ladders_total: int = 0
    ladder_stats: dict[str, LadderStats] = field(default_factory=lambda: defaultdict(LadderStats))
    priority_changes: int = 0
    priority_explained: int = 0
    follow_up_hours: list[float] = field(default_factory=list)
    waiting_hours: list[float] = field(default_factory=list)
    steps: int = 0
    deferred: int = 0
    title: str = ""
    owner_items: dict[str | None, tuple[list[Item], int]] = field(default_factory=dict)  # each owner's most urgent
    governance: GovernanceView = field(default_factory=GovernanceView)  # work mix, exemptions, success metrics

    @property
    def high_critical(self) -> int:
        return sum(self.by_severity[s] for s in SEVERE)

    @property
    def lookback_days(self) -> float:
        return float(self.rules.settings["lookback_days"])

    @property
    def rationale_window_hours(self) -> float:
        return float(self.rules.settings["rationale_window_hours"])

    def measures(self) -> dict[str, Any]:
        return {
            "issues": self.issues,
            "findings": self.findings,
            "high_critical": self.high_critical,
            "no_owner": self.no_owner,
            "priority_changes": self.priority_changes,
            "priority_explained": self.priority_explained,
            "escalations": len(self.follow_up_hours) + len(self.waiting_hours),
            "followed_up": len(self.follow_up_hours),
            "median_follow_up_hours": median_or_none(self.follow_up_hours),
            "waiting": len(self.waiting_hours),
            "steps": self.steps,
            "deferred": self.deferred,
            **self.governance.measures(),
        }


class ReviewCollector:
    """A runner observer (`Runner(..., observer=collector)`) that builds the `Review` page by page."""

    def __init__(self, rules: RuleSet, now: datetime, tracker: str = "", limit: int = DEFAULT_LIMIT,
                 decide_limit: int = DECIDE_LIMIT, title: str = ""):
        self.review = Review(now=now, tracker=tracker, rules=rules, title=title)
        self.context = FactContext(now=now, settings=rules.settings)
        self.since = lookback_start(self.context)
        self.severity = {rule.id: rule.severity for rule in rules.rules}
        self._decide: _Smallest[Item] = _Smallest(decide_limit, _urgency)
        self._oldest: _Smallest[Item] = _Smallest(limit, _created_order)
        self._ladders: _Smallest[Ladder] = _Smallest(limit, _ladder_order)
        self._by_owner: dict[str | None, _Smallest[Item]] = {}
        self._governance = GovernanceCollector(rules.rules, self.context, limit)

    def __call__(self, issues: list[Issue], facts: list[dict[str, Any]], findings: list[list[Finding]]) -> None:
        for issue, found in zip(issues, findings, strict=True):
            self._issue(issue, found)

    def result(self, plan: Plan | None = None) -> Review:
        review = self.review
        if plan is not None:
            review.steps, review.deferred = len(plan.steps), len(plan.deferred)
        review.decide = self._decide.result()
        review.oldest = self._oldest.result()
        review.ladders = self._ladders.result()
        review.ladders_total = self._ladders.total
        review.owner_items = {owner: (items.result(), items.total) for owner, items in self._by_owner.items()}
        review.governance = self._governance.result()
        return review

    def _issue(self, issue: Issue, found: list[Finding]) -> None:
        review = self.review
        review.issues += 1
        title = one_line(issue.title)
        owner = issue.people.get(issue.assignee, issue.assignee) if issue.assignee else None  # a name people know
        self._priority_changes(issue)
        self._follow_up(issue)
        self._governance.add(issue, title, owner)
        if found:
            review.findings += len(found)
            owner_counts = review.by_owner[owner]
            for item in found:
                review.by_rule[item.rule] += 1
                review.by_severity[item.severity] += 1
                owner_counts[item.severity] += 1
            if not issue.assignee:
                review.no_owner += len(found)
            ranked = sorted(((f.rule, f.severity) for f in found), key=lambda rs: -SEVERITIES.index(rs[1]))
            row = Item(issue.key, title, public_url(issue.url), owner, issue.created, tuple(ranked), issue.assignee,
                       altitude(issue, self.context))
            review.items += 1
            self._decide.add(row)
            self._oldest.add(row)
            mine = self._by_owner.get(owner)
            if mine is None:
                mine = self._by_owner[owner] = _Smallest(OWNER_ITEMS, _urgency)
            mine.add(row)
        self._ladders_of(issue, title, {f.rule for f in found}, owner)

    def _priority_changes(self, issue: Issue) -> None:
        for change in issue.changes:
            if change.field == "priority" and self.since <= change.at <= self.context.now:
                self.review.priority_changes += 1
                self.review.priority_explained += has_rationale(change, issue.comments, self.context)

    def _follow_up(self, issue: Issue) -> None:
        """From Steward's first marker or comment to the first human comment or field change after it."""
        now = self.context.now
        raised = [m.at for m in issue.markers if m.at <= now]
        raised += [c.created for c in issue.comments if c.by_steward and c.created <= now]
        if not raised:
            return
        start = min(raised)
        steward = {c.author for c in issue.comments if c.by_steward}
        replies = [c.created for c in issue.comments if not c.by_steward and start < c.created <= now]
        replies += [c.at for c in issue.changes if c.author and c.author not in steward and start < c.at <= now]
        if replies:
            self.review.follow_up_hours.append(_hours(start, min(replies)))
        else:
            self.review.waiting_hours.append(_hours(start, now))

    def _ladders_of(self, issue: Issue, title: str, firing: set[str], owner: str | None) -> None:
        now = self.context.now
        by_rule: dict[str, list[tuple[int, datetime]]] = defaultdict(list)
        for marker in dedupe([m for m in issue.markers if m.at <= now]):
            by_rule[marker.rule].append((marker.level, marker.at))
        for rule, steps in by_rule.items():
            steps.sort()
            ladder = Ladder(issue.key, title, public_url(issue.url), owner, rule, tuple(steps), rule in firing)
            stats = self.review.ladder_stats[rule]
            stats.ladders += 1
            for (level, taken), (_, following) in pairwise(steps):
                stats.days_at_step[level].append(_hours(taken, following) / 24)
            if ladder.open:
                stats.open += 1
                stats.open_days.append(_hours(steps[-1][1], now) / 24)
            self._ladders.add(ladder)


# ---------------------------------------------------------------- shared by the HTML and Markdown renderers

def median_or_none(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def share(part: float | None, whole: float | None) -> float | None:
    return None if not whole or part is None else part / whole


@dataclass(frozen=True)
class Kpi:
    """A headline number; `value` reads it from `Review.measures()` or from a history row alike."""

    name: str
    unit: str  # count | percent | days
    lower_is_better: bool
    value: Callable[[Mapping[str, Any]], float | None]


def _days(hours: float | None) -> float | None:
    return None if hours is None else hours / 24


KPIS = (
    Kpi("Open findings", "count", True, lambda m: m.get("findings")),
    Kpi("High + critical", "count", True, lambda m: m.get("high_critical")),
    Kpi("Findings with no owner", "percent", True, lambda m: share(m.get("no_owner"), m.get("findings"))),
    Kpi("Priority changes with a rationale", "percent", False,
        lambda m: share(m.get("priority_explained"), m.get("priority_changes"))),
    Kpi("Median escalation → follow-up", "days", True, lambda m: _days(m.get("median_follow_up_hours"))),
)


def format_days(days: float | None) -> str:
    if days is None:
        return "—"
    return f"{days * 24:.0f} hours" if days < 2 else f"{days:.1f} days"


def format_value(kpi: Kpi, value: float | None) -> str:
    if value is None:
        return "—"
    if kpi.unit == "percent":
        return f"{value:.0%}"
    if kpi.unit == "days":
        return format_days(value)
    return f"{value:,.0f}"


def change_note(kpi: Kpi, value: float | None, previous: float | None) -> tuple[str, str]:
    """('▲ 2', 'worse') against the previous run: the text and whether it is better, worse or same."""
    if value is None or previous is None:
        return "", "same"
    delta = value - previous
    if abs(delta) < 1e-9:
        return "no change", "same"
    arrow = "▲" if delta > 0 else "▼"
    if kpi.unit == "percent":
        amount = f"{abs(delta) * 100:.0f} pts"
    elif kpi.unit == "days":
        amount = format_days(abs(delta))
    else:
        amount = f"{abs(delta):,.0f}"
    better = (delta < 0) == kpi.lower_is_better
    return f"{arrow} {amount}", "better" if better else "worse"


def kpi_details(review: Review) -> dict[str, str]:
    """The line under each headline number: what it was computed from."""
    crit, high = review.by_severity["critical"], review.by_severity["high"]
    waiting = (f"; {len(review.waiting_hours)} still waiting (longest {format_days(max(review.waiting_hours) / 24)})"
               if review.waiting_hours else "")
    followed = len(review.follow_up_hours)
    lookback = f"{review.lookback_days:g}"
    return {
        "Open findings": f"on {review.items:,} of {review.issues:,} issues",
        "High + critical": f"{crit:,} critical, {high:,} high",
        "Findings with no owner": f"{review.no_owner:,} of {review.findings:,} findings",
        "Priority changes with a rationale": (
            f"{review.priority_explained:,} of {review.priority_changes:,} in the last {lookback} days"
            if review.priority_changes else f"no priority changes in the last {lookback} days"),
        "Median escalation → follow-up": (
            (f"median of {followed:,} followed up{waiting}" if followed else f"none followed up yet{waiting}")
            if followed or waiting else "no escalations yet"),
    }


def more_note(shown: int, total: int, noun: str) -> str:
    """'… and 3 more items' when a list was cut short, else ''."""
    rest = total - shown
    return f"… and {rest:,} more {noun}{'' if rest == 1 else 's'}" if rest > 0 else ""


def owner_name(owner: str | None) -> str:
    return owner or NO_OWNER


def age_days(review: Review, created: datetime | None) -> int | None:
    return None if created is None else days_between(created, review.now)


def owners_ranked(review: Review) -> list[tuple[str | None, Counter]]:
    """Owners with the most (then the most severe) findings first; "no owner" always first."""
    def rank(pair: tuple[str | None, Counter]) -> tuple:
        owner, counts = pair
        return (owner is not None, -sum(counts.values()), -sum(counts[s] for s in SEVERE), owner or "")
    return sorted(review.by_owner.items(), key=rank)


def ladder_steps(review: Review, ladder: Ladder) -> list[tuple[int, float | None]]:
    """(level, days spent at that step); the last step of an open ladder counts until now, of an ended one None."""
    times = [at for _, at in ladder.steps]
    spans: list[float | None] = [_hours(a, b) / 24 for a, b in pairwise(times)]
    spans.append(_hours(times[-1], review.now) / 24 if ladder.open else None)
    return [(level, span) for (level, _), span in zip(ladder.steps, spans, strict=True)]


def ladder_stats_in_pack_order(review: Review) -> list[tuple[str, LadderStats]]:
    """Per-rule ladder statistics in the order the rules were loaded; rules no longer loaded last."""
    order = {rule.id: index for index, rule in enumerate(review.rules.rules)}
    return sorted(review.ladder_stats.items(), key=lambda pair: (order.get(pair[0], len(order)), pair[0]))


def rule_title(review: Review, rule_id: str) -> str:
    rule = review.rules.by_id().get(rule_id)
    return rule.title if rule else rule_id


def definitions(review: Review) -> list[tuple[str, str]]:
    """The "how measured" notes, with this run's settings filled in."""
    lookback, window = f"{review.lookback_days:g}", f"{review.rationale_window_hours:g}"
    return [
        ("Open findings", "Rules that fire on this run, one per rule and issue, on the issues the tracker returned "
                          "(the --query / --since of the run). High + critical counts findings of those two "
                          "severities."),
        ("Owner", "The issue's assignee; \"no owner\" when it has none. Findings with no owner is the share of "
                  "open findings whose issue has no assignee."),
        ("Age", "Whole days from the issue's creation to the time of the run. Oldest items lists issues with a "
                "finding, oldest first; What to decide next lists them by their most severe finding, then oldest."),
        ("Priority changes with a rationale",
         f"Every priority change made in the last {lookback} days (lookback_days) counts once. It has a "
         f"rationale when whoever made it commented within {window} hours before or after it "
         "(rationale_window_hours): the same test as the unexplained_changes fact."),
        ("Escalation → follow-up", "Per issue, from Steward's first step on it (its earliest marker or comment) "
                                   "to the first comment or field change after it by anyone but Steward. The "
                                   "median is over issues that have had that follow-up; the others are waiting."),
        ("Escalation ladders", "From Steward's markers: when each step of a rule was taken on an issue and how "
                               "long the issue stayed at it before the next one. A ladder is open while its rule "
                               "still fires; its last step counts until the time of the run."),
        ("Trends", "One point per plan, apply or report run recorded with --history for the same --tracker and "
                   "--query, at the run's time (--now). Counts are as read at the start of each run, before it "
                   "wrote anything."),
    ]


def previous_run(review: Review, runs: list[Run] | None) -> Run | None:
    """The latest recorded run before this one, to compare the headline numbers with."""
    earlier = [run for run in runs or [] if run.at < review.now]
    return earlier[-1] if earlier else None


def run_time(review: Review, when: datetime) -> str:
    """A date, or a date and time when it is the same day as the run."""
    return f"{when:%Y-%m-%d %H:%M}" if when.date() == review.now.date() else f"{when:%Y-%m-%d}"


def run_label(review: Review) -> str:
    return f"{review.tracker} at {format_time(review.now)}" if review.tracker else format_time(review.now)


def report_title(review: Review) -> str:
    """`--title`, else the tracker the review read."""
    return review.title or (f"Governance review · {review.tracker}" if review.tracker else "Governance review")
