"""The compiled cache speeds look-ups but can never change or break an answer."""

from __future__ import annotations

import os
import stat

import pytest


def cache_files(root):
    return list((root / "cache").glob("knowledge-*.pickle")) if (root / "cache").exists() else []


def test_first_run_writes_the_cache_and_second_run_uses_it(immuno, tmp_path):
    first = immuno("trial", "KN-942", "--json").json()
    assert len(cache_files(tmp_path)) == 1
    assert immuno("trial", "KN-942", "--json").json() == first


def test_a_corrupt_cache_is_rebuilt(immuno, tmp_path):
    immuno("trial", "KN-942", "--json")
    (path,) = cache_files(tmp_path)
    path.write_bytes(b"not a pickle")
    run = immuno("trial", "KN-942", "--json")
    assert run.code == 0 and run.json()["trial"]["id"] == "keynote-942"


def test_editing_a_user_file_invalidates_the_cache(immuno, user_dir):
    drug = user_dir / "drugs" / "sunitinib.yaml"
    drug.write_text("id: sunitinib\nname: sunitinib\nmodality: targeted-therapy\nstatus: approved\nnotes: one\n")
    assert immuno("-d", str(user_dir), "drug", "sunitinib", "--json").json()["drug"]["notes"] == "one"
    drug.write_text("id: sunitinib\nname: sunitinib\nmodality: targeted-therapy\nstatus: approved\nnotes: two!\n")
    assert immuno("-d", str(user_dir), "drug", "sunitinib", "--json").json()["drug"]["notes"] == "two!"


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
