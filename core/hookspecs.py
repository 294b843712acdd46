"""Hook specifications: everything a plugin (built-in or third-party) can add to Steward.

docs/plugins.md documents each hook with its arguments; tests/test_plugins.py keeps the two in step.
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("steward")
hookimpl = pluggy.HookimplMarker("steward")


@hookspec
def register_trackers(register):
    """Register tracker adapters.

    register: call `register(scheme, factory)`. `factory(target, options)` returns a `steward.core.tracker.Tracker`
    for `--tracker SCHEME:TARGET`; it may be given as a "module:attribute" string, imported only when that
    tracker is opened, so that commands which open no tracker never load its client library.
    """


@hookspec
def register_facts(register):
    """Register facts rules can test.

    register: call `register(FactSpec(name, type, description, compute))` (`steward.core.registry`).
    """


@hookspec
def register_actions(register):
    """Register rule actions beyond the tracker's own.

    register: call `register(ActionSpec(name, value_schema, description, run))` (`steward.core.registry`).
    """


@hookspec
def register_commands(cli):
    """Add commands to the command line.

    cli: the `steward` click group; add commands with `@cli.command()`.
    """
