"""Time immuno look-ups against the unavoidable part: Python starting and importing Typer.

Runs each command and the reference interleaved, N times each, and reports medians and the ratio.
Usage: python benchmarks/bench.py [--runs 15]   (uses the python and immuno of the current venv)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

COMMANDS = {
    "reference: python -c 'import typer'": [sys.executable, "-c", "import typer"],
    "immuno trial KEYNOTE-942 --json": [sys.executable, "-m", "immunocli", "trial", "KEYNOTE-942", "--json"],
    "immuno compare --endpoint OS (table)": [sys.executable, "-m", "immunocli", "compare", "--endpoint", "OS"],
    "immuno drug pembrolizumb (fuzzy)": [sys.executable, "-m", "immunocli", "drug", "pembrolizumb", "--json"],
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    env = {**os.environ, "IMMUNO_CACHE_DIR": tempfile.mkdtemp(prefix="immuno-bench-")}
    for cmd in COMMANDS.values():  # warm the cache and the OS file cache
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, check=True)
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(args.runs):
        for name, cmd in COMMANDS.items():
            start = time.perf_counter()
            subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, check=True)
            times[name].append(time.perf_counter() - start)
    reference = statistics.median(next(iter(times.values())))
    print(f"{'command':42} {'median ms':>10} {'× reference':>12}")
    for name, samples in times.items():
        med = statistics.median(samples)
        print(f"{name:42} {med * 1000:10.1f} {med / reference:12.2f}")


if __name__ == "__main__":
    main()
