"""The house rules, checked on the source: which layer may import which, how big a room may grow, and what
a command that opens no tracker loads at start-up. docs/architecture.md describes the layers."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import ROOT

PRODUCT = sorted([*(ROOT / "core").glob("*.py"), *(ROOT / "plugins").rglob("*.py"), ROOT / "cli.py"])
MAX_LINES = 500


def _name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(absolute module name, inside a function) for every import in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ["steward", *path.relative_to(ROOT).parent.parts]
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                found.extend((alias.name, in_function) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package[: len(package) - child.level + 1]
                    module = ".".join(base + ([child.module] if child.module else []))
                else:
                    module = child.module or ""
                # `from . import plugins` names a module, not an attribute: count both spellings.
                found.extend((f"{module}.{alias.name}", in_function) for alias in child.names)
                found.append((module, in_function))
            visit(child, nested)

    visit(tree, False)
    return found


def _imports_of(prefix: str) -> dict[str, list[str]]:
    return {_name(p): sorted({m for m, _ in _imports(p) if m == prefix or m.startswith(prefix + ".")})
            for p in PRODUCT}


def test_core_never_imports_plugins_or_the_command_line():
    for path in PRODUCT:
        if _name(path).startswith("core/"):
            bad = [m for m, _ in _imports(path) if m.startswith(("steward.plugins", "steward.cli"))]
            assert not bad, f"{_name(path)} imports {bad}: the core knows no tracker and no command line"


def test_plugins_never_import_the_command_line():
    for path in PRODUCT:
        if _name(path).startswith("plugins/"):
            bad = [m for m, _ in _imports(path) if m.startswith("steward.cli")]
            assert not bad, f"{_name(path)} imports {bad}: plugins use steward.core's public pieces"


def test_only_the_engine_module_imports_durable_rules():
    sources = [*PRODUCT, *(ROOT / "benchmarks").glob("*.py"), *(ROOT / "examples").rglob("*.py")]
    users = sorted(_name(p) for p in sources if any(m == "durable" or m.startswith("durable.") for m, _ in _imports(p)))
    assert users == ["core/engine.py"]


def test_no_function_level_import_of_the_projects_own_modules():
    for path in PRODUCT:
        late = [m for m, in_function in _imports(path) if in_function and m.startswith("steward")]
        assert not late, f"{_name(path)} imports {late} inside a function: fix the layering instead"


def test_rule_types_are_a_leaf_and_the_loader_serves_only_the_command_line_and_rule_tests():
    rules_imports = {m for m, _ in _imports(ROOT / "core" / "rules.py") if m.startswith("steward")}
    leaf = ("steward.core.conditions", "steward.core.templates", "steward.core.calendar")
    assert all(m == "steward.core" or m.startswith(leaf) for m in rules_imports), rules_imports
    loaders = sorted(name for name, modules in _imports_of("steward.core.rulefile").items() if modules)
    assert loaders == ["cli.py", "core/ruletests.py", "plugins/github/event.py"], loaders


@pytest.mark.parametrize("path", PRODUCT, ids=_name)
def test_no_module_is_over_500_lines(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{_name(path)} has {lines} lines; split it into rooms"


def test_check_loads_no_tracker_client_no_chart_library_and_no_durable_rules():
    probe = ("import atexit, sys\n"
             "atexit.register(lambda: print('MODULES', ' '.join(sorted(m for m in sys.modules if '.' not in m)),"
             " file=sys.stderr))\n"
             "from steward.cli import main\nsys.argv = ['steward', 'check', 'rules/']\nmain()\n")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    loaded = set(done.stderr.split("MODULES", 1)[1].split())
    heavy = {"jira", "github", "matplotlib", "numpy", "requests", "durable"}
    assert not loaded & heavy, loaded & heavy


def test_every_room_has_a_row_in_the_architecture_page():
    """docs/architecture.md section 3 names every module, so the picture stays true as rooms are added."""
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    rooms = page.split("## 3. Rooms")[1].split("\n## ")[0]
    rows = {line.split("|")[1].strip(): line for line in rooms.splitlines() if line.startswith("| `")}
    missing = []
    for path in PRODUCT:
        name = _name(path)
        if path.name == "__init__.py":
            continue
        parts = name.split("/")
        if len(parts) == 3:  # plugins/<package>/<module>.py: named inside its package's row
            row = rows.get(f"`{parts[0]}/{parts[1]}/`", "")
            if f"`{path.stem}`" not in row:
                missing.append(name)
        elif f"`{name}`" not in rooms:
            missing.append(name)
    assert not missing, f"docs/architecture.md, section 3, has no row for {missing}"


def test_benchmarks_and_simulators_do_not_import_the_tests():
    """The simulators live in benchmarks/sim: the tests use them, the benchmarks never reach into tests/."""
    test_modules = {p.stem for p in (ROOT / "tests").rglob("*.py")} | {"trackers", "contract", "jira", "github"}
    for path in sorted((ROOT / "benchmarks").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert '"tests"' not in text and "'tests'" not in text, f"{_name(path)} puts tests/ on its path"
        bad = [m for m, _ in _imports(path) if m.split(".")[0] in test_modules and not m.startswith(("sim", "steward"))]
        assert not bad, f"{_name(path)} imports test modules {bad}"
