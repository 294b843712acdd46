"""Start-up cost of the `steward` command, against `python -c "import click"` in the same virtualenv.

    python benchmarks/startup.py .venv [OTHER_VENV ...] [--runs 21]

For each virtualenv (one with Steward installed): the median wall time of `steward --help`,
`steward check rules/` (run from the repository root) and the click import alone, over interleaved runs,
and each command's ratio to the click import measured in the same run. Then what importing jsonschema,
which `steward check` needs, costs on its own.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _time(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def measure(venv: Path, runs: int) -> dict[str, float]:
    python, steward = str(venv / "bin" / "python"), str(venv / "bin" / "steward")
    commands = {
        "import click": [python, "-c", "import click"],
        "import jsonschema": [python, "-c", "import jsonschema"],
        "steward --help": [steward, "--help"],
        "steward check rules/": [steward, "check", "rules/"],
    }
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):  # interleaved, so a slow moment of the machine touches every command alike
        for name, command in commands.items():
            samples[name].append(_time(command))
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("venvs", nargs="+", type=Path)
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    print(f"median of {args.runs} runs, ms (x = ratio to `import click` in the same virtualenv)")
    for venv in args.venvs:
        result = measure(venv, args.runs)
        base = result["import click"]
        cells = [f"{name} {ms * 1000:6.0f} ({ms / base:4.1f}x)" for name, ms in result.items()]
        print(f"{str(venv)[-28:]:<28} " + " | ".join(cells))


if __name__ == "__main__":
    main()
