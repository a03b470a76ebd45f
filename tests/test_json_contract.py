"""The JSON contract, schema_version 2: numbers an analyst computes with, one result shape, every kind
dated by `knowledge_as_of`, and nothing the user asked for dropped by a format."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from immunocli.contract import SCHEMA_VERSION

KINDS = {
    "trial": ["trial", "KEYNOTE-942", "--json"],
    "drug": ["drug", "pembrolizumab", "--json"],
    "comparison": ["compare", "-e", "OS", "--json"],
    "endpoint": ["endpoint", "OS", "--json"],
    "indication": ["indication", "HCC", "--json"],
    "biomarker": ["biomarker", "MSI-H", "--json"],
    "irae": ["irae", "CRS", "--json"],
    "search": ["search", "uveal", "--json"],
    "list": ["list", "trials", "--json"],
    "validation": ["validate", "--json"],
}
DATE = re.compile(r"^\d{4}-\d\d(-\d\d)?$")


@pytest.mark.parametrize("kind", KINDS)
def test_every_document_is_version_2_and_dated(immuno, kind):
    run = immuno(*KINDS[kind])
    assert run.code == 0, run.err
    doc = run.json()
    assert list(doc)[:3] == ["schema_version", "kind", "knowledge_as_of"]
    assert doc["schema_version"] == SCHEMA_VERSION == 2 and doc["kind"] == kind
    assert DATE.match(doc["knowledge_as_of"])


def test_version_and_footers_give_the_same_date(immuno):
    as_of = immuno("trial", "PACIFIC", "--json").json()["knowledge_as_of"]
    assert f"knowledge as of {as_of}" in immuno("--version").out
    assert f"Knowledge as of {as_of}." in immuno("trial", "PACIFIC").out


def _figures(doc):
    """Every arm figure dict anywhere in a document."""
    if isinstance(doc, dict):
        if "median_not_reached" in doc:
            yield doc
        for value in doc.values():
            yield from _figures(value)
    elif isinstance(doc, list):
        for value in doc:
            yield from _figures(value)


def test_medians_and_bounds_are_numbers_or_null_and_not_reached_is_a_boolean(immuno):
    rows = immuno("compare", "--json").json()["rows"]
    figures = list(_figures(rows))
    assert len(figures) > 500
    for fig in figures:
        assert fig["median"] is None or isinstance(fig["median"], (int, float))
        assert isinstance(fig["median_not_reached"], bool)
        for key in ("median_ci", "rate_ci"):
            assert fig[key] is None or all(b is None or isinstance(b, (int, float)) for b in fig[key])
        if fig["median_ci"] is not None:
            assert [type(b) for b in fig["median_ci_not_reached"]] == [bool, bool]
    assert any(f["median_not_reached"] and f["median"] is None for f in figures)
    medians = [f["median"] for f in figures if f["median"] is not None]
    assert max(medians) == max(medians) + 0  # jq '[…median] | max' and `add` work: all numbers


def test_imbrave150_not_reached_median_and_bound(immuno):
    rows = immuno("compare", "-e", "OS", "-i", "HCC", "--json").json()["rows"]
    row = next(r for r in rows if r["trial"]["name"] == "IMbrave150")
    assert row["experimental"]["median"] is None and row["experimental"]["median_not_reached"] is True
    assert row["control"]["median"] == 13.2 and row["control"]["median_ci"] == [10.4, None]
    assert row["control"]["median_ci_not_reached"] == [False, True]


def test_a_trial_result_and_a_comparison_row_share_one_shape(immuno):
    card = immuno("trial", "KEYNOTE-942", "--json").json()["trial"]
    rows = immuno("compare", "-e", "RFS", "--cut", "all", "--json").json()["rows"]
    row = next(r for r in rows if r["trial"]["id"] == "keynote-942")
    result = next(r for r in card["results"] if r["endpoint"]["id"] == "RFS")
    assert set(result) <= set(row)
    assert set(row) - set(result) == {"trial", "setting", "experimental", "control", "hazard_ratio",
                                      "landmark_pairs", "median_gain_months", "derived"}
    for key in result:
        assert row[key] == result[key], key
    assert result["analysis"] == "itt" and result["cut"]["published"] == "2024-01"
    assert [a["role"] for a in result["arms"]] == ["experimental", "control"]
    assert row["hazard_ratio"]["value"] == 0.561 and row["experimental"]["arm"] == "combo"
    assert row["landmark_pairs"][-1] == {"months": 18, "experimental": 79, "control": 62}
    assert card["primary_outcome"] in (None, "met", "not-met", "mixed", "descriptive")


def test_pooled_studies_are_objects(immuno):
    doc = immuno("compare", "-e", "OS", "-i", "NSCLC", "--target", "PD-1", "--pool", "--json").json()
    pooled = doc["pooled"]
    assert pooled["k"] >= 2 and len(pooled["studies"]) == pooled["k"]
    assert all(isinstance(s, dict) and s.get("trial") for s in pooled["studies"])
    assert all(isinstance(s, dict) for s in pooled["excluded"]) and isinstance(pooled["warnings"], list)


@pytest.mark.parametrize("fmt", ["csv", "ndjson", "tsv", "markdown"])
def test_pool_and_explain_are_never_dropped_by_a_format(immuno, fmt):
    run = immuno("compare", "-e", "OS", "-i", "NSCLC", "--target", "PD-1", "--pool", "--explain", "--format", fmt)
    assert run.code == 0, run.err
    both = run.out + run.err
    assert "Pooled HR" in both and "Derived" in both


def test_csv_keeps_sidedness_rate_cis_events_and_nct(immuno):
    run = immuno("compare", "-e", "OS", "-i", "HCC", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(run.out)))
    assert {"p_sided", "exp_rate_ci_low", "exp_events", "nct", "exp_median_not_reached"} <= set(rows[0])
    cares = next(r for r in rows if r["trial"] == "CARES-310")
    assert cares["p_sided"] == "1" and cares["nct"].startswith("NCT")


def test_cards_export_to_csv_and_markdown(immuno):
    run = immuno("trial", "KEYNOTE-942", "--format", "csv")
    assert run.code == 0
    rows = list(csv.DictReader(io.StringIO(run.out)))
    rfs = next(r for r in rows if r["endpoint"] == "RFS" and r["arm"] == "combo")
    assert (rfs["hr"], rfs["hr_ci_low"], rfs["hr_ci_high"], rfs["p"], rfs["p_sided"], rfs["events"], rfs["nct"]) == \
        ("0.561", "0.309", "1.017", "0.053", "2", "24", "NCT03897881")
    assert "not in the CSV" in run.err  # what CSV cannot carry is said
    md = immuno("trial", "KEYNOTE-942", "--format", "markdown")
    assert md.out.startswith("## KEYNOTE-942") and "| endpoint |" in md.out and "0.561 (0.309–1.017)" in md.out
    for args in (["drug", "nivolumab"], ["indication", "HCC"], ["biomarker", "MSI-H"], ["irae", "colitis"]):
        for fmt in ("csv", "markdown"):
            run = immuno(*args, "--format", fmt)
            assert run.code == 0 and run.out.strip(), (args, fmt, run.err)


def test_library_comparison_is_dated_too():
    from immunocli import load
    from immunocli.queries import Catalogue
    from immunocli.serialize import comparison

    k = load()
    doc = comparison(Catalogue(k).compare(endpoint="OS"), k)
    assert doc["schema_version"] == 2 and DATE.match(doc["knowledge_as_of"])
    assert json.dumps(doc)
