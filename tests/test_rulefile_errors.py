"""Malformed rule files: every error names the exact file, line and rule id, and `steward check` exits 2.

Each case is a set of files written to a temporary directory. The expectation names the file the error
must point at, its exact line (1-based), the rule id (None where the problem is outside any rule) and a
fragment of the message a user needs to fix it. The same files are then given to `steward check`,
which must exit 2 and print the error as `FILE:LINE: [RULE] MESSAGE` on stderr.
"""

from __future__ import annotations

import hashlib
import json
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

from steward.cli import cli
from steward.core import rulefile
from steward.core.yamlsource import RuleError, RuleFileErrors

REPO = Path(__file__).resolve().parent.parent
HEADER = "version: 1\nrules:\n"


def rule(body: str, rule_id: str = "sample-rule") -> str:
    """A valid rule at list level (lines 3.. of a file that starts with HEADER) with `body` after `id`.

    Layout, counting from the file's first line:
      3  - id: RULE_ID
      4    title: Sample
      5    severity: low
      6    rationale: Because.
      7.. body (each line indented by four spaces)
    """
    lines = [f"  - id: {rule_id}", "    title: Sample", "    severity: low", "    rationale: Because."]
    lines += ["    " + line for line in textwrap.dedent(body).strip("\n").splitlines()]
    return "\n".join(lines) + "\n"


GOOD_BODY = """\
when:
  age_days: {gt: 3}
then:
  - comment: "Old: {{ age_days }} days."
"""


@dataclass
class Case:
    name: str
    files: dict[str, str]
    file: str            # the file the error must name (relative to the case directory)
    line: int
    rule: str | None
    fragment: str
    args: list[str] | None = None    # what to load; default: every file, in insertion order
    extra: list[str] = field(default_factory=list)  # further fragments the message must contain


def when_case(name: str, when: str, fragment: str, line: int = 8, extra: list[str] | None = None) -> Case:
    """A rule whose `when` block (starting at line 7) is `when`; the error is expected at `line`."""
    body = "when:\n" + textwrap.indent(textwrap.dedent(when).strip("\n"), "  ") + "\nthen:\n  - comment: Hi.\n"
    return Case(name, {"rules.yml": HEADER + rule(body)}, "rules.yml", line, "sample-rule", fragment,
                extra=extra or [])


CASES = [
    # ------------------------------------------------------------------ YAML and file level
    Case("invalid-yaml-syntax",
         {"rules.yml": HEADER + rule(GOOD_BODY) + "  - id: [unclosed\n    title: x\n"},
         "rules.yml", 12, None, "invalid YAML"),
    Case("empty-file", {"rules.yml": ""}, "rules.yml", 1, None, "the file is empty"),
    Case("comments-only-file", {"rules.yml": "# nothing here\n# still nothing\n"},
         "rules.yml", 1, None, "the file is empty"),
    Case("duplicate-mapping-key",
         {"rules.yml": HEADER + rule("when:\n  age_days: {gt: 3}\nthen:\n  - comment: Hi.\ntitle: Again\n")},
         "rules.yml", 11, None, "duplicate key 'title'"),
    Case("missing-version", {"rules.yml": "rules:\n" + rule(GOOD_BODY)},
         "rules.yml", 1, None, "missing required key 'version'"),
    Case("wrong-version", {"rules.yml": "# a comment\nversion: 2\nrules: []\n"},
         "rules.yml", 2, None, "expected 1, got 2"),
    Case("unknown-top-level-key", {"rules.yml": HEADER + rule(GOOD_BODY) + "extras:\n  a: 1\n"},
         "rules.yml", 11, None, "unknown top-level key 'extras'", extra=["expected one of"]),
    Case("not-a-mapping", {"rules.yml": "- version: 1\n"}, "rules.yml", 1, None, "expected object"),
    # ------------------------------------------------------------------ rule keys (schema)
    Case("missing-title",
         {"rules.yml": HEADER + "  - id: no-title\n    severity: low\n    rationale: R.\n"
          "    when: {age_days: {gt: 1}}\n    then: [{comment: Hi.}]\n"},
         "rules.yml", 3, "no-title", "missing required key 'title'"),
    Case("bad-severity",
         {"rules.yml": HEADER + "  - id: sev-rule\n    title: T\n    severity: urgent\n    rationale: R.\n"
          "    when: {age_days: {gt: 1}}\n    then: [{comment: Hi.}]\n"},
         "rules.yml", 5, "sev-rule", "'urgent' is not one of: info, low, medium, high, critical"),
    Case("non-kebab-id", {"rules.yml": HEADER + rule(GOOD_BODY, rule_id="Bad_Rule")},
         "rules.yml", 3, "Bad_Rule", "must be kebab-case"),
    Case("unknown-rule-key",
         {"rules.yml": HEADER + rule(GOOD_BODY + "priority: 3\n")},
         "rules.yml", 11, "sample-rule", "unknown rule key 'priority'"),
    Case("empty-any-list", {"rules.yml": HEADER + rule("when:\n  any: []\nthen:\n  - comment: Hi.\n")},
         "rules.yml", 8, "sample-rule", "should be non-empty"),
    Case("unknown-operator-name",
         {"rules.yml": HEADER + rule("when:\n  age_days: {greater: 3}\nthen:\n  - comment: Hi.\n")},
         "rules.yml", 8, "sample-rule", "unknown operator 'greater'"),
    Case("wrong-value-type-string-for-gt",
         {"rules.yml": HEADER + rule("when:\n  age_days:\n    gt: \"9\"\nthen:\n  - comment: Hi.\n")},
         "rules.yml", 9, "sample-rule", 'expected number or object, got "9"'),
    # ------------------------------------------------------------------ conditions (meaning)
    when_case("unknown-fact-with-suggestion", "asignee: {missing: true}",
              "unknown fact 'asignee'", extra=["did you mean 'assignee'?"]),
    when_case("gt-on-string-fact", "priority: {gt: 3}",
              "operator 'gt' does not apply to string fact 'priority'"),
    when_case("contains-on-string-fact", "title: {contains: urgent}",
              "operator 'contains' does not apply to string fact 'title'"),
    when_case("eq-on-list-fact", "labels: {eq: urgent}", "operator 'eq' does not apply to list fact 'labels'"),
    when_case("bare-value-on-list-fact", "labels: urgent", "operator 'eq' does not apply to list fact 'labels'"),
    when_case("number-for-contains", "labels: {contains: 5}", "expected string or object, got 5"),
    when_case("string-for-number-eq", "age_days: {eq: \"9\"}", "'eq' on number fact 'age_days' needs a number"),
    when_case("boolean-for-number-gt", "age_days: {gte: true}", "expected number or object, got true"),
    when_case("in-with-wrong-item-type", "status: {in: [Open, 3]}", "needs a non-empty list of strings"),
    when_case("bad-regex", "title: {matches: \"(unclosed\"}", "bad regular expression '(unclosed'",
              extra=["missing ), unterminated subpattern"]),
    when_case("nested-error-line", "any:\n  - age_days: {gt: 3}\n  - not:\n      titel: {matches: x}",
              "unknown fact 'titel'", line=11, extra=["did you mean 'title'?"]),
    Case("unknown-setting-reference",
         {"rules.yml": HEADER + rule("settings:\n  days: 3\nwhen:\n  age_days: {gt: {setting: dayz}}\n"
                                     "then:\n  - comment: Hi.\n")},
         "rules.yml", 10, "sample-rule", "unknown setting 'dayz'", extra=["did you mean 'days'?"]),
    # ------------------------------------------------------------------ templates
    Case("template-unknown-fact",
         {"rules.yml": HEADER + rule("when:\n  age_days: {gt: 3}\nthen:\n  - comment: \"Owner: {{ owner }}\"\n")},
         "rules.yml", 10, "sample-rule", "template references unknown fact 'owner'"),
    Case("template-expression",
         {"rules.yml": HEADER + rule("when:\n  age_days: {gt: 3}\nthen:\n  - comment: \"{{ 7*7 }} days\"\n")},
         "rules.yml", 10, "sample-rule", "template placeholder {{ 7*7 }} is not a fact name"),
    Case("template-statement",
         {"rules.yml": HEADER + rule("when:\n  age_days: {gt: 3}\nthen:\n  - add_labels: [x]\n"
                                     "  - comment: \"{% if true %}x{% endif %}\"\n")},
         "rules.yml", 11, "sample-rule", "{% ... %}"),
    Case("template-in-ladder-step",
         {"rules.yml": HEADER + rule(GOOD_BODY + "escalate:\n  - after_days: 3\n"
                                     "    comment: \"Still {{ nobody }}\"\n")},
         "rules.yml", 13, "sample-rule", "template references unknown fact 'nobody'"),
    # ------------------------------------------------------------------ actions and ladders
    Case("ladder-after-days-zero",
         {"rules.yml": HEADER + rule(GOOD_BODY + "escalate:\n  - after_days: 0\n    add_labels: [late]\n")},
         "rules.yml", 12, "sample-rule", "ladder step 1 is out of order"),
    Case("ladder-after-days-negative",
         {"rules.yml": HEADER + rule(GOOD_BODY + "escalate:\n  - after_days: 5\n    add_labels: [late]\n"
                                     "  - after_days: -2\n    add_labels: [later]\n")},
         "rules.yml", 14, "sample-rule", "ladder step 2 is out of order"),
    Case("ladder-step-without-action",
         {"rules.yml": HEADER + rule(GOOD_BODY + "escalate:\n  - after_days: 5\n")},
         "rules.yml", 12, "sample-rule", "a ladder step needs at least one action besides after_days"),
    Case("ladder-step-unknown-action",
         {"rules.yml": HEADER + rule(GOOD_BODY + "escalate:\n  - after_days: 5\n    page_oncall: yes\n")},
         "rules.yml", 13, "sample-rule", "unknown action 'page_oncall'"),
    Case("unknown-action",
         {"rules.yml": HEADER + rule("when:\n  age_days: {gt: 3}\nthen:\n  - comment: Hi.\n  - add_label: [x]\n")},
         "rules.yml", 11, "sample-rule", "unknown action 'add_label'", extra=["did you mean 'add_labels'?"]),
    Case("two-actions-in-one-then-item",
         {"rules.yml": HEADER + rule("when:\n  age_days: {gt: 3}\nthen:\n  - comment: Hi.\n    add_labels: [x]\n")},
         "rules.yml", 10, "sample-rule", "one action per list item, got comment, add_labels"),
    Case("empty-then",
         {"rules.yml": HEADER + rule("when:\n  age_days: {gt: 3}\nthen: []\n")},
         "rules.yml", 9, "sample-rule", "should be non-empty"),
    # ------------------------------------------------------------------ across files
    Case("duplicate-id-in-file",
         {"rules.yml": HEADER + rule(GOOD_BODY, "twice") + rule(GOOD_BODY, "twice")},
         "rules.yml", 11, "twice", "duplicate rule id 'twice'", extra=["already defined at", "rules.yml:3"]),
    Case("duplicate-id-across-files",
         {"a.yml": HEADER + rule(GOOD_BODY, "shared-id"),
          "b.yml": "# the second file\n" + HEADER + rule(GOOD_BODY, "other-rule") + rule(GOOD_BODY, "shared-id")},
         "b.yml", 12, "shared-id", "duplicate rule id 'shared-id'", extra=["a.yml:3"]),
    Case("override-unknown-rule",
         {"a.yml": HEADER + rule(GOOD_BODY, "real-rule"),
          "b.yml": "version: 1\noverrides:\n  reel-rule:\n    severity: high\n"},
         "b.yml", 3, "reel-rule", "override for unknown rule 'reel-rule'", extra=["did you mean 'real-rule'?"]),
    Case("override-unknown-setting",
         {"a.yml": HEADER + rule("settings:\n  days: 3\nwhen:\n  age_days: {gt: {setting: days}}\n"
                                 "then:\n  - comment: Hi.\n", "real-rule"),
          "b.yml": "version: 1\noverrides:\n  real-rule:\n    settings:\n      dayz: 7\n"},
         "b.yml", 5, "real-rule", "rule 'real-rule' has no setting 'dayz'", extra=["did you mean 'days'?"]),
    Case("override-bad-severity",
         {"a.yml": HEADER + rule(GOOD_BODY, "real-rule"),
          "b.yml": "version: 1\noverrides:\n  real-rule:\n    severity: huge\n"},
         "b.yml", 4, "real-rule", "'huge' is not one of"),
    Case("unknown-file-setting",
         {"rules.yml": "version: 1\nsettings:\n  rationale_window_hours: 24\n  lookbak_days: 3\nrules: []\n"},
         "rules.yml", 4, None, "unknown file setting 'lookbak_days'"),
    # ------------------------------------------------------------------ paths
    Case("path-does-not-exist", {}, "nowhere.yml", 0, None, "no such rule file", args=["nowhere.yml"]),
    Case("directory-without-rule-files", {"empty/README.txt": "not rules\n", "empty/x.tests.yml": "cases: []\n"},
         "empty", 0, None, "no rule files", args=["empty"]),
]


def _write(tmp_path: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def _args(case: Case, tmp_path: Path) -> list[str]:
    names = case.args if case.args is not None else list(case.files)
    return [str(tmp_path / name) for name in names]


def _matching(errors: list[RuleError], case: Case, tmp_path: Path) -> list[RuleError]:
    expected_file = str(tmp_path / case.file)
    return [e for e in errors if e.file == expected_file and e.line == case.line and e.rule == case.rule
            and case.fragment in e.message and all(x in e.message for x in case.extra)]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_malformed_rule_file(case: Case, tmp_path: Path) -> None:
    _write(tmp_path, case.files)
    args = _args(case, tmp_path)

    with pytest.raises(RuleFileErrors) as raised:
        rulefile.load(args)
    errors = raised.value.errors
    found = _matching(errors, case, tmp_path)
    assert found, (f"expected {case.file}:{case.line}: [{case.rule or '-'}] ...{case.fragment}...; got:\n"
                   + "\n".join(map(str, errors)))

    result = CliRunner().invoke(cli, ["check", *args])
    assert result.exit_code == 2, result.output
    assert str(found[0]) in result.stderr.splitlines()
    assert "nothing was run" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_cases_cover_the_brief() -> None:
    assert len(CASES) >= 20
    assert len({c.name for c in CASES}) == len(CASES)


def test_error_format_is_file_line_rule_message() -> None:
    assert str(RuleError("a.yml", 7, "x-rule", "boom")) == "a.yml:7: [x-rule] boom"
    assert str(RuleError("a.yml", 1, None, "boom")) == "a.yml:1: [-] boom"


def test_every_error_in_a_file_is_reported(tmp_path: Path) -> None:
    """Several problems in one file: all reported in one run, each at its own line and rule."""
    text = HEADER + rule("when:\n  age_dayz: {gt: 3}\nthen:\n  - comment: Hi.\n", "first-rule") \
        + rule("when:\n  title: {matches: \"[\"}\nthen:\n  - comment: \"{{ nope }}\"\n", "second-rule")
    _write(tmp_path, {"rules.yml": text})
    with pytest.raises(RuleFileErrors) as raised:
        rulefile.load([str(tmp_path / "rules.yml")])
    got = sorted((e.line, e.rule) for e in raised.value.errors)
    assert got == [(8, "first-rule"), (16, "second-rule"), (18, "second-rule")], raised.value


def test_unknown_pack() -> None:
    with pytest.raises(RuleFileErrors) as raised:
        rulefile.load(["pack:governanse"])
    assert "no rule pack 'governanse'" in raised.value.errors[0].message
    assert CliRunner().invoke(cli, ["check", "pack:governanse"]).exit_code == 2


# ---------------------------------------------------------------------------- valid files


def test_valid_file_passes(tmp_path: Path) -> None:
    _write(tmp_path, {"rules.yml": HEADER + rule(GOOD_BODY)})
    rules = rulefile.load([str(tmp_path / "rules.yml")])
    assert [r.id for r in rules.rules] == ["sample-rule"]
    result = CliRunner().invoke(cli, ["check", str(tmp_path / "rules.yml")])
    assert result.exit_code == 0, result.stderr
    assert "ok: 1 rules in 1 file(s)" in result.stdout


def test_bundled_rules_directory_passes() -> None:
    result = CliRunner().invoke(cli, ["check", str(REPO / "rules")])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("ok: 17 rules")


def test_default_pack_with_valid_override_passes(tmp_path: Path) -> None:
    _write(tmp_path, {"team.yml": "version: 1\noverrides:\n  unowned-exception:\n    settings: {days: 7}\n"
                                  "  unclassified-work: {enabled: false}\n"})
    rules = rulefile.load(["pack:governance", str(tmp_path / "team.yml")])
    ids = [r.id for r in rules.rules]
    assert "unclassified-work" not in ids and len(ids) == 16
    assert rules.by_id()["unowned-exception"].settings["days"] == 7


# ---------------------------------------------------------------------------- plan refuses broken rules


def _board() -> dict:
    return {"issues": [{
        "key": "OPS-1", "title": "Exception for vendor X", "body": "", "type": "exception", "status": "Open",
        "status_category": "todo", "priority": "High", "labels": ["exception"], "assignee": None,
        "reporter": "ana", "created": "2026-01-01T09:00:00Z", "updated": "2026-01-02T09:00:00Z",
        "due": None, "comments": [], "changes": [],
    }]}


@pytest.mark.parametrize("command", ["plan", "apply"])
def test_plan_and_apply_refuse_broken_rules_and_leave_board_untouched(command: str, tmp_path: Path) -> None:
    board = tmp_path / "board.json"
    board.write_text(json.dumps(_board(), indent=2), encoding="utf-8")
    before = hashlib.sha256(board.read_bytes()).hexdigest()
    mtime = board.stat().st_mtime_ns
    broken = tmp_path / "broken.yml"
    broken.write_text(HEADER + rule("when:\n  labels: {gt: 3}\nthen:\n  - comment: Hi.\n"), encoding="utf-8")

    result = CliRunner().invoke(cli, [command, "--tracker", f"files:{board}", "--rules", str(broken),
                                      "--now", "2026-11-20T09:00:00Z"])
    assert result.exit_code == 2, result.output
    assert f"{broken}:8: [sample-rule] operator 'gt' does not apply to list fact 'labels'" in result.stderr
    assert hashlib.sha256(board.read_bytes()).hexdigest() == before
    assert board.stat().st_mtime_ns == mtime
    assert sorted(p.name for p in tmp_path.iterdir()) == ["board.json", "broken.yml"]


def test_plan_with_valid_rules_on_the_same_board_runs(tmp_path: Path) -> None:
    """Control for the test above: the board and command line are fine, only the rules were broken."""
    board = tmp_path / "board.json"
    board.write_text(json.dumps(_board(), indent=2), encoding="utf-8")
    result = CliRunner().invoke(cli, ["plan", "--tracker", f"files:{board}", "--now", "2026-11-20T09:00:00Z",
                                      "--format", "json"])
    assert result.exit_code == 0, result.stderr
    rules_fired = {f["rule"] for f in json.loads(result.stdout)["findings"]}
    assert "unowned-exception" in rules_fired
