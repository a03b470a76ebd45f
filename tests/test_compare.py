"""`immuno compare`: filters, sorting, data cuts and the row formats."""

from __future__ import annotations

import csv
import io
import json


def rows(immuno, *args):
    run = immuno("compare", *args, "--json")
    assert run.code == 0, run.err
    return run.json()["rows"]


def test_os_rows_carry_arms_hr_and_source(immuno):
    found = rows(immuno, "--endpoint", "OS", "--indication", "NSCLC")
    names = {r["trial"]["name"] for r in found}
    assert {"KEYNOTE-024", "KEYNOTE-189", "PACIFIC"} <= names
    for row in found:
        assert row["endpoint"]["id"] == "OS" and row["source"]["citation"]
        assert row["indication"]["id"] in {"NSCLC", "LUAD", "LUSC"}


def test_latest_cut_is_the_default_and_all_cuts_on_request(immuno):
    latest = [r for r in rows(immuno, "-e", "OS", "--drug", "pembrolizumab") if r["trial"]["id"] == "keynote-024"]
    assert [r["cut"]["id"] for r in latest if r["population"] == "ITT"] == ["update-5y"]
    every = [r for r in rows(immuno, "-e", "OS", "--drug", "pembrolizumab", "--cut", "all")
             if r["trial"]["id"] == "keynote-024" and r["population"] == "ITT"]
    assert {r["cut"]["id"] for r in every} == {"primary", "update-2019", "update-5y"}
    primary = [r for r in rows(immuno, "-e", "OS", "--drug", "pembrolizumab", "--cut", "primary")
               if r["trial"]["id"] == "keynote-024" and r["population"] == "ITT"]
    assert [r["cut"]["id"] for r in primary] == ["primary"]


def test_indication_filter_includes_subtypes(immuno):
    found = rows(immuno, "-e", "OS", "--indication", "melanoma")
    assert any(r["indication"]["id"] == "UM" for r in found), "MEL covers uveal melanoma"


def test_sort_by_hazard_ratio(immuno):
    found = rows(immuno, "-e", "OS", "--sort", "hr")
    values = [r["hazard_ratio"]["value"] for r in found if r["hazard_ratio"]]
    assert values == sorted(values) and len(values) > 5


def test_modality_filter_for_car_t_response_rates(immuno):
    found = rows(immuno, "-e", "ORR", "--modality", "car-t")
    assert found and all(r["control"] is None or r["trial"]["id"] in {"transform", "karmma-3", "cartitude-4", "zuma-7"}
                         for r in found)
    assert {"JULIET", "KarMMa"} <= {r["trial"]["name"] for r in found}


def test_target_filter(immuno):
    found = rows(immuno, "-e", "ORR", "--target", "BCMA")
    assert found and all(r["trial"]["id"] not in {"juliet", "zuma-1"} for r in found)


def test_no_match_exits_1(immuno):
    run = immuno("compare", "-e", "OS", "--indication", "NSCLC", "--modality", "car-t")
    assert run.code == 1 and "no result" in run.err


def test_csv_round_trip_keeps_numbers(immuno):
    run = immuno("compare", "-e", "PFS", "--drug", "pembrolizumab", "--format", "csv")
    table = list(csv.DictReader(io.StringIO(run.out)))
    kn24 = [r for r in table if r["trial_id"] == "keynote-024"][0]
    assert (float(kn24["hr"]), float(kn24["hr_ci_low"]), float(kn24["hr_ci_high"])) == (0.5, 0.37, 0.68)
    assert kn24["exp_median"] == "10.3" and kn24["ctl_median"] == "6.0"


def test_ndjson_is_one_row_per_line(immuno):
    run = immuno("compare", "-e", "OS", "--format", "ndjson")
    lines = run.out.splitlines()
    assert lines and all(json.loads(line)["endpoint"]["id"] == "OS" for line in lines)


def test_markdown_table_has_a_row_per_result(immuno):
    md = immuno("compare", "-e", "PFS", "--drug", "pembrolizumab", "--format", "markdown").out.splitlines()
    count = len(rows(immuno, "-e", "PFS", "--drug", "pembrolizumab"))
    assert md[0].startswith("| Trial |") and len(md) == count + 2


def test_latest_keeps_one_itt_row_per_comparison_whatever_each_cut_calls_it(immuno):
    """MATTERHORN's interim OS is labelled "ITT (interim analysis)", its final "ITT": one row, the newest."""
    rows = immuno("compare", "-e", "OS", "--trial", "MATTERHORN", "--json").json()["rows"]
    assert [(r["population"], r["cut"]["published"][:4]) for r in rows] == [("ITT", "2025")]
    both = immuno("compare", "-e", "OS", "--trial", "MATTERHORN", "--cut", "all", "--json").json()["rows"]
    assert len(both) == 2
