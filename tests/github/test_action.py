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
    assert set(ACTION["outputs"]) == {"findings", "actions"}
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
