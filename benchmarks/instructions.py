"""CPU as executed instructions: `plan` on the files board counted by valgrind's callgrind, against a baseline.

    python benchmarks/instructions.py --baseline /tmp/base            # 2,000 issues
    python benchmarks/instructions.py --baseline /tmp/base --issues 10000
    python benchmarks/instructions.py --baseline /tmp/base --engine compiled     # Steward's runs only

On a shared machine the CPU seconds of one command move by 20-40% from one run to the next, so a change of a
few percent is lost in them (benchmarks/files_board.py needs many paired rounds and still may not see it).
The instructions a command executes hardly move: counted under callgrind with PYTHONHASHSEED=0 (dicts and
sets laid out alike), repeated runs agree within about 2%. Each command runs under callgrind with its child
processes (durable_rules' worker included): Steward's plan on the board, the same plan on an empty board
(start-up), with `--baseline DIR` both again with `PYTHONPATH=DIR` (DIR/steward another checkout, as in
files_board.py), and `json.load` of the board. Printed: instructions per issue after start-up, the ratio to
the baseline, and to `json.load` (a whole `json.load` process, the interpreter's start included, against
Steward's whole run and against its run after start-up). Instructions are not seconds (a cache miss costs
more than an addition), but the same interpreter running much the same code makes their ratio a fair
reading of the CPU ratio.

Needs valgrind (`apt install valgrind`); about a minute per 2,000 issues per command, the commands run side by
side on the machine's cores.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from child_usage import bytecode_ready
from files_board import LOAD, make_board, plan_command, steward_env
from outputs import compare

_TOTAL = re.compile(rb"^(?:summary|totals): (\d+)", re.MULTILINE)


def instructions(command: list[str], env: dict[str, str], scratch: Path) -> tuple[int, bytes]:
    """(instructions executed by the command and every process it started, its stdout)."""
    out_dir = Path(tempfile.mkdtemp(dir=scratch))
    counted = ["valgrind", "--tool=callgrind", "--trace-children=yes",
               f"--callgrind-out-file={out_dir}/callgrind.%p", *command]
    done = subprocess.run(counted, env={**env, "PYTHONHASHSEED": "0"}, capture_output=True, check=False)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{command[:6]} exited {done.returncode}: {done.stderr.decode()[-2000:]}")
    total = 0
    for profile in out_dir.glob("callgrind.*"):
        found = _TOTAL.search(profile.read_bytes())
        total += int(found[1]) if found else 0
    return total, done.stdout


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of issues (1 or more)")
    return int(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--issues", type=_positive, default=2_000)
    parser.add_argument("--format", default="json", choices=("text", "json", "markdown"))
    parser.add_argument("--baseline", metavar="DIR", help="a directory holding another checkout as DIR/steward")
    parser.add_argument("--engine", choices=("durable", "compiled", "reference"),
                        help="Steward's rule evaluator (the baseline keeps its default)")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed: this benchmark counts instructions with its callgrind tool")
    bytecode_ready(args.baseline)
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        board, empty = scratch / "board.json", scratch / "empty.json"
        board.write_text(json.dumps(make_board(args.issues)), encoding="utf-8")
        empty.write_text(json.dumps(make_board(0)), encoding="utf-8")
        engine = ["--engine", args.engine] if args.engine else []
        commands = {"json.load": ([sys.executable, "-c", LOAD, str(board)], steward_env()),
                    "steward": ([*plan_command(board, args.format), *engine], steward_env()),
                    "steward start-up": ([*plan_command(empty, args.format), *engine], steward_env())}
        if args.baseline:
            commands["baseline"] = (plan_command(board, args.format), steward_env(args.baseline))
            commands["baseline start-up"] = (plan_command(empty, args.format), steward_env(args.baseline))
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            futures = {name: pool.submit(instructions, command, env, scratch)
                       for name, (command, env) in commands.items()}
            counted = {name: future.result() for name, future in futures.items()}
    load = counted["json.load"][0]
    print(f"files board, {args.issues:,} issues, `plan --format {args.format}`, instructions executed "
          "(callgrind, PYTHONHASHSEED=0, child processes included)\n")
    print(f"{'run':<18} | {'instructions':>15} | {'x json.load':>11}")
    for name, (total, _) in counted.items():
        print(f"{name:<18} | {total:>15,} | {total / load:11.1f}")
    work = {name: counted[name][0] - counted[f"{name} start-up"][0] for name in ("steward", "baseline")
            if name in counted}
    for name, total in work.items():
        print(f"{name}: {total / args.issues:,.0f} instructions per issue after start-up, "
              f"{total / load:.1f}x json.load")
    if args.baseline:
        same = compare(counted["baseline"][1], counted["steward"][1])
        print(f"\nsteward / baseline: {counted['steward'][0] / counted['baseline'][0]:.2f}x whole runs, "
              f"{work['steward'] / work['baseline']:.2f}x after start-up; outputs: {same}")


if __name__ == "__main__":
    main()
