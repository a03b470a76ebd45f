"""Whole-knowledge answers check every trial file in a forked child while the answer is read: the child's
verdict decides as the check in the process did, and any failure of the child costs a rebuild, never a
stale answer."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from immunocli import cache

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
import synth  # noqa: E402 - the benchmark's generator of synthetic trials


def _edit_in_place(root: Path, trial: str, hr: float) -> None:
    path = root / "trials" / f"{trial}.json"
    data = json.loads(path.read_text())
    data["results"][0]["hr"].update(value=hr, ci=[round(hr - 0.1, 2), round(hr + 0.1, 2)])
    path.write_text(json.dumps(data) + " " * int(hr * 100))  # no directory's time moves


def _answers(immuno, root: Path) -> tuple:
    rows = immuno("-d", str(root), "compare", "-e", "OS", "--trial", "SYNTH-000002", "--json").json()["rows"]
    drug = immuno("-d", str(root), "drug", "pembrolizumab", "--json").json()["drug"]["trials"]
    hits = immuno("-d", str(root), "search", "synth", "--json").json()["hits"]
    return ([r["hazard_ratio"]["value"] for r in rows], len(drug), len(hits))


@pytest.mark.skipif(not cache._may_fork(), reason="the check runs in the process where a fork is unsafe")
def test_the_forked_check_sees_an_edit_in_place(immuno, tmp_path):
    root = synth.write(3, tmp_path / "synthetic", as_json=True)
    before = _answers(immuno, root)
    _edit_in_place(root, "synth-000002", 0.55)
    after = _answers(immuno, root)
    assert after[0] == [0.55] and after[0] != before[0]


def test_the_check_in_the_process_answers_the_same(immuno, tmp_path, monkeypatch):
    root = synth.write(3, tmp_path / "synthetic", as_json=True)
    forked = _answers(immuno, root)
    monkeypatch.setattr(cache, "_may_fork", lambda: False)
    assert _answers(immuno, root) == forked
    _edit_in_place(root, "synth-000002", 0.45)
    assert _answers(immuno, root)[0] == [0.45]


@pytest.mark.skipif(not cache._may_fork(), reason="the check runs in the process where a fork is unsafe")
def test_a_child_that_cannot_say_costs_a_rebuild_not_an_answer(immuno, tmp_path, monkeypatch):
    root = synth.write(3, tmp_path / "synthetic", as_json=True)
    expected = _answers(immuno, root)
    rebuilt = []
    real_rebuild, real_unchanged, parent = cache.Compiled._rebuild, cache._unchanged, os.getpid()

    def counting(self):
        rebuilt.append(1)
        return real_rebuild(self)

    def failing_in_the_child(stamps):
        if os.getpid() != parent:
            raise OSError("the child fails")
        return real_unchanged(stamps)

    monkeypatch.setattr(cache.Compiled, "_rebuild", counting)
    monkeypatch.setattr(cache, "_unchanged", failing_in_the_child)
    assert _answers(immuno, root) == expected
    assert rebuilt


@pytest.mark.skipif(not cache._may_fork(), reason="no child is started where a fork is unsafe")
def test_an_answer_that_fails_leaves_no_child_behind(tmp_path):
    from immunocli.errors import NotFound
    from immunocli.layout import data_dirs

    compiled = cache.Compiled(data_dirs([str(synth.write(3, tmp_path / "synthetic", as_json=True))]))
    assert compiled.search("synth")  # a check was started and its verdict taken
    for name in ("indication_card", "biomarker_card"):
        with pytest.raises(NotFound):
            compiled.context_card(name, "no such thing at all")
    with pytest.raises(NotFound):
        compiled.drug_card("no such drug")
    with pytest.raises(ChildProcessError):  # every child was reaped
        os.waitpid(-1, os.WNOHANG)
