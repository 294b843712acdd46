"""Run a command as a grandchild and read its own CPU and peak memory: figures a large parent cannot skew.

A child started from a large process (the benchmark, holding a simulator or a board) is reported with the
parent's peak resident set: Linux counts the memory the child had before `exec` (under vfork, the parent's)
in its `ru_maxrss`. So the command runs under a small launcher, itself a fresh process, and the launcher
reports `getrusage(RUSAGE_CHILDREN)`: the command's CPU (user + system, with the processes it waited for,
such as the rule engine's worker) and its peak resident set.
"""

from __future__ import annotations

import compileall
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
STEWARD_PACKAGES = ("core", "plugins")  # Steward's packages below the top of a checkout (pyproject.toml)

LAUNCHER = ("import json, resource, subprocess, sys\n"
            "code = subprocess.call(sys.argv[2:])\n"
            "usage = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
            "with open(sys.argv[1], 'w') as out:\n"
            "    json.dump({'code': code, 'cpu': usage.ru_utime + usage.ru_stime, 'kib': usage.ru_maxrss}, out)\n")


def measure(command: list[str], env: dict[str, str], ok: tuple[int, ...] = (0, 1)) -> tuple[bytes, float, float, float]:
    """(stdout, wall s, CPU s, peak MB) of `command`; exits with its stderr when its exit code is not in `ok`."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile("r", suffix=".json") as report:
        started = os.times().elapsed
        subprocess.run([sys.executable, "-c", LAUNCHER, report.name, *command], env=env, stdout=out, stderr=err,
                       check=True)
        wall = os.times().elapsed - started
        result = json.load(open(report.name, encoding="utf-8"))
        if result["code"] not in ok:
            err.seek(0)
            raise SystemExit(f"{command[:6]} exited {result['code']}: {err.read().decode()[-2000:]}")
        out.seek(0)
        return out.read(), wall, result["cpu"], result["kib"] / 1024


def bytecode_ready(baseline: str | None = None) -> None:
    """Compile Steward's modules (this checkout's, and the baseline's under DIR/steward) to bytecode before any
    timing. Where PYTHONDONTWRITEBYTECODE is set (this machine, many CI images) a checkout without
    `__pycache__` compiles every module it imports at every start, about 0.2 s of CPU that is not Steward's
    work, and a freshly unpacked baseline has none: runs compared side by side start from bytecode alike."""
    spec = importlib.util.find_spec("steward")  # the checkout Steward's runs import: this interpreter's
    installed = Path(spec.origin).parent if spec is not None and spec.origin else CHECKOUT
    for tree in [installed] + ([Path(baseline) / "steward"] if baseline else []):
        compile_checkout(tree)


def compile_checkout(tree: Path) -> None:
    """Steward's modules in one checkout to bytecode: its top-level modules and its packages, not its tests."""
    for module in tree.glob("*.py"):
        compileall.compile_file(str(module), quiet=1)
    for package in STEWARD_PACKAGES:
        compileall.compile_dir(str(tree / package), quiet=1)
