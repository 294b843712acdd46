"""`steward init github|jira|files`: starter files for a new setup, written into the current directory.

Every kind gets a rules directory with a rule file that extends the default pack through `overrides`, its
test cases and the rule-file schema (for editors); github adds the workflow, jira the cron line, systemd
units, an env-file template and a logrotate snippet, files a starter board. An existing file is never
overwritten: it is skipped and named.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from . import ruleschema

TEMPLATES = Path(__file__).with_name("init_templates")
KINDS = ("github", "jira", "files")
# The action the generated workflow uses, as the workflow writes it: the repository that publishes
# Steward's action.yml and its major version tag. `steward init github --action OWNER/REPO@REF` sets another.
DEFAULT_ACTION = "OWNER/steward@v1"

_RULES_DIR = {"github": ".github/steward", "jira": "steward/rules", "files": "steward/rules"}
# template name -> path written, per kind (the rules directory's files are added for every kind)
_EXTRA = {
    "github": {"workflow.yml": ".github/workflows/steward.yml"},
    "jira": {"jira.env": "steward/jira.env.example", "cron": "steward/steward.cron",
             "steward-jira.service": "steward/steward-jira.service",
             "steward-jira.timer": "steward/steward-jira.timer", "logrotate": "steward/steward.logrotate"},
    "files": {"board.json": "steward/board.json"},
}


@dataclass(frozen=True)
class Written:
    path: str
    skipped: bool  # True: the file existed and was left as it was


def plan_files(kind: str, action: str = DEFAULT_ACTION) -> dict[str, str]:
    """Relative path -> content of every file `init KIND` writes."""
    rules_dir = _RULES_DIR[kind]
    files = {f"{rules_dir}/team.yml": (TEMPLATES / "team.yml").read_text(encoding="utf-8"),
             f"{rules_dir}/team.tests.yml": (TEMPLATES / "team.tests.yml").read_text(encoding="utf-8"),
             f"{rules_dir}/rulefile.schema.json": json.dumps(ruleschema.schema(), indent=2) + "\n"}
    for template, target in _EXTRA[kind].items():
        text = (TEMPLATES / template).read_text(encoding="utf-8")
        files[target] = text.replace(DEFAULT_ACTION, action) if template == "workflow.yml" else text
    return files


def scaffold(kind: str, root: Path, action: str = DEFAULT_ACTION) -> list[Written]:
    """Write the files of `kind` under `root`, skipping every file that already exists."""
    results = []
    for relative, text in plan_files(kind, action).items():
        target = root / relative
        if target.exists() or target.is_symlink():
            results.append(Written(relative, skipped=True))
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("x", encoding="utf-8") as handle:  # "x": never replace a file that appeared meanwhile
            handle.write(text)
        results.append(Written(relative, skipped=False))
    return results


def next_steps(kind: str, action: str = DEFAULT_ACTION) -> list[str]:
    """What to run (or do) next, one line each."""
    rules_dir = _RULES_DIR[kind]
    check = f"steward check pack:governance {rules_dir}/ && steward test {rules_dir}/"
    if kind == "files":
        return [check, f"steward plan --tracker files:steward/board.json --rules pack:governance --rules {rules_dir}/"]
    if kind == "jira":
        return [check,
                "export JIRA_URL=... JIRA_EMAIL=... JIRA_API_TOKEN=...   # or JIRA_TOKEN=... on Data Center",
                f"steward plan --tracker jira --jql 'project = OPS AND statusCategory != Done' "
                f"--rules pack:governance --rules {rules_dir}/",
                "then install the service user, cron line or systemd units, and log rotation: each file in "
                "steward/ says how in its first lines"]
    steps = [check, "git add .github && git commit -m 'Steward governance rules' && git push"]
    if action == DEFAULT_ACTION:
        steps.append(f".github/workflows/steward.yml uses {DEFAULT_ACTION}: replace OWNER with the account that "
                     "publishes Steward's action, or run init with --action OWNER/REPO@REF")
    return steps
