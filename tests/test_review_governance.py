"""The report's governance view: the work mix per team and its trend, the exemptions in use, the success
metrics read from demo records, and "what to decide next" grouped by altitude."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import timedelta

from helpers import DEMO_NOW, copy_board, steward
from steward.core.history import SCHEMA_VERSION, History
from steward.core.model import Comment, Issue
from steward.core.review import ReviewCollector
from steward.core.review_governance import exempting_labels
from steward.core.review_markdown import render_markdown
from steward.core.rulefile import load
from steward.core.timeutil import parse_time

NOW = parse_time(DEMO_NOW)
ALTITUDES = ("strategic", "operational", "tactical")


def _markdown(board, *extra: str, now: str = DEMO_NOW) -> str:
    result = steward("report", "--tracker", f"files:{board}", "--now", now, "--format", "markdown", *extra)
    assert result.exit_code == 0, result.output
    return result.stdout


def _section(markdown: str, title: str) -> str:
    return markdown.split(f"### {title}")[1].split("\n### ")[0]


def _rows(section: str) -> dict[str, list[str]]:
    rows = {}
    for line in section.splitlines():
        if line.startswith("| ") and not line.startswith("| Team") and not line.startswith("| Issue"):
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            rows[cells[0]] = cells[1:]
    return rows


def test_the_work_mix_per_team_matches_an_independent_count_of_the_board(tmp_path):
    board = copy_board(tmp_path)
    expected: dict[str, Counter] = defaultdict(Counter)
    for raw in json.loads(board.read_text())["issues"]:
        if raw.get("status_category") == "done":
            continue
        labels = [label.lower() for label in raw.get("labels", [])]
        kind = next((a for a in ALTITUDES if a in labels), None) or (
            (raw.get("type") or "").lower() if (raw.get("type") or "").lower() in ALTITUDES else "unclassified")
        expected[raw["components"][0]][kind] += 1
    rows = _rows(_section(_markdown(board), "Work mix by team"))
    assert len(expected) == 3  # Infrastructure, Security, People on the demo board
    for team, counts in expected.items():
        total = sum(counts.values())
        cells = rows[team]
        shown = [0 if cell == "·" else int(cell) for cell in cells[:4]]
        assert shown == [counts[a] for a in (*ALTITUDES, "unclassified")]
        assert cells[4] == f"**{total}**" and cells[5] == f"{counts['strategic'] / total:.0%}"
    everyone = sum((c for c in expected.values()), Counter())
    assert rows["**All teams**"][4] == f"**{sum(everyone.values())}**"


def test_exemptions_list_state_by_record_and_only_accountable_records_count(tmp_path):
    board = copy_board(tmp_path)
    data = json.loads(board.read_text())
    issues = {raw["key"]: raw for raw in data["issues"]}
    # OPS-302 carries on-hold with no record: a bystander's record does not make it valid.
    issues["OPS-302"]["comments"].append({"author": "bystander", "created": "2026-11-19T10:00:00Z",
                                          "body": "Exempt until 2027-06-01: I think this is fine"})
    # OPS-112 gets a current record by its owner (and the label that the record governs).
    issues["OPS-112"]["labels"].append("wontfix")
    issues["OPS-112"]["comments"].append({"author": "li.wei", "created": "2026-11-18T10:00:00Z",
                                          "body": "Exempt until 2026-12-31: vendor freeze until year end"})
    board.write_text(json.dumps(data), encoding="utf-8")
    section = _section(_markdown(board), "Exemptions")
    rows = _rows(section)
    assert rows["[OPS-302](https://example.invalid/browse/OPS-302)"][-1] == "no record"
    assert rows["[OPS-303](https://example.invalid/browse/OPS-303)"][-3:] == [
        "backup vendor migration freeze", "Li Wei", "expired"]
    valid = rows["[OPS-112](https://example.invalid/browse/OPS-112)"]
    assert valid[1:] == ["Security", "Li Wei", "wontfix", "2026-12-31", "vendor freeze until year end", "Li Wei",
                         "valid"]
    # Expired and unrecorded first, then the valid ones.
    order = [key for key in rows if key.startswith("[OPS-")]
    assert order[-1] == "[OPS-112](https://example.invalid/browse/OPS-112)" and len(order) == 3
    assert "By owner: Li Wei: 1 valid, 1 expired; Tom Becker: 1 no record." in section


def test_exempting_labels_are_those_governed_by_an_exemption_record():
    rules = load(["pack:governance"])
    assert exempting_labels(rules.rules) == {"wontfix", "on-hold"}  # not `escalated` nor `temporary-approval`


def test_success_metrics_read_every_demo_record_and_chart_them(tmp_path):
    board = copy_board(tmp_path)
    section = _section(_markdown(board), "Success metrics from demos")
    row = _rows(section)["[OPS-301](https://example.invalid/browse/OPS-301)"]
    assert row[2:] == ["3", "5.2 → 4.4 → 4.1", "onboarding time 4.1 days (target 3)"]
    out = tmp_path / "r.html"
    assert steward("report", "--tracker", f"files:{board}", "--now", DEMO_NOW, "--out", str(out)).exit_code == 0
    metrics = out.read_text(encoding="utf-8").split('<section id="metrics">')[1].split("</section>")[0]
    assert metrics.count("<svg") == 1
    assert re.findall(r"<title>[^<]*: (\d\.\d)</title>", metrics) == ["5.2", "4.4", "4.1"]


def test_what_to_decide_next_is_grouped_strategic_first(tmp_path):
    decide = _section(_markdown(copy_board(tmp_path)), "What to decide next")
    numbers = [int(n) for n in re.findall(r"^\| (\d+) \|", decide, re.MULTILINE)]
    assert numbers == list(range(1, len(numbers) + 1))  # numbered straight through the groups
    assert decide.index("**Strategic**") < decide.index("**Operational**") < decide.index("**Tactical**")


def test_the_mix_trend_comes_from_the_history(tmp_path):
    board = copy_board(tmp_path)
    history = tmp_path / "h.sqlite"
    _markdown(board, "--history", str(history), now="2026-11-13T09:00:00Z")
    markdown = _markdown(board, "--history", str(history))
    mix = _section(markdown, "Work mix by team")
    trend = mix.split("Share of open issues by altitude")[1]
    runs = re.findall(r"^\| (2026-11-\d\dT09:00:00Z) \|", trend, re.MULTILINE)
    assert runs == ["2026-11-20T09:00:00Z", "2026-11-13T09:00:00Z"]


_V1_SCHEMA = """
CREATE TABLE runs (id INTEGER PRIMARY KEY, at TEXT NOT NULL, recorded_at TEXT NOT NULL, mode TEXT NOT NULL,
    tracker TEXT NOT NULL, query TEXT, issues INTEGER, findings INTEGER, high_critical INTEGER, no_owner INTEGER,
    priority_changes INTEGER, priority_explained INTEGER, escalations INTEGER, followed_up INTEGER,
    median_follow_up_hours REAL, waiting INTEGER, steps INTEGER, deferred INTEGER);
PRAGMA application_id = 1398036292;
PRAGMA user_version = 1;
"""


def _version_1_file(path):
    connection = sqlite3.connect(path)
    connection.executescript(_V1_SCHEMA)
    connection.execute("INSERT INTO runs (at, recorded_at, mode, tracker, query, findings) "
                       "VALUES ('2026-11-13T09:00:00Z', '2026-11-13T09:00:01Z', 'plan', 'files:x', NULL, 7)")
    connection.commit()
    connection.close()


def test_a_version_1_history_file_is_upgraded_in_place_and_keeps_its_rows(tmp_path):
    path = tmp_path / "old.sqlite"
    _version_1_file(path)
    history = History(path)
    history.append(NOW, "report", "files:x", None, {"findings": 3, "mix_strategic": 2, "mix_operational": 1,
                                                   "mix_tactical": 0, "mix_unclassified": 0})
    old, new = history.runs("files:x", None)
    assert old.measures["findings"] == 7 and old.measures["mix_strategic"] is None
    assert new.measures["mix_strategic"] == 2
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_two_processes_opening_the_same_old_file_upgrade_it_once(tmp_path):
    path = tmp_path / "old.sqlite"
    _version_1_file(path)
    code = f"from steward.core.history import History; History({str(path)!r})"
    procs = [subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True) for _ in range(4)]
    errors = [proc.communicate(timeout=60)[1] for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0, 0, 0], errors
    with sqlite3.connect(path) as connection:
        columns = [row[1] for row in connection.execute("PRAGMA table_info(runs)")]
    assert columns.count("mix_strategic") == 1


def test_exemption_and_metric_lists_stay_bounded_and_say_how_many_more():
    rules = load(["pack:governance"])
    collector = ReviewCollector(rules, NOW, tracker="files:x", limit=2)
    issues = []
    for n in range(5):
        at = NOW - timedelta(days=10 - n)
        issues.append(Issue(key=f"X-{n}", title=f"t{n}", labels=["on-hold"], assignee="ann", project="X",
                            comments=[Comment("ann", at, f"Exempt until 2026-11-0{n + 1}: reason {n}"),
                                      Comment("ann", at, f"Demo: metric {n}.5")]))
    issues.append(Issue(key="X-9", title="closed", labels=["on-hold"], assignee="ann", project="X",
                        status_category="done"))  # a closed issue's label exempts nothing any more
    collector(issues, [{} for _ in issues], [[] for _ in issues])
    review = collector.result()
    assert review.governance.exemptions_total == 5 and len(review.governance.exemptions) == 2
    assert [use.key for use in review.governance.exemptions] == ["X-0", "X-1"]  # expired longest ago first
    assert [series.key for series in review.governance.metrics] == ["X-4", "X-3"]  # latest demos first
    markdown = render_markdown(review)
    assert "… and 3 more exemptions" in markdown and "… and 3 more initiatives" in markdown
