"""The governance report as one self-contained HTML page: inline CSS and SVG, no script, no network.

Everything that comes from the tracker goes through `html.escape`; links are made only from http(s) URLs.
"""

from __future__ import annotations

import re
from html import escape

from .. import __version__
from .history import Run, thin
from .model import SEVERITIES
from .review import (
    KPIS,
    Item,
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
from .review_charts import trend_svg
from .review_governance import (
    ALTITUDE_ORDER,
    EXEMPTION_DEFINITION,
    METRIC_DEFINITION,
    MIX_DEFINITION,
    VALID,
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

OWNER_LIMIT = 30
CHART_POINTS = 400
_ORDER = tuple(reversed(SEVERITIES))  # critical first

_CSS = """
:root { --ink:#111827; --muted:#6b7280; --line:#e5e7eb; --bg:#f8fafc; --accent:#1d4ed8; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
       font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1200px; margin: 0 auto; padding: 24px 28px 48px; }
header h1 { margin: 0 0 2px; font-size: 24px; }
header p { margin: 0; color: var(--muted); }
h2 { font-size: 17px; margin: 32px 0 10px; padding-bottom: 4px; border-bottom: 2px solid var(--line); }
h3 { font-size: 14px; margin: 0 0 6px; }
a { color: var(--accent); text-decoration: none; } a:hover { text-decoration: underline; }
.cards { display: grid; grid-template-columns: repeat(5, minmax(0, 1fr)); gap: 12px; margin-top: 18px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; }
.card .label { font-size: 12px; color: var(--muted); text-transform: uppercase; letter-spacing: .03em; }
.card .value { font-size: 30px; font-weight: 650; margin: 2px 0; font-variant-numeric: tabular-nums; }
.card .detail { font-size: 12px; color: var(--muted); }
.card .change { font-size: 12px; margin-top: 4px; }
.better { color: #047857; } .worse { color: #b91c1c; } .same { color: var(--muted); }
table { width: 100%; border-collapse: collapse; background: #fff; border: 1px solid var(--line); }
th, td { padding: 6px 9px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { background: #f1f5f9; font-size: 12px; color: #374151; font-weight: 600; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.zero { color: #cbd5e1; }
table.counts td.n, table.counts th.n { width: 88px; }
tr.total td { font-weight: 600; background: #f8fafc; }
tr.group td { font-weight: 650; background: #eef2ff; color: #3730a3; }
.title { color: #374151; overflow-wrap: anywhere; }
.key { white-space: nowrap; font-weight: 600; }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; color: var(--muted); }
.pill { display: inline-block; padding: 0 7px; border-radius: 9px; font-size: 12px; font-weight: 600;
        white-space: nowrap; margin: 1px 2px 1px 0; }
.critical { background: #fee2e2; color: #991b1b; } .high { background: #ffedd5; color: #9a3412; }
.medium { background: #fef9c3; color: #854d0e; } .low { background: #dbeafe; color: #1e40af; }
.info { background: #f3f4f6; color: #374151; }
.noowner { color: #b91c1c; font-weight: 600; }
.more { color: var(--muted); font-style: italic; }
.note { color: var(--muted); margin: 4px 0 10px; }
.grid2 { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 20px; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(350px, 1fr)); gap: 14px; }
figure { margin: 0; background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px; }
figure svg { width: 100%; height: auto; display: block; }
figcaption { font-size: 12px; color: var(--muted); margin-top: 4px; }
.ladder { font-size: 13px; }
.ladder .arrow { color: var(--muted); margin: 0 4px; }
dl { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 10px 16px; margin: 0; }
dt { font-weight: 600; margin-top: 8px; } dd { margin: 2px 0 0; color: #374151; }
footer { margin-top: 28px; color: var(--muted); font-size: 12px; }
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; }
.owner h3 { margin-top: 14px; }
.owner table { table-layout: fixed; } .owner td.key { width: 110px; } .owner td:last-child { width: 170px; }
@media (max-width: 900px) { .cards { grid-template-columns: repeat(2, minmax(0, 1fr)); }
                            .grid2 { grid-template-columns: minmax(0, 1fr); } }
@media (max-width: 600px) { main { padding: 14px 12px 32px; } .cards { grid-template-columns: minmax(0, 1fr); }
                            .scroll table { min-width: 560px; } td.title { min-width: 13em; }
                            .charts { grid-template-columns: minmax(0, 1fr); } }
@media print { body { background: #fff; } main { padding: 0; max-width: none; }
               .card, figure, tr, .owner { break-inside: avoid; } h2 { break-after: avoid; }
               .charts { grid-template-columns: repeat(2, minmax(0, 1fr)); } }
"""


def _link(key: str, url: str | None) -> str:
    if url and url.lower().startswith(("https://", "http://")):
        return f'<a href="{escape(url)}">{escape(key)}</a>'
    return escape(key)


def _pill(severity: str | None) -> str:
    return f'<span class="pill {escape(severity)}">{escape(severity)}</span>' if severity else ""


def _owner(owner: str | None) -> str:
    return escape(owner) if owner else f'<span class="noowner">{owner_name(owner)}</span>'


def _num(value: int) -> str:
    return f'<td class="n">{value:,}</td>' if value else '<td class="n zero">·</td>'


def _more(shown: int, total: int, columns: int, noun: str) -> str:
    note = more_note(shown, total, noun)
    return f'<tr><td class="more" colspan="{columns}">{note}</td></tr>' if note else ""


def _age(review: Review, item: Item) -> str:
    age = age_days(review, item.created)
    return "—" if age is None else f"{age:,} d"


def _headline(review: Review, runs: list[Run] | None) -> str:
    measures = review.measures()
    previous = previous_run(review, runs)
    details = kpi_details(review)
    cards = []
    for kpi in KPIS:
        value = kpi.value(measures)
        change = ""
        if previous is not None:
            text, verdict = change_note(kpi, value, kpi.value(previous.measures))
            if text:
                change = (f'<div class="change {verdict}">{escape(text)} since '
                          f'{run_time(review, previous.at)}</div>')
        cards.append(f'<div class="card"><div class="label">{escape(kpi.name)}</div>'
                     f'<div class="value">{escape(format_value(kpi, value))}</div>'
                     f'<div class="detail">{escape(details[kpi.name])}</div>{change}</div>')
    return f'<section class="cards" id="headline">{"".join(cards)}</section>'


def _decide(review: Review) -> str:
    if not review.decide:
        return '<p class="note">Nothing to decide: no rule fires.</p>'
    rows, number = [], 0
    for altitude, items in decide_groups(review.decide):
        rows.append(f'<tr class="group"><td colspan="6">{escape(altitude)}</td></tr>')
        for item in items:
            number += 1
            problems = "<br>".join(f"{_pill(sev)} {escape(rule_title(review, rule))}" for rule, sev in item.findings)
            rows.append(f'<tr><td class="n">{number}</td><td class="key">{_link(item.key, item.url)}</td>'
                        f'<td class="title">{escape(item.title)}</td><td>{problems}</td>'
                        f'<td>{_owner(item.owner)}</td><td class="n">{_age(review, item)}</td></tr>')
    return ('<p class="note">The most severe findings, oldest first, grouped by altitude (strategic first): each '
            'needs a decision from its owner (or an owner, first).</p><table><tr><th class="n">#</th><th>Issue</th>'
            '<th>Title</th><th>What needs deciding</th><th>Owner</th><th class="n">Age</th></tr>'
            + "".join(rows) + _more(len(review.decide), review.items, 6, "item") + "</table>")


def _mix(review: Review, runs: list[Run] | None) -> str:
    view = review.governance
    ranked = mix_rows(view)
    if not ranked:
        return '<p class="note">No open issues.</p>'
    head = "".join(f'<th class="n">{a}</th>' for a in ALTITUDE_ORDER)
    rows = []
    for team, counts in ranked:
        total = sum(counts.values())
        rows.append(f'<tr><td>{escape(team)}</td>{"".join(_num(counts[a]) for a in ALTITUDE_ORDER)}'
                    f'<td class="n"><b>{total:,}</b></td>'
                    f'<td class="n">{share_text(counts["strategic"], total)}</td></tr>')
    whole = view.mix_total()
    total = sum(whole.values())
    rows.append(f'<tr class="total"><td>All teams</td>{"".join(_num(whole[a]) for a in ALTITUDE_ORDER)}'
                f'<td class="n">{total:,}</td><td class="n">{share_text(whole["strategic"], total)}</td></tr>')
    table = (f'<table class="counts"><tr><th>Team</th>{head}<th class="n">open</th><th class="n">strategic share</th>'
             f'</tr>{"".join(rows)}</table>')
    recorded = [run for run in thin(runs or [], CHART_POINTS) if mix_shares(run.measures)["strategic"] is not None]
    if len(recorded) < 2:
        return table
    figures = []
    for name in ALTITUDE_ORDER:
        chart_id = f"mix-{name}"
        svg = trend_svg([(run.at, mix_shares(run.measures)[name]) for run in recorded], "percent", chart_id)
        if svg:
            figures.append(f'<figure><h3 id="{chart_id}-title">{name.capitalize()} share of open issues</h3>{svg}'
                           f'<figcaption>{len(recorded)} runs</figcaption></figure>')
    return f'{table}<div class="charts">{"".join(figures)}</div>'


def _exemptions(review: Review) -> str:
    view = review.governance
    if not view.exemptions_total:
        return '<p class="note">No exemptions in use.</p>'
    teams = "".join(f"<li>{escape(team)}: {state_counts(counts)}</li>"
                    for team, counts in sorted(view.exemptions_by_team.items()))
    owners = "".join(f"<li>{_owner(owner)}: {state_counts(counts)}</li>"
                     for owner, counts in sorted(view.exemptions_by_owner.items(), key=lambda p: p[0] or ""))
    rows = []
    for use in view.exemptions:
        state = escape(use.state) if use.state == VALID else f'<span class="noowner">{escape(use.state)}</span>'
        rows.append(f'<tr><td class="key">{_link(use.key, use.url)}</td><td class="title">{escape(use.title)}</td>'
                    f'<td>{escape(use.team)}</td><td>{_owner(use.owner)}</td><td>{escape(", ".join(use.labels))}</td>'
                    f'<td class="n">{exemption_until(use)}</td><td>{escape(use.reason) or "—"}</td>'
                    f'<td>{escape(use.recorded_by or "—")}</td><td>{state}</td></tr>')
    return (f'<div class="grid2"><div><h3>By team</h3><ul>{teams}</ul></div><div><h3>By owner</h3><ul>{owners}</ul>'
            '</div></div><table><tr><th>Issue</th><th>Title</th><th>Team</th><th>Owner</th><th>Labels</th>'
            '<th class="n">Until</th><th>Reason</th><th>Recorded by</th><th>State</th></tr>' + "".join(rows)
            + _more(len(rows), view.exemptions_total, 9, "exemption") + "</table>")


def _metrics(review: Review) -> str:
    view = review.governance
    if not view.metrics_total:
        return ('<p class="note">No demo records with a metric value yet '
                '(<code>Demo: &lt;metric&gt; &lt;value&gt;</code>).</p>')
    figures = []
    for index, series in enumerate(view.metrics):
        chart_id = f"metric{index}"
        svg = trend_svg(list(series.points), "value", chart_id) if len(series.points) > 1 else None
        chart = svg or f'<p class="note">One demo so far: {escape(metric_values(series))}.</p>'
        figures.append(f'<figure><h3 id="{chart_id}-title">{_link(series.key, series.url)} {escape(series.title)}'
                       f'</h3>{chart}<figcaption>{_owner(series.owner)} · {len(series.points)} demos · latest: '
                       f'{escape(series.latest)}</figcaption></figure>')
    more = more_note(len(view.metrics), view.metrics_total, "initiative")
    return f'<div class="charts">{"".join(figures)}</div>' + (f'<p class="more">{more}</p>' if more else "")


def _by_rule(review: Review) -> str:
    head = "".join(f'<th class="n">{s}</th>' for s in _ORDER)
    rules = sorted(review.rules.rules,
                   key=lambda r: (not review.by_rule[r.id], -SEVERITIES.index(r.severity), -review.by_rule[r.id]))
    rows = []
    for rule in rules:
        count = review.by_rule[rule.id]
        cells = "".join(_num(count if s == rule.severity else 0) for s in _ORDER)
        total = f'<td class="n"><b>{count:,}</b></td>' if count else _num(0)
        rows.append(f'<tr><td>{escape(rule.title)} <code>{escape(rule.id)}</code></td>{cells}{total}</tr>')
    total = "".join(f'<td class="n">{review.by_severity[s]:,}</td>' for s in _ORDER)
    return (f'<table class="counts"><tr><th>Rule</th>{head}<th class="n">total</th></tr>{"".join(rows)}'
            f'<tr class="total"><td>All rules</td>{total}<td class="n">{review.findings:,}</td></tr></table>')


def _by_owner(review: Review) -> str:
    if not review.by_owner:
        return '<p class="note">No findings.</p>'
    ranked = owners_ranked(review)
    head = "".join(f'<th class="n">{s}</th>' for s in _ORDER)
    rows = [f'<tr><td>{_owner(owner)}</td>{"".join(_num(counts[s]) for s in _ORDER)}'
            f'<td class="n"><b>{sum(counts.values()):,}</b></td></tr>' for owner, counts in ranked[:OWNER_LIMIT]]
    return (f'<table class="counts"><tr><th>Owner</th>{head}<th class="n">total</th></tr>{"".join(rows)}'
            f'{_more(OWNER_LIMIT, len(ranked), 7, "owner")}</table>')


def _oldest(review: Review) -> str:
    if not review.oldest:
        return '<p class="note">No findings.</p>'
    rows = [f'<tr><td class="key">{_link(item.key, item.url)}</td><td class="title">{escape(item.title)}</td>'
            f'<td>{"".join(_pill(sev) for _, sev in item.findings)}</td><td>{_owner(item.owner)}</td>'
            f'<td class="n">{f"{item.created:%Y-%m-%d}" if item.created else "—"}</td>'
            f'<td class="n">{_age(review, item)}</td></tr>' for item in review.oldest]
    return ('<table><tr><th>Issue</th><th>Title</th><th>Findings</th><th>Owner</th><th class="n">Created</th>'
            f'<th class="n">Age</th></tr>{"".join(rows)}{_more(len(rows), review.items, 6, "item")}</table>')


def _ladders(review: Review) -> str:
    if not review.ladders_total:
        return '<p class="note">No escalation ladders yet: Steward has not taken a step on any issue.</p>'
    summary = []
    for rule_id, stats in ladder_stats_in_pack_order(review):
        steps = " · ".join(f"step {level}: {format_days(median_or_none(days))} (n={len(days)})"
                           for level, days in sorted(stats.days_at_step.items())) or "—"
        waiting = (f"median {format_days(median_or_none(stats.open_days))}, longest {format_days(max(stats.open_days))}"
                   if stats.open_days else "—")
        summary.append(f'<tr><td>{escape(rule_title(review, rule_id))} <code>{escape(rule_id)}</code></td>'
                       f'<td class="n">{stats.ladders:,}</td><td class="n">{stats.open:,}</td>'
                       f'<td>{steps}</td><td>{waiting}</td></tr>')
    rows = []
    for ladder in review.ladders:
        spans = '<span class="arrow">→</span>'.join(
            f"step {level} <b>{format_days(days) if days is not None else 'ended'}</b>"
            + (" so far" if ladder.open and days is not None and level == ladder.steps[-1][0] else "")
            for level, days in ladder_steps(review, ladder))
        state = (f"open at step {ladder.steps[-1][0]}" if ladder.open else "ended: the rule no longer fires")
        rows.append(f'<tr><td class="key">{_link(ladder.key, ladder.url)}</td>'
                    f'<td>{escape(rule_title(review, ladder.rule))}</td><td>{_owner(ladder.owner)}</td>'
                    f'<td class="n">{ladder.steps[0][1]:%Y-%m-%d}</td><td class="ladder">{spans}</td>'
                    f'<td>{state}</td></tr>')
    return ('<h3>By rule: median time at each step before the next</h3><table><tr><th>Rule</th>'
            '<th class="n">ladders</th><th class="n">open</th><th>time at each step</th>'
            f'<th>open ladders waiting at their last step</th></tr>{"".join(summary)}</table>'
            '<h3 style="margin-top:14px">Each ladder: how long each step took (open ones first, longest '
            'waiting first)</h3><table><tr><th>Issue</th><th>Rule</th><th>Owner</th><th class="n">Started</th>'
            f'<th>Steps</th><th>Now</th></tr>{"".join(rows)}'
            f'{_more(len(rows), review.ladders_total, 6, "ladder")}</table>')


def _trends(runs: list[Run] | None) -> str:
    if not runs:
        return ('<p class="note">No history yet. Add <code>--history steward-history.sqlite</code> to '
                '<code>plan</code>, <code>apply</code> and <code>report</code> runs to draw these measures '
                'over time.</p>')
    if len(runs) == 1:
        values = " · ".join(f"{escape(k.name)}: <b>{escape(format_value(k, k.value(runs[0].measures)))}</b>"
                            for k in KPIS)
        return (f'<p class="note">One run recorded so far ({format_time(runs[0].at)}); the charts start with '
                f'the second.</p><p>{values}</p>')
    shown = thin(runs, CHART_POINTS)
    figures = []
    for index, kpi in enumerate(KPIS):
        chart_id = f"trend{index}"
        points = [(run.at, kpi.value(run.measures)) for run in shown]
        svg = trend_svg(points, kpi.unit, chart_id) or '<p class="note">No value recorded yet.</p>'
        latest = format_value(kpi, points[-1][1])
        figures.append(f'<figure><h3 id="{chart_id}-title">{escape(kpi.name)}</h3>{svg}'
                       f'<figcaption>latest {escape(latest)} · {len(shown)} runs, '
                       f'{shown[0].at:%Y-%m-%d} to {shown[-1].at:%Y-%m-%d}</figcaption></figure>')
    note = (f'<p class="note">{len(runs):,} runs recorded; the charts show the last run of each day, '
            f'at most {CHART_POINTS}.</p>' if len(shown) < len(runs) else "")
    return f'{note}<div class="charts">{"".join(figures)}</div>'


def _how_measured(review: Review) -> str:
    notes = definitions(review) + [MIX_DEFINITION, EXEMPTION_DEFINITION, METRIC_DEFINITION]
    items = "".join(f"<dt>{escape(name)}</dt><dd>{escape(text)}</dd>" for name, text in notes)
    return f"<dl>{items}</dl>"


def _your_items(review: Review) -> str:
    """Per owner, their most urgent items: the page an owner reads for "what is mine"."""
    if not review.owner_items:
        return '<p class="note">No findings.</p>'
    blocks = []
    for owner, _ in owners_ranked(review)[:OWNER_LIMIT]:
        items, total = review.owner_items.get(owner, ([], 0))
        rows = [f'<tr><td class="key">{_link(item.key, item.url)}</td><td class="title">{escape(item.title)}</td>'
                f'<td>{"".join(_pill(sev) for _, sev in item.findings)}</td></tr>' for item in items]
        blocks.append(f'<div class="owner"><h3>{_owner(owner)} · {total:,} item{"" if total == 1 else "s"}</h3>'
                      f'<table>{"".join(rows)}{_more(len(items), total, 3, "item")}</table></div>')
    return "".join(blocks)


def _scrollable(html: str) -> str:
    """Every table in a box that scrolls sideways on a narrow screen, so text keeps its width."""
    return re.sub(r"(<table\b.*?</table>)", r'<div class="scroll">\1</div>', html, flags=re.S)


def render_html(review: Review, runs: list[Run] | None = None) -> str:
    """The whole page. `runs`: the history for this tracker and query (this run included), or None."""
    source = escape(run_label(review))
    title = escape(report_title(review))
    sections = [
        ("decide", "What to decide next", _decide(review)),
        ("mix", "Work mix by team", _mix(review, runs)),
        ("exemptions", "Exemptions", _exemptions(review)),
        ("metrics", "Success metrics from demos", _metrics(review)),
        ("by-rule", "Open findings by rule and severity", _by_rule(review)),
        ("by-owner", "Open findings by owner", _by_owner(review)),
        ("your-items", "Your items, by owner", _your_items(review)),
        ("oldest", "Oldest items first", _oldest(review)),
        ("ladders", "Escalation ladders", _ladders(review)),
        ("trends", "Trends", _trends(runs)),
        ("how-measured", "How measured", _how_measured(review)),
    ]
    body = "".join(f'<section id="{sid}"><h2>{heading}</h2>{_scrollable(content)}</section>'
                   for sid, heading, content in sections)
    return clean_text(
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title><style>{_CSS}</style></head><body><main>"
        f"<header><h1>{title}</h1><p>{source} · {review.issues:,} issues checked against "
        f"{len(review.rules.rules)} rules · {review.steps:,} steps due this run</p></header>"
        f"{_headline(review, runs)}{body}"
        f"<footer>Generated by Steward {escape(__version__)}. Counts are as read from the tracker at the "
        "time of the run.</footer></main></body></html>\n"
    )
