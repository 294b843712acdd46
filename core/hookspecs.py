"""Hook specifications: everything a plugin (built-in or third-party) can add to Steward."""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("steward")
hookimpl = pluggy.HookimplMarker("steward")


@hookspec
def register_trackers(register):
    """Register tracker adapters: register(scheme, factory) where factory(target, options) returns a Tracker."""


@hookspec
def register_facts(register):
    """Register facts rules can test: register(FactSpec(name, type, description, compute))."""


@hookspec
def register_actions(register):
    """Register rule actions beyond the tracker's own: register(ActionSpec(name, value_schema, description, run))."""


@hookspec
def register_commands(cli):
    """Add click commands to the `steward` command group."""
