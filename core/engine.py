"""Rule evaluation: durable_rules (the default), run isolated and inside its measured envelope, with the
compiled Python evaluator beside it. The only module that imports `durable`, and only on first use.

Three evaluators mean the same thing (tests/test_engine_equivalence.py proves it on generated rules):
- `durable`: durable_rules 2.0.28, as the design names it. It is used the careful way:
  - It runs in a worker process of its own (core/worker.py), fed batches of issues over a socket. Its native
    code corrupts its heap or hangs on some rulesets (docs/engine.md); such a crash, hang or error ends
    the worker, not the run: that batch and every later one of those rules is evaluated by the compiled
    evaluator instead, and a warning (logger `steward.engine`) says so once. A fresh interpreter rather
    than a fork: the parent may have threads (the test simulators do) and holds every issue's facts.
  - Rules are grouped into rulesets that stay within half of each limit measured (core/envelope.py);
    a rule outside the envelope on its own, or with a number durable cannot hold exactly, runs on the
    compiled evaluator, and `steward check` warns about it (`durable_warnings`).
  - Issues are asserted as facts (every matching rule reports), never as events; a catch-all rule
    matches every issue so a batch never loses its actions; fact ids are small sequential numbers per
    batch, mapped back here (durable's 32-bit id hashes collide); every rule carries a positive guard
    (negative-only rules would match durable's own state fact and loop); regular expressions are
    evaluated in Python and arrive as booleans; `null` and empty lists are never sent.
  - Each ruleset is created once per worker (names cannot be registered twice, re-creating leaks) and
    its state deleted after every batch; durable's background threads are not started, so an action
    error surfaces instead of being swallowed.
  - If durable_rules cannot be imported (Python 3.13: `undefined symbol: PyEval_CallObject`) or its
    worker cannot start, the compiled evaluator runs instead, and a warning says so once.
- `compiled`: core/compiled.py, the rules as one generated Python function.
- `reference`: `conditions.holds` over every rule and issue, the meaning the others are checked against.
"""

from __future__ import annotations

import array
import gc
import importlib.util
import json
import logging
import sys
from collections.abc import Sequence
from functools import partial
from typing import Any

from .compiled import Evaluate, compile_rules, reference
from .conditions import Condition
from .durable_records import RuleGroup, project, rule_group
from .envelope import SAFE, Envelope, plan_groups
from .worker import QUARANTINED, Worker, WorkerFailure, WorkerUnavailable, the_worker

log = logging.getLogger("steward.engine")

ENGINES = ("durable", "compiled", "reference")
DEFAULT_ENGINE = "durable"
BATCH_SIZE = 2000
# Seconds the worker may take to start, to create rulesets, or to answer one batch. Healthy batches take
# well under a second (2,000 issues at tens of thousands per second); only a hang waits this long, once.
TIMEOUT = 20.0


class EngineError(Exception):
    """durable_rules did something this module does not expect; never silently tolerated."""


# ------------------------------------------------------------------------------------ availability

_availability: tuple[str | None, str] | None = None
_said_unavailable = False


def durable_available() -> tuple[str | None, str]:
    """(durable_rules' version, "") when it imports here, else (None, why). Imported on first call only."""
    global _availability
    if _availability is None:
        try:
            from durable import engine as _  # noqa: F401 - loads the extension; no ruleset runs in this process
        except Exception as error:  # an ImportError, or the extension's own failure to load
            _availability = (None, f"{type(error).__name__}: {error}")
        else:
            from importlib.metadata import PackageNotFoundError, version
            try:
                _availability = (version("durable-rules"), "")
            except PackageNotFoundError:
                _availability = ("(version unknown)", "")
    return _availability


def _installed() -> bool:
    try:
        return importlib.util.find_spec("durable") is not None
    except (ImportError, ValueError):
        return False


def engine_status() -> str:
    """Which engine `--engine durable` (the default) runs, and why: for `steward --version`."""
    version, reason = durable_available()
    if version is None:
        return f"compiled; durable_rules unavailable: {reason}"
    return f"durable_rules {version}"


def durable_warnings(conditions: Sequence[Condition], names: Sequence[str] | None = None) -> list[str]:
    """Why rules will not run on durable_rules (not installed, or outside its safe envelope): for `check`.

    It imports durable_rules only if something already did, so `check` stays fast; `steward --version` says
    whether it imports."""
    if "durable" in sys.modules or _availability is not None:
        version, reason = durable_available()
        if version is None:
            return [f"durable_rules is unavailable ({reason}): every rule runs on the compiled evaluator"]
    elif not _installed():
        return ["durable_rules is not installed: every rule runs on the compiled evaluator"]
    labels = list(names) if names is not None else [f"#{i + 1}" for i in range(len(conditions))]
    plan = plan_groups(conditions)
    return [f"rule {labels[index]} will not run on durable_rules ({why}); the compiled evaluator runs it"
            for index, why in sorted(plan.outside.items())]


# ------------------------------------------------------------------------------------ the worker


def serve(fd: int) -> None:
    """The worker's loop (a separate interpreter): create rulesets, assert batches, answer per ruleset."""
    from multiprocessing.connection import Connection  # 20 ms at import: only in the worker

    conn = Connection(fd)
    try:
        from durable import engine as durable_engine
    except Exception as error:
        conn.send(("unavailable", f"{type(error).__name__}: {error}"))
        return
    rulesets = DurableRulesets(durable_engine)
    conn.send(("ready",))
    while True:
        try:
            kind, items, *rest = conn.recv()
        except EOFError:
            return
        for item in items:  # one answer per item; after an error the request's remaining items are dropped
            try:
                conn.send(rulesets.handle(kind, item, *rest))
            except Exception as error:  # a Python-level error of durable or of this loop: the parent falls back
                conn.send(("error", f"{type(error).__name__}: {error}"))
                break


def peak_rss_kb() -> int:
    """This process's peak resident memory in KiB. On Linux from /proc (VmHWM): getrusage's ru_maxrss
    would also count the parent's memory, which a spawned child inherits in that figure."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    import resource
    usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return usage // 1024 if sys.platform == "darwin" else usage


def in_process_rulesets() -> DurableRulesets:
    """The worker's durable_rules side in THIS process, unprotected: only for benchmarks/engine.py, which
    measures what the isolation costs by running the same rulesets both ways."""
    from durable import engine as durable_engine

    return DurableRulesets(durable_engine)


class DurableRulesets:
    """durable_rules itself, inside the worker: rulesets by name, each with the matches its actions saw."""

    def __init__(self, durable_engine: Any):
        class SynchronousHost(durable_engine.Host):
            def _run(self) -> None:
                """No background dispatch threads: actions run inside assert_facts, on this thread."""

        self.durable = durable_engine
        self.host = SynchronousHost()
        self.sinks: dict[str, _Sink] = {}

    def handle(self, kind: str, item: Any, *rest: Any) -> tuple:
        if kind == "register":
            return ("registered", self.register(*item))
        if kind == "evaluate":
            return ("matches", self.evaluate(item, *rest))
        if kind == "rss":
            return ("rss", peak_rss_kb())
        raise EngineError(f"unknown request {kind!r}")

    def register(self, name: str, text: str) -> str:
        """"" once the ruleset exists, else durable's refusal ("Could not create ruleset, error code: 113")."""
        if name in self.sinks:
            return ""
        sink = _Sink()
        definition = json.loads(text)
        for rule_name, rule in definition.items():
            rule["run"] = sink.catch_all if rule_name == "every_issue" else sink.action(int(rule_name[1:]))
        try:
            self.host.register_rulesets({name: definition})
        except self.durable.durable_rules_engine.error as error:
            return str(error) or "refused"
        self.sinks[name] = sink
        return ""

    def evaluate(self, name: str, text: str, count: int) -> bytes:
        """Assert one batch (JSON text of `count` records) into one ruleset: its (id, rule) pairs."""
        sink = self.sinks[name]
        sink.pairs, sink.seen = array.array("i"), 0
        ruleset = self.host.get_ruleset(name)
        paused = gc.isenabled()
        gc.disable()  # durable allocates many short-lived objects per batch; see Engine.evaluate
        try:
            # Host.assert_facts would json.dumps the records again: the parent sent them encoded.
            self.host._handle_function(ruleset, partial(self._assert_text, ruleset), text, None)
        except self.durable.MessageNotHandledException as error:
            raise EngineError("a fact matched no rule, not even the catch-all") from error
        except self.durable.MessageObservedException as error:
            raise EngineError("two facts in one batch were identical") from error
        finally:
            self.host.delete_state(name, "0")
            if paused:
                gc.enable()
                gc.collect(0)
        if sink.seen != count:
            raise EngineError(f"durable_rules saw {sink.seen} of {count} issues in a batch")
        return sink.pairs.tobytes()

    def _assert_text(self, ruleset: Any, text: str) -> Any:
        return ruleset._handle_result(self.durable.durable_rules_engine.assert_facts(ruleset._handle, text), text)


class _Sink:
    def __init__(self) -> None:
        self.pairs = array.array("i")
        self.seen = 0

    def action(self, rule_index: int):
        def run(closure) -> None:
            for frame in closure.m:
                self.pairs.append(frame["id"])
                self.pairs.append(rule_index)

        return run

    def catch_all(self, closure) -> None:
        self.seen += len(closure.m)


# ------------------------------------------------------------------------------------ the engine


def _subset(conditions: Sequence[Condition], indexes: Sequence[int]) -> Evaluate:
    """The compiled evaluator of some of the rules, answering with their indexes in the whole list."""
    evaluate = compile_rules([conditions[i] for i in indexes])

    def evaluate_subset(facts_list: Sequence[dict[str, Any]]) -> list[list[int]]:
        return [[indexes[j] for j in found] for found in evaluate(facts_list)]

    return evaluate_subset


def _say_unavailable(reason: str) -> None:
    global _said_unavailable
    if not _said_unavailable:
        _said_unavailable = True
        log.warning("durable_rules is unavailable (%s): the compiled evaluator runs every rule", reason)


class Engine:
    """Evaluates rule conditions over fact dictionaries with the chosen evaluator (module docstring).

    `kind` is what was asked for; after the first evaluation `running` is what runs (`compiled` when
    durable_rules is unavailable). `fallbacks` lists every durable failure this engine met (also logged).
    """

    def __init__(self, conditions: Sequence[Condition], kind: str = DEFAULT_ENGINE,
                 names: Sequence[str] | None = None, envelope: Envelope = SAFE, timeout: float = TIMEOUT):
        if kind not in ENGINES:
            raise ValueError(f"unknown engine {kind!r}: choose one of {', '.join(ENGINES)}")
        self.conditions = list(conditions)
        self.kind = kind
        self.names = list(names) if names is not None else [f"#{i + 1}" for i in range(len(self.conditions))]
        self.envelope = envelope
        self.timeout = timeout
        self.running: str | None = None
        self.groups: list[RuleGroup] = []
        self.outside: dict[int, str] = {}  # rule index -> why the compiled evaluator runs it
        self.fallbacks: list[str] = []
        self._evaluate_outside: Evaluate | None = None
        self._evaluate_all: Evaluate | None = None

    def prepare(self) -> str:
        """Decide what runs (done by the first `evaluate`, inside the run, so its warnings reach the plan)."""
        if self.running is not None:
            return self.running
        running = self.kind
        if running == "durable":
            version, reason = durable_available()
            if version is None:
                _say_unavailable(reason)
                running = "compiled"
        if running == "durable":
            plan = plan_groups(self.conditions, self.envelope)
            self.outside = plan.outside
            self.groups = [rule_group(group) for group in plan.groups]
            if self.outside:
                self._evaluate_outside = _subset(self.conditions, sorted(self.outside))
        elif running == "compiled":
            self._evaluate_all = compile_rules(self.conditions)
        self.running = running
        return running

    def evaluate(self, facts_list: Sequence[dict[str, Any]]) -> list[list[int]]:
        """For each facts dict, the indexes of the conditions that hold, in rule order.

        Automatic garbage collection is paused meanwhile: projecting and encoding batches allocates many
        short-lived objects, which otherwise trigger full collections that traverse every live object
        (with 100k fact dicts alive that halved throughput).
        """
        paused = gc.isenabled()
        gc.disable()
        try:
            running = self.prepare()
            if running == "reference":
                return reference(self.conditions, facts_list)
            if running == "compiled":
                assert self._evaluate_all is not None
                return self._evaluate_all(facts_list)
            matched: list[set[int]] = [set() for _ in facts_list]
            self._run_durable(facts_list, matched)
            if self._evaluate_outside is not None:
                for found, more in zip(matched, self._evaluate_outside(facts_list), strict=True):
                    found.update(more)
            return [sorted(found) for found in matched]
        finally:
            if paused:
                gc.enable()

    # -------------------------------------------------------------------------------- durable path

    def _here(self, group: RuleGroup, batch: Sequence[dict[str, Any]], start: int, matched: list[set[int]]) -> None:
        if group.evaluate_here is None:
            group.evaluate_here = _subset(self.conditions, group.rule_indexes)
        for offset, found in enumerate(group.evaluate_here(batch)):
            matched[start + offset].update(found)

    def _quarantine(self, group: RuleGroup, error: WorkerFailure) -> None:
        """This ruleset never goes to durable_rules again in this process; said once, as a warning."""
        QUARANTINED[group.name] = str(error)
        labels = [self.names[i] for i in group.rule_indexes]
        shown = ", ".join(labels[:5]) + (f" and {len(labels) - 5} more" if len(labels) > 5 else "")
        message = f"{error}; rules {shown} run on the compiled evaluator instead"
        self.fallbacks.append(message)
        log.warning("%s", message)

    def _worker(self) -> Worker | None:
        """A live worker holding every ruleset of this engine not quarantined (a refused one is), or None."""
        try:
            worker = the_worker(self.timeout)
        except WorkerUnavailable as error:
            _say_unavailable(str(error))
            if str(error) not in self.fallbacks:
                self.fallbacks.append(str(error))
            return None
        missing = [g for g in self.groups if g.name not in worker.registered and g.name not in QUARANTINED]
        if missing:
            worker.send(("register", [(group.name, group.definition) for group in missing]))
            for group in missing:
                try:
                    refusal = worker.receive()[1]
                except WorkerFailure as error:  # it died or hung creating this ruleset
                    self._quarantine(group, error)
                    return None
                if refusal:
                    self._quarantine(group, WorkerFailure(f"durable_rules refused a ruleset ({refusal})"))
                else:
                    worker.registered.add(group.name)
        return worker

    def _request(self, group: RuleGroup, batch: Sequence[dict[str, Any]], start: int,
                 matched: list[set[int]]) -> tuple | None:
        """The batch as this ruleset sees it (issues with a value durable cannot hold are evaluated here)."""
        records = []
        for offset, facts in enumerate(batch):
            record = project(offset, facts, group)
            if record is None:
                self._here(group, [facts], start + offset, matched)
            else:
                records.append(record)
        if not records:
            return None
        return ("evaluate", [group.name], json.dumps(records, ensure_ascii=False), len(records))

    def _run_durable(self, facts_list: Sequence[dict[str, Any]], matched: list[set[int]]) -> None:
        """Every (ruleset, batch) through the worker in turn, encoding the next while the worker evaluates
        the one before (never more than one request in flight, so neither side can block the other on a
        full socket). A ruleset that failed is evaluated here from then on."""
        pending: tuple[Worker, RuleGroup, int, Sequence[dict[str, Any]]] | None = None
        for group in self.groups:
            for start in range(0, len(facts_list), BATCH_SIZE):
                batch = facts_list[start:start + BATCH_SIZE]
                request = None if group.name in QUARANTINED else self._request(group, batch, start, matched)
                if pending is not None:
                    self._finish(*pending, matched)
                    pending = None
                if group.name in QUARANTINED:
                    self._here(group, batch, start, matched)
                    continue
                if request is None:
                    continue
                worker = self._worker()
                if worker is None or group.name in QUARANTINED:
                    self._here(group, batch, start, matched)
                    continue
                try:
                    worker.send(request)
                    pending = (worker, group, start, batch)
                except WorkerFailure as error:
                    self._quarantine(group, error)
                    self._here(group, batch, start, matched)
        if pending is not None:
            self._finish(*pending, matched)

    def _finish(self, worker: Worker, group: RuleGroup, start: int, batch: Sequence[dict[str, Any]],
                matched: list[set[int]]) -> None:
        """Collect the worker's answer; when it crashed, hung or erred, quarantine the ruleset and evaluate
        the batch here."""
        try:
            pairs = array.array("i")
            pairs.frombytes(worker.receive()[1])
        except WorkerFailure as error:
            self._quarantine(group, error)
            self._here(group, batch, start, matched)
            return
        for at in range(0, len(pairs), 2):
            matched[start + pairs[at]].add(pairs[at + 1])


if __name__ == "__main__":  # pragma: no cover - `python -m steward.core.engine` prints the status
    print(engine_status())
