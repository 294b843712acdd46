"""The plugin core: one manager, built-ins registered like third-party plugins, every hook documented."""

import inspect
import re
import subprocess
import sys

import pluggy
import pytest

from helpers import ROOT
from steward.core import hookspecs, plugins
from steward.core.registry import FactSpec

HOOKS = [name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
         if hasattr(fn, "steward_spec")]


def test_there_are_hooks_for_trackers_facts_actions_and_commands():
    assert set(HOOKS) >= {"register_trackers", "register_facts", "register_actions", "register_commands"}


def _arguments(hook: str) -> list[str]:
    return list(inspect.signature(getattr(hookspecs, hook)).parameters)


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_documented_in_the_plugin_guide_with_its_arguments(hook):
    guide = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    heading = f"### `{hook}({', '.join(_arguments(hook))})`"
    assert re.search(rf"^{re.escape(heading)}$", guide, re.MULTILINE), f"document {heading} in docs/plugins.md"
    section = guide.split(heading, 1)[1].split("\n### ", 1)[0]
    for argument in _arguments(hook):
        assert f"`{argument}`" in section, f"docs/plugins.md: say what `{argument}` of {hook} is"


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_docstring_names_each_argument(hook):
    doc = getattr(hookspecs, hook).__doc__ or ""
    for argument in _arguments(hook):
        assert re.search(rf"^\s*{argument}: \S", doc, re.MULTILINE), f"{hook}'s docstring: describe `{argument}:`"


def test_builtins_are_registered_through_the_plugin_manager():
    names = {name for name, _ in plugins.get_plugin_manager().list_name_plugin()}
    assert set(plugins.BUILTIN_PLUGINS) <= names
    assert "files" in plugins.trackers()
    assert "days_unassigned" in plugins.facts()


def test_entry_points_are_not_loaded_under_pytest():
    assert getattr(sys, "_called_from_test", False)
    assert not plugins._entry_points_enabled()


def test_the_disable_switch_is_honoured(monkeypatch):
    monkeypatch.setattr(sys, "_called_from_test", False)
    monkeypatch.setenv("STEWARD_DISABLE_PLUGINS", "1")
    assert not plugins._entry_points_enabled()
    monkeypatch.delenv("STEWARD_DISABLE_PLUGINS")
    assert plugins._entry_points_enabled()


def test_a_misspelled_hook_fails_loudly():
    manager = pluggy.PluginManager("steward")
    manager.add_hookspecs(hookspecs)

    class Misspelled:
        @hookspecs.hookimpl
        def register_fact(self, register):
            pass

    manager.register(Misspelled())
    with pytest.raises(pluggy.PluginValidationError):
        manager.check_pending()


def test_a_plugin_fact_is_usable_in_rules(tmp_path):
    class SlaPlugin:
        @hookspecs.hookimpl
        def register_facts(self, register):
            register(FactSpec("sla_breached", "boolean", "SLA field says breached.",
                              lambda issue, ctx: issue.extra.get("sla") == "breached"))

    plugin = SlaPlugin()
    plugins.get_plugin_manager().register(plugin)
    plugins.refresh()
    try:
        from steward.core.rulefile import load
        rules_file = tmp_path / "sla.yml"
        rules_file.write_text("version: 1\nrules:\n  - id: sla\n    title: SLA\n    severity: high\n"
                              "    rationale: r\n    when: {sla_breached: true}\n    then: [{add_labels: [sla]}]\n",
                              encoding="utf-8")
        assert [r.id for r in load([str(rules_file)]).rules] == ["sla"]
    finally:
        plugins.get_plugin_manager().unregister(plugin)
        plugins.refresh()
    assert "sla_breached" not in plugins.facts()


def test_only_the_engine_imports_durable():
    offenders = []
    for path in ROOT.rglob("*.py"):
        if ".venv" in path.parts or path.parts[-2:] == ("core", "engine.py"):
            continue
        if re.search(r"^\s*(from|import)\s+durable\b", path.read_text(encoding="utf-8"), re.MULTILINE):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_the_cli_starts_in_a_fresh_process():
    result = subprocess.run([sys.executable, "-m", "steward.cli", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    for command in ("plan", "apply", "check", "schema", "test"):
        assert command in result.stdout
