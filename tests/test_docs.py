"""Every code block in README.md and docs/ is code: it parses, and what can run here runs.

The language of a block decides its check (docs/development.md, "Documentation is tested"); a block that is
deliberately not runnable says so with `<!-- not-code: REASON -->` right before it.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from copypaste import (
    LOGROTATE,
    SYSTEMD_ANALYZE,
    Block,
    CronSandbox,
    blocks,
    cron_entries,
    github_schema_errors,
    logrotate_force,
    shell_syntax_errors,
    systemd_verify,
    unit_sections,
)

from helpers import ROOT, steward
from steward.core import plugins
from steward.core.rulefile import load

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
ALL = [block for path in DOCS for block in blocks(path, ROOT)]
CODE = [block for block in ALL if block.not_code is None]
KNOWN = {"bash", "sh", "yaml", "json", "ini", "crontab", "logrotate", "toml", "python", "text"}
OUTPUT_OF = re.compile(r"<!--\s*output-of:\s*(.+?)\s*-->\s*$")
TEMPLATES = ROOT / "core" / "init_templates"


def _of(language: str) -> list[Block]:
    return [block for block in CODE if block.language == language]


def _ids(block: Block) -> str:
    return block.where


def test_the_docs_have_blocks_and_each_names_a_known_language():
    assert len(ALL) > 40 and {block.file for block in ALL} >= {"README.md", "docs/rules.md", "docs/jira.md"}
    unknown = [f"{block.where} ({block.language or 'no language'})" for block in CODE if block.language not in KNOWN]
    assert not unknown, f"say what each block is (or mark it <!-- not-code: REASON -->): {unknown}"
    assert all(block.not_code.strip() for block in ALL if block.not_code is not None)


@pytest.mark.parametrize("block", _of("bash") + _of("sh"), ids=_ids)
def test_shell_blocks_parse(block):
    assert shell_syntax_errors(block.text, "bash" if block.language == "bash" else "sh") == "", block.where


def _tracked_state() -> dict[str, tuple[int, int]]:
    """Size and mtime of the files a tour could rewrite, and the names at the top of the repository."""
    state = {name: (0, 0) for name in os.listdir(ROOT) if name not in ("__pycache__", ".pytest_cache")}
    for folder in ("examples", "rules", "docs", "core"):
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                stat = path.stat()
                state[str(path.relative_to(ROOT))] = (stat.st_size, stat.st_mtime_ns)
    return state


@pytest.mark.parametrize("block", [b for b in CODE if b.runs], ids=_ids)
def test_runnable_shell_blocks_run_and_leave_the_checkout_as_it_was(block, tmp_path):
    assert block.language == "bash", f"{block.where}: only bash blocks are run"
    script = block.text.replace("/tmp/", f"{tmp_path}/")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    before = _tracked_state()
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, f"{block.where}\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr
    assert _tracked_state() == before, f"{block.where} changed files in the checkout"
    assert list(tmp_path.iterdir()), "the block wrote nothing where it said (/tmp/)"


def _is_workflow(data) -> bool:
    return isinstance(data, dict) and "jobs" in data and (True in data or "on" in data)


def _is_rule_file(data) -> bool:
    return isinstance(data, dict) and data.get("version") == 1 and ("rules" in data or "overrides" in data)


def _preceding_rule_file(block: Block) -> Block:
    earlier = [b for b in _of("yaml") if b.file == block.file and b.line < block.line
               and _is_rule_file(yaml.safe_load(b.text))]
    assert earlier, f"{block.where}: a tests block needs the rule file it tests above it"
    return earlier[-1]


@pytest.mark.parametrize("block", _of("yaml"), ids=_ids)
def test_yaml_blocks_parse_and_workflows_and_rule_files_are_valid(block, tmp_path):
    documents = list(yaml.safe_load_all(block.text))
    data = documents[0]
    if _is_workflow(data):
        path = tmp_path / "workflow.yml"
        path.write_text(block.text)
        assert github_schema_errors(path, "github-workflows") == "", block.where
    elif _is_rule_file(data):
        path = tmp_path / "rules.yml"
        path.write_text(block.text)
        result = steward("check", "pack:governance", str(path))
        assert result.exit_code == 0, f"{block.where}: {result.output}"
    elif isinstance(data, dict) and "cases" in data:
        rule_block = _preceding_rule_file(block)
        for name in data.get("rules", []):
            if not name.startswith("pack:"):
                (tmp_path / name).write_text(rule_block.text)
        (tmp_path / "block.tests.yml").write_text(block.text)
        result = steward("test", str(tmp_path))
        assert result.exit_code == 0, f"{block.where}: {result.output}"
        assert result.output.strip().endswith(f"{len(data['cases'])} passed, 0 failed")


@pytest.mark.parametrize("block", _of("json"), ids=_ids)
def test_json_blocks_parse_and_boards_plan(block, tmp_path):
    data = json.loads(block.text)
    if isinstance(data, dict) and isinstance(data.get("issues"), list):
        board = tmp_path / "board.json"
        board.write_text(block.text)
        result = steward("plan", "--tracker", f"files:{board}", "--now", "2026-11-20T09:00:00Z", "--format", "json")
        assert result.exit_code == 0, f"{block.where}: {result.output}"
        assert json.loads(result.stdout)["issues_seen"] == len(data["issues"])


def _unit_kind(block: Block) -> str | None:
    sections = unit_sections(block.text).sections()
    return "service" if "Service" in sections else "timer" if "Timer" in sections else None


@pytest.mark.parametrize("block", _of("ini"), ids=_ids)
def test_ini_blocks_parse(block):
    parsed = unit_sections(block.text)
    assert parsed.sections(), block.where


def test_unit_files_pass_systemd_analyze_verify(tmp_path):
    units = [block for block in _of("ini") if _unit_kind(block)]
    assert units, "the docs show systemd units"
    if SYSTEMD_ANALYZE is None:
        pytest.skip("systemd-analyze is not installed: the unit blocks were parsed, not verified")
    # A service and the timer after it share a name, as the timer expects.
    named, count = {}, 0
    for block in units:
        kind = _unit_kind(block)
        if kind == "service":
            count += 1
        named[f"docs-unit-{count}.{kind}"] = block.text
    assert systemd_verify(named, tmp_path) == ""


@pytest.mark.parametrize("block", _of("crontab"), ids=_ids)
def test_cron_lines_export_the_credentials_and_take_the_lock(block, tmp_path):
    entries = cron_entries(block.text)
    assert entries, block.where
    for index, entry in enumerate(entries):
        sandbox = CronSandbox(tmp_path / f"job{index}")
        ran = sandbox.run(entry.command)
        assert ran.returncode == 0 and len(ran.calls) == 1, f"{block.where}: {ran.log}"
        assert "flock -n" in entry.command, "a cron job must not overlap the previous run"


@pytest.mark.parametrize("block", _of("logrotate"), ids=_ids)
def test_logrotate_blocks_rotate_a_log(block, tmp_path):
    if LOGROTATE is None:
        pytest.skip("logrotate is not installed: the snippet was not run")
    complaints, left = logrotate_force(block.text, tmp_path)
    assert complaints == "" and "steward.log.1" in left, (block.where, complaints, left)


@pytest.mark.parametrize("block", _of("toml") + _of("python"), ids=_ids)
def test_toml_and_python_blocks_parse(block):
    if block.language == "toml":
        tomllib.loads(block.text)
    else:
        compile(block.text, block.where, "exec")


def _output_blocks() -> list[tuple[Block, str]]:
    found = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8").splitlines()
        for block in blocks(path, ROOT):
            marker = OUTPUT_OF.search(text[block.line - 2]) if block.line >= 2 else None
            if marker:
                found.append((block, marker.group(1)))
    return found


@pytest.mark.parametrize("block, command", _output_blocks(), ids=lambda x: x.where if isinstance(x, Block) else "")
def test_sample_output_is_what_the_command_prints_now(block, command, monkeypatch):
    assert block.language == "text"
    words = shlex.split(command)
    assert words[0] == "steward"
    monkeypatch.chdir(ROOT)
    result = steward(*words[1:])
    assert result.exit_code == 0, result.output
    printed = iter(result.stdout.splitlines())
    for line in block.text.splitlines():
        if line.strip() in ("", "…"):
            continue
        assert any(line == out for out in printed), f"{block.where}: not printed (in this order): {line}"


def test_the_readme_shows_exactly_the_files_steward_init_writes():
    readme = {block.text for block in blocks(ROOT / "README.md", ROOT)}
    for template in ("workflow.yml", "cron", "steward-jira.service", "steward-jira.timer", "logrotate", "jira.env"):
        assert (TEMPLATES / template).read_text(encoding="utf-8") in readme, f"README differs from {template}"


def test_the_readme_is_ordered_for_users():
    headings = re.findall(r"^## (.+)$", (ROOT / "README.md").read_text(encoding="utf-8"), re.MULTILINE)
    assert headings == ["Install", "Your first plan on your own data", "Write a rule", "Test it",
                        "Jira on a schedule", "GitHub: the Action", "Your own fields", "Report", "Read more"]


PENDING_PAGES: set[str] = set()  # pages a link may name before they are written


def _anchors(path: Path) -> set[str]:
    headings = re.findall(r"^#+ (.+)$", path.read_text(encoding="utf-8"), re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower().replace("`", "")).replace(" ", "-") for h in headings}


def test_relative_links_point_at_files_and_headings_that_exist():
    broken = []
    for path in DOCS:
        for target in re.findall(r"\]\(([^)\s]+)\)", path.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+:", target):
                continue
            file_part, _, anchor = target.partition("#")
            linked = (path.parent / file_part).resolve() if file_part else path
            relative = linked.relative_to(ROOT).as_posix() if linked.is_relative_to(ROOT) else str(linked)
            if relative in PENDING_PAGES:
                continue
            if not linked.exists() or (anchor and linked.suffix == ".md" and anchor not in _anchors(linked)):
                broken.append(f"{path.relative_to(ROOT)}: {target}")
    assert not broken, broken


def test_the_rule_reference_lists_every_fact_and_every_rule_of_the_default_pack():
    """docs/rules.md is what rule authors read: a fact or a pack rule it does not name is one they cannot find."""
    page = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    facts = page.split("## Facts")[1].split("\n## ")[0]
    pack = page.split("## The default governance pack")[1].split("\n## ")[0]
    named = set(re.findall(r"^\| `([a-z_]+)(?:\([A-Z]+\))?` \|", facts, re.MULTILINE))
    assert named == set(plugins.facts())
    listed = re.findall(r"^\| `([a-z0-9-]+)` \|", pack, re.MULTILINE)
    assert listed == [rule.id for rule in load(["pack:governance"]).rules]
