"""The compiled cache speeds look-ups but can never change or break an answer."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
import synth  # noqa: E402 - the benchmark's generator of synthetic trials


def cache_files(root):
    return list((root / "cache").glob("knowledge-*.sqlite")) if (root / "cache").exists() else []


def test_first_run_writes_the_cache_and_second_run_uses_it(immuno, tmp_path):
    first = immuno("trial", "KN-942", "--json").json()
    (path,) = cache_files(tmp_path)
    written = path.stat().st_mtime_ns
    assert immuno("trial", "KN-942", "--json").json() == first
    assert path.stat().st_mtime_ns == written  # answered from it, not rebuilt


def test_a_corrupt_cache_is_rebuilt(immuno, tmp_path):
    immuno("trial", "KN-942", "--json")
    (path,) = cache_files(tmp_path)
    path.write_bytes(b"not a database")
    run = immuno("trial", "KN-942", "--json")
    assert run.code == 0 and run.json()["trial"]["id"] == "keynote-942"
    assert immuno("compare", "-e", "OS", "--json").code == 0


def test_a_truncated_cache_is_rebuilt(immuno, tmp_path):
    immuno("trial", "KN-942", "--json")
    (path,) = cache_files(tmp_path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 3])
    assert immuno("compare", "-e", "OS", "--json").json()["rows"]


def test_editing_a_user_file_invalidates_the_cache(immuno, user_dir):
    drug = user_dir / "drugs" / "sunitinib.yaml"
    drug.write_text("id: sunitinib\nname: sunitinib\nmodality: targeted-therapy\nstatus: approved\nnotes: one\n")
    assert immuno("-d", str(user_dir), "drug", "sunitinib", "--json").json()["drug"]["notes"] == "one"
    drug.write_text("id: sunitinib\nname: sunitinib\nmodality: targeted-therapy\nstatus: approved\nnotes: two!\n")
    assert immuno("-d", str(user_dir), "drug", "sunitinib", "--json").json()["drug"]["notes"] == "two!"


def _hr(path: Path) -> float:
    return json.loads(path.read_text())["results"][0]["hr"]["value"]


def test_a_trial_edited_in_place_answers_with_its_new_figures(immuno, tmp_path):
    root = synth.write(3, tmp_path / "synthetic", as_json=True)
    trial = root / "trials" / "synth-000002.json"
    data = json.loads(trial.read_text())
    data["results"][0]["hr"].update(value=0.5, ci=[0.4, 0.6])
    trial.write_text(json.dumps(data))  # the directory's mtime does not change: the trial's own file is checked
    assert immuno("-d", str(root), "trial", "SYNTH-000002", "--json").json()["trial"]["results"][0]["hazard_ratios"][0]["value"] == 0.5
    data["results"][0]["hr"].update(value=0.75, ci=[0.6, 0.9])
    trial.write_text(json.dumps(data) + " ")
    card = immuno("-d", str(root), "trial", "SYNTH-000002", "--json").json()
    assert card["trial"]["results"][0]["hazard_ratios"][0]["value"] == 0.75
    rows = immuno("-d", str(root), "compare", "-e", "OS", "--json").json()["rows"]
    assert [r["hazard_ratio"]["value"] for r in rows if r["trial"]["id"] == "synth-000002"] == [0.75]


def test_added_and_removed_trials_are_seen(immuno, tmp_path):
    root = synth.write(2, tmp_path / "synthetic")
    assert immuno("-d", str(root), "trial", "SYNTH-000002").code == 0
    (root / "trials" / "synth-000002.yaml").unlink()
    assert immuno("-d", str(root), "trial", "SYNTH-000002").code == 1
    synth.write(3, root)
    assert immuno("-d", str(root), "trial", "SYNTH-000003", "--json").json()["trial"]["id"] == "synth-000003"


def test_each_list_of_directories_keeps_its_own_compiled_file(immuno, tmp_path):
    root = synth.write(1, tmp_path / "synthetic")
    immuno("trial", "KN-942")
    immuno("-d", str(root), "trial", "SYNTH-000001")
    assert len(cache_files(tmp_path)) == 2
    assert immuno("trial", "SYNTH-000001").code == 1  # the bundled-only knowledge has no synthetic trial


def test_no_cache_compiles_in_memory(immuno, tmp_path):
    run = immuno("trial", "KN-942", "--json", env={"IMMUNO_NO_CACHE": "1"})
    assert run.json()["trial"]["id"] == "keynote-942" and cache_files(tmp_path) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to a read-only directory")
def test_read_only_cache_directory_still_answers(immuno, tmp_path):
    (tmp_path / "cache").mkdir()
    os.chmod(tmp_path / "cache", stat.S_IRUSR | stat.S_IXUSR)
    try:
        assert immuno("trial", "KN-942").code == 0
    finally:
        os.chmod(tmp_path / "cache", stat.S_IRWXU)


def test_cache_directory_that_is_a_file_still_answers(immuno, tmp_path, monkeypatch):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a directory should be")
    monkeypatch.setenv("IMMUNO_CACHE_DIR", str(blocker / "cache"))
    assert immuno("trial", "KN-942").code == 0
    assert immuno("compare", "-e", "OS", "--format", "ndjson").code == 0
