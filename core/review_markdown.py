"""The governance report as GitHub-flavoured Markdown: for a wiki page or a GitHub step summary.

A step summary holds at most 1 MiB, and charts cannot be inlined there, so lists are cut with
"… and N more", trends are a table of the last runs, and the whole text is kept under `MARKDOWN_LIMIT`.
"""

from __future__ import annotations

import re
from html import escape
from urllib.parse import quote

from .history import Run
from .model import SEVERITIES
from .review import (
    KPIS,
    Review,
    age_days,
    change_note,
    definitions,
    format_days,
    format_value,
    kpi_details,
    ladder_stats_in_pack_order,
    ladder_steps,
    median_or_none,
    more_note,
    owner_name,
    owners_ranked,
    previous_run,
    report_title,
    rule_title,
    run_label,
    run_time,
)
from .review_governance import (
    ALTITUDE_ORDER,
    EXEMPTION_DEFINITION,
    METRIC_DEFINITION,
    MIX_DEFINITION,
    decide_groups,
    exemption_until,
    metric_values,
    mix_rows,
    mix_shares,
    share_text,
    state_counts,
)
from .text import clean_text
from .timeutil import format_time

MARKDOWN_LIMIT = 1_000_000  # bytes; GitHub's step summary limit is 1 MiB
OWNER_LIMIT = 30
TREND_ROWS = 12
_ORDER = tuple(reversed(SEVERITIES))
_URL_SAFE = ":/?#@!$&'*+,;=%~"
_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def _cell(text: str) -> str:
    """Tracker text as inert table-cell text: no HTML, no Markdown formatting, no column breaks."""
    return _SPECIAL.sub(r"\\\1", escape(" ".join(text.split()), quote=False))


def _link(key: str, url: str | None) -> str:
    if url and url.lower().startswith(("https://", "http://")):
        # Percent-encode what could end the link or the table cell, or be read as HTML.
        return f"[{_cell(key)}]({quote(url, safe=_URL_SAFE)})"
    return _cell(key)


def _owner(owner: str | None) -> str:
    return _cell(owner) if owner else f"**{owner_name(owner)}**"


def _age(review: Review, created) -> str:
    age = age_days(review, created)
    return "—" if age is None else f"{age:,} d"


def _table(header: list[str], rows: list[list[str]], more: str = "", right: int = 0) -> list[str]:
    """A GFM table; the last `right` columns hold numbers and are right-aligned."""
    align = ["---"] * (len(header) - right) + ["---:"] * right
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    if more:
        lines.append(f"\n*{more}*")
    return lines + [""]


def _headline(review: Review, runs: list[Run] | None) -> list[str]:
    measures = review.measures()
    previous = previous_run(review, runs)
    details = kpi_details(review)
    header = ["Measure", "Now", "Detail"]
    if previous is not None:
        header.append(f"Since {run_time(review, previous.at)}")
    rows = []
    for kpi in KPIS:
        value = kpi.value(measures)
        row = [kpi.name, f"**{format_value(kpi, value)}**", details[kpi.name]]
        if previous is not None:
            text, verdict = change_note(kpi, value, kpi.value(previous.measures))
            row.append(f"{text} ({verdict})" if text and verdict != "same" else text or "—")
        rows.append(row)
    return _table(header, rows)


def _decide(review: Review) -> list[str]:
    if not review.decide:
        return ["Nothing to decide: no rule fires.", ""]
    lines, number = [], 0
    for altitude, items in decide_groups(review.decide):
        rows = []
        for item in items:
            number += 1
            rows.append([str(number), _link(item.key, item.url), _cell(item.title),
                         "<br>".join(f"{sev}: {_cell(rule_title(review, rule))}" for rule, sev in item.findings),
                         _owner(item.owner), _age(review, item.created)])
        lines += [f"**{altitude}**", ""] + _table(["#", "Issue", "Title", "What needs deciding", "Owner", "Age"],
                                                   rows, right=1)
    more = more_note(len(review.decide), review.items, "item")
    return lines + ([f"*{more}*", ""] if more else [])


def _mix(review: Review, runs: list[Run] | None) -> list[str]:
    view = review.governance
    rows = []
    for team, counts in mix_rows(view):
        total = sum(counts.values())
        rows.append([_cell(team)] + [f"{counts[a]:,}" if counts[a] else "·" for a in ALTITUDE_ORDER]
                    + [f"**{total:,}**", share_text(counts["strategic"], total)])
    if not rows:
        return ["No open issues.", ""]
    whole = view.mix_total()
    total = sum(whole.values())
    rows.append(["**All teams**"] + [f"{whole[a]:,}" for a in ALTITUDE_ORDER] + [f"**{total:,}**",
                                                                                 share_text(whole["strategic"], total)])
    lines = _table(["Team", *ALTITUDE_ORDER, "open", "strategic share"], rows, right=len(ALTITUDE_ORDER) + 2)
    recorded = [run for run in runs or [] if mix_shares(run.measures)["strategic"] is not None][-TREND_ROWS:]
    if len(recorded) > 1:
        trend = [[format_time(run.at)] + [f"{value:.0%}" if value is not None else "—"
                                          for value in mix_shares(run.measures).values()]
                 for run in reversed(recorded)]
        lines += ["Share of open issues by altitude, latest run first:", ""]
        lines += _table(["Run", *ALTITUDE_ORDER], trend, right=len(ALTITUDE_ORDER))
    return lines


def _exemptions(review: Review) -> list[str]:
    view = review.governance
    if not view.exemptions_total:
        return ["No exemptions in use.", ""]
    by_team = "; ".join(f"{_cell(team)}: {state_counts(counts)}"
                        for team, counts in sorted(view.exemptions_by_team.items()))
    by_owner = "; ".join(f"{_owner(owner)}: {state_counts(counts)}"
                         for owner, counts in sorted(view.exemptions_by_owner.items(), key=lambda p: p[0] or ""))
    rows = [[_link(use.key, use.url), _cell(use.title), _cell(use.team), _owner(use.owner),
             _cell(", ".join(use.labels)) or "—", exemption_until(use), _cell(use.reason) or "—",
             _cell(use.recorded_by) if use.recorded_by else "—", use.state] for use in view.exemptions]
    return ([f"By team: {by_team}.", "", f"By owner: {by_owner}.", ""]
            + _table(["Issue", "Title", "Team", "Owner", "Labels", "Until", "Reason", "Recorded by", "State"], rows,
                     more_note(len(rows), view.exemptions_total, "exemption")))


def _metrics(review: Review) -> list[str]:
    view = review.governance
    if not view.metrics_total:
        return ["No demo records with a metric value yet (`Demo: <metric> <value> …`).", ""]
    rows = [[_link(series.key, series.url), _cell(series.title), _owner(series.owner), f"{len(series.points):,}",
             metric_values(series), _cell(series.latest)] for series in view.metrics]
    return _table(["Issue", "Title", "Owner", "Demos", "Values, oldest first", "Latest record"], rows,
                  more_note(len(rows), view.metrics_total, "initiative"))


def _by_rule(review: Review) -> list[str]:
    fired = sorted((r for r in review.rules.rules if review.by_rule[r.id]),
                   key=lambda r: (-SEVERITIES.index(r.severity), -review.by_rule[r.id]))
    rows = [[f"{_cell(r.title)} `{r.id}`"] + [f"{review.by_rule[r.id]:,}" if s == r.severity else "·"
                                              for s in _ORDER] + [f"**{review.by_rule[r.id]:,}**"] for r in fired]
    rows.append(["**All rules**"] + [f"{review.by_severity[s]:,}" for s in _ORDER] + [f"**{review.findings:,}**"])
    quiet = len(review.rules.rules) - len(fired)
    return _table(["Rule", *_ORDER, "total"], rows, f"{quiet} other rule(s) found nothing." if quiet else "",
                  right=len(_ORDER) + 1)


def _by_owner(review: Review) -> list[str]:
    ranked = owners_ranked(review)
    if not ranked:
        return ["No findings.", ""]
    rows = [[_owner(owner)] + [f"{counts[s]:,}" if counts[s] else "·" for s in _ORDER]
            + [f"**{sum(counts.values()):,}**"] for owner, counts in ranked[:OWNER_LIMIT]]
    return _table(["Owner", *_ORDER, "total"], rows, more_note(min(OWNER_LIMIT, len(ranked)), len(ranked), "owner"),
                  right=len(_ORDER) + 1)


def _your_items(review: Review) -> list[str]:
    """Per owner, their most urgent items."""
    if not review.owner_items:
        return ["No findings.", ""]
    lines = []
    for owner, _ in owners_ranked(review)[:OWNER_LIMIT]:
        items, total = review.owner_items.get(owner, ([], 0))
        entries = ", ".join(f"{_link(item.key, item.url)} ({item.severity})" for item in items)
        rest = more_note(len(items), total, "item")
        lines.append(f"- {_owner(owner)}: {entries}{'; ' + rest if rest else ''}")
    return lines + [""]


def _oldest(review: Review) -> list[str]:
    if not review.oldest:
        return ["No findings.", ""]
    rows = [[_link(item.key, item.url), _cell(item.title), ", ".join(sev for _, sev in item.findings),
             _owner(item.owner), f"{item.created:%Y-%m-%d}" if item.created else "—", _age(review, item.created)]
            for item in review.oldest]
    return _table(["Issue", "Title", "Findings", "Owner", "Created", "Age"], rows,
                  more_note(len(rows), review.items, "item"), right=2)


def _ladders(review: Review) -> list[str]:
    if not review.ladders_total:
        return ["No escalation ladders yet: Steward has not taken a step on any issue.", ""]
    summary = []
    for rule_id, stats in ladder_stats_in_pack_order(review):
        steps = "; ".join(f"step {level}: {format_days(median_or_none(days))} (n={len(days)})"
                          for level, days in sorted(stats.days_at_step.items())) or "—"
        waiting = (f"median {format_days(median_or_none(stats.open_days))}, "
                   f"longest {format_days(max(stats.open_days))}" if stats.open_days else "—")
        summary.append([f"{_cell(rule_title(review, rule_id))} `{rule_id}`", f"{stats.ladders:,}",
                        f"{stats.open:,}", steps, waiting])
    rows = []
    for ladder in review.ladders:
        spans = " → ".join(f"step {level} {format_days(days) if days is not None else 'ended'}"
                           for level, days in ladder_steps(review, ladder))
        state = f"open at step {ladder.steps[-1][0]}" if ladder.open else "ended"
        rows.append([_link(ladder.key, ladder.url), _cell(rule_title(review, ladder.rule)), _owner(ladder.owner),
                     f"{ladder.steps[0][1]:%Y-%m-%d}", spans, state])
    return (_table(["Rule", "Ladders", "Open", "Median time at each step", "Open ladders waiting"], summary)
            + _table(["Issue", "Rule", "Owner", "Started", "How long each step took", "Now"], rows,
                     more_note(len(rows), review.ladders_total, "ladder")))


def _trends(runs: list[Run] | None) -> list[str]:
    if not runs:
        return ["No history yet: add `--history steward-history.sqlite` to `plan`, `apply` and `report` runs.", ""]
    recent = runs[-TREND_ROWS:]
    rows = [[format_time(run.at), run.mode] + [format_value(k, k.value(run.measures)) for k in KPIS]
            for run in reversed(recent)]
    return _table(["Run", "Mode", *(k.name for k in KPIS)], rows,
                  more_note(len(recent), len(runs), "earlier run"), right=len(KPIS))


def fit(markdown: str, limit: int = MARKDOWN_LIMIT) -> str:
    """The text cut at a line boundary so that it is at most `limit` bytes in UTF-8, with a note if cut."""
    markdown = clean_text(markdown)
    data = markdown.encode("utf-8")
    if len(data) <= limit:
        return markdown
    note = "\n\n*(report cut here to stay under the size limit of a GitHub step summary)*\n"
    cut = data[: limit - len(note.encode("utf-8"))].decode("utf-8", errors="ignore").rsplit("\n", 1)[0]
    return cut + note


def render_markdown(review: Review, runs: list[Run] | None = None, limit: int = MARKDOWN_LIMIT) -> str:
    """The report in Markdown, at most `limit` bytes. `runs`: the history (this run included), or None."""
    lines = [f"## {_cell(report_title(review))}", "",
             f"{_cell(run_label(review))} · {review.issues:,} issues checked against {len(review.rules.rules)} "
             f"rules · {review.steps:,} steps due this run", ""]
    lines += _headline(review, runs)
    for title, part in (("What to decide next", _decide(review)),
                        ("Work mix by team", _mix(review, runs)),
                        ("Exemptions", _exemptions(review)),
                        ("Success metrics from demos", _metrics(review)),
                        ("Open findings by rule and severity", _by_rule(review)),
                        ("Open findings by owner", _by_owner(review)),
                        ("Your items, by owner", _your_items(review)),
                        ("Oldest items first", _oldest(review)),
                        ("Escalation ladders", _ladders(review)),
                        (f"Trends (last {TREND_ROWS} runs)", _trends(runs))):
        lines += [f"### {title}", ""] + part
    lines += ["<details><summary>How measured</summary>", ""]
    notes = definitions(review) + [MIX_DEFINITION, EXEMPTION_DEFINITION, METRIC_DEFINITION]
    lines += [f"- **{name}**: {_cell(text)}" for name, text in notes]
    lines += ["", "</details>"]
    return fit("\n".join(lines) + "\n", limit)
