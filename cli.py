"""The `steward` command line."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import click

from . import __version__
from .core import channels, engine, explanation, plugins, report, ruledocs, rulefile, ruleschema, ruletests, scaffold
from .core.crash import redact, write_report
from .core.digest import PERIODS, DigestCollector, default_title, digest_markdown, period_of
from .core.errors import (
    EXIT_BROKEN_PIPE,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_PARTIAL,
    EXIT_USAGE,
    StewardError,
    TrackerError,
    UsageError,
    run_exit_code,
)
from .core.fields import mappings
from .core.history import History, HistoryError
from .core.mentions import format_mentions, readable
from .core.model import Plan
from .core.options import (
    TIME,
    fail_on_findings_option,
    format_option,
    max_actions_option,
    now_option,
    rules_option,
    stack,
)
from .core.review import Review, ReviewCollector
from .core.review_html import render_html
from .core.review_markdown import render_markdown
from .core.rulefile import load_rules
from .core.rules import RuleSet
from .core.runner import Runner, RunOptions
from .core.text import clean_text
from .core.timeutil import utcnow
from .core.yamlsource import RuleFileErrors

REPORT_FORMATS = ("html", "markdown")


class StewardGroup(click.Group):
    """The `steward` group: every command, a plugin's included, ends on a Steward error the same way:
    its one-line message on stderr and its exit code, never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except RuleFileErrors as problems:
            for error in problems.errors:
                click.echo(str(error), err=True)
            click.echo(f"{len(problems.errors)} rule-file error(s); nothing was run.", err=True)
            sys.exit(EXIT_USAGE)
        except StewardError as error:
            click.echo(f"error: {redact(str(error))}", err=True)
            sys.exit(error.exit_code)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise  # click's own usage errors and exits: click reports them
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except BrokenPipeError:  # `steward plan | head`: the reader has had enough; not Steward's failure
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(EXIT_BROKEN_PIPE)
        except Exception as error:  # a bug in Steward: one line here, the traceback in a report file
            path = write_report(error, sys.argv[1:])
            where = f"; details in {path}" if path else ""
            click.echo(f"internal error: {type(error).__name__}: {redact(str(error))[:300]}{where}. "
                       "Please report it.", err=True)
            sys.exit(EXIT_INTERNAL)


class _Progress:
    """A line on stderr at most every two seconds, so long applies show they are alive."""

    def __init__(self) -> None:
        self.last = time.monotonic()

    def __call__(self, steps: int, issues: int) -> None:
        if time.monotonic() - self.last >= 2:
            self.last = time.monotonic()
            click.echo(f"... {steps} steps written, {issues} issues read", err=True)


_source_options = stack(
    click.option("--tracker", "tracker_spec", required=True, metavar="SCHEME[:TARGET]",
                 help="files:PATH, jira, or github:OWNER/REPO."),
    rules_option,
    click.option("--query", "--jql", "query", help="Narrow what is fetched (JQL on Jira)."),
    click.option("--url", "--jira-url", "--github-url", "url", help="Tracker base URL (else from env)."),
    now_option,
    click.option("--since", type=TIME, help="Only issues updated since this time."),
    click.option("--engine", "engine_kind", type=click.Choice(engine.ENGINES), default=engine.DEFAULT_ENGINE,
                 show_default=True, help="Rule evaluator: durable_rules, compiled Python or plain-Python reference."),
)


def _history_option(help_text: str):
    return click.option("--history", "history_path", type=click.Path(dir_okay=False), metavar="PATH",
                        help=help_text)


_run_options = stack(
    _source_options,
    format_option("text"),
    max_actions_option,
    fail_on_findings_option,
    _history_option("Append this run's counts to a Steward history file (SQLite, created on first use)."),
)


def _open_history(path: str | None) -> History | None:
    try:
        return History(path) if path else None
    except HistoryError as error:
        raise UsageError(str(error)) from None


def _record(store: History, review: Review, mode: str, tracker_spec: str, query: str | None) -> None:
    try:
        store.append(review.now, mode, tracker_spec, query, review.measures())
    except HistoryError as error:
        raise UsageError(str(error)) from None


def _record_after_run(store: History, review: Review, plan: Plan, mode: str, tracker_spec: str,
                      query: str | None) -> int | None:
    """Append the run to its history; when that fails after steps were written, the exit code must say
    both (3), not "nothing was written" (2)."""
    try:
        _record(store, review, mode, tracker_spec, query)
    except UsageError as error:
        click.echo(f"error: {error}", err=True)
        return EXIT_PARTIAL if mode == "apply" and plan.steps else EXIT_USAGE
    return None


def _execute(mode: str, rules: RuleSet, tracker_spec: str, url: str | None, options: RunOptions,
             with_review: bool, title: str = "") -> tuple[Plan, Review | None]:
    """One run of the rules; with `with_review`, also the governance review of the issues it read."""
    tracker = plugins.open_tracker(tracker_spec, {"url": url})
    progress = _Progress() if mode == "apply" else None
    if with_review and not title:
        title = f"Governance review · {tracker_spec}" + (f" · {options.query}" if options.query else "")
    collector = ReviewCollector(rules, options.now, tracker_spec, title=title) if with_review else None
    plan = Runner(tracker, rules, options, progress, observer=collector).run()
    return plan, collector.result(plan) if collector else None


def _run(mode: str, tracker_spec, rule_specs, query, url, now, since, engine_kind, fmt, max_actions,
         fail_on_findings, history_path):
    rules = load_rules(rule_specs)
    store = _open_history(history_path)
    now = now or utcnow()
    options = RunOptions(now=now, apply=mode == "apply", max_actions=max_actions, query=query, since=since,
                         engine=engine_kind, spool=True)
    plan, review = _execute(mode, rules, tracker_spec, url, options, with_review=store is not None)
    history_code = None
    if store is not None and review is not None:  # the review exists exactly when a history is kept
        history_code = _record_after_run(store, review, plan, mode, tracker_spec, query)
    for chunk in report.render_chunks(plan, rules, now, mode, fmt):
        click.echo(chunk, nl=False)
    sys.exit(history_code or run_exit_code(plan, fail_on_findings))


def _print_version(ctx: click.Context, _param, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(f"steward, version {__version__} (engine: {engine.engine_status()})")
        ctx.exit()


@click.group(cls=StewardGroup)
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
@click.option("--title", default="", help="The report's title. Default: the tracker and the query.")
def review_report(tracker_spec, rule_specs, query, url, now, since, engine_kind, out_path, fmt, title,
                  history_path) -> None:
    """Write the governance report for leadership (HTML or Markdown). Writes nothing to the tracker.

    Open findings by rule, severity and owner, the oldest items, what to decide next, escalation ladders,
    priority-change rationale, follow-up times and, with --history, trends.
    """
    fmt = fmt or ("html" if out_path and out_path.lower().endswith((".html", ".htm")) else "markdown")
    rules = load_rules(rule_specs)
    store = _open_history(history_path)
    options = RunOptions(now=now or utcnow(), query=query, since=since, engine=engine_kind)
    _, review = _execute("report", rules, tracker_spec, url, options, with_review=True, title=title)
    runs = None
    if store is not None:
        _record(store, review, "report", tracker_spec, query)
        try:
            runs = store.runs(tracker_spec, query)
        except HistoryError as error:
            raise UsageError(str(error)) from None
    text = render_html(review, runs) if fmt == "html" else render_markdown(review, runs)
    if out_path is None:
        click.echo(text, nl=False)
        return
    try:
        Path(out_path).write_text(text, encoding="utf-8")
    except OSError as error:
        raise UsageError(f"cannot write {out_path}: {error.strerror or error}") from None
    click.echo(f"wrote {out_path} ({fmt}, {review.findings:,} findings on {review.issues:,} issues)", err=True)


@cli.command()
@_source_options
@click.option("--period", type=click.Choice(PERIODS), default="week", show_default=True,
              help="The review cycle the digest covers.")
@click.option("--title", default="", help="Default: Governance review <period>, as 2026-W48.")
@click.option("--post", is_flag=True, help="Keep one digest issue per period in the tracker (a rerun updates it).")
@click.option("--channel", "channel_name", metavar="NAME",
              help="Send the digest to this channel of the rules' settings.channels, once per period (needs --post).")
def digest(tracker_spec, rule_specs, query, url, now, since, engine_kind, period, title, post, channel_name) -> None:
    """The digest for a review cycle: what to decide next, each owner's items (mentioned once), overdue
    reviews, escalations waiting for follow-up, the period's movement. Writes nothing else to the tracker."""
    if channel_name and not post:
        raise UsageError("--channel needs --post: the period's digest issue records where it was sent")
    rules = load_rules(rule_specs)
    if channel_name and channel_name not in (rules.settings.get("channels") or {}):
        raise UsageError(f"no channel {channel_name!r} in the rules' settings.channels")
    now = now or utcnow()
    name, start = period_of(now, period)
    title = title or default_title(name)
    tracker = plugins.open_tracker(tracker_spec, {"url": url})
    collector = DigestCollector(rules, now, start, tracker_spec)
    Runner(tracker, rules, RunOptions(now=now, query=query, since=since, engine=engine_kind), observer=collector).run()
    text = digest_markdown(collector, title, name)
    if not post:
        click.echo(readable(text), nl=False)
        return
    record = tracker.find_digest(name)
    record = tracker.publish_digest(name, title, format_mentions(text, tracker.mention),
                                    record.sent if record else frozenset(), now)
    click.echo(f"posted the {name} digest as {record.key}" + (f" ({record.url})" if record.url else ""))
    if channel_name is None:
        return
    if channel_name in record.sent:
        click.echo(f"the {name} digest was already sent to channel {channel_name!r}")
        return
    try:
        click.echo(channels.send(channel_name, rules.settings, title, text, record.url or "", record.key))
    except channels.ChannelError as error:
        raise TrackerError(f"{error}; the digest issue is posted, the next run sends it again") from None
    tracker.publish_digest(name, title, format_mentions(text, tracker.mention), record.sent | {channel_name}, now)


@cli.command()
@click.argument("paths", nargs=-1, required=True)
def check(paths: tuple[str, ...]) -> None:
    """Validate rule files: exit 0, or 2 with every error as FILE:LINE: [RULE] MESSAGE."""
    rules = rulefile.load(list(paths))
    for warning in rules.warnings:
        click.echo(f"warning: {warning}", err=True)
    for warning in engine.durable_warnings([r.condition for r in rules.rules], [r.id for r in rules.rules]):
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"ok: {len(rules.rules)} rules in {len(rules.files)} file(s)")


@cli.command()
def schema() -> None:
    """Print the rule-file JSON Schema (for editors and yaml-language-server)."""
    click.echo(json.dumps(ruleschema.schema(), indent=2))


@cli.command("init")
@click.argument("kind", type=click.Choice(scaffold.KINDS))
@click.option("--action", default=scaffold.DEFAULT_ACTION, show_default=True, metavar="OWNER/REPO@REF",
              help="github: the Steward action the workflow uses.")
def init(kind: str, action: str) -> None:
    """Write starter files for KIND into the current directory; an existing file is never overwritten.

    Rules that extend the default pack and their tests, plus the workflow (github), the cron line, systemd
    units, env file and log rotation (jira), or a starter board (files).
    """
    try:
        written = scaffold.scaffold(kind, Path.cwd(), action)
    except OSError as error:
        raise UsageError(f"cannot write {error.filename}: {error.strerror or error}") from None
    for item in written:
        click.echo(f"skipped {item.path} (it exists; left as it is)" if item.skipped else f"wrote   {item.path}")
    click.echo("next:")
    for line in scaffold.next_steps(kind, action):
        click.echo(f"  {line}")


@cli.command("test")
@click.argument("paths", nargs=-1)
def test_rules(paths: tuple[str, ...]) -> None:
    """Run the test cases beside rule files (NAME.tests.yml). Exit 1 on any failure."""
    results = ruletests.run_paths(list(paths) or [str(rulefile.PACKS_DIR)])
    failed = [r for r in results if not r.passed]
    for result in failed:
        click.echo(result.describe())
    click.echo(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    sys.exit(1 if failed else 0)


@cli.command()
@click.option("--tracker", "tracker_spec", required=True, metavar="SCHEME[:TARGET]")
@rules_option
@click.option("--rule", "rule_id", required=True, help="The rule to explain.")
@click.option("--url", "--jira-url", "--github-url", "url")
@click.option("--now", type=TIME)
@click.argument("issue_key")
def explain(tracker_spec, rule_specs, rule_id, url, now, issue_key) -> None:
    """Show, condition by condition, why RULE fires or not on ISSUE_KEY, and the next ladder step."""
    rules = load_rules(rule_specs)
    rule = rules.by_id().get(rule_id)
    if rule is None:
        raise UsageError(f"no rule {rule_id!r} loaded (rules: {', '.join(sorted(rules.by_id()))})")
    tracker = plugins.open_tracker(tracker_spec, {"url": url})
    tracker.map_fields(mappings(rules.settings))  # the rule files' own fields, as a run reads them
    issue = tracker.fetch_one(issue_key)
    tracker.close()
    if issue is None:
        raise UsageError(f"issue {issue_key} not found in {tracker_spec}")
    click.echo(clean_text(explanation.explain_issue(rule, issue, rules, now or utcnow())))


@cli.group()
def rules() -> None:
    """List, show and document the loaded rules."""


@rules.command("list")
@rules_option
def rules_list(rule_specs) -> None:
    """One line per rule: id, severity, title."""
    for rule in load_rules(rule_specs).rules:
        click.echo(ruledocs.rule_summary(rule))


@rules.command("show")
@rules_option
@click.argument("rule_id")
def rules_show(rule_specs, rule_id) -> None:
    """A rule's title, severity, rationale, condition, settings and ladder."""
    rule = load_rules(rule_specs).by_id().get(rule_id)
    if rule is None:
        raise UsageError(f"no rule {rule_id!r} loaded")
    click.echo(ruledocs.rule_detail(rule))


@rules.command("docs")
@rules_option
@click.option("--out", "out_dir", default="docs/rules", show_default=True, type=click.Path(file_okay=False))
def rules_docs(rule_specs, out_dir) -> None:
    """Write one Markdown page per rule file."""
    for path in ruledocs.write_pack_docs(load_rules(rule_specs), Path(out_dir)):
        click.echo(f"wrote {path}")


plugins.get_plugin_manager().hook.register_commands(cli=cli)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
