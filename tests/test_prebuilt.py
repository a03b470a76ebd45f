"""The wheel's compiled knowledge is adopted only when it was made from what is installed, and then answers
exactly as a compile would."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from immunocli import cache, loader, prebuilt
from immunocli.cache import Compiled
from immunocli.layout import bundled_dir


@pytest.fixture
def bundled(tmp_path, monkeypatch):
    """A copy of the bundled data with its prebuilt file, as a wheel install has them (editable here)."""
    root = tmp_path / "site" / "data"
    shutil.copytree(bundled_dir(), root)
    made = tmp_path / "site" / "prebuilt.sqlite"
    prebuilt.make(root, made)
    monkeypatch.setattr(prebuilt, "PREBUILT", made)
    return [(root, "bundled")]


def _never_compile(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("compiled instead of adopting the prebuilt file")

    monkeypatch.setattr(loader, "build", refuse)
    monkeypatch.setattr(Compiled, "_build_in_parallel", refuse)


def _answers(compiled: Compiled) -> list:
    rows = compiled.comparison("OS")
    return [compiled.trial_card("KEYNOTE-942"), json.loads(json.dumps(compiled.drug_card("pembrolizumab"),
                                                                     default=list)),
            [h.id for h in compiled.search("melanoma adjuvant")], list(rows.texts()), compiled.base().directories]


def test_a_first_run_adopts_the_prebuilt_file_and_answers_as_a_compile(bundled, tmp_path, monkeypatch):
    monkeypatch.setenv("IMMUNO_NO_CACHE", "1")
    expected = _answers(Compiled(bundled))  # compiled in memory from the same files
    monkeypatch.delenv("IMMUNO_NO_CACHE")
    _never_compile(monkeypatch)
    adopted = Compiled(bundled)
    assert adopted.path.exists()
    assert _answers(adopted) == expected
    assert Compiled(bundled).db is not None  # the adopted file opens as any compiled file


def test_the_adopted_file_is_this_installs(bundled):
    compiled = Compiled(bundled)
    root = bundled[0][0]
    paths = [p for (p,) in compiled.db.execute("SELECT path FROM files")]
    assert paths and all(p.startswith(str(root)) for p in paths)
    assert compiled.base().directories == [str(root)]
    assert not {"prebuilt_root", "prebuilt_digest"} & {k for (k,) in compiled.db.execute("SELECT key FROM meta")}


def test_an_edit_after_adoption_is_seen(bundled):
    Compiled(bundled)
    trial = bundled[0][0] / "trials" / "keynote-942.yaml"
    trial.write_text(trial.read_text().replace("name: KEYNOTE-942", "name: KEYNOTE-942 edited", 1))
    assert Compiled(bundled).trial_card("KEYNOTE-942")["trial"]["name"] == "KEYNOTE-942 edited"


@pytest.mark.parametrize("change", ["edit", "add", "remove"])
def test_a_prebuilt_file_of_other_knowledge_is_never_adopted(bundled, monkeypatch, change):
    root = bundled[0][0]
    trial = root / "trials" / "keynote-942.yaml"
    if change == "edit":  # same size, same name: only the contents differ
        text = trial.read_text()
        trial.write_text(text.replace("KEYNOTE-942", "KEYNOTE-943", 1))
    elif change == "add":
        (root / "drugs" / "zz-test-drug.yaml").write_text(
            "id: zz-test-drug\nname: zz test drug\nmodality: targeted-therapy\nstatus: approved\n")
    else:
        (root / "approvals" / sorted(p.name for p in (root / "approvals").iterdir())[0]).unlink()
    assert prebuilt.adopt(Path(cache.cache_dir()) / "knowledge-x.sqlite", bundled) is False
    compiled = Compiled(bundled)  # compiles instead
    if change == "edit":
        assert compiled.trial_card("KEYNOTE-943")["trial"]["id"] == "keynote-942"


def test_a_prebuilt_file_of_another_python_or_version_is_never_adopted(bundled, tmp_path):
    made = prebuilt.PREBUILT
    db = sqlite3.connect(made)
    db.execute("UPDATE meta SET value = replace(value, '|3.', '|2.') WHERE key = 'key'")
    db.commit()
    db.close()
    assert prebuilt.adopt(tmp_path / "knowledge-x.sqlite", bundled) is False
    assert not (tmp_path / "knowledge-x.sqlite").exists()


def test_only_the_bundled_knowledge_alone_is_prebuilt(bundled, tmp_path):
    user = tmp_path / "user"
    (user / "trials").mkdir(parents=True)
    assert prebuilt.adopt(tmp_path / "k.sqlite", [*bundled, (user, str(user))]) is False
    assert prebuilt.adopt(tmp_path / "k.sqlite", [(bundled[0][0], str(bundled[0][0]))]) is False


def test_a_damaged_prebuilt_file_costs_a_compile_never_an_answer(bundled):
    prebuilt.PREBUILT.write_bytes(b"not a database")
    assert Compiled(bundled).trial_card("KEYNOTE-942")["trial"]["id"] == "keynote-942"


@pytest.mark.skipif(not prebuilt.PREBUILT.exists(), reason="an editable install compiles on first use")
def test_the_installed_wheel_carries_the_bundled_knowledge_compiled(tmp_path):
    assert prebuilt.adopt(tmp_path / "knowledge-x.sqlite", [(bundled_dir(), "bundled")]) is True
