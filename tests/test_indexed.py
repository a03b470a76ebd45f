"""The indexed answers (drug, indication, biomarker and irAE cards, search, list) equal the answers made
from the whole knowledge, field for field and in the same order, on the bundled data and after a
parallel (sharded) build."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from immunocli import cache, context, indexed, serialize
from immunocli.cache import Compiled
from immunocli.contract import indented
from immunocli.layout import data_dirs
from immunocli.listing import items
from immunocli.queries import Catalogue

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
import synth  # noqa: E402

QUERIES = ["keytruda melanoma adjuvant", "MK-3475", "bcg unresponsive", "melanoma", "pd l1 cps", "pembrolizumab",
           "Keytruda", "keynot", "colitis", "NSCLC", "CAR-T", "bcma", "OS", "a", "pembrolizumb", "MSI-H",
           "ipilimumab nivolumab", "lung adjuvant", "zzzqqqxx", "KEYNOTE-942",
           "grade 3", "cytokine release", "-", "ICANS", "tumour mutational burden"]


def text(value) -> str:
    """The JSON as written: key order counts, as it does for the output."""
    return indented(value)


@pytest.fixture(scope="module")
def bundled(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("IMMUNO_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    compiled = Compiled(data_dirs([]))
    yield compiled, Catalogue(compiled.knowledge())
    mp.undo()


def whole_drug(cat: Catalogue, query: str) -> dict:
    match = cat.names.match("drug", query)
    found = cat.knowledge.drugs[match.id]
    return {**serialize.envelope("drug", drug=serialize.drug(found, cat.knowledge, cat.approvals_of(found.id),
                                                             cat.trials_of(found.id))), "match": match.to_dict()}


def assert_all_equal(compiled: Compiled, cat: Catalogue) -> None:
    k = cat.knowledge
    for drug in k.drugs:
        assert text(compiled.drug_card(drug)) == text(whole_drug(cat, drug)), drug
    cards = [("indication_card", list(k.indications)),
             ("biomarker_card", [b["id"] for b in k.context.get("biomarkers", [])]),
             ("irae_card", [e["id"] for e in k.context.get("iraes", [])])]
    for name, ids in cards:
        assert ids
        for rid in ids:
            indexed_card = compiled.context_card(name, rid)
            assert text(indexed_card) == text(getattr(context, name)(cat, rid)), (name, rid)
    for query in QUERIES:
        assert [serialize.hit(h) for h in compiled.search(query)] == [serialize.hit(h) for h in cat.search(query)], query
    for what in indexed.LISTED:
        assert text(compiled.list_items(what)) == text(items(k, what)), what
    assert [json.loads(t) for chunk in compiled.trial_items() for t in chunk] == items(k, "trials")


def test_indexed_answers_equal_whole_knowledge_answers_on_the_bundled_data(bundled):
    compiled, cat = bundled
    assert_all_equal(compiled, cat)


def test_the_cards_that_matter_are_not_empty(bundled):
    """So that the equality above is not between two empty lists."""
    compiled, _cat = bundled
    assert len(compiled.drug_card("pembrolizumab")["drug"]["trials"]) > 50
    assert sum(len(s["trials"]) for s in compiled.context_card("indication_card", "NSCLC")["indication"]["settings"]) > 30
    assert compiled.context_card("biomarker_card", "MSI-H")["biomarker"]["trials"]
    assert compiled.context_card("irae_card", "CRS")["irae"]["trial_rates"]
    assert len(compiled.search("melanoma")) > 20


def test_search_without_fts5_scans_to_the_same_hits(bundled, monkeypatch, capsys):
    compiled, cat = bundled
    monkeypatch.setattr(indexed, "has_full_text", lambda db: False)
    monkeypatch.setattr(cache, "_said", set())
    for query in ("melanoma", "ipilimumab nivolumab", "pembrolizumb"):
        assert [serialize.hit(h) for h in compiled.search(query)] == [serialize.hit(h) for h in cat.search(query)]
    assert capsys.readouterr().err.count("no FTS5") == 1


def test_a_sharded_build_answers_as_the_whole_knowledge(tmp_path, monkeypatch):
    root = synth.write(40, tmp_path / "synthetic")
    monkeypatch.setenv("IMMUNO_CACHE_DIR", str(tmp_path / "parallel"))
    monkeypatch.setattr(cache, "PARALLEL_FROM", 10)
    dirs = data_dirs([str(root)])
    assert cache._shards(dirs) == 2
    compiled = Compiled(dirs)
    cat = Catalogue(compiled.knowledge())
    assert sum(h.id.startswith("synth-") for h in compiled.search("synth")) == 40
    assert_all_equal(compiled, cat)


def test_list_trials_piped_streams_the_lines_the_table_writes(immuno, capsys):
    from immunocli.contract import envelope
    from immunocli.loader import load
    from immunocli.render import table

    streamed = immuno("list", "trials")
    assert streamed.code == 0 and streamed.err.strip().endswith("trials")
    table.tsv(*table.listing_rows(envelope("list", what="trials", items=items(load(), "trials"))))
    assert streamed.out == capsys.readouterr().out
    assert streamed.out.count("\n") > 300
