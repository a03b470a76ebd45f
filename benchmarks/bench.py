"""Time immuno against the unavoidable part: Python starting and importing Typer.

Every command runs as a fresh process, interleaved with the reference (`python -c "import typer"`), and
the medians are compared; peak memory is each process's maximum resident set (wait4). Timings belong
here, never in tests.

  python benchmarks/bench.py                       # the bundled knowledge, 15 runs each
  python benchmarks/bench.py --scale 1000 10000 100000 [--yaml]
                                                   # plus that many synthetic trials via --data-dir
  python benchmarks/bench.py --smoke               # CI: a small scale run that checks answers, not times
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import synth  # noqa: E402

# The `immuno` console script of this Python's environment, as a user runs it (not `python -m`).
_SCRIPT = Path(sys.executable).with_name("immuno")
IMMUNO = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "immunocli"]
REFERENCE = ("reference: python -c 'import typer'", [sys.executable, "-c", "import typer"])
BUNDLED = [
    ("immuno trial KEYNOTE-942 --json", [*IMMUNO, "trial", "KEYNOTE-942", "--json"]),
    ("immuno compare --endpoint OS (table)", [*IMMUNO, "compare", "--endpoint", "OS"]),
    ("immuno drug pembrolizumb --json (typo)", [*IMMUNO, "drug", "pembrolizumb", "--json"]),
]


def run(cmd: list[str], env: dict) -> tuple[float, int, float]:
    """Seconds, peak RSS (KiB) and CPU seconds (user + system) of one fresh process; output discarded."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode()
    proc.stderr.close()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {err}")
    return elapsed, usage.ru_maxrss, usage.ru_utime + usage.ru_stime


def interleaved(commands: list[tuple[str, list[str]]], env: dict, runs: int) -> dict[str, tuple[float, int, float]]:
    """Median wall seconds, peak KiB and median CPU seconds of each command, after one warm-up round."""
    for _, cmd in commands:
        run(cmd, env)
    times: dict[str, list[float]] = {name: [] for name, _ in commands}
    cpu: dict[str, list[float]] = {name: [] for name, _ in commands}
    peaks: dict[str, int] = {name: 0 for name, _ in commands}
    for _ in range(runs):
        for name, cmd in commands:
            seconds, peak, used = run(cmd, env)
            times[name].append(seconds)
            cpu[name].append(used)
            peaks[name] = max(peaks[name], peak)
    return {name: (statistics.median(times[name]), peaks[name], statistics.median(cpu[name])) for name in times}


def report(title: str, results: dict[str, tuple[float, int, float]]) -> None:
    """Wall time is the target's measure; CPU time (user + system) is steadier on a shared machine."""
    reference, _, reference_cpu = results[REFERENCE[0]]
    print(f"\n{title}")
    print(f"{'command':46} {'median ms':>9} {'× ref':>6} {'CPU ms':>7} {'× ref':>6} {'peak MiB':>8}")
    for name, (seconds, peak, used) in results.items():
        print(f"{name:46} {seconds * 1000:9.1f} {seconds / reference:6.2f} {used * 1000:7.1f} "
              f"{used / reference_cpu:6.2f} {peak / 1024:8.0f}")
    sys.stdout.flush()


def scale(count: int, env: dict, runs: int, as_json: bool, workdir: Path) -> None:
    data = workdir / f"synthetic-{count}{'-json' if as_json else ''}"
    if not data.exists():
        start = time.perf_counter()
        synth.write(count, data, as_json=as_json)
        print(f"\n(generated {count} {'JSON' if as_json else 'YAML'} trials in {time.perf_counter() - start:.1f} s)")
    cache = workdir / f"cache-{count}"
    shutil.rmtree(cache, ignore_errors=True)
    env = {**env, "IMMUNO_CACHE_DIR": str(cache)}
    with_data = [*IMMUNO, "--data-dir", str(data)]
    seconds, peak, _ = run([*with_data, "trial", "SYNTH-000001", "--json"], env)
    size = sum(p.stat().st_size for p in cache.glob("knowledge-*.sqlite"))
    print(f"\n{count} synthetic trials ({'JSON' if as_json else 'YAML'}): first build and answer {seconds:.1f} s, "
          f"peak {peak / 1024:.0f} MiB, compiled file {size / 2**20:.0f} MiB")
    commands = [
        REFERENCE,
        (f"trial SYNTH-{count // 2:06d} --json", [*with_data, "trial", f"SYNTH-{count // 2:06d}", "--json"]),
        ("trial KEYNOTE-942 --json", [*with_data, "trial", "KEYNOTE-942", "--json"]),
        ("drug nivolumab --json", [*with_data, "drug", "nivolumab", "--json"]),
        ("compare --endpoint OS (table)", [*with_data, "compare", "--endpoint", "OS"]),
        ("compare --endpoint OS --format ndjson", [*with_data, "compare", "--endpoint", "OS", "--format", "ndjson"]),
        ("compare --endpoint OS --format csv", [*with_data, "compare", "--endpoint", "OS", "--format", "csv"]),
        ("compare --endpoint OS --json", [*with_data, "compare", "--endpoint", "OS", "--json"]),
    ]
    report(f"{count} synthetic trials, warm cache, {runs} runs", interleaved(commands, env, runs))


def smoke(env: dict, workdir: Path) -> None:
    """What CI runs: the generator's output validates, builds, and answers; no timing is judged."""
    data = synth.write(200, workdir / "smoke", as_json=False)
    synth.write(50, workdir / "smoke-json", as_json=True)
    env = {**env, "IMMUNO_CACHE_DIR": str(workdir / "smoke-cache")}
    both = ["--data-dir", str(data), "--data-dir", str(workdir / "smoke-json")]
    check = subprocess.run([*IMMUNO, *both, "validate"], env=env, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    card = json.loads(subprocess.run([*IMMUNO, *both, "trial", "SYNTH-000150", "--json"], env=env,
                                     capture_output=True, text=True, check=True).stdout)
    assert card["trial"]["id"] == "synth-000150"
    rows = subprocess.run([*IMMUNO, *both, "compare", "-e", "OS", "--format", "ndjson"], env=env,
                          capture_output=True, text=True, check=True).stdout.splitlines()
    assert sum(json.loads(r)["trial"]["id"].startswith("synth-") for r in rows) == 200  # the JSON set shares ids 1-50
    results = interleaved([REFERENCE, ("trial SYNTH-000150 --json", [*IMMUNO, *both, "trial", "SYNTH-000150", "--json"])],
                          env, 3)
    report("smoke (200 YAML + 50 JSON synthetic trials, 3 runs; times not judged)", results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--scale", type=int, nargs="*", default=[], metavar="N")
    parser.add_argument("--yaml", action="store_true", help="synthetic trials as YAML (default JSON)")
    parser.add_argument("--workdir", type=Path, help="keep generated trials here between runs")
    parser.add_argument("--smoke", action="store_true")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="immuno-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "IMMUNO_CACHE_DIR": str(workdir / "cache-bundled")}
    env.pop("IMMUNO_DATA_DIR", None)
    env.pop("IMMUNO_NO_CACHE", None)
    # As on a user's machine, Python keeps the compiled bytecode of immuno's modules (pip writes it at
    # install; an editable checkout writes it on the first run): without it each start compiles ~25 ms.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    print(f"{platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    if args.smoke:
        smoke(env, workdir)
        return
    report(f"bundled knowledge, warm cache, {args.runs} runs", interleaved([REFERENCE, *BUNDLED], env, args.runs))
    for count in args.scale:
        scale(count, env, max(3, args.runs // 3 if count >= 100_000 else args.runs), not args.yaml, workdir)


if __name__ == "__main__":
    main()
