"""One run: fetch -> derive facts -> evaluate -> plan -> (apply), page by page."""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache, partial
from types import CodeType
from typing import Any

from . import patterns, plugins, readahead
from .conditions import facts_in, normalize, tests_in
from .engine import DEFAULT_ENGINE, Engine
from .errors import TrackerError
from .fields import mappings
from .markers import own_actions, step_marker
from .mentions import format_mentions
from .model import SEVERITIES, Action, Finding, Issue, Plan, Step
from .planner import finding, plan_issue
from .registry import FactContext, FactSpec, calendar_of
from .rules import RuleSet, facts_used
from .spool import SpooledList
from .text import clean_text
from .tracker import Tracker

log = logging.getLogger("steward.runner")

# Called once per page with the page's issues, their derived facts and each issue's findings (same order),
# before anything is written: lets a report see issues, not only findings, without holding the whole run.
Observer = Callable[[list[Issue], list[dict[str, Any]], list[list[Finding]]], None]


@dataclass
class RunOptions:
    now: datetime
    apply: bool = False
    max_actions: int | None = None
    query: str | None = None
    since: datetime | None = None
    engine: str = DEFAULT_ENGINE  # durable, compiled or reference: see core/engine.py
    read_ahead: int | None = None  # pages read while one is worked on (core/readahead.py); None: from the env
    spool: bool = False  # keep each finished page's findings and steps on disk (core/spool.py), not in memory


# Objects allocated between young collections. A sweep allocates millions of small objects that mostly live
# for one page; at the default (700) the collector ran often enough to be 27-45% of a run's CPU.
YOUNG_COLLECTION_THRESHOLD = 50_000


@contextmanager
def collector_tuned() -> Iterator[None]:
    """The garbage collector set for one run, and restored after it. What exists when the run starts (modules,
    rules, the engine) is frozen out of collections, which then walk only the run's own objects, and the young
    generation is collected every YOUNG_COLLECTION_THRESHOLD allocations instead of 700."""
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


# (fact name, its function, its context, its coercion) per fact a deriver derives
_Steps = list[tuple[str, Callable[[Issue, FactContext], Any], FactContext, Callable[[Any], Any]]]


def derive_facts(issue: Issue, ctx: FactContext, names: Collection[str] | None = None) -> dict[str, Any]:
    """The registered facts for one issue (all that take no argument, or just `names`), coerced to their types."""
    return FactDeriver(ctx, names, many=False)(issue)


class FactDeriver:
    """`derive_facts` for many issues: each fact name is looked up once per run, not once per issue (the
    lookup parses the name and was a tenth of a sweep's CPU). For `many` issues the steps are written out
    as one function (`_written_out`); for one issue that would cost more than it saves."""

    def __init__(self, ctx: FactContext, names: Collection[str] | None = None, many: bool = True):
        if names is None:
            names = [name for name, spec in plugins.facts().items() if spec.parameter is None]
        mapped = mappings(ctx.settings)
        contexts: dict[str, FactContext] = {}
        # (name, spec, argument, context, error): an error is raised per issue, as a lookup per issue raised it
        self.items: list[tuple[str, Any, str | None, FactContext, Exception | None]] = []
        for name in names:
            found = plugins.fact(name, mapped)
            if found is None:
                self.items.append((name, None, None, ctx, KeyError(f"unknown fact {name!r}")))
                continue
            spec, argument = found
            key = calendar_of(name)
            try:
                if key and key not in contexts:
                    contexts[key] = ctx.for_rule(key)
            except Exception as error:  # noqa: BLE001 - reported per issue, see above
                self.items.append((name, spec, argument, ctx, error))
                continue
            self.items.append((name, spec, argument, contexts[key] if key else ctx, None))
        # What each fact costs per issue, bound once: its computation, as `compute(issue, context)`, and its
        # type's coercion. Most facts take just that; an argument is bound in a closure, not unpacked from a
        # tuple per call (`*arguments` doubled the cost of calling a fact).
        self._steps: _Steps = []
        for name, spec, argument, context, error in self.items:
            if error is not None:
                self._steps.append((name, _raiser(error), context, _missing))
            elif type(spec).value is FactSpec.value and spec.parameter is None:  # a plain spec, called directly
                self._steps.append((name, spec.compute, context, _COERCE.get(spec.type, _missing)))
            else:
                self._steps.append((name, _bound(spec, argument), context, _COERCE.get(spec.type, _missing)))

        self._derive = _written_out(self._steps) if many else partial(_each, self._steps)

    def __call__(self, issue: Issue) -> dict[str, Any]:
        return self._derive(issue)


# The facts of one issue as one generated dict display instead of a comprehension over the steps, numbers and
# booleans of their exact type passing without calling their coercion (equal results: tests/test_fact_deriver.py):
# 5% fewer instructions deriving the default pack's facts (benchmarks/instructions.py's way of counting).
_FAST_PATH = {"number": "(_v if (_t := type(_v := f{i}(issue, x{i}))) is int or _t is float else c{i}(_v))",
              "boolean": "(_v if type(_v := f{i}(issue, x{i})) is bool else c{i}(_v))"}


def _written_out(steps: _Steps) -> Callable[[Issue], dict[str, Any]]:
    namespace: dict[str, Any] = {}
    entries = []
    for i, (name, compute, context, coerce) in enumerate(steps):
        namespace[f"f{i}"], namespace[f"x{i}"], namespace[f"c{i}"] = compute, context, coerce
        kind = next((kind for kind, known in _COERCE.items() if known is coerce), None)
        # str.__repr__: the literal of the name's text, whatever a subclass of str makes its own repr say
        entries.append(f"{str.__repr__(name)}: " + _FAST_PATH.get(kind or "", "c{i}(f{i}(issue, x{i}))").format(i=i))
    try:
        exec(_compiled("def derive(issue):\n    return {" + ", ".join(entries) + "}\n"), namespace)  # noqa: S102
    except (SyntaxError, RecursionError, MemoryError, ValueError):  # a limit of the compiler: the plain loop
        return partial(_each, steps)
    return namespace["derive"]


def _each(steps: _Steps, issue: Issue) -> dict[str, Any]:
    return {name: coerce(compute(issue, context)) for name, compute, context, coerce in steps}


@lru_cache(maxsize=32)
def _compiled(source: str) -> CodeType:
    """Compiled once per set of fact names and types, however many derivers a process builds."""
    return compile(source, "<steward facts>", "exec")


def _bound(spec: FactSpec, argument: str | None) -> Callable[[Issue, FactContext], Any]:
    if type(spec).value is FactSpec.value:
        compute = spec.compute
        return lambda issue, context: compute(issue, context, argument)
    return lambda issue, context: spec.value(issue, context, argument)


def _raiser(error: Exception) -> Callable[..., Any]:
    def raise_it(*_: Any) -> Any:
        raise error.with_traceback(None)
    return raise_it


def _missing(value: Any) -> None:
    return None


# `normalize` (core/conditions.py) by type, without its dispatch per value: equal results, checked by
# tests/test_fact_deriver.py over values of every type.
_COERCE: dict[str, Callable[[Any], Any]] = {
    "number": lambda value: value if isinstance(value, (int, float)) and not isinstance(value, bool) else None,
    "string": lambda value: clean_text(value) if isinstance(value, str) else None,
    "boolean": lambda value: value if isinstance(value, bool) else None,
    "list": lambda value: normalize(value, "list"),
}


def _keep_what_the_tracker_kept(step: Step, sent: Step, given: list[Action]) -> None:
    """A tracker drops from the step it was given an action the tracker itself ignored (GitHub answers 201 to
    an assignee without push access and assigns nobody); the report then must not list it either."""
    if len(sent.actions) < len(given):
        kept = {id(action) for action in sent.actions}
        step.actions[:] = [original for original, copy in zip(step.actions, given, strict=True) if id(copy) in kept]


def _priority(step: Step) -> tuple[int, int]:
    return (-SEVERITIES.index(step.severity), -step.level)


class Runner:
    def __init__(self, tracker: Tracker, rules: RuleSet, options: RunOptions,
                 progress: Callable[[int, int], None] | None = None, observer: Observer | None = None):
        self.tracker = tracker
        self.rules = rules
        self.options = options
        self.progress = progress
        self.observer = observer
        self.engine = Engine([rule.condition for rule in rules.rules], options.engine,
                             names=[rule.id for rule in rules.rules])
        self.fact_names = [facts_in(rule.condition) for rule in rules.rules]
        self.context = FactContext(now=options.now, settings=rules.settings)
        self.facts_used = facts_used(rules.rules)
        self._derive: FactDeriver | None = None  # built when the run starts: plugins may register facts until then
        self._pattern_tests = [t for rule in rules.rules for t in tests_in(rule.condition) if t.op == "matches"]
        self.budget = options.max_actions

    def _take(self, step: Step) -> bool:
        if self.budget is None:
            return True
        if self.budget <= 0:
            return False
        self.budget -= 1
        return True

    def _page(self, page: list[Issue], plan: Plan) -> None:
        issues, facts_list = [], []
        if self._derive is None:
            self._derive = FactDeriver(self.context, self.facts_used)
        for issue in page:
            try:
                facts_list.append(self._derive(issue))
            except Exception as error:  # odd tracker data must never end the run
                log.warning("%s: skipped: could not derive facts (%s: %s)", issue.key,
                            type(error).__name__, error)
                continue
            issues.append(issue)
        plan.issues_seen += len(issues)
        known = self.rules.by_id()
        page_steps: list[tuple[Issue, Step]] = []
        page_findings: list[list[Finding]] = []
        results = self.engine.evaluate(facts_list)
        self._report_slow_patterns(issues, facts_list)
        for issue, facts, matched in zip(issues, facts_list, results, strict=True):
            firing = [self.rules.rules[i] for i in matched]
            found = [finding(issue, self.rules.rules[i], facts, self.fact_names[i]) for i in matched]
            plan.findings.extend(found)
            page_findings.append(found)
            for step in plan_issue(issue, facts, firing, known, self.options.now):
                page_steps.append((issue, step))
        if self.observer is not None:
            self.observer(issues, facts_list, page_findings)

        page_steps.sort(key=lambda pair: _priority(pair[1]))
        taken: dict[str, tuple[Issue, list[Step]]] = {}
        for issue, step in page_steps:
            if self._take(step):
                plan.steps.append(step)
                taken.setdefault(issue.key, (issue, []))[1].append(step)
            else:
                plan.deferred.append(step)
        if self.options.apply:
            self._apply(taken, plan)

    def _report_slow_patterns(self, issues: list[Issue], facts_list: list[dict[str, Any]]) -> None:
        """Name the issue and the rules of every `matches` search that hit its time limit (it counted as no
        match). The texts are the very objects the facts hold, so `is` finds their issue."""
        for pattern, text in patterns.take_timeouts():
            for issue, facts in zip(issues, facts_list, strict=True):
                for fact in (t.fact for t in self._pattern_tests if t.value == pattern and facts.get(t.fact) is text):
                    rules = sorted({r.id for r in self.rules.rules if any(
                        t.op == "matches" and t.value == pattern and t.fact == fact for t in tests_in(r.condition))})
                    log.warning("%s: %s: the regular expression %r gave up on %s (%d characters) after %.2f s; "
                                "counted as no match", issue.key, ", ".join(rules), pattern, fact, len(text),
                                patterns.SEARCH_TIMEOUT)

    def _apply(self, taken: dict[str, tuple[Issue, list[Step]]], plan: Plan) -> None:
        """Write a page's steps: re-check what another run may have written since the read, write, run
        Steward's own actions after the tracker write landed, then reconcile a step two runs wrote at once."""
        if not taken:
            return
        try:
            fresh = self.tracker.recheck([issue for issue, _ in taken.values()])
        except TrackerError:  # the run stops here: this page's steps were planned, never written
            for _, steps in taken.values():
                for step in steps:
                    plan.steps.remove(step)
            raise
        written: list[tuple[Issue, list[Step]]] = []
        for key, (issue, steps) in taken.items():
            issue = fresh.get(key, issue)
            steps = self._still_due(issue, steps, plan)
            writes = [step for step in steps if not step.resumes]
            if writes:
                try:
                    sent = [self._for_tracker(step) for step in writes]
                    copies = [list(copy.actions) for copy in sent]  # before the tracker may drop any
                    self.tracker.apply(issue, sent, self.options.now)
                    for step, copy, given in zip(writes, sent, copies, strict=True):
                        _keep_what_the_tracker_kept(step, copy, given)
                    written.append((issue, writes))
                except TrackerError as error:
                    log.warning("%s: %d step(s) not written: %s", issue.key, len(writes), error)
                    for step in writes:
                        plan.steps.remove(step)
                        plan.failed.append(step)
                    steps = [step for step in steps if step.resumes]
            self._run_own_actions(issue, steps)
            if self.progress:
                self.progress(len(plan.steps), plan.issues_seen)
        sent = [(issue, [self._for_tracker(step) for step in steps]) for issue, steps in written]
        ours = {(step.issue, step.rule, step.level): step for _, steps in written for step in steps}
        for returned in self.tracker.reconcile(sent, self.options.now):
            step = ours[(returned.issue, returned.rule, returned.level)]
            log.warning("%s: another Steward run wrote %s step %d at the same moment; its copy was kept and "
                        "this run's removed", step.issue, step.rule, step.level)
            plan.steps.remove(step)

    def _for_tracker(self, step: Step) -> Step:
        """The step as the tracker writes it: mentions in the tracker's own syntax."""
        def text(value: Any) -> Any:
            return format_mentions(value, self.tracker.mention) if isinstance(value, str) else value

        return replace(step, actions=[replace(action, value=text(action.value)) for action in step.actions])

    def _still_due(self, issue: Issue, steps: list[Step], plan: Plan) -> list[Step]:
        """The steps the re-read issue still needs: one another run took meanwhile is not this run's write."""
        taken = {(m.rule, m.level): m for m in issue.markers}
        due = []
        for step in steps:
            marker = taken.get((step.rule, step.level))
            if step.marks and marker is not None:
                log.warning("%s: another Steward run took %s step %d since this run read the issue; not "
                            "written again", issue.key, step.rule, step.level)
                plan.steps.remove(step)
            elif step.resumes and (marker is None or not marker.pending):
                plan.steps.remove(step)  # another run finished its actions meanwhile
            else:
                due.append(step)
        return due

    def _run_own_actions(self, issue: Issue, steps: list[Step]) -> None:
        """Steward's own actions (a plugin's, a notification) run once the tracker holds the step's marker,
        and are recorded as done one by one: a run that dies in between leaves them pending, not lost."""
        custom = plugins.actions()
        markers = {(m.rule, m.level): m for m in issue.markers}
        for step in steps:
            named = [(name, step.actions[index]) for name, index in own_actions([a.type for a in step.actions])]
            if not named:
                continue
            marker = markers.get((step.rule, step.level)) if step.resumes else step_marker(step, self.options.now)
            if marker is None:
                continue
            if step.resumes:  # the resumed step holds only the pending actions: name them as the marker does
                named = list(zip(marker.pending, (action for _, action in named), strict=False))
            for name, action in named:
                spec = custom.get(action.type)
                if spec is None:
                    continue
                try:
                    log.info("%s: %s", issue.key, spec.run(issue, action.value, self.context))
                except TrackerError as error:
                    log.warning("%s: %s of %s step %d did not run (%s); it runs on the next apply", issue.key,
                                action.type, step.rule, step.level, error)
                    continue
                marker = replace(marker, pending=tuple(p for p in marker.pending if p != name))
                try:
                    self.tracker.record_done(issue, marker)
                except TrackerError as error:
                    log.warning("%s: %s ran, but could not be recorded (%s): it may run again", issue.key,
                                action.type, error)

    def run(self) -> Plan:
        with collector_tuned():
            return self._run()

    def _run(self) -> Plan:
        plan = Plan()
        if self.options.spool:
            plan = Plan(findings=SpooledList(), steps=SpooledList(), deferred=SpooledList(),  # type: ignore[arg-type]
                        failed=SpooledList())  # type: ignore[arg-type]
        collector = readahead.ThreadLog(plan.warnings)
        steward_log = logging.getLogger("steward")
        steward_log.addHandler(collector)
        try:
            # An observer (the governance report) counts every issue and reads fields no rule may test,
            # so a run with one reads everything, as if no adapter could narrow.
            self.tracker.configure(self.rules.settings)
            self.tracker.map_fields(mappings(self.rules.settings))
            if self.observer is None:
                self.tracker.narrow(self.rules.rules)
            depth = self.options.read_ahead
            depth = readahead.default_depth() if depth is None else depth
            if not self.tracker.overlap_reads:
                depth = 0
            fetch = partial(self.tracker.fetch, self.options.query, self.options.since)
            with readahead.pages_of(fetch, depth, collector) as pages:
                for page in pages:
                    self._page(page, plan)
                    if self.options.spool:  # the page's steps are final once it is written
                        for decided in (plan.findings, plan.steps, plan.deferred, plan.failed):
                            decided.spill()  # type: ignore[attr-defined]
            plan.skipped = self.tracker.skipped()
        except TrackerError as error:
            plan.skipped = self.tracker.skipped()
            self._release()
            if not plan.steps or not self.options.apply:
                raise  # nothing was written: the error alone is the truth
            # Some steps landed before the tracker failed: say both, and let the exit code say "partial".
            plan.stopped = str(error)
            log.warning("the run stopped after %d step(s) were written: %s", len(plan.steps), error)
            return plan
        except BaseException:
            self._release()
            raise
        finally:
            steward_log.removeHandler(collector)
        # A tracker that buffers its writes (the files board) saves them here: if that fails, it raises
        # TrackerError and nothing of this run was written.
        self.tracker.close()
        return plan

    def _release(self) -> None:
        """Close the tracker after a failed run without hiding the failure (the files board's lock is freed)."""
        try:
            self.tracker.close()
        except Exception as error:  # the run's own error is the one to report
            log.warning("closing the tracker after a failed run: %s", error)
