"""Faults and hostile input: the right answer or a clean exit, never a traceback or a hang."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from immunocli.errors import ImmunoError
from immunocli.index import NameIndex
from immunocli.loader import build


@pytest.mark.parametrize("query", [
    "🧬🧬", "'; DROP TABLE trials; --", "../../etc/passwd", "--help-me", "-x", "x" * 100_000, "\u202epembro",
])
def test_odd_queries_exit_cleanly(shell, query):
    done = shell(f"immuno trial -- {json.dumps(query)}")
    assert done.returncode in (1, 2), done.stderr
    assert "Traceback" not in done.stderr and done.stderr.startswith("immuno:")


def test_eight_processes_on_a_cold_cache_all_answer(shell, tmp_path):
    def one(_):
        return shell("immuno trial KN-942 --json", env={"IMMUNO_CACHE_DIR": str(tmp_path / "shared-cache")})

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, range(8)))
    assert all(r.returncode == 0 and json.loads(r.stdout)["trial"]["id"] == "keynote-942" for r in results)
    leftovers = [p for p in (tmp_path / "shared-cache").iterdir() if p.name.endswith(".tmp")]
    assert leftovers == [] and len(list((tmp_path / "shared-cache").glob("knowledge-*.sqlite"))) == 1


def test_interrupt_during_a_cold_start_leaves_no_partial_cache(tmp_path):
    cache = tmp_path / "cache"
    env = {**os.environ, "IMMUNO_CACHE_DIR": str(cache)}
    proc = subprocess.Popen([sys.executable, "-m", "immunocli", "list", "trials"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(0.15)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert "Traceback" not in err
    if cache.exists():
        assert not [p for p in cache.iterdir() if p.name.endswith(".tmp")]
        for done in cache.glob("knowledge-*.sqlite"):  # a finished cache must be whole
            assert subprocess.run([sys.executable, "-m", "immunocli", "trial", "KN-942"], env=env,
                                  capture_output=True).returncode == 0
            del done


def test_a_huge_file_is_refused_not_read(immuno, user_dir):
    big = user_dir / "trials" / "huge.yaml"
    with open(big, "w") as handle:
        handle.write("id: huge\nnotes: '")
        handle.write("x" * (6 * 1024 * 1024))
        handle.write("'\n")
    run = immuno("validate", str(user_dir))
    assert run.code == 2 and "larger than 5 MiB" in run.out


names = st.text(min_size=1, max_size=40)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=st.lists(st.tuples(names, st.lists(names, max_size=3)), min_size=1, max_size=8), query=st.text(max_size=60))
def test_resolver_never_raises_anything_but_its_own_errors(records, query):
    index = NameIndex.build("drug", ((f"id{i}", label, aliases) for i, (label, aliases) in enumerate(records)))
    try:
        index.resolve(query)
    except ImmunoError:
        pass


@settings(max_examples=200, deadline=None)
@given(label=st.from_regex(r"[A-Za-z][A-Za-z0-9 \-]{2,30}", fullmatch=True))
def test_an_exact_name_resolves_to_itself(label):
    index = NameIndex.build("trial", [("the-one", label, []), ("other", "Completely Different Name 123", [])])
    assert index.resolve(label) == "the-one"


yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=st.dictionaries(st.sampled_from(["id", "name", "phase", "arms", "results", "cuts", "sources",
                                                 "indication", "setting", "population", "x"]), yaml_values, max_size=8))
def test_random_mappings_load_or_are_reported(tmp_path_factory, document):
    import yaml

    root = tmp_path_factory.mktemp("random")
    (root / "trials").mkdir()
    (root / "trials" / "random.yaml").write_text(yaml.safe_dump(document))
    _knowledge, problems = build([(root, str(root))])
    assert problems and all(str(root) in p.file for p in problems)
