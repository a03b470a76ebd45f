"""`compare --pool/--explain/--plot/--plot-file` and `trial --plot`."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest

from immunocli.stats import dersimonian_laird, log_se_from_ci


def compare(immuno, *args):
    run = immuno("compare", *args, "--json")
    assert run.code == 0, run.err
    return run.json()


def test_pool_uses_one_itt_row_per_trial_and_matches_the_arithmetic(immuno):
    payload = compare(immuno, "-e", "OS", "--drug", "pembrolizumab", "--indication", "NSCLC", "--pool")
    pooled = payload["pooled"]
    used = {}
    for row in payload["rows"]:
        hr = row["hazard_ratio"]
        if hr and hr.get("ci"):
            current = used.get(row["trial"]["id"])
            if current is None or (not current["population"].startswith("ITT") and row["population"].startswith("ITT")):
                used[row["trial"]["id"]] = row
    logs = [math.log(r["hazard_ratio"]["value"]) for r in used.values()]
    variances = [log_se_from_ci(*r["hazard_ratio"]["ci"], r["hazard_ratio"]["ci_level"]) ** 2 for r in used.values()]
    expected = dersimonian_laird(logs, variances)
    assert pooled["k"] == len(used) >= 3
    assert round(pooled["hazard_ratio"], 3) == round(math.exp(expected.estimate), 3)
    assert pooled["ci"][0] < pooled["hazard_ratio"] < pooled["ci"][1]
    assert "not a meta-analysis" in pooled["warning"]
    assert any("same trial" in s for s in pooled["skipped"])


def test_pool_needs_two_trials(immuno):
    run = immuno("compare", "-e", "RFS", "--drug", "mrna-4157", "--pool")
    assert run.code == 2 and "at least two" in run.err


def test_derived_figures_carry_their_formula(immuno):
    rows = compare(immuno, "-e", "OS", "--drug", "pembrolizumab", "--indication", "NSCLC")["rows"]
    kn24 = [r for r in rows if r["trial"]["id"] == "keynote-024" and r["population"] == "ITT"][0]
    derived = {d["name"]: d for d in kn24["derived"]}
    assert derived["relative risk reduction"]["value"] == 38.0
    assert derived["absolute gain in median"]["value"] == round(26.3 - 13.4, 2)
    diff = derived["absolute difference at 60 months"]
    assert diff["value"] == 15.6 and diff["formula"] == "31.9 − 16.3"
    assert derived["number needed to treat at 60 months"]["value"] == 7  # ⌈100 / 15.6⌉


def test_explain_prints_the_formulas(immuno):
    run = immuno("compare", "-e", "OS", "--drug", "pembrolizumab", "-i", "NSCLC", "--explain", env={"COLUMNS": "200"})
    assert run.code == 0 and "⌈100 / 15.6⌉" in run.out and "1 − HR = 1 − 0.62" in run.out


def test_terminal_forest_plot_has_the_line_of_no_effect(immuno):
    run = immuno("compare", "-e", "OS", "--drug", "pembrolizumab", "--plot", "--pool", env={"COLUMNS": "200"})
    assert run.code == 0
    plot = run.out[run.out.index("favours") - 400:]
    assert "│" in plot and "■" in plot and "◆" in run.out and "favours experimental" in run.out


def test_svg_file_is_valid_and_has_a_marker_per_hazard_ratio(immuno, tmp_path):
    path = tmp_path / "forest.svg"
    run = immuno("compare", "-e", "OS", "-i", "NSCLC", "--pool", "--plot-file", str(path))
    assert run.code == 0 and f"wrote {path}" in run.err
    root = ET.parse(path).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    markers = root.findall(f"{ns}rect") + root.findall(f"{ns}polygon")
    rows = [r for r in compare(immuno, "-e", "OS", "-i", "NSCLC")["rows"] if r["hazard_ratio"] and r["hazard_ratio"]["ci"]]
    assert len(markers) == len(rows) + 1  # every HR and the pooled diamond


def test_png_file_when_matplotlib_is_installed(immuno, tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "forest.png"
    assert immuno("trial", "KEYNOTE-024", "--plot-file", str(path)).code == 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_plot_file_name_is_a_usage_error(immuno, tmp_path):
    run = immuno("trial", "KEYNOTE-024", "--plot-file", str(tmp_path / "forest.pdf"))
    assert run.code == 2 and ".svg or .png" in run.err


def test_trial_plot_shows_each_hazard_ratio(immuno):
    run = immuno("trial", "CheckMate 067", "--plot", env={"COLUMNS": "200"})
    assert run.code == 0 and run.out.count("■") >= 2
