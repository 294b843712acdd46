"""Checks for what users copy and paste: Markdown code blocks, workflows, cron lines, systemd units.

Used by tests/test_docs.py (every block in README.md and docs/) and tests/test_init.py (the files that
`steward init` writes), so a block in the docs and the file it describes are held to the same checks.
"""

from __future__ import annotations

import configparser
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
# `<!-- not-code: REASON -->` right before a block: deliberately not runnable, and why.
NOT_CODE = re.compile(r"<!--\s*not-code:\s*(.+?)\s*-->\s*$")
# `<!-- runs-in-tests -->` right before a shell block: tests/test_docs.py runs it (with /tmp/ redirected).
RUNS = re.compile(r"<!--\s*runs-in-tests\s*-->\s*$")
CRON_ENV_VARS = ("JIRA_URL", "JIRA_EMAIL", "JIRA_API_TOKEN")
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")


@dataclass
class Block:
    file: str
    line: int
    language: str
    text: str
    not_code: str | None  # the reason given, for a block marked not-code
    runs: bool

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


def blocks(path: Path, root: Path) -> list[Block]:
    text = path.read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(text):
        before = text[: match.start()].rstrip("\n").splitlines()
        previous = before[-1] if before else ""
        not_code = NOT_CODE.search(previous)
        found.append(Block(str(path.relative_to(root)), text.count("\n", 0, match.start()) + 1,
                           match.group(1).strip(), match.group(2), not_code.group(1) if not_code else None,
                           bool(RUNS.search(previous))))
    return found


# ---------------------------------------------------------------- GitHub schemas

def github_schema_errors(path: Path, schema: str) -> str:
    """'' when `path` matches GitHub's published schema `schema` (github-workflows or github-actions).

    The schemas are the ones check-jsonschema vendors (it reads YAML 1.2, where `on:` is a key, not True).
    """
    result = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", f"vendor.{schema}",
                             str(path)], capture_output=True, text=True)
    return "" if result.returncode == 0 else (result.stdout + result.stderr)


# ---------------------------------------------------------------- shell

def shell_syntax_errors(text: str, shell: str = "bash") -> str:
    result = subprocess.run([shell, "-n"], input=text, capture_output=True, text=True)
    return "" if result.returncode == 0 else result.stderr


# ---------------------------------------------------------------- cron

@dataclass
class CronEntry:
    schedule: list[str]
    user: str
    command: str


def cron_entries(text: str) -> list[CronEntry]:
    """The job lines of an /etc/cron.d file (minute hour day month weekday user command)."""
    entries = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or re.match(r"^[A-Z_]+=", line):
            continue
        fields = line.split(None, 6)
        assert len(fields) == 7, f"not a cron.d job line (5 times, a user, a command): {line}"
        for field, allowed in zip(fields[:5], (r"[\d*/,-]+",) * 5, strict=True):
            assert re.fullmatch(allowed, field), f"odd cron time field {field!r} in: {line}"
        # cron turns an unescaped % into a newline: a command must not contain one.
        assert "%" not in fields[6], f"cron would cut the command at '%': {line}"
        entries.append(CronEntry(fields[:5], fields[5], fields[6]))
    return entries


def _stub(path: Path, record: Path) -> None:
    """A stand-in `steward` that fails unless the credentials reached it as exported variables."""
    path.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        f"missing = [n for n in {CRON_ENV_VARS!r} if n not in os.environ]\n"
        "if missing:\n"
        "    print('not exported:', ' '.join(missing)); sys.exit(3)\n"
        f"with open({str(record)!r}, 'a') as out:\n"
        "    out.write(json.dumps({'argv': sys.argv[1:], 'url': os.environ['JIRA_URL']}) + '\\n')\n"
        "print('stub steward ran')\n", encoding="utf-8")
    path.chmod(0o755)


@dataclass
class CronRun:
    returncode: int
    calls: list[str]   # one JSON line per stub run
    log: str


class CronSandbox:
    """Runs a cron job's command with /bin/sh as cron would: a bare environment, the system paths it names
    moved into a temporary directory, and `steward` replaced by a stub that checks the exported variables."""

    def __init__(self, tmp_path: Path):
        self.root = tmp_path
        self.env_file = tmp_path / "etc" / "jira.env"
        self.env_file.parent.mkdir(parents=True)
        self.env_file.write_text("JIRA_URL=https://jira.example.invalid\nJIRA_EMAIL=ops@example.invalid\n"
                                 "JIRA_API_TOKEN=cron-test-value\n", encoding="utf-8")
        self.record = tmp_path / "calls.jsonl"
        self.bin = tmp_path / "opt" / "bin"
        self.bin.mkdir(parents=True)
        _stub(self.bin / "steward", self.record)
        self.state = tmp_path / "state"
        self.logs = tmp_path / "log"
        self.state.mkdir()
        self.logs.mkdir()

    def localize(self, command: str) -> str:
        replaced = (command.replace("/etc/steward/jira.env", str(self.env_file))
                    .replace("/opt/steward/bin/steward", str(self.bin / "steward"))
                    .replace("/var/lib/steward/", f"{self.state}/")
                    .replace("/var/log/steward/", f"{self.logs}/")
                    .replace("/etc/steward/rules/", f"{self.root}/rules/"))
        outside = [word for word in shlex.split(replaced.replace(";", " ; "))
                   if word.startswith("/") and not word.startswith(str(self.root))]
        assert not outside, f"the cron command names paths the sandbox does not move: {outside}"
        return replaced

    def lock_path(self, command: str) -> Path:
        words = shlex.split(self.localize(command).replace(";", " ; "))
        return Path(words[words.index("-n") + 1])

    def run(self, command: str) -> CronRun:
        cron_env = {"PATH": "/usr/bin:/bin", "HOME": str(self.root), "SHELL": "/bin/sh", "LANG": "C"}
        result = subprocess.run(["/bin/sh", "-c", self.localize(command)], env=cron_env, capture_output=True,
                                text=True, timeout=60)
        calls = self.record.read_text().splitlines() if self.record.exists() else []
        logs = "".join(p.read_text() for p in sorted(self.logs.glob("*.log")))
        return CronRun(result.returncode, calls, logs + result.stdout + result.stderr)


# ---------------------------------------------------------------- systemd

def unit_sections(text: str) -> configparser.ConfigParser:
    """Parse a unit file as INI (systemd allows repeated keys, which configparser keeps the last of)."""
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",),
                                       comment_prefixes=("#", ";"), empty_lines_in_values=False)
    parser.optionxform = str  # keys are case-sensitive in systemd
    parser.read_string(text)
    return parser


def systemd_verify(units: dict[str, str], tmp_path: Path) -> str:
    """'' when `systemd-analyze verify` accepts the units and says nothing about them.

    ExecStart's /opt/steward/bin/steward is replaced by an executable stub (verify checks that it exists).
    """
    directory = tmp_path / "units"
    directory.mkdir(exist_ok=True)
    stub = tmp_path / "steward-stub"
    stub.write_text("#!/bin/sh\nexit 0\n")
    stub.chmod(0o755)
    paths = []
    for name, text in units.items():
        path = directory / name
        path.write_text(text.replace("/opt/steward/bin/steward", str(stub)), encoding="utf-8")
        paths.append(str(path))
    env = {**os.environ, "SYSTEMD_LOG_LEVEL": "warning"}
    result = subprocess.run([SYSTEMD_ANALYZE, "verify", *paths], capture_output=True, text=True, env=env,
                            timeout=60)
    noise = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    return "" if result.returncode == 0 and not noise else "\n".join(noise) or f"exit {result.returncode}"


# ---------------------------------------------------------------- logrotate

LOGROTATE = shutil.which("logrotate") or ("/usr/sbin/logrotate" if os.path.exists("/usr/sbin/logrotate") else None)


def logrotate_force(text: str, tmp_path: Path) -> tuple[str, list[str]]:
    """Rotate a log once with the snippet (forced), its /var/log/steward/ moved into tmp_path and its user
    made the current one. Returns logrotate's complaints and the files left in the log directory."""
    import getpass
    import grp

    logs = tmp_path / "log"
    logs.mkdir()
    (logs / "steward.log").write_text("one run\n")
    user, group = getpass.getuser(), grp.getgrgid(os.getgid()).gr_name
    config = tmp_path / "logrotate.conf"
    config.write_text(text.replace("/var/log/steward/", f"{logs}/").replace("steward steward", f"{user} {group}"))
    result = subprocess.run([LOGROTATE, "-f", "-s", str(tmp_path / "state"), str(config)], capture_output=True,
                            text=True, timeout=60)
    complaints = [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("error")]
    if result.returncode:
        complaints.append(f"exit {result.returncode}")
    return "\n".join(complaints), sorted(p.name for p in logs.iterdir())
