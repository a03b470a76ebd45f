"""Time immuno against the unavoidable part: Python starting and importing Typer.

Every command runs as a fresh process, interleaved with the reference (`python -c "import typer"`), and
the medians are compared; peak memory is each process's maximum resident set (wait4). Timings belong
here, never in tests.

  python benchmarks/bench.py                       # the bundled knowledge, 15 runs each
  python benchmarks/bench.py --scale 1000 10000 100000 [--yaml]
                                                   # plus that many synthetic trials via --data-dir
  python benchmarks/bench.py --snapshot ...        # run the committed tree (git HEAD), copied aside, so
                                                   # edits in a shared checkout cannot rebuild a cache mid-run
  python benchmarks/bench.py --smoke               # CI: a small scale run that checks answers, not times

Every table ends with its ratios; the last table is each command's growth across the scales run, and
the issue-18 targets are checked against the measured ratios (reported, never asserted).
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
# What each command is called in every table (bundled and at scale), so growth can be read across them.
COMMANDS = [
    ("trial KEYNOTE-942 --json", ["trial", "KEYNOTE-942", "--json"]),
    ("trial KEYNOTE-942 (table)", ["trial", "KEYNOTE-942"]),
    ("drug pembrolizumab (table)", ["drug", "pembrolizumab"]),
    ("drug pembrolizumab --json", ["drug", "pembrolizumab", "--json"]),
    ("drug pembrolizumb --json (typo)", ["drug", "pembrolizumb", "--json"]),
    ("indication NSCLC (table)", ["indication", "NSCLC"]),
    ("indication NSCLC --json", ["indication", "NSCLC", "--json"]),
    ("biomarker MSI-H (table)", ["biomarker", "MSI-H"]),
    ("irae colitis (table)", ["irae", "colitis"]),
    ("search melanoma (table)", ["search", "melanoma"]),
    ("search melanoma --json", ["search", "melanoma", "--json"]),
    ("list trials (table)", ["list", "trials"]),
    ("list trials --json", ["list", "trials", "--json"]),
    ("compare --endpoint OS (table)", ["compare", "--endpoint", "OS"]),
    ("compare --endpoint OS --json", ["compare", "--endpoint", "OS", "--json"]),
    ("compare --endpoint OS --format ndjson", ["compare", "--endpoint", "OS", "--format", "ndjson"]),
    ("compare --endpoint OS --format csv", ["compare", "--endpoint", "OS", "--format", "csv"]),
]
BUNDLED = [(name, [*IMMUNO, *args]) for name, args in COMMANDS] + [("validate", [*IMMUNO, "validate"])]
# Issue 18's targets: (what, command, scale (0: bundled), at most this × the reference)
TARGETS = [
    ("bundled drug table", "drug pembrolizumab (table)", 0, 1.6),
    ("bundled indication table", "indication NSCLC (table)", 0, 1.6),
    ("bundled search table", "search melanoma (table)", 0, 1.6),
    ("10,000: a look-up", "trial SYNTH-005000 --json", 10000, 1.5),
    ("10,000: drug", "drug pembrolizumab (table)", 10000, 2.0),
    ("10,000: indication", "indication NSCLC (table)", 10000, 2.0),
    ("10,000: search", "search melanoma (table)", 10000, 2.0),
    ("10,000: list", "list trials (table)", 10000, 2.0),
]
MEASURED: dict[int, dict[str, tuple[float, float]]] = {}  # scale -> command -> (seconds, × reference)


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


def report(title: str, results: dict[str, tuple[float, int, float]], scale: int | None = None) -> None:
    """Wall time is the target's measure; CPU time (user + system) is steadier on a shared machine."""
    reference, _, reference_cpu = results[REFERENCE[0]]
    if scale is not None:
        MEASURED.setdefault(scale, {}).update({name: (seconds, seconds / reference)
                                               for name, (seconds, _, _) in results.items()})
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
    checked, peak, _ = run([*with_data, "validate"], env)
    print(f"{count} synthetic trials: validate {checked:.1f} s, peak {peak / 1024:.0f} MiB (one run)")
    MEASURED.setdefault(count, {}).update({"first build and answer (one run)": (seconds, float("nan")),
                                           "validate (one run)": (checked, float("nan"))})
    sys.stdout.flush()
    commands = [
        REFERENCE,
        (f"trial SYNTH-{count // 2:06d} --json", [*with_data, "trial", f"SYNTH-{count // 2:06d}", "--json"]),
        *((name, [*with_data, *args]) for name, args in COMMANDS),
    ]
    report(f"{count} synthetic trials, warm cache, {runs} runs", interleaved(commands, env, runs), count)


def cold(env: dict, workdir: Path, runs: int, package: Path | None = None) -> None:
    """The first run after install: an empty cache, so the bundled knowledge is compiled, then answered;
    with `package` (the snapshot's), also as a wheel install runs it, adopting the compiled file the wheel
    carries (src/immunocli/prebuilt.py, made here as hatch_build.py makes it)."""
    cases = [("compile the bundled knowledge, then answer", "cold first run: trial KEYNOTE-942 --json")]
    if package is not None:
        cases.append(("adopt the wheel's compiled knowledge, then answer",
                      "cold first run, wheel install: trial KEYNOTE-942 --json"))
    for number, (what, name) in enumerate(cases):
        if number == 1:
            subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path; "
                            "from immunocli.prebuilt import make; make(Path(sys.argv[1]), Path(sys.argv[2]))",
                            str(package.parents[1] / "data"), str(package / "prebuilt.sqlite")], env=env, check=True)
        cache = workdir / "cache-cold"
        first = [*IMMUNO, "trial", "KEYNOTE-942", "--json"]
        times, refs = [], []
        for _ in range(runs):
            shutil.rmtree(cache, ignore_errors=True)
            times.append(run(first, {**env, "IMMUNO_CACHE_DIR": str(cache)})[0])
            refs.append(run(REFERENCE[1], env)[0])
        seconds, reference = statistics.median(times), statistics.median(refs)
        MEASURED.setdefault(0, {})[name] = (seconds, seconds / reference)
        print(f"\ncold first run (empty cache: {what}), {runs} runs: "
              f"trial KEYNOTE-942 --json {seconds * 1000:.0f} ms, {seconds / reference:.2f} × reference")


def growth() -> None:
    """Each command's time at each scale run, and its growth from the smallest scale to the largest."""
    scales = sorted(s for s in MEASURED if s)
    if len(scales) < 2:
        return
    names = [n for n in MEASURED[scales[-1]] if n != REFERENCE[0] and all(n in MEASURED[s] for s in scales)]
    print(f"\ngrowth, {scales[0]:,} → {scales[-1]:,} synthetic trials (ms; × reference in brackets)")
    print(f"{'command':46} " + " ".join(f"{s:>16,}" for s in scales) + f" {'growth':>7}")
    for name in names:
        cells = []
        for scale in scales:
            seconds, ratio = MEASURED[scale][name]
            cells.append(f"{seconds * 1000:9.0f}" + (f" ({ratio:4.1f})" if ratio == ratio else "       "))
        grown = MEASURED[scales[-1]][name][0] / MEASURED[scales[0]][name][0]
        print(f"{name:46} " + " ".join(f"{c:>16}" for c in cells) + f" {grown:6.1f}×")


def targets() -> None:
    """Issue 18's targets against what this run measured (only those whose scale was run)."""
    rows = []
    for what, name, scale, limit in TARGETS:
        if scale == 10000 and name.startswith("trial SYNTH"):
            name = f"trial SYNTH-{scale // 2:06d} --json"
        if name in MEASURED.get(scale, {}):
            ratio = MEASURED[scale][name][1]
            rows.append(f"{what:28} ≤{limit:.1f}×  measured {ratio:.2f}×  {'met' if ratio <= limit else 'NOT met'}")
    for scale, found in sorted(MEASURED.items()):
        csv, js = found.get("compare --endpoint OS --format csv"), found.get("compare --endpoint OS --json")
        if csv and js:
            ratio = csv[0] / js[0]
            rows.append(f"{f'CSV / JSON, ' + (f'{scale:,}' if scale else 'bundled'):28} ≤1.5×  measured {ratio:.2f}×  "
                        f"{'met' if ratio <= 1.5 else 'NOT met'}")
    if rows:
        print("\nissue 18 targets (ratios to the reference in the same run)")
        print("\n".join(rows))


def snapshot(workdir: Path) -> dict:
    """The committed tree (git HEAD: code and bundled knowledge) copied aside, and the environment that
    runs it: in a shared checkout, another's edit would otherwise change the code stamp and rebuild a
    cache in the middle of a run."""
    import io
    import tarfile

    root = Path(__file__).resolve().parents[1]
    target = workdir / "snapshot"
    shutil.rmtree(target, ignore_errors=True)
    archive = subprocess.run(["git", "-C", str(root), "archive", "HEAD", "src", "data"], capture_output=True,
                             check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target)
    commit = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            check=True).stdout.strip()
    print(f"running the committed tree {commit}, copied to {target}")
    return {"PYTHONPATH": str(target / "src")}


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
    parser.add_argument("--snapshot", action="store_true", help="run git HEAD copied aside, not the checkout")
    parser.add_argument("--no-bundled", action="store_true", help="only the scales")
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
    if args.snapshot:
        env.update(snapshot(workdir))
    if not args.no_bundled:
        report(f"bundled knowledge, warm cache, {args.runs} runs", interleaved([REFERENCE, *BUNDLED], env, args.runs),
               0)
        cold(env, workdir, max(3, args.runs // 3), Path(env["PYTHONPATH"]) / "immunocli" if args.snapshot else None)
    for count in args.scale:
        scale(count, env, max(3, args.runs // 3 if count >= 100_000 else args.runs), not args.yaml, workdir)
    growth()
    targets()


if __name__ == "__main__":
    main()
