"""Names resolve the way people type them; misses and ambiguity say so and exit 1."""

from __future__ import annotations

import pytest

from immunocli.index import normalise


@pytest.mark.parametrize("query", ["pembrolizumab", "Keytruda", "MK-3475", "pembro", "pembrolizumb", "PEMBROLIZUMAB"])
def test_drug_names_brands_codes_abbreviations_and_typos(immuno, query):
    run = immuno("drug", query, "--json")
    assert run.code == 0, run.err
    assert run.json()["drug"]["id"] == "pembrolizumab"


@pytest.mark.parametrize("query,expected", [
    ("axi-cel", "axicabtagene-ciloleucel"), ("cilta-cel", "ciltacabtagene-autoleucel"),
    ("T-VEC", "talimogene-laherparepvec"), ("Kymriah", "tisagenlecleucel"),
])
def test_cell_and_viral_therapy_abbreviations(immuno, query, expected):
    assert immuno("drug", query, "--json").json()["drug"]["id"] == expected


@pytest.mark.parametrize("query", ["KEYNOTE-942", "keynote 942", "KN-942", "kn942", "NCT03897881", "Keynote-0942"])
def test_trial_aliases(immuno, query):
    run = immuno("trial", query, "--json")
    assert run.code == 0, run.err
    assert run.json()["trial"]["id"] == "keynote-942"


def test_unknown_name_says_did_you_mean_and_exits_1(immuno):
    run = immuno("drug", "pembrolizumav-xyz")
    assert run.code == 1 and run.out == ""
    assert "no drug matches" in run.err and "did you mean" in run.err and "pembrolizumab" in run.err


def test_ambiguous_prefix_lists_candidates(immuno):
    run = immuno("trial", "cartitude")
    assert run.code == 1
    assert "CARTITUDE-1" in run.err and "CARTITUDE-4" in run.err


def test_a_drug_given_to_trial_points_to_the_drug_command(immuno):
    run = immuno("trial", "Keytruda")
    assert run.code == 1 and "immuno drug Keytruda" in run.err


def test_normalise_ignores_case_spacing_and_leading_zeros():
    assert normalise("CheckMate 067") == normalise("checkmate-67") == "checkmate67"
    assert normalise("BCMA×CD3") == "bcmaxcd3"
