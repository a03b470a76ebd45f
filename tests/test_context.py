"""Clinical starting points: `immuno indication`, `immuno biomarker`, `immuno irae`."""

from __future__ import annotations

import pytest

BIOMARKERS = {"PD-L1": "PD-L1", "tmb": "TMB-H", "MSI-H": "MSI-H", "dMMR": "MSI-H", "mismatch repair deficiency": "MSI-H"}
IRAES = {"colitis": "colitis", "diarrhea": "colitis", "thyroid": "thyroiditis", "myocarditis": "myocarditis",
         "liver": "hepatitis", "pituitary": "hypophysitis", "skin": "skin", "lung": "pneumonitis",
         "pancreas": "diabetes", "CRS": "crs", "ICANS": "icans", "myocardits": "myocarditis"}


@pytest.mark.parametrize("query,expected", BIOMARKERS.items())
def test_every_biomarker_card_is_reachable(immuno, query, expected):
    run = immuno("biomarker", query, "--json")
    assert run.code == 0, run.err
    assert run.json()["biomarker"]["id"] == expected


@pytest.mark.parametrize("query,expected", IRAES.items())
def test_every_irae_card_is_reachable(immuno, query, expected):
    run = immuno("irae", query, "--json")
    assert run.code == 0, run.err
    assert run.json()["irae"]["id"] == expected


def test_msi_h_card_states_assay_and_joins_approvals_and_trials(immuno):
    card = immuno("biomarker", "MSI-H", "--json").json()["biomarker"]
    assert card["assay"] == "IHC (MLH1/MSH2/MSH6/PMS2) or PCR/NGS"
    assert any(a["date"] == "2017-05-23" for a in card["approvals"])
    assert {"keynote-177", "keynote-158"} <= {t["id"] for t in card["trials"]}
    assert card["source"]["citation"].startswith("Marcus L") and "PMID 30787022" in card["source"]["citation"]


def test_pd_l1_card_gives_the_cutoffs_by_use(immuno):
    card = immuno("biomarker", "PD-L1", "--json").json()["biomarker"]
    assert any(c.startswith("TPS ≥50%: pembrolizumab monotherapy, first-line metastatic NSCLC") for c in card["cutoffs"])
    assert any(t["id"] == "keynote-024" for t in card["trials"])


def test_endocrine_iraes_warn_they_are_permanent(immuno):
    card = immuno("irae", "thyroid", "--json").json()["irae"]
    assert card["management"].startswith("Levothyroxine")
    assert any("appear to be permanent" in w for w in card["warnings"])
    assert "grade 4 toxicities generally mean permanent discontinuation" in card["grading"]["text"]


def test_myocarditis_warns_of_mortality(immuno):
    card = immuno("irae", "myocarditis", "--json").json()["irae"]
    assert any("can be fatal" in w and "fatal irAEs" in w for w in card["warnings"])


def test_colitis_names_ipilimumab(immuno):
    card = immuno("irae", "diarrhoea", "--json").json()["irae"]
    assert [d["id"] for d in card["drugs_most_associated"]] == ["ipilimumab"]


def test_crs_card_shows_trial_rates_with_denominators(immuno):
    card = immuno("irae", "cytokine release syndrome", "--json").json()["irae"]
    rates = card["trial_rates"]
    assert len(rates) > 10 and all(r["endpoint"]["id"] in ("CRS", "CRS-G3") for r in rates)
    assert "tocilizumab" in card["management"].lower()


def test_indication_card_groups_trials_by_setting(immuno):
    card = immuno("indication", "lung cancer", "--json").json()["indication"]
    assert card["id"] == "LUNG" and {"NSCLC", "SCLC", "LUAD", "LUSC"} <= set(card["includes"])
    settings = {g["setting"]: g["trials"] for g in card["settings"]}
    assert "keynote-024" in {t["id"] for t in settings["first-line"]}
    assert "pacific" in {t["id"] for t in settings["consolidation"]}
    kn24 = [t for t in settings["first-line"] if t["id"] == "keynote-024"][0]
    assert kn24["immunotherapies"] == ["pembrolizumab"] and kn24["headline"]
    assert any(a["date"] == "2016-10-24" for a in card["approvals"])


def test_cards_end_with_the_caution(immuno):
    for args in (["irae", "colitis"], ["biomarker", "TMB-H"], ["indication", "HCC"]):
        run = immuno(*args, env={"COLUMNS": "200"})
        assert run.code == 0 and run.out.rstrip().endswith("Reference information from published sources, not medical advice.")


def test_unknown_irae_is_not_found(immuno):
    run = immuno("irae", "sunburn")
    assert run.code == 1 and "no irAE matches" in run.err
