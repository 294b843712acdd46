"""The governance view of the review: the work mix by altitude per team, the exemptions in use and the
success metrics initiatives report in their demo records.

Collected beside core/review.py's counters and bounded the same way: counters per team, and at most `limit`
exemption rows and metric series, never whole issues.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Generic, TypeVar

from .conditions import AllOf, AnyOf, Condition, Not, Test
from .governance import altitude
from .model import Issue
from .records import demos, exemptions
from .registry import FactContext
from .rules import Rule
from .text import public_url

UNCLASSIFIED = "unclassified"
ALTITUDE_ORDER = ("strategic", "operational", "tactical", UNCLASSIFIED)  # what leadership steers by, first
MIX_MEASURES = tuple(f"mix_{name}" for name in ALTITUDE_ORDER)
VALID, EXPIRED, NO_RECORD = "valid", "expired", "no record"
DONE = "done"
T = TypeVar("T")


def altitude_rank(name: str | None) -> int:
    return ALTITUDE_ORDER.index(name) if name in ALTITUDE_ORDER else len(ALTITUDE_ORDER) - 1


def team_of(issue: Issue) -> str:
    """The team an issue belongs to: its first component, else its project (Jira) or repository (GitHub)."""
    if issue.components:
        return issue.components[0]
    return issue.project or issue.tracker or "all"


def _walk(condition: Condition | None) -> Iterable[Test]:
    if isinstance(condition, Test):
        yield condition
    elif isinstance(condition, AllOf | AnyOf):
        for item in condition.items:
            yield from _walk(item)
    elif isinstance(condition, Not):
        yield from _walk(condition.item)


def exempting_labels(rules: Iterable[Rule]) -> frozenset[str]:
    """Labels that exempt an issue from a rule only with a current exemption record: the labels tested in an
    `exempt:` that also tests `exemption_valid`. Labels that exempt unconditionally are not exemptions in this
    sense (an `escalated` label means the rule has already acted)."""
    found: set[str] = set()
    for rule in rules:
        tests = list(_walk(rule.exempt))
        if not any(test.fact == "exemption_valid" for test in tests):
            continue
        for test in tests:
            if test.fact == "labels" and test.op in ("contains", "contains_any"):
                values = test.value if isinstance(test.value, list | tuple) else [test.value]
                found.update(str(value) for value in values)
    return frozenset(found)


@dataclass(frozen=True)
class ExemptionUse:
    """One issue that carries an exempting label or an exemption record."""

    key: str
    title: str
    url: str | None
    team: str
    owner: str | None  # display name
    labels: tuple[str, ...]
    until: date | None
    reason: str
    recorded_by: str | None  # display name of whoever wrote the record
    state: str  # VALID, EXPIRED or NO_RECORD


@dataclass(frozen=True)
class MetricSeries:
    """The success metric's values read from an initiative's successive demo records."""

    key: str
    title: str
    url: str | None
    owner: str | None
    points: tuple[tuple[datetime, float], ...]
    latest: str  # the latest demo record's text, as written


@dataclass
class GovernanceView:
    mix: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))  # team -> altitude -> open issues
    exemptions: list[ExemptionUse] = field(default_factory=list)
    exemptions_total: int = 0
    exemptions_by_team: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))  # team -> state
    exemptions_by_owner: dict[str | None, Counter] = field(default_factory=lambda: defaultdict(Counter))
    metrics: list[MetricSeries] = field(default_factory=list)
    metrics_total: int = 0

    def mix_total(self) -> Counter:
        total: Counter = Counter()
        for counts in self.mix.values():
            total.update(counts)
        return total

    def measures(self) -> dict[str, Any]:
        """The mix of open issues, for the history file and the trend."""
        total = self.mix_total()
        return {f"mix_{name}": total[name] for name in ALTITUDE_ORDER}


def mix_shares(measures: dict[str, Any]) -> dict[str, float | None]:
    """Each altitude's share of the open issues of a run (from `measures()` or a history row)."""
    counts = {name: measures.get(f"mix_{name}") for name in ALTITUDE_ORDER}
    if any(value is None for value in counts.values()):
        return {name: None for name in ALTITUDE_ORDER}  # a run recorded before the mix was measured
    whole = sum(counts.values())
    return {name: (counts[name] / whole if whole else None) for name in ALTITUDE_ORDER}


class _Top(Generic[T]):
    """The `limit` rows of smallest rank seen so far, in rank order; memory stays within twice the limit."""

    def __init__(self, limit: int):
        self.limit = limit
        self.rows: list[tuple[tuple, T]] = []

    def add(self, rank: tuple, row: T) -> None:
        self.rows.append((rank, row))
        if len(self.rows) >= 2 * self.limit:
            self.rows = self._sorted()

    def _sorted(self) -> list[tuple[tuple, T]]:
        return sorted(self.rows, key=lambda pair: pair[0])[: self.limit]

    def result(self) -> list[T]:
        return [row for _, row in self._sorted()]


class GovernanceCollector:
    """Called once per issue by `ReviewCollector`; keeps counters and the `limit` most pressing rows."""

    def __init__(self, rules: list[Rule], context: FactContext, limit: int):
        self.view = GovernanceView()
        self.context = context
        self.limit = limit
        self.exempting = exempting_labels(rules)
        self._exemptions: _Top[ExemptionUse] = _Top(limit)
        self._metrics: _Top[MetricSeries] = _Top(limit)

    def add(self, issue: Issue, title: str, owner: str | None) -> None:
        team = team_of(issue)
        if issue.status_category != DONE:  # what is still open: the mix, and exemptions in force or lapsed
            self.view.mix[team][altitude(issue, self.context) or UNCLASSIFIED] += 1
            self._exemption(issue, title, owner, team)
        self._metric(issue, title, owner)  # a finished initiative's metric history still tells its story

    def _exemption(self, issue: Issue, title: str, owner: str | None, team: str) -> None:
        labels = tuple(label for label in issue.labels if label in self.exempting)
        records = exemptions(issue, self.context.settings)
        if not labels and not records:
            return
        latest = records[-1] if records else None
        today = self.context.calendar.local_date(self.context.now) if self.context.calendar else self.context.now.date()
        state = NO_RECORD if latest is None else VALID if latest.until >= today else EXPIRED
        recorded_by = issue.people.get(latest.author, latest.author) if latest and latest.author else None
        use = ExemptionUse(issue.key, title, public_url(issue.url), team, owner, labels,
                           latest.until if latest else None, latest.reason if latest else "", recorded_by, state)
        self.view.exemptions_total += 1
        self.view.exemptions_by_team[team][state] += 1
        self.view.exemptions_by_owner[owner][state] += 1
        # Expired and unrecorded exemptions first, then those ending soonest.
        self._exemptions.add((state == VALID, use.until or date.min, issue.key), use)

    def _metric(self, issue: Issue, title: str, owner: str | None) -> None:
        records = demos(issue)
        points = tuple((d.at, d.value) for d in records if d.value is not None)
        if not points:
            return
        self.view.metrics_total += 1
        series = MetricSeries(issue.key, title, public_url(issue.url), owner, points, records[-1].text)
        self._metrics.add((-points[-1][0].timestamp(), issue.key), series)  # the latest demos first

    def result(self) -> GovernanceView:
        view = self.view
        view.exemptions = self._exemptions.result()
        view.metrics = self._metrics.result()
        return view


# ---------------------------------------------------------------- shared by the HTML and Markdown renderers

MIX_TEAMS = 30  # teams listed in the work mix; the rest are summed into one row
METRIC_VALUES = 8  # demo values written out per initiative (the chart shows them all)


def altitude_label(name: str | None) -> str:
    return (name or UNCLASSIFIED).capitalize()


def decide_groups(items: list[T]) -> list[tuple[str, list[T]]]:
    """"What to decide next", grouped by altitude, strategic first; urgency order kept inside each group."""
    groups: dict[str, list[T]] = defaultdict(list)
    for item in items:
        name = getattr(item, "altitude", None)
        groups[name if name in ALTITUDE_ORDER else UNCLASSIFIED].append(item)
    return [(altitude_label(name), groups[name]) for name in ALTITUDE_ORDER if groups[name]]


def mix_rows(view: GovernanceView) -> list[tuple[str, Counter]]:
    """Teams with the most open issues first; beyond `MIX_TEAMS`, one row of the others."""
    ranked = sorted(view.mix.items(), key=lambda pair: (-sum(pair[1].values()), pair[0]))
    rows = ranked[:MIX_TEAMS]
    rest: Counter = Counter()
    for _, counts in ranked[MIX_TEAMS:]:
        rest.update(counts)
    if rest:
        rows.append((f"{len(ranked) - MIX_TEAMS} other teams", rest))
    return rows


def share_text(part: int, whole: int) -> str:
    return f"{part / whole:.0%}" if whole else "—"


def metric_values(series: MetricSeries) -> str:
    """'5.2 → 4.6 → 4.1', the last `METRIC_VALUES` values, oldest first."""
    values = [f"{value:g}" for _, value in series.points]
    shown = " → ".join(values[-METRIC_VALUES:])
    return f"… → {shown}" if len(values) > METRIC_VALUES else shown


def exemption_until(use: ExemptionUse) -> str:
    return use.until.isoformat() if use.until else "no record"


def state_counts(counts: Counter) -> str:
    """'2 valid, 1 expired, 1 no record'."""
    return ", ".join(f"{counts[state]} {state}" for state in (VALID, EXPIRED, NO_RECORD) if counts[state])


MIX_DEFINITION = ("Work mix", "Open issues (any status category but done) by altitude: a label strategic, "
                  "operational or tactical, else an issue type of that name; unclassified otherwise. A team is "
                  "the issue's first component, else its project or repository.")
EXEMPTION_DEFINITION = ("Exemptions", "Issues carrying a label that exempts them from a rule only while an "
                        "accountable person's record `Exempt until DATE: reason` is current (the labels tested "
                        "beside exemption_valid in the rules' exempt:), or carrying such a record. Expired and "
                        "unrecorded ones first: the rule already applies to them again.")
METRIC_DEFINITION = ("Success metrics", "The first number of each `Demo:` record on an issue, oldest first: the "
                     "metric's value as the initiative reported it at each demo.")
