"""The `steward` command line."""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime
from pathlib import Path

import click

from . import __version__
from .core import engine, explanation, plugins, report, ruledocs, rulefile, ruletests
from .core.history import History, HistoryError
from .core.model import Plan
from .core.registry import Tracker, TrackerError
from .core.review import Review, ReviewCollector
from .core.review_html import render_html
from .core.review_markdown import render_markdown
from .core.runner import Runner, RunOptions
from .core.timeutil import parse_time, utcnow

EXIT_FINDINGS = 1
EXIT_USAGE = 2
REPORT_FORMATS = ("html", "markdown")


class _TimeParam(click.ParamType):
    name = "ISO-8601"

    def convert(self, value, param, ctx) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            return parse_time(value)
        except ValueError:
            self.fail(f"{value!r} is not an ISO-8601 time such as 2026-11-20T09:00:00Z", param, ctx)


TIME = _TimeParam()


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_USAGE)


def _load_rules(specs: tuple[str, ...]) -> rulefile.RuleSet:
    try:
        return rulefile.load(list(specs) or rulefile.default_specs())
    except rulefile.RuleFileErrors as problems:
        for error in problems.errors:
            click.echo(str(error), err=True)
        click.echo(f"{len(problems.errors)} rule-file error(s); nothing was run.", err=True)
        sys.exit(EXIT_USAGE)


def open_tracker(spec: str, url: str | None) -> Tracker:
    scheme, _, target = spec.partition(":")
    factories = plugins.trackers()
    if scheme not in factories:
        _fail(f"unknown tracker {scheme!r}; installed trackers: {', '.join(sorted(factories))}")
    try:
        return factories[scheme](target, {"url": url})
    except TrackerError as error:
        _fail(str(error))


class _Progress:
    """A line on stderr at most every two seconds, so long applies show they are alive."""

    def __init__(self) -> None:
        self.last = time.monotonic()

    def __call__(self, steps: int, issues: int) -> None:
        if time.monotonic() - self.last >= 2:
            self.last = time.monotonic()
            click.echo(f"... {steps} steps written, {issues} issues read", err=True)


def _stack(*options):
    """One decorator applying several click options, in the order given."""
    def decorate(function):
        for option in reversed(options):
            function = option(function)
        return function
    return decorate


_source_options = _stack(
    click.option("--tracker", "tracker_spec", required=True, metavar="SCHEME[:TARGET]",
                 help="files:PATH, jira, or github:OWNER/REPO."),
    click.option("--rules", "rule_specs", multiple=True, metavar="PATH",
                 help="Rule file, directory or pack:NAME; repeatable. Default: pack:governance."),
    click.option("--query", "--jql", "query", help="Narrow what is fetched (JQL on Jira)."),
    click.option("--url", "--jira-url", "--github-url", "url", help="Tracker base URL (else from env)."),
    click.option("--now", type=TIME, help="Evaluate as of this time (default: the current time)."),
    click.option("--since", type=TIME, help="Only issues updated since this time."),
    click.option("--engine", "engine_kind", type=click.Choice(engine.ENGINES), default=engine.DEFAULT_ENGINE,
                 show_default=True, help="Rule evaluator: durable_rules, compiled Python or plain-Python reference."),
)


def _history_option(help_text: str):
    return click.option("--history", "history_path", type=click.Path(dir_okay=False), metavar="PATH",
                        help=help_text)


_run_options = _stack(
    _source_options,
    click.option("--format", "fmt", type=click.Choice(report.FORMATS), default="text", show_default=True),
    click.option("--max-actions", type=click.IntRange(min=0), metavar="N",
                 help="Take at most N steps this run; the rest are reported as deferred."),
    click.option("--fail-on-findings", is_flag=True, help="Exit 1 when there are findings."),
    _history_option("Append this run's counts to a Steward history file (SQLite, created on first use)."),
)


def _open_history(path: str | None) -> History | None:
    try:
        return History(path) if path else None
    except HistoryError as error:
        _fail(str(error))


def _record(store: History, review: Review, mode: str, tracker_spec: str, query: str | None) -> None:
    try:
        store.append(review.now, mode, tracker_spec, query, review.measures())
    except HistoryError as error:
        _fail(str(error))


def _execute(mode: str, rules: rulefile.RuleSet, tracker_spec: str, url: str | None, options: RunOptions,
             with_review: bool) -> tuple[Plan, Review | None]:
    """One run of the rules; with `with_review`, also the governance review of the issues it read."""
    tracker = open_tracker(tracker_spec, url)
    progress = _Progress() if mode == "apply" else None
    collector = ReviewCollector(rules, options.now, tracker_spec) if with_review else None
    try:
        plan = Runner(tracker, rules, options, progress, observer=collector).run()
    except TrackerError as error:
        _fail(str(error))
    return plan, collector.result(plan) if collector else None


def _run(mode: str, tracker_spec, rule_specs, query, url, now, since, engine_kind, fmt, max_actions,
         fail_on_findings, history_path):
    rules = _load_rules(rule_specs)
    store = _open_history(history_path)
    now = now or utcnow()
    options = RunOptions(now=now, apply=mode == "apply", max_actions=max_actions, query=query, since=since,
                         engine=engine_kind)
    plan, review = _execute(mode, rules, tracker_spec, url, options, with_review=store is not None)
    if store is not None and review is not None:  # the review exists exactly when a history is kept
        _record(store, review, mode, tracker_spec, query)
    for line in report.render_lines(plan, rules, now, mode, fmt):
        click.echo(line)
    if fail_on_findings and plan.findings:
        sys.exit(EXIT_FINDINGS)


def _print_version(ctx: click.Context, _param, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(f"steward, version {__version__} (engine: {engine.engine_status()})")
        ctx.exit()


@click.group()
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_print_version,
              help="Show the version and the rule engine that runs, then exit.")
def cli() -> None:
    """Governance rules for Jira and GitHub Issues: plan, then apply, never twice."""


@cli.command()
@_run_options
def plan(**kwargs) -> None:
    """Evaluate the rules and show what would be written. Writes nothing."""
    _run("plan", **kwargs)


@cli.command()
@_run_options
def apply(**kwargs) -> None:
    """Evaluate the rules and write the planned comments and labels to the tracker."""
    _run("apply", **kwargs)


@cli.command("report")
@_source_options
@click.option("--out", "out_path", type=click.Path(dir_okay=False, writable=True), metavar="PATH",
              help="Write the report here (default: standard output).")
@click.option("--format", "fmt", type=click.Choice(REPORT_FORMATS),
              help="html or markdown. Default: html when --out ends in .html or .htm, else markdown.")
@_history_option("Append this run's counts to a Steward history file and draw the trends it holds.")
def review_report(tracker_spec, rule_specs, query, url, now, since, engine_kind, out_path, fmt,
                  history_path) -> None:
    """Write the governance report for leadership (HTML or Markdown). Writes nothing to the tracker.

    Open findings by rule, severity and owner, the oldest items, what to decide next, escalation ladders,
    priority-change rationale, follow-up times and, with --history, trends.
    """
    fmt = fmt or ("html" if out_path and out_path.lower().endswith((".html", ".htm")) else "markdown")
    rules = _load_rules(rule_specs)
    store = _open_history(history_path)
    options = RunOptions(now=now or utcnow(), query=query, since=since, engine=engine_kind)
    _, review = _execute("report", rules, tracker_spec, url, options, with_review=True)
    runs = None
    if store is not None:
        _record(store, review, "report", tracker_spec, query)
        try:
            runs = store.runs(tracker_spec, query)
        except HistoryError as error:
            _fail(str(error))
    text = render_html(review, runs) if fmt == "html" else render_markdown(review, runs)
    if out_path is None:
        click.echo(text, nl=False)
        return
    try:
        Path(out_path).write_text(text, encoding="utf-8")
    except OSError as error:
        _fail(f"cannot write {out_path}: {error.strerror or error}")
    click.echo(f"wrote {out_path} ({fmt}, {review.findings:,} findings on {review.issues:,} issues)", err=True)


@cli.command()
@click.argument("paths", nargs=-1, required=True)
def check(paths: tuple[str, ...]) -> None:
    """Validate rule files: exit 0, or 2 with every error as FILE:LINE: [RULE] MESSAGE."""
    rules = _load_rules(paths)
    for warning in engine.durable_warnings([r.condition for r in rules.rules], [r.id for r in rules.rules]):
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"ok: {len(rules.rules)} rules in {len(rules.files)} file(s)")


@cli.command()
def schema() -> None:
    """Print the rule-file JSON Schema (for editors and yaml-language-server)."""
    click.echo(json.dumps(rulefile.schema(), indent=2))


@cli.command("test")
@click.argument("paths", nargs=-1)
def test_rules(paths: tuple[str, ...]) -> None:
    """Run the test cases beside rule files (NAME.tests.yml). Exit 1 on any failure."""
    try:
        results = ruletests.run_paths(list(paths) or [str(rulefile.PACKS_DIR)])
    except rulefile.RuleFileErrors as problems:
        for error in problems.errors:
            click.echo(str(error), err=True)
        sys.exit(EXIT_USAGE)
    failed = [r for r in results if not r.passed]
    for result in failed:
        click.echo(result.describe())
    click.echo(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    sys.exit(1 if failed else 0)


@cli.command()
@click.option("--tracker", "tracker_spec", required=True, metavar="SCHEME[:TARGET]")
@click.option("--rules", "rule_specs", multiple=True, metavar="PATH")
@click.option("--rule", "rule_id", required=True, help="The rule to explain.")
@click.option("--url", "--jira-url", "--github-url", "url")
@click.option("--now", type=TIME)
@click.argument("issue_key")
def explain(tracker_spec, rule_specs, rule_id, url, now, issue_key) -> None:
    """Show, condition by condition, why RULE fires or not on ISSUE_KEY, and the next ladder step."""
    rules = _load_rules(rule_specs)
    rule = rules.by_id().get(rule_id)
    if rule is None:
        _fail(f"no rule {rule_id!r} loaded (rules: {', '.join(sorted(rules.by_id()))})")
    tracker = open_tracker(tracker_spec, url)
    try:
        issue = find_issue(tracker, issue_key)
    except TrackerError as error:
        _fail(str(error))
    if issue is None:
        _fail(f"issue {issue_key} not found in {tracker_spec}")
    click.echo(explanation.explain_issue(rule, issue, rules, now or utcnow()))


def find_issue(tracker: Tracker, key: str):
    fetch_one = getattr(tracker, "fetch_one", None)
    if fetch_one is not None:
        return fetch_one(key)
    for page in tracker.fetch(None, None):
        for issue in page:
            if issue.key == key:
                return issue
    return None


@cli.group()
def rules() -> None:
    """List, show and document the loaded rules."""


@rules.command("list")
@click.option("--rules", "rule_specs", multiple=True, metavar="PATH")
def rules_list(rule_specs) -> None:
    """One line per rule: id, severity, title."""
    for rule in _load_rules(rule_specs).rules:
        click.echo(ruledocs.rule_summary(rule))


@rules.command("show")
@click.option("--rules", "rule_specs", multiple=True, metavar="PATH")
@click.argument("rule_id")
def rules_show(rule_specs, rule_id) -> None:
    """A rule's title, severity, rationale, condition, settings and ladder."""
    rule = _load_rules(rule_specs).by_id().get(rule_id)
    if rule is None:
        _fail(f"no rule {rule_id!r} loaded")
    click.echo(ruledocs.rule_detail(rule))


@rules.command("docs")
@click.option("--rules", "rule_specs", multiple=True, metavar="PATH")
@click.option("--out", "out_dir", default="docs/rules", show_default=True, type=click.Path(file_okay=False))
def rules_docs(rule_specs, out_dir) -> None:
    """Write one Markdown page per rule file."""
    for path in ruledocs.write_pack_docs(_load_rules(rule_specs), Path(out_dir)):
        click.echo(f"wrote {path}")


plugins.pm.hook.register_commands(cli=cli)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
