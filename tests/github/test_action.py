"""action.yml: the composite action the README's workflow uses."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_action_is_a_composite_on_python_312_with_the_documented_interface():
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    setup = [s for s in action["runs"]["steps"] if str(s.get("uses", "")).startswith("actions/setup-python")]
    assert setup and setup[0]["with"]["python-version"] == "3.12"
    assert {"rules", "dry-run", "max-actions", "token", "fail-on-findings"} <= set(action["inputs"])
    assert action["inputs"]["token"]["default"] == "${{ github.token }}"
    assert set(action["outputs"]) == {"findings", "actions"}
    run = [s for s in action["runs"]["steps"] if s.get("id") == "steward"][0]
    assert "steward event" in run["run"]
    assert "${{" not in run["run"]  # inputs only through the environment: no script injection


def test_docs_carry_the_workflow_and_permissions():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "permissions: {issues: write}" in text and "uses: OWNER/steward@v1" in text
    assert "steward plan --tracker github:OWNER/REPO" in text
