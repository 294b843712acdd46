"""Command-line building blocks shared by the built-in commands and plugins' commands.

A plugin adds commands through the `register_commands` hook; it uses these options and raises
`steward.core.errors` exceptions, and the `steward` group turns those into a message and an exit code.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import click

from .report import FORMATS
from .timeutil import parse_time


class TimeParam(click.ParamType):
    name = "ISO-8601"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            return parse_time(value)
        except ValueError:
            self.fail(f"{value!r} is not an ISO-8601 time such as 2026-11-20T09:00:00Z", param, ctx)


TIME = TimeParam()


def stack(*options: Callable[[Callable], Callable]) -> Callable[[Callable], Callable]:
    """One decorator applying several click options, in the order given."""
    def decorate(function: Callable) -> Callable:
        for option in reversed(options):
            function = option(function)
        return function
    return decorate


rules_option = click.option("--rules", "rule_specs", multiple=True, metavar="PATH",
                            help="Rule file, directory or pack:NAME; repeatable. Default: pack:governance.")
now_option = click.option("--now", type=TIME, help="Evaluate as of this time (default: the current time).")
max_actions_option = click.option("--max-actions", type=click.IntRange(min=0), metavar="N",
                                  help="Take at most N steps this run; the rest are reported as deferred.")
fail_on_findings_option = click.option("--fail-on-findings", is_flag=True, help="Exit 1 when there are findings.")


def format_option(default: str) -> Callable[[Callable], Callable]:
    return click.option("--format", "fmt", type=click.Choice(FORMATS), default=default, show_default=True)
