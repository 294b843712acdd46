"""Test cases for rule files (`NAME.tests.yml` beside `NAME.yml`), run by `steward test` and by pytest.

A plugin package tests its own rules the same way:

    from steward.core.ruletests import load_cases
    import pytest

    @pytest.mark.parametrize("case", load_cases(["my_rules/"]), ids=lambda c: c.id)
    def test_rule_case(case):
        result = case.run()
        assert result.passed, result.describe()
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from . import plugins
from .conditions import explain_inline, normalize
from .engine import Engine
from .model import Issue
from .readahead import resolved
from .registry import FactContext
from .rulefile import PACK_PREFIX, load
from .rules import RuleSet
from .runner import Runner, RunOptions, derive_facts
from .timeutil import format_time, parse_time
from .yamlsource import RuleError, RuleFileErrors, Source, parse_yaml

TESTS_SUFFIX = ".tests.yml"


@dataclass
class CaseResult:
    file: str
    line: int
    name: str
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems

    def describe(self) -> str:
        head = f"FAILED {self.file}:{self.line}: {self.name}"
        return "\n".join([head] + [f"    {p}" for p in self.problems])


@dataclass
class Case:
    file: str
    line: int
    name: str
    raw: dict[str, Any]
    rules: RuleSet
    now: datetime

    @property
    def id(self) -> str:
        return f"{Path(self.file).name}:{self.line}:{self.name}"

    def run(self) -> CaseResult:
        return _run_case(self)


def _case_facts(case: Case) -> dict[str, Any]:
    if "facts" in case.raw:
        given = case.raw["facts"] or {}
        unknown = sorted(name for name in given if plugins.fact(name) is None)
        if unknown:
            raise ValueError(f"unknown fact(s) {', '.join(unknown)}")
        facts = {name: None for name, spec in plugins.facts().items() if spec.parameter is None}
        for name, value in given.items():
            facts[name] = normalize(value, plugins.fact(name)[0].type)
        return facts
    return derive_facts(_issue_from_case(case), FactContext(now=case.now, settings=case.rules.settings))


def _write_board(case: Case, directory: str) -> str:
    """The case's issue as a one-issue JSON board: rule tests read it through the files tracker."""
    raw = _jsonable(dict(case.raw["issue"]))
    raw.setdefault("key", "TEST-1")
    board = Path(directory) / "board.json"
    board.write_text(json.dumps({"issues": [raw]}), encoding="utf-8")
    return f"files:{board}"


def _issue_from_case(case: Case) -> Issue:
    with tempfile.TemporaryDirectory() as directory:
        tracker = plugins.open_tracker(_write_board(case, directory), {})
        issue = next(issue for page in resolved(tracker.fetch(None, None)) for issue in page)
        tracker.close()
    return issue


def _jsonable(value: Any) -> Any:
    """YAML gives datetimes for unquoted timestamps; the board format holds ISO strings."""
    if isinstance(value, datetime):
        return format_time(parse_time(value))
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def _check_firing(case: Case, result: CaseResult) -> None:
    facts = _case_facts(case)
    rules = case.rules.rules
    engine = Engine([rule.condition for rule in rules])
    fired = {rules[i].id for i in engine.evaluate([facts])[0]}
    by_id = case.rules.by_id()
    for rule_id in case.raw.get("fire", []):
        if rule_id not in by_id:
            result.problems.append(f"unknown rule {rule_id!r} in `fire`")
        elif rule_id not in fired:
            why = explain_inline(by_id[rule_id].condition, facts)
            result.problems.append(f"{rule_id}: expected to fire, did not. Deciding facts: {why}")
    for rule_id in case.raw.get("not_fire", []):
        if rule_id not in by_id:
            result.problems.append(f"unknown rule {rule_id!r} in `not_fire`")
        elif rule_id in fired:
            why = explain_inline(by_id[rule_id].condition, facts)
            result.problems.append(f"{rule_id}: expected not to fire, but fired. Deciding facts: {why}")


def _step_names(steps) -> list[str]:
    return sorted(f"{s.rule}@{s.level if s.level else 'cleanup'}" for s in steps)


def _check_runs(case: Case, result: CaseResult) -> None:
    """Apply the rules run after run to a one-issue board and compare the steps each run takes."""
    with tempfile.TemporaryDirectory() as directory:
        board = _write_board(case, directory)
        for number, run in enumerate(case.raw["runs"], start=1):
            now = parse_time(run.get("now", case.now))
            plan = Runner(plugins.open_tracker(board, {}), case.rules, RunOptions(now=now, apply=True)).run()
            expected = sorted(run.get("steps", []))
            actual = _step_names(plan.steps)
            if actual != expected:
                result.problems.append(f"run {number} at {format_time(now)}: expected steps {expected}, "
                                       f"got {actual}")
            if "actions" in run:
                taken = [{"rule": a.rule, "type": a.type, "value": a.to_json()["value"]}
                         for s in plan.steps for a in s.actions]
                if taken != run["actions"]:
                    result.problems.append(f"run {number} at {format_time(now)}: expected actions "
                                           f"{run['actions']}, got {taken}")


def _run_case(case: Case) -> CaseResult:
    result = CaseResult(case.file, case.line, case.name)
    try:
        if "runs" in case.raw:
            if "issue" not in case.raw:
                result.problems.append("`runs` needs an `issue` (ladders read the markers on an issue)")
            else:
                _check_runs(case, result)
        if "fire" in case.raw or "not_fire" in case.raw:
            _check_firing(case, result)
    except (ValueError, KeyError, TypeError) as error:
        result.problems.append(f"invalid case: {error}")
    return result


def _rules_for(tests_path: Path, source: Source) -> RuleSet:
    named = source.data.get("rules")
    if named is None:
        specs = [str(tests_path.with_name(tests_path.name[: -len(TESTS_SUFFIX)] + ".yml"))]
    else:
        # File names are relative to the tests file; pack:NAME (a file extending a pack) stays as it is.
        specs = [n if str(n).startswith(PACK_PREFIX) else str(tests_path.parent / n)
                 for n in (named if isinstance(named, list) else [named])]
    return load(specs)


def load_file(tests_path: str | Path) -> list[Case]:
    tests_path = Path(tests_path)
    source = parse_yaml(tests_path.read_text(encoding="utf-8"), str(tests_path))
    data = source.data
    if not isinstance(data, dict) or not isinstance(data.get("cases"), list):
        raise RuleFileErrors([RuleError(str(tests_path), 1, None, "a tests file needs a list under `cases`")])
    rules = _rules_for(tests_path, source)
    default_now = data.get("now")
    cases = []
    for index, raw in enumerate(data["cases"]):
        line = source.line(("cases", index))
        if not isinstance(raw, dict) or not raw.get("name"):
            raise RuleFileErrors([RuleError(str(tests_path), line, None, "each case needs a `name`")])
        now = raw.get("now", default_now)
        if now is None:
            raise RuleFileErrors([RuleError(str(tests_path), line, None, "the case needs a pinned `now`")])
        if not any(key in raw for key in ("fire", "not_fire", "runs")):
            raise RuleFileErrors([RuleError(str(tests_path), line, None, "the case expects nothing: give `fire`, "
                                                                         "`not_fire` or `runs`")])
        problems = _fact_type_errors(raw.get("facts"), source, ("cases", index, "facts"))
        if problems:
            raise RuleFileErrors(problems)
        cases.append(Case(str(tests_path), line, str(raw["name"]), raw, rules, parse_time(now)))
    return cases


def _fact_type_errors(given: Any, source: Source, path: tuple[Any, ...]) -> list[RuleError]:
    """Facts given in a case are checked like rule files: a value of the wrong type is an error, not missing."""
    errors = []
    for name, value in (given or {}).items() if isinstance(given, dict) else []:
        found = plugins.fact(name)
        if found is None:
            errors.append(source.error(path + (name,), f"unknown fact {name!r}"))
        elif value is not None and normalize(value, found[0].type) is None:
            errors.append(source.error(path + (name,), f"fact {name!r} is a {found[0].type}, got {value!r}"))
    return errors


def find_test_files(paths: list[str]) -> list[Path]:
    """The tests files for these paths. A rule file with no NAME.tests.yml beside it, or a directory with
    none, is an error: a test run that silently runs nothing would pass."""
    found: list[Path] = []
    missing: list[RuleError] = []
    for spec in paths:
        path = Path(spec)
        if path.is_dir():
            files = sorted(path.rglob(f"*{TESTS_SUFFIX}"))
            if not files:
                missing.append(RuleError(spec, 0, None, f"no tests files here: name them NAME{TESTS_SUFFIX} "
                                                        "beside NAME.yml"))
            found.extend(files)
        elif path.name.endswith(TESTS_SUFFIX):
            found.append(path)
        else:
            beside = path.with_name(path.stem + TESTS_SUFFIX)
            if beside.exists():
                found.append(beside)
            else:
                missing.append(RuleError(spec, 0, None, f"no test cases: write them in {beside.name} beside it"))
    if missing:
        raise RuleFileErrors(missing)
    return found


def load_cases(paths: list[str]) -> list[Case]:
    return [case for file in find_test_files(paths) for case in load_file(file)]


def run_paths(paths: list[str]) -> list[CaseResult]:
    return [case.run() for case in load_cases(paths)]
