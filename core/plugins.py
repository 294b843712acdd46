"""The one plugin manager: built-in plugins register exactly like third-party ones."""

from __future__ import annotations

import importlib
import os
import sys
from functools import cache

import pluggy

from . import hookspecs
from .registry import ActionSpec, FactSpec, TrackerFactory

DEFAULT_PLUGINS = (
    "steward.core.facts",
    "steward.plugins.files",
    "steward.plugins.jira",
    "steward.plugins.github",
)

ENTRY_POINT_GROUP = "steward"


def _entry_points_enabled() -> bool:
    # Tests must see only the built-ins, whatever happens to be installed beside them.
    if getattr(sys, "_called_from_test", False):
        return False
    return os.environ.get("STEWARD_DISABLE_PLUGINS", "").lower() not in ("1", "true", "yes")


def _build() -> pluggy.PluginManager:
    manager = pluggy.PluginManager("steward")
    manager.add_hookspecs(hookspecs)
    if _entry_points_enabled():
        manager.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    for module_name in DEFAULT_PLUGINS:
        module = importlib.import_module(module_name)
        manager.register(module, name=module_name)
    manager.check_pending()
    return manager


pm = _build()


@cache
def trackers() -> dict[str, TrackerFactory]:
    found: dict[str, TrackerFactory] = {}

    def register(scheme: str, factory: TrackerFactory) -> None:
        found[scheme] = factory

    pm.hook.register_trackers(register=register)
    return found


@cache
def facts() -> dict[str, FactSpec]:
    found: dict[str, FactSpec] = {}

    def register(spec: FactSpec) -> None:
        if spec.name in found:
            raise ValueError(f"fact {spec.name!r} registered twice")
        found[spec.name] = spec

    pm.hook.register_facts(register=register)
    return found


@cache
def actions() -> dict[str, ActionSpec]:
    found: dict[str, ActionSpec] = {}

    def register(spec: ActionSpec) -> None:
        found[spec.name] = spec

    pm.hook.register_actions(register=register)
    return found


def refresh() -> None:
    """Forget what was collected, after a plugin is registered or unregistered at run time."""
    trackers.cache_clear()
    facts.cache_clear()
    actions.cache_clear()
