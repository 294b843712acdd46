"""Load and check rule files: YAML with line numbers, the published JSON Schema, then meaning.

Every problem becomes a RuleError naming the file, the line and the rule id.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import patterns, plugins
from .calendar import Calendar, CalendarError, parse_calendar
from .conditions import OPERATORS_BY_TYPE, AllOf, AnyOf, Condition, Not, Test, compiled_pattern
from .facts import DEFAULT_SETTINGS
from .fields import FieldMapping, mappings, parse_mapping
from .model import TRACKER_ACTIONS
from .planner import RELATIVE_DATE
from .registry import in_calendar, split_fact_name
from .rules import LadderStep, Rule, RuleSet, guaranteed_present
from .ruleschema import check_schema
from .templates import MISSING, PLACEHOLDER, Placeholder, placeholders
from .yamlsource import Path_, RuleError, RuleFileErrors, Source, parse_yaml

if TYPE_CHECKING:
    pass

PACKS_DIR = Path(__file__).resolve().parent.parent / "rules"
PACK_PREFIX = "pack:"
TEMPLATED_ACTIONS = ("comment", "assign", "transition")
SETTABLE = ("due", "priority")  # what set_field may set besides the mapped fields



def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RuleFileErrors([RuleError(str(path), 0, None, "no such rule file")]) from None
    except UnicodeDecodeError as error:
        raise RuleFileErrors([RuleError(str(path), 1, None, f"not UTF-8 text: {error}")]) from None
    except OSError as error:
        raise RuleFileErrors([RuleError(str(path), 0, None, f"cannot read: {error.strerror}")]) from None


# ---------------------------------------------------------------- meaning

def _suggest(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _fact_type(name: str, fields: dict[str, FieldMapping] | None = None) -> str | None:
    found = plugins.fact(name, fields)
    return found[0].type if found else None


def _suggest_fact(name: str) -> str:
    base, argument = split_fact_name(name)
    spec = plugins.facts().get(base)
    if spec is not None and spec.parameter is not None and argument is None:
        return f" ({base} takes a {spec.parameter}: write {base}(...))"
    if spec is not None and spec.parameter is None and argument is not None:
        return f" ({base} takes no argument)"
    return _suggest(name, sorted(plugins.facts()))


_PY_TYPES = {"number": (int, float), "string": (str,), "boolean": (bool,)}


def _is_type(value: Any, fact_type: str) -> bool:
    if fact_type == "number" and isinstance(value, bool):
        return False
    return isinstance(value, _PY_TYPES[fact_type])


class _RuleBuilder:
    """Checks one rule's meaning and turns it into a Rule; problems go to `errors`."""

    def __init__(self, source: Source, path: Path_, raw: dict[str, Any], settings: dict[str, Any],
                 action_names: list[str], file_settings: dict[str, Any]):
        self.source = source
        self.path = path
        self.raw = raw
        self.settings = settings
        self.action_names = action_names
        self.file_settings = file_settings
        self.errors: list[RuleError] = []
        self.warnings: list[RuleError] = []
        self.guaranteed: set[str] = set()  # facts the rule's `when` proves present whenever it fires

    def fail(self, path: Path_, message: str) -> None:
        self.errors.append(self.source.error(path, message))

    def resolve(self, value: Any, path: Path_) -> Any:
        if isinstance(value, dict) and set(value) == {"setting"}:
            name = value["setting"]
            if name not in self.settings:
                known = sorted(self.settings)
                self.fail(path, f"unknown setting {name!r}{_suggest(name, known)}; "
                                f"this rule defines: {', '.join(known) or 'none'}")
                return None
            return self.settings[name]
        return value

    def check_value(self, fact: str, fact_type: str, op: str, value: Any, path: Path_) -> bool:
        if op in ("missing", "present"):
            ok, wanted = isinstance(value, bool), "true or false"
        elif op in ("gt", "gte", "lt", "lte"):
            ok, wanted = _is_type(value, "number"), "a number"
        elif op in ("eq", "ne"):
            ok, wanted = _is_type(value, fact_type), f"a {fact_type}"
        elif op == "in":
            ok = isinstance(value, list) and bool(value) and all(_is_type(v, fact_type) for v in value)
            wanted = f"a non-empty list of {fact_type}s"
        elif op == "contains":
            ok, wanted = isinstance(value, str), "a string"
        elif op in ("contains_any", "contains_all"):
            ok = isinstance(value, list) and bool(value) and all(isinstance(v, str) for v in value)
            wanted = "a non-empty list of strings"
        else:
            ok, wanted = isinstance(value, str), "a regular expression string"
            if ok:
                try:
                    compiled_pattern(value)
                except Exception as error:  # regex.error, or RecursionError on absurd patterns
                    self.fail(path, f"bad regular expression {value!r} for {fact!r}: {error}")
                    return False
                risk = patterns.catastrophic(value)
                if risk:
                    self.fail(path, f"regular expression {value!r} for {fact!r} is unsafe: {risk}; "
                                    "write the repeat once (a+ instead of (a+)+)")
                    return False
        if not ok:
            self.fail(path, f"{op!r} on {fact_type} fact {fact!r} needs {wanted}, got {value!r}")
        return ok

    def test(self, fact: str, spec: Any, path: Path_) -> Condition | None:
        fact_type = _fact_type(fact, mappings(self.file_settings))
        if fact_type is None:
            self.fail(path, f"unknown fact {fact!r}{_suggest_fact(fact)}")
            return None
        operators = spec if isinstance(spec, dict) and "setting" not in spec else {"eq": spec}
        tests: list[Condition] = []
        for op, raw_value in operators.items():
            op_path = path + (op,) if operators is spec else path
            if op not in OPERATORS_BY_TYPE[fact_type]:
                allowed = ", ".join(OPERATORS_BY_TYPE[fact_type])
                self.fail(op_path, f"operator {op!r} does not apply to {fact_type} fact {fact!r} "
                                   f"(use one of: {allowed})")
                continue
            value = self.resolve(raw_value, op_path)
            if value is None or not self.check_value(fact, fact_type, op, value, op_path):
                continue
            tests.append(Test(fact, op, value, self.source.line(op_path)))
        if len(tests) != len(operators):
            return None
        return tests[0] if len(tests) == 1 else AllOf(tuple(tests))

    def condition(self, raw: dict[str, Any], path: Path_) -> Condition | None:
        parts: list[Condition | None] = []
        for key, value in raw.items():
            key_path = path + (key,)
            if key in ("any", "all"):
                items = [self.condition(item, key_path + (i,)) for i, item in enumerate(value)]
                group = AnyOf if key == "any" else AllOf
                parts.append(None if None in items else group(tuple(items)))
            elif key == "not":
                inner = self.condition(value, key_path)
                parts.append(None if inner is None else Not(inner))
            else:
                parts.append(self.test(key, value, key_path))
        if None in parts:
            return None
        return parts[0] if len(parts) == 1 else AllOf(tuple(parts))

    def action(self, kind: str, value: Any, path: Path_) -> tuple[str, Any] | None:
        if kind not in self.action_names:
            self.fail(path, f"unknown action {kind!r}{_suggest(kind, self.action_names)} "
                            f"(expected one of: {', '.join(self.action_names)})")
            return None
        spec = plugins.actions().get(kind)
        if spec is not None:
            try:
                import jsonschema

                jsonschema.validate(value, spec.value_schema)
            except jsonschema.ValidationError as error:
                self.fail(path, f"action {kind!r}: {error.message}")
                return None
            problem = spec.check(value, self.file_settings) if spec.check else None
            if problem:
                self.fail(path, problem)
                return None
        if kind == "set_field" and isinstance(value, dict):
            target = str(value.get("field"))
            if target not in SETTABLE and target not in mappings(self.file_settings):
                self.fail(path, f"set_field cannot set {target!r}: set due, priority, or a field mapped under "
                                f"`fields:` ({', '.join(sorted(mappings(self.file_settings))) or 'none mapped'})")
            if isinstance(value.get("value"), str) and RELATIVE_DATE.match(value["value"].strip()) is None \
                    and value["value"].strip().startswith(("+", "-")):
                self.fail(path, f"set_field value {value['value']!r}: a relative date reads like \"+14 days\"")
        if kind in ("add_labels", "remove_labels"):
            for label in value if isinstance(value, list) else []:
                if label.strip() in (".", "..") or label != label.strip() or not label.strip():
                    self.fail(path, f"label {label!r} cannot be written on every tracker (a label that is "
                                    "empty, `.` or `..`, or starts or ends with a space, breaks URLs)")
        for text in self.templates_in(kind, value, spec is not None):
            found, invalid = placeholders(text)
            self.check_placeholders(found, path)
            names = [p.name for p in found]
            for placeholder in invalid:
                if placeholder.startswith("an unclosed"):
                    self.fail(path, "template has an unclosed {{ or a stray }}; write {{ fact_name }}")
                    continue
                self.fail(path, f"template placeholder {placeholder} is not a fact name; "
                                "templates may only contain {{ fact_name }}")
            for name in names:
                if _fact_type(name, mappings(self.file_settings)) is None:
                    self.fail(path, f"template references unknown fact {name!r}{_suggest_fact(name)}")
        return kind, value

    @staticmethod
    def templates_in(kind: str, value: Any, steward_action: bool) -> list[str]:
        """The template texts of an action: the value of comment, assign and transition, and every string of
        an action Steward runs itself (a string value, or the string fields of a mapping such as notify's)."""
        if isinstance(value, str) and (kind in TEMPLATED_ACTIONS or steward_action):
            return [value]
        if isinstance(value, dict) and (steward_action or kind in ("set_field", "transition")):
            return [item for item in value.values() if isinstance(item, str)]
        return []

    def check_placeholders(self, found: list[Placeholder], path: Path_) -> None:
        for placeholder in found:
            spec = plugins.fact(placeholder.name, mappings(self.file_settings))
            if spec is None:
                continue  # reported as an unknown fact
            if placeholder.mention and not spec[0].person:
                self.fail(path, f"`| mention` needs a fact that names a person (such as assignee or reporter), "
                                f"not {placeholder.name!r}")
            if placeholder.fallback is None and not spec[0].always and placeholder.name not in self.guaranteed:
                self.warnings.append(self.source.error(path, f"{placeholder.name!r} can be missing, and the text "
                                                             f"would then say {MISSING!r}: give a fallback, "
                                                             f'{{{{ {placeholder.name} | "..." }}}}'))

    def ladder(self) -> tuple[LadderStep, ...]:
        steps = []
        first = [self.action(k, v, self.path + ("then", i, k))
                 for i, item in enumerate(self.raw["then"]) for k, v in item.items()]
        steps.append(LadderStep(1, 0, tuple(a for a in first if a)))
        for index, raw_step in enumerate(self.raw.get("escalate", [])):
            step_path = self.path + ("escalate", index)
            after = raw_step["after_days"]
            if after <= 0:
                self.fail(step_path + ("after_days",),
                          f"ladder step {index + 1} is out of order: after_days must be more than 0, "
                          "since each step counts from the previous one")
            actions = [self.action(k, v, step_path + (k,)) for k, v in raw_step.items() if k != "after_days"]
            steps.append(LadderStep(index + 2, after, tuple(a for a in actions if a)))
        return tuple(steps)

    def build(self) -> Rule | None:
        when = self.condition(self.raw["when"], self.path + ("when",))
        if when is not None and "scope" in self.raw:
            when = AllOf((self.scope(self.raw["scope"], self.path + ("scope",)), when))
        exempt = self.condition(self.raw["exempt"], self.path + ("exempt",)) if "exempt" in self.raw else None
        self.guaranteed = guaranteed_present(when) if when is not None else set()
        steps = self.ladder()
        calendar = self.file_settings.get("calendar")
        if "calendar" in self.raw:
            calendar = self.own_calendar()
        if self.errors or when is None:
            return None
        rule = Rule(
            id=self.raw["id"], title=self.raw["title"], severity=self.raw["severity"],
            rationale=self.raw["rationale"].strip(), when=when, exempt=exempt, steps=steps,
            settings=dict(self.settings), cleanup=self.raw.get("cleanup", True),
            file=self.source.file, line=self.source.line(self.path), calendar=calendar,
        )
        return counted_in_own_calendar(rule) if "calendar" in self.raw else rule

    def scope(self, raw: dict[str, Any], path: Path_) -> Condition:
        """Where the rule applies, as tests on the issue's facts (any of each list, all lists)."""
        line = self.source.line(path)
        tests: list[Condition] = []
        projects = list(raw.get("projects", [])) + list(raw.get("repositories", []))
        if projects:
            tests.append(Test("project", "in", projects, line))
        if raw.get("components"):
            tests.append(Test("components", "contains_any", list(raw["components"]), line))
        if raw.get("labels"):
            tests.append(Test("labels", "contains_any", list(raw["labels"]), line))
        return tests[0] if len(tests) == 1 else AllOf(tuple(tests))

    def own_calendar(self) -> Calendar | None:
        try:
            calendar = parse_calendar(self.raw["calendar"], Path(self.source.file).parent)
        except CalendarError as error:
            self.fail(self.path + ("calendar",), f"calendar: {error}")
            return None
        self.file_settings.setdefault("rule_calendars", {})[calendar_key(self.raw["id"])] = calendar
        return calendar


# ---------------------------------------------------------------- entry points

def calendar_key(rule_id: str) -> str:
    return rule_id.replace("-", "_")


def counted_in_own_calendar(rule: Rule) -> Rule:
    """The rule with its day-count facts renamed to be counted in its own calendar (see registry.IN_CALENDAR),
    in its conditions and in its templates alike."""
    key = calendar_key(rule.id)

    def rename(name: str) -> str:
        found = plugins.fact(name)
        return in_calendar(name, key) if found and found[0].days else name

    def test(condition: Condition) -> Condition:
        if isinstance(condition, Test):
            return replace(condition, fact=rename(condition.fact))
        if isinstance(condition, Not):
            return Not(test(condition.item))
        return type(condition)(tuple(test(item) for item in condition.items))

    def text(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: text(v) for k, v in value.items()}
        if not isinstance(value, str):
            return value
        return PLACEHOLDER.sub(lambda m: "{{" + _rename_placeholder(m[1], rename) + "}}", value)

    steps = tuple(replace(step, actions=tuple((kind, text(value)) for kind, value in step.actions))
                  for step in rule.steps)
    return replace(rule, when=test(rule.when), exempt=test(rule.exempt) if rule.exempt else None, steps=steps)


def _rename_placeholder(inner: str, rename: Callable[[str], str]) -> str:
    name = inner.strip().split("|", 1)[0].strip()
    return inner.replace(name, rename(name), 1)


def pack_names() -> list[str]:
    return sorted(p.stem for p in PACKS_DIR.glob("*.yml") if not p.name.endswith(".tests.yml"))


def expand_paths(specs: list[str]) -> list[Path]:
    """Rule files named by the user: files, directories (their *.yml, not *.tests.yml) or pack:NAME."""
    files: list[Path] = []
    for spec in specs:
        if spec.startswith(PACK_PREFIX):
            name = spec[len(PACK_PREFIX):]
            path = PACKS_DIR / f"{name}.yml"
            if not path.is_file():
                raise RuleFileErrors([RuleError(spec, 0, None,
                                                f"no rule pack {name!r} (packs: {', '.join(pack_names())})")])
            files.append(path)
            continue
        path = Path(spec)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix in (".yml", ".yaml")
                           and not p.stem.endswith(".tests"))
            if not found:
                raise RuleFileErrors([RuleError(spec, 0, None, "no rule files (*.yml) in this directory")])
            files.extend(found)
        else:
            files.append(path)
    return files


def load(specs: list[str]) -> RuleSet:
    """Load, check and merge rule files. Raises RuleFileErrors listing every problem found."""
    paths = expand_paths(specs)
    action_names = sorted(set(TRACKER_ACTIONS) | set(plugins.actions()))
    errors: list[RuleError] = []
    warnings: list[RuleError] = []
    sources: list[Source] = []
    for path in paths:
        try:
            source = parse_yaml(_read(path), str(path))
        except RuleFileErrors as problem:
            errors.extend(problem.errors)
            continue
        schema_errors = check_schema(source)
        if schema_errors:
            errors.extend(schema_errors)
        else:
            sources.append(source)

    settings = dict(DEFAULT_SETTINGS)
    settings["fields"] = {}
    overrides: dict[str, tuple[Source, dict[str, Any]]] = {}
    for source in sources:
        settings.update(source.data.get("settings", {}))
        for name, raw in source.data.get("fields", {}).items():
            settings["fields"][name] = parse_mapping(name, raw)
        for rule_id, override in source.data.get("overrides", {}).items():
            overrides[rule_id] = (source, override)
        if "calendar" in source.data.get("settings", {}):
            try:
                settings["calendar"] = parse_calendar(source.data["settings"]["calendar"], Path(source.file).parent)
            except CalendarError as error:
                errors.append(source.error(("settings", "calendar"), f"calendar: {error}"))
                settings.pop("calendar")

    rules: list[Rule] = []
    seen: dict[str, str] = {}
    for source in sources:
        for index, raw in enumerate(source.data.get("rules", [])):
            path = ("rules", index)
            where = f"{source.file}:{source.line(path)}"
            if raw["id"] in seen:
                errors.append(source.error(path + ("id",), f"duplicate rule id {raw['id']!r}; "
                                                           f"already defined at {seen[raw['id']]}"))
                continue
            seen[raw["id"]] = where
            override = overrides.get(raw["id"], (None, {}))[1]
            rule_settings = dict(raw.get("settings", {}))
            for name in override.get("settings", {}):
                if name not in rule_settings:
                    osrc = overrides[raw["id"]][0]
                    errors.append(osrc.error(("overrides", raw["id"], "settings", name),
                                             f"rule {raw['id']!r} has no setting {name!r}"
                                             f"{_suggest(name, sorted(rule_settings))}"))
            rule_settings.update(override.get("settings", {}))
            builder = _RuleBuilder(source, path, raw, rule_settings, action_names, settings)
            rule = builder.build()
            errors.extend(builder.errors)
            warnings.extend(builder.warnings)
            if rule is None or override.get("enabled", True) is False:
                continue
            if "severity" in override:
                rule = Rule(**{**rule.__dict__, "severity": override["severity"]})
            rules.append(rule)

    for rule_id, (source, _) in overrides.items():
        if rule_id not in seen:
            errors.append(source.error(("overrides", rule_id),
                                       f"override for unknown rule {rule_id!r}{_suggest(rule_id, sorted(seen))}"))
    if errors:
        raise RuleFileErrors(errors)
    return RuleSet(rules=rules, settings=settings, files=[str(p) for p in paths],
                   warnings=[str(w) for w in warnings])


def default_specs() -> list[str]:
    return [f"{PACK_PREFIX}governance"]



def load_rules(specs: Sequence[str]) -> RuleSet:
    """The rule files named (see `expand_paths`), or the default pack when none are."""
    return load(list(specs) or default_specs())
