"""Steward `plan` on a large files board: CPU, wall time and peak memory, against `json.load` of the same board.

    python benchmarks/files_board.py                          # 10,000 issues, 3 paired rounds
    python benchmarks/files_board.py --issues 100000 --rounds 1
    python benchmarks/files_board.py --baseline /tmp/base     # also an older checkout, paired in the same run

The board repeats the 53 issues of examples/board.json with fresh keys (links remapped within each copy), so
it holds every shape the demo has: markers, footers, histories, people, parents and blockers. Every figure is
the command's own (benchmarks/child_usage.py): CPU is user + system seconds, memory its peak resident set. Rounds are
paired (baseline, steward and `json.load` one after the other) and the medians are printed, with ratios:
absolute times on a shared machine say little, ratios measured side by side say more.

`--baseline DIR` runs the same commands with `PYTHONPATH=DIR`, where `DIR/steward` is another checkout of
Steward (`git archive COMMIT | tar -x -C DIR/steward`), and checks that both print the same bytes
(or, for JSON, the same document but for keys added since: benchmarks/outputs.py).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

from child_usage import bytecode_ready, measure
from outputs import compare

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "board.json"
NOW = "2026-11-30T09:00:00Z"
LOAD = "import json, sys\nwith open(sys.argv[1], encoding='utf-8') as f: json.load(f)\n"


def make_board(count: int) -> dict:
    """`count` issues: the example board's issues again and again, keys and links shifted per copy."""
    example = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    template = example["issues"]

    def shifted(key: object, copy: int) -> object:
        if not isinstance(key, str) or "-" not in key:
            return key
        project, number = key.rsplit("-", 1)
        return f"{project}-{int(number) + copy * 1000}" if number.isdigit() else key

    issues = []
    for index in range(count):
        copy, raw = divmod(index, len(template))
        issue = json.loads(json.dumps(template[raw]))
        issue["key"] = shifted(issue["key"], copy)
        if "parent" in issue:
            issue["parent"] = shifted(issue["parent"], copy)
        if isinstance(issue.get("blocked_by"), list):
            issue["blocked_by"] = [shifted(k, copy) for k in issue["blocked_by"]]
        issues.append(issue)
    return {"people": example.get("people", {}), "issues": issues}


def child(command: list[str], env: dict[str, str]) -> tuple[bytes, float, float, float]:
    """(stdout, CPU seconds, wall seconds, peak RSS in MB) of one command (benchmarks/child_usage.py)."""
    out, wall, cpu, peak = measure(command, env)
    return out, cpu, wall, peak


def steward_env(pythonpath: str | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    env.update({"STEWARD_DISABLE_PLUGINS": "1", **extra})
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    return env


def plan_command(board: Path, fmt: str) -> list[str]:
    return [sys.executable, "-m", "steward.cli", "plan", "--tracker", f"files:{board}", "--now", NOW,
            "--format", fmt]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--issues", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--format", default="json", choices=("text", "json", "markdown"))
    parser.add_argument("--baseline", metavar="DIR", help="a directory holding another checkout as DIR/steward")
    args = parser.parse_args()
    bytecode_ready(args.baseline)
    with tempfile.TemporaryDirectory() as tmp:
        board = Path(tmp) / "board.json"
        board.write_text(json.dumps(make_board(args.issues)), encoding="utf-8")
        empty = Path(tmp) / "empty.json"
        empty.write_text(json.dumps(make_board(0)), encoding="utf-8")
        runs: dict[str, list[tuple[float, float, float]]] = {}
        outputs: dict[str, bytes] = {}
        variants = [("json.load", [sys.executable, "-c", LOAD, str(board)], steward_env())]
        if args.baseline:
            variants.append(("baseline", plan_command(board, args.format), steward_env(args.baseline)))
            variants.append(("baseline start-up", plan_command(empty, args.format), steward_env(args.baseline)))
        variants.append(("steward", plan_command(board, args.format), steward_env()))
        variants.append(("steward start-up", plan_command(empty, args.format), steward_env()))
        for _ in range(args.rounds):
            for name, command, env in variants:
                out, cpu, wall, peak = child(command, env)
                runs.setdefault(name, []).append((cpu, wall, peak))
                outputs[name] = out
    print(f"files board, {args.issues:,} issues, `plan --format {args.format}`, medians of {args.rounds} paired "
          "round(s); start-up: the same plan on a board without issues\n")
    median = {name: tuple(statistics.median(r[i] for r in rows) for i in range(3)) for name, rows in runs.items()}
    load_cpu = median["json.load"][0]
    print(f"{'run':<18} | {'CPU s':>7} | {'x json.load':>11} | {'wall s':>7} | {'peak MB':>7}")
    for name, (cpu, wall, peak) in median.items():
        print(f"{name:<18} | {cpu:7.2f} | {cpu / load_cpu:11.1f} | {wall:7.2f} | {peak:7.0f}")
    work = {name: median[name][0] - median[f"{name} start-up"][0] for name in ("baseline", "steward")
            if f"{name} start-up" in median}
    for name, cpu in work.items():
        print(f"{name}: CPU per 1,000 issues after start-up {cpu / args.issues * 1000:.3f} s, "
              f"{cpu / load_cpu:.1f}x json.load")
    if args.baseline:
        same = compare(outputs["baseline"], outputs["steward"])
        print(f"\nsteward / baseline CPU: {median['steward'][0] / median['baseline'][0]:.2f}x whole runs, "
              f"{work['steward'] / work['baseline']:.2f}x after start-up; outputs: {same}")


if __name__ == "__main__":
    main()
