"""Knowledge at scale: the parallel first build, JSON knowledge files, the compiled schema check, long tables.

Timings live in benchmarks/ (never here); these tests pin what must stay true at any size.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from immunocli import cache, schema
from immunocli.layout import data_dirs

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
import synth  # noqa: E402

ROOT = Path(__file__).parents[1]


def _answers(immuno, root: Path) -> tuple[dict, dict, str]:
    card = immuno("-d", str(root), "trial", "SYNTH-000007", "--json").json()
    rows = immuno("-d", str(root), "compare", "-e", "PFS", "--sort", "hr", "--json").json()
    table = immuno("-d", str(root), "compare", "-e", "ORR", "-i", "NSCLC").out
    return card, rows, table


def test_a_parallel_first_build_answers_as_a_single_one(immuno, tmp_path, monkeypatch):
    root = synth.write(40, tmp_path / "synthetic")
    monkeypatch.setenv("IMMUNO_CACHE_DIR", str(tmp_path / "single"))
    monkeypatch.setattr(cache, "PARALLEL_FROM", 10**9)
    single = _answers(immuno, root)
    monkeypatch.setenv("IMMUNO_CACHE_DIR", str(tmp_path / "parallel"))
    monkeypatch.setattr(cache, "PARALLEL_FROM", 10)
    assert cache._shards(data_dirs([str(root)])) == 2  # this machine class has two cores
    assert _answers(immuno, root) == single
    leftovers = [p.name for p in (tmp_path / "parallel").iterdir() if not p.name.endswith(".sqlite")]
    assert leftovers == []


def test_a_parallel_build_reports_a_bad_file_with_its_line(immuno, tmp_path, monkeypatch):
    root = synth.write(30, tmp_path / "synthetic", as_json=True)
    bad = root / "trials" / "synth-000012.json"
    data = json.loads(bad.read_text())
    data["results"][0]["hr"]["ci"] = [1.2, 1.5]  # excludes its estimate
    bad.write_text(json.dumps(data, indent=2))
    monkeypatch.setattr(cache, "PARALLEL_FROM", 10)
    run = immuno("-d", str(root), "trial", "SYNTH-000001")
    assert run.code == 2
    lines = bad.read_text().splitlines()
    first_hr = next(n for n, text in enumerate(lines) if '"hr"' in text)
    line = next(n for n, text in enumerate(lines, 1) if n > first_hr and '"ci"' in text)
    assert f"synth-000012.json:{line}: OS (ITT, cut primary) HR: estimate 0.94 is below its CI [1.2, 1.5]" in run.err


def test_json_knowledge_files_are_checked_like_yaml(immuno, tmp_path):
    root = synth.write(2, tmp_path / "synthetic", as_json=True)
    assert immuno("validate", str(root)).code == 0
    bad = root / "trials" / "synth-000002.json"
    bad.write_text('{\n  "id": "synth-000002",\n  "id": "twice"\n}\n')
    run = immuno("validate", str(root))
    assert run.code == 2 and "synth-000002.json:3: YAML error" in run.out and "duplicate key" in run.out
    bad.write_text('{"id": "synth-000002", ')
    run = immuno("validate", str(root))
    assert run.code == 2 and "synth-000002.json:1: JSON error" in run.out


def test_a_schema_problem_in_a_json_file_names_its_line(immuno, tmp_path):
    root = synth.write(1, tmp_path / "synthetic", as_json=True)
    path = root / "trials" / "synth-000001.json"
    data = json.loads(path.read_text())
    data["phase"] = "three"
    path.write_text(json.dumps(data, indent=2))
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if '"phase"' in text)
    assert f"synth-000001.json:{line}: 'three' is not" in immuno("validate", str(root)).out


BUNDLED = sorted((ROOT / "data").rglob("*.yaml"))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(BUNDLED), st.data())
def test_the_compiled_schema_check_agrees_with_the_messages(path, data):
    """`problems` answers yes/no with generated code and explains with `errors`: they must never differ."""
    from immunocli.loader import RECORD_DIRS
    from immunocli.yamlfile import read

    kind = RECORD_DIRS.get(path.parent.name) or {"endpoints.yaml": "endpoints", "indications.yaml": "indications",
                                                 "clinical-context.yaml": "context"}[path.name]
    document, _ = read(path, path.name)
    document = json.loads(json.dumps(document))
    # mutate one value somewhere in the document
    node, steps = document, data.draw(st.integers(0, 6))
    for _ in range(steps):
        if isinstance(node, dict) and node:
            key = data.draw(st.sampled_from(sorted(node, key=str)))
            if not isinstance(node[key], (dict, list)) or not node[key]:
                node[key] = data.draw(st.one_of(st.none(), st.booleans(), st.integers(-5, 200),
                                                st.floats(allow_nan=False), st.text(max_size=5), st.just([]),
                                                st.just({})))
                break
            node = node[key]
        elif isinstance(node, list) and node:
            node = node[data.draw(st.integers(0, len(node) - 1))]
    definition = schema.FILE_KINDS[kind]
    assert (schema.problems(document, definition) == []) == (list(schema.errors(document, definition)) == [])


def test_long_tables_off_a_terminal_are_tsv_lines(immuno):
    run = immuno("compare", "-e", "OS", "-i", "MEL")
    out = run.out.splitlines()
    assert run.err.startswith(f"{len(out) - 1} result(s)") and out[0].startswith("trial\t")
    rows = [line for line in out[1:] if line.startswith(("CheckMate 067\t", "KEYNOTE-006\t"))]
    assert rows and all("\x1b[" not in line for line in out)
    assert any("0.55 (0.45–0.66)" in line or "0.63" in line for line in rows)


@pytest.mark.parametrize("args, key, first", [
    (("compare", "-e", "OS", "-i", "MEL"), "rows", '{"trial":'),
    (("compare", "-e", "OS", "-i", "MEL", "--pool"), "rows", '{"trial":'),
    (("list", "drugs"), "items", '{"id":'),
    (("search", "BCMA"), "hits", '{"kind":'),
])
def test_json_listings_have_one_item_a_line_and_parse(immuno, args, key, first):
    run = immuno(*args, "--json")
    parsed = json.loads(run.out)
    item_lines = [line for line in run.out.splitlines() if line.startswith("    " + first)]
    assert run.code == 0 and len(item_lines) == len(parsed[key]) > 3


def test_the_cache_directory_follows_platformdirs(monkeypatch, tmp_path):
    from platformdirs import user_cache_dir

    monkeypatch.delenv("IMMUNO_CACHE_DIR")
    for xdg in (None, str(tmp_path / "xdg"), "  "):
        if xdg is None:
            monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
        else:
            monkeypatch.setenv("XDG_CACHE_HOME", xdg)
        assert str(cache.cache_dir()) == user_cache_dir("immuno", appauthor=False)


def test_the_benchmark_smoke_run_passes(tmp_path):
    """CI runs the benchmark small: the generator's output validates, compiles and answers (times not judged)."""
    run = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench.py"), "--smoke", "--workdir", str(tmp_path)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "trial SYNTH-000150 --json" in run.stdout


def test_the_library_and_the_compiled_cache_compare_alike(immuno):
    """`Catalogue.compare` (in memory) and `immuno compare` (compiled facts) share `selection`; pin it."""
    from immunocli import Catalogue, load, serialize

    knowledge = load()
    for args, kwargs in ((("OS",), {"indication": "NSCLC", "sort": "hr"}), (("PFS",), {"cut": "all"}),
                         ((None,), {"modality": "car-t"})):
        library = serialize.comparison(Catalogue(knowledge).compare(*args, **kwargs), knowledge, pool=bool(args[0]))
        flags = [f"--{k}={v}" for k, v in kwargs.items()] + (["-e", args[0], "--pool"] if args[0] else [])
        cli = immuno("compare", *flags, "--json").json()
        cli.pop("explain")
        assert cli == json.loads(json.dumps(library)) and cli["rows"]


def test_compare_sees_a_trial_edited_in_place_to_match(immuno, tmp_path):
    root = synth.write(3, tmp_path / "synthetic", as_json=True)
    shown = {r["trial"]["id"] for r in immuno("-d", str(root), "compare", "-e", "OS", "-i", "UM", "--json").json()["rows"]}
    assert shown == {"imcgp100-202"}
    path = root / "trials" / "synth-000003.json"
    data = json.loads(path.read_text())
    data["indication"] = "UM"
    path.write_text(json.dumps(data) + " " * 10)  # in place: the directory's mtime stays
    rows = immuno("-d", str(root), "compare", "-e", "OS", "-i", "UM", "--json").json()["rows"]
    assert {r["trial"]["id"] for r in rows} == {"imcgp100-202", "synth-000003"}
