"""What installing Steward costs: a fresh virtualenv (cold) and one restored from a cache archive (warm).

    python benchmarks/install.py --python python3.12 . /path/to/another/steward/checkout

For each source tree given, in the same run:

- cold: `python -m venv` + `pip install --no-cache-dir SOURCE` (every download and build, as on a fresh
  runner), then the virtualenv's size on disk and its package count;
- warm: the virtualenv packed as a zstd tarball (what actions/cache stores), removed, then restored from
  the tarball and `steward plan` run on a copy of the demo board: the time until the first plan is out.

It prints one row per source, side by side. It needs the network for the cold install (PyPI only).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEMO_NOW = "2026-11-20T09:00:00Z"


def _run(command: list[str], **kwargs) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, **kwargs)
    return time.perf_counter() - start


def _size_mb(path: Path) -> float:
    """Disk usage as `du` counts it (whole blocks), in MB."""
    kilobytes = subprocess.run(["du", "-sk", str(path)], capture_output=True, text=True, check=True).stdout
    return int(kilobytes.split()[0]) * 1024 / 1e6


def _packages(venv: Path) -> int:
    """Installed distributions, counting the pip (and setuptools) that `venv` itself brings."""
    return sum(1 for _ in venv.glob("lib/python3*/site-packages/*.dist-info"))


def measure(python: str, source: Path, work: Path) -> dict:
    venv = work / "venv"
    env = {k: v for k, v in os.environ.items() if k != "PIP_CACHE_DIR"}
    cold = _run([python, "-m", "venv", str(venv)])
    cold += _run([str(venv / "bin" / "pip"), "install", "--quiet", "--no-cache-dir",
                  "--disable-pip-version-check", str(source)], env=env, stderr=subprocess.DEVNULL)
    size, count = _size_mb(venv), _packages(venv)
    archive = work / "venv.tar.zst"
    _run(["tar", "--zstd", "-cf", str(archive), "-C", str(work), "venv"])
    archive_mb = archive.stat().st_size / 1e6
    shutil.rmtree(venv)
    board = work / "board.json"
    shutil.copy(source / "examples" / "board.json", board)
    restore = _run(["tar", "--zstd", "-xf", str(archive), "-C", str(work)])
    first_plan = _run([str(venv / "bin" / "steward"), "plan", "--tracker", f"files:{board}", "--now", DEMO_NOW])
    return {"cold_s": cold, "size_mb": size, "packages": count, "archive_mb": archive_mb,
            "restore_s": restore, "plan_s": first_plan}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable, help="interpreter for the virtualenvs")
    parser.add_argument("sources", nargs="+", type=Path, help="Steward source trees to install")
    args = parser.parse_args()
    version = subprocess.run([args.python, "--version"], capture_output=True, text=True).stdout.strip()
    print(f"{version}; cold = venv + pip install --no-cache-dir; warm = restore the zstd tarball + first plan")
    print(f"{'source':<32} {'cold s':>7} {'venv MB':>8} {'pkgs':>5} {'tar MB':>7} "
          f"{'restore s':>9} {'plan s':>7} {'warm s':>7}")
    for source in args.sources:
        with tempfile.TemporaryDirectory(prefix="steward-install-") as work:
            row = measure(args.python, source.resolve(), Path(work))
        warm = row["restore_s"] + row["plan_s"]
        print(f"{str(source)[-32:]:<32} {row['cold_s']:>7.1f} {row['size_mb']:>8.1f} {row['packages']:>5} "
              f"{row['archive_mb']:>7.1f} {row['restore_s']:>9.2f} {row['plan_s']:>7.2f} {warm:>7.2f}")


if __name__ == "__main__":
    main()
