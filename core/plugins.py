"""The one plugin manager, built on first use: built-in plugins register exactly like third-party ones.

Nothing is loaded at import. The first call that needs plugins builds the manager: the built-in modules
below, then every package with an entry point in the `steward` group. Tracker factories may be registered
by name ("module:attribute") and are imported only when that tracker is opened, so `steward check` never
loads a tracker's client library.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Mapping
from functools import cache
from typing import Any

import pluggy

from . import hookspecs
from .errors import UsageError
from .fields import FieldMapping, field_fact
from .registry import ActionSpec, FactSpec, split_fact_name
from .tracker import Tracker, TrackerFactory

BUILTIN_PLUGINS = (
    "steward.core.facts",
    "steward.core.governance",
    "steward.core.channels",
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


@cache
def get_plugin_manager() -> pluggy.PluginManager:
    manager = pluggy.PluginManager("steward")
    manager.add_hookspecs(hookspecs)
    if _entry_points_enabled():
        manager.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    for module_name in BUILTIN_PLUGINS:
        manager.register(importlib.import_module(module_name), name=module_name)
    manager.check_pending()
    return manager


@cache
def trackers() -> dict[str, TrackerFactory | str]:
    found: dict[str, TrackerFactory | str] = {}

    def register(scheme: str, factory: TrackerFactory | str) -> None:
        found[scheme] = factory

    get_plugin_manager().hook.register_trackers(register=register)
    return found


@cache
def facts() -> dict[str, FactSpec]:
    found: dict[str, FactSpec] = {}

    def register(spec: FactSpec) -> None:
        if spec.name in found:
            raise ValueError(f"fact {spec.name!r} registered twice")
        found[spec.name] = spec

    get_plugin_manager().hook.register_facts(register=register)
    return found


@cache
def actions() -> dict[str, ActionSpec]:
    found: dict[str, ActionSpec] = {}

    def register(spec: ActionSpec) -> None:
        found[spec.name] = spec

    get_plugin_manager().hook.register_actions(register=register)
    return found


def fact(name: str, fields: Mapping[str, FieldMapping] | None = None) -> tuple[FactSpec, str | None] | None:
    """The fact a rule names, with its argument (`days_with_label(blocked)`), or None when there is none.
    `fields`: the rule files' mapped tracker fields, whose facts are named after them."""
    base, argument = split_fact_name(name)
    spec = facts().get(base)
    if spec is None and fields and argument is None:
        mapped = field_fact(base, fields)
        return (mapped, None) if mapped else None
    if spec is None or (argument is None) != (spec.parameter is None):
        return None
    return spec, argument


def open_tracker(spec: str, options: dict[str, Any]) -> Tracker:
    """The tracker `--tracker SCHEME[:TARGET]` names, opened. Raises UsageError or TrackerError."""
    scheme, _, target = spec.partition(":")
    factories = trackers()
    if scheme not in factories:
        raise UsageError(f"unknown tracker {scheme!r}; installed trackers: {', '.join(sorted(factories))}")
    factory = factories[scheme]
    if isinstance(factory, str):
        module_name, _, attribute = factory.partition(":")
        factory = getattr(importlib.import_module(module_name), attribute)
    return factory(target, options)


def refresh() -> None:
    """Forget what was collected, after a plugin is registered or unregistered at run time."""
    trackers.cache_clear()
    facts.cache_clear()
    actions.cache_clear()
