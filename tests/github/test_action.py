"""action.yml: the composite action the workflow `steward init github` writes uses."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
STEPS = ACTION["runs"]["steps"]


def _step(step_id: str) -> dict:
    return next(s for s in STEPS if s.get("id") == step_id)


def test_action_is_a_composite_on_python_312_with_the_documented_interface():
    assert ACTION["runs"]["using"] == "composite"
    setup = [s for s in STEPS if str(s.get("uses", "")).startswith("actions/setup-python")]
    assert setup and setup[0]["with"]["python-version"] == "3.12"
    assert {"rules", "dry-run", "max-actions", "token", "fail-on-findings"} <= set(ACTION["inputs"])
    assert ACTION["inputs"]["token"]["default"] == "${{ github.token }}"
    assert set(ACTION["outputs"]) == {"findings", "actions", "issues-found", "issues-acted-on"}
    assert ACTION["inputs"]["digest"]["default"] == ""
    assert '"$STEWARD" event' in _step("steward")["run"]


def test_inputs_and_step_outputs_reach_scripts_only_through_the_environment():
    """A `${{ }}` spliced into a script is a script-injection hole (an issue title could be code)."""
    for step in STEPS:
        if "run" in step:
            assert "${{" not in step["run"], step.get("name")
            assert step["shell"] == "bash"


def test_action_matches_githubs_published_schema():
    result = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-actions",
                             str(ROOT / "action.yml")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_environment_is_cached_under_a_key_of_os_python_and_the_packages_own_files():
    restore = next(s for s in STEPS if str(s.get("uses", "")).startswith("actions/cache/restore"))
    save = next(s for s in STEPS if str(s.get("uses", "")).startswith("actions/cache/save"))
    install = next(s for s in STEPS if s.get("name") == "Install Steward")
    assert restore["with"] == save["with"] == {"path": "${{ steps.key.outputs.venv }}",
                                               "key": "${{ steps.key.outputs.key }}"}
    assert install["if"] == save["if"] == "steps.cache.outputs.cache-hit != 'true'"
    assert "--no-cache-dir" in install["run"]


def _key(action_path: Path, tmp_path: Path) -> dict[str, str]:
    output = tmp_path / "github_output"
    output.write_text("")
    env = {**os.environ, "GITHUB_ACTION_PATH": str(action_path), "GITHUB_OUTPUT": str(output),
           "RUNNER_OS": "Linux", "RUNNER_ARCH": "X64", "RUNNER_TEMP": "/runner/temp", "PYTHON_VERSION": "3.12.8"}
    subprocess.run(["bash", "-euo", "pipefail", "-c", _step("key")["run"]], env=env, check=True)
    return dict(line.split("=", 1) for line in output.read_text().splitlines())


def test_the_cache_key_changes_with_the_code_and_only_with_it(tmp_path):
    copy = tmp_path / "action"
    copy.mkdir()
    for name in ("pyproject.toml", "__init__.py", "cli.py", "README.md"):
        shutil.copy(ROOT / name, copy / name)
    for name in ("core", "plugins", "rules"):
        shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    first = _key(copy, tmp_path)
    assert first["venv"] == "/runner/temp/steward-venv"
    assert first["key"].startswith("steward-venv-Linux-X64-py3.12.8-")
    (copy / "README.md").write_text("docs do not change what is installed\n")
    (copy / "docs").mkdir()
    (copy / "docs" / "new.md").write_text("# more docs\n")
    assert _key(copy, tmp_path) == first
    engine = copy / "core" / "engine.py"
    engine.write_text(engine.read_text() + "\n# changed\n")
    assert _key(copy, tmp_path)["key"] != first["key"]


# -- the digest input and the issue-list outputs, run against the GitHub simulator

def _digest_step() -> dict:
    return next(s for s in STEPS if s.get("name") == "Governance digest")


def _run_digest_step(url: str, digest: str, tmp_path: Path) -> subprocess.CompletedProcess:
    from sim.github import REPO, TOKEN

    env = {"PATH": os.environ["PATH"], "STEWARD": str(Path(sys.executable).parent / "steward"),
           "GITHUB_TOKEN": TOKEN, "GITHUB_API_URL": url, "GITHUB_REPOSITORY": REPO, "GITHUB_ACTIONS": "true",
           "STEWARD_RULES": "", "STEWARD_DIGEST": digest, "STEWARD_GITHUB_LOGIN": "steward-bot",
           "STEWARD_GITHUB_WRITES_PER_MINUTE": "0", "HOME": str(tmp_path)}
    return subprocess.run(["bash", "-euo", "pipefail", "-c", _digest_step()["run"]], env=env, capture_output=True,
                          text=True, timeout=120)


def test_the_digest_input_posts_on_sweeps_only_and_never_on_dry_runs():
    condition = _digest_step()["if"]
    assert "inputs.digest != ''" in condition and "inputs.dry-run != 'true'" in condition
    assert "github.event_name == 'schedule'" in condition and "github.event_name == 'workflow_dispatch'" in condition
    assert "github.event_name == 'issues'" not in condition
    assert _digest_step()["env"]["STEWARD_DIGEST"] == "${{ inputs.digest }}"


def test_the_digest_step_opens_one_issue_per_period_and_updates_it(tmp_path):
    from sim.github import GitHubSim
    from sim.server import SimServer

    from steward.core.digest import period_of
    from steward.core.timeutil import utcnow
    from steward.plugins.github.digest import DIGEST_LABEL

    sim = GitHubSim(issues=30, seed=3)
    with SimServer(sim) as server:
        first = _run_digest_step(server.url, "week", tmp_path)
        second = _run_digest_step(server.url, "week", tmp_path)
        wrong = _run_digest_step(server.url, "fortnight", tmp_path)
        assert server.requests("rest_issue_create") == 1
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    posted = [sim.issue(n) for n in sim.numbers() if DIGEST_LABEL in sim.labels(n)]
    assert [d.title for d in posted] == [f"Governance review {period_of(utcnow(), 'week')[0]}"]
    assert f"as #{posted[0].number}" in first.stdout and f"as #{posted[0].number}" in second.stdout
    assert wrong.returncode == 2 and "must be week or month" in wrong.stdout
    assert "Traceback" not in first.stderr + second.stderr


def test_outputs_list_the_issues_found_and_acted_on_as_json(tmp_path):
    import json

    from sim.github import SIM_NOW, GitHubSim, run_cli, stamp
    from sim.server import SimServer

    sim = GitHubSim(issues=30, seed=3)
    output, event = tmp_path / "output", tmp_path / "event.json"
    event.write_text(json.dumps({"repository": {"full_name": "octo-org/governance"}}), encoding="utf-8")
    with SimServer(sim) as server:
        result = run_cli(server.url, ["event", "--github-event", str(event), "--event-name", "schedule",
                                      "--now", stamp(SIM_NOW) or "", "--format", "json"],
                         GITHUB_OUTPUT=str(output), STEWARD_GITHUB_LOGIN="steward-bot")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines())
    found, acted = json.loads(outputs["issues-found"]), json.loads(outputs["issues-acted-on"])
    assert found == sorted({int(f["issue"][1:]) for f in report["findings"]}) and found
    assert acted == sorted({int(a["issue"][1:]) for a in report["actions"]}) and acted
    assert set(acted) <= set(found) | {int(a["issue"][1:]) for a in report["actions"] if a["level"] == 0}
    assert int(outputs["findings"]) == len(report["findings"])
