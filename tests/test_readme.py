"""The README's two set-up commands are the contract with a new user and with CI."""

import re

from helpers import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
CI = (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def _setup_commands() -> list[str]:
    block = re.search(r"```bash\n(.*?)```", README, re.DOTALL)
    assert block and README.index(block.group(0)) < 40, "the set-up commands open the README"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_readme_opens_with_exactly_two_commands():
    install_and_plan, run_tests = _setup_commands()
    assert "pip install -e ." in install_and_plan
    assert "steward plan --tracker files:examples/board.json" in install_and_plan
    assert "pytest" in run_tests


def test_ci_runs_the_readme_test_command_verbatim():
    _, run_tests = _setup_commands()
    assert run_tests in [line.strip() for line in CI.splitlines()]  # it runs inside a loop over Pythons
