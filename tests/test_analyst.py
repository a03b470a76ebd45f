"""`compare --pool/--explain/--plot/--plot-file` and `trial --plot`: which rows are pooled, how, and how drawn."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest

from immunocli.stats import log_se_from_ci, random_effects

SORTS = ("trial", "hr", "gain", "year", "indication")


def compare(immuno, *args):
    run = immuno("compare", *args, "--json")
    assert run.code == 0, run.err
    return run.json()


@pytest.mark.parametrize("filters", [
    ("-e", "OS", "--drug", "pembrolizumab", "-i", "NSCLC"),
    ("-e", "OS", "-i", "HCC"),
    ("-e", "PFS", "--target", "PD-1"),
])
def test_the_pool_does_not_depend_on_sort_or_on_cut_all(immuno, filters):
    pools = [compare(immuno, *filters, "--pool", "--sort", sort, *cut)["pooled"]
             for sort in SORTS for cut in ((), ("--cut", "all"))]
    first = pools[0]
    for other in pools[1:]:
        assert (other["estimate"], other["ci"], other["k"], other["i2"]) == \
               (first["estimate"], first["ci"], first["k"], first["i2"])
        assert [s["trial"]["id"] for s in other["studies"]] == [s["trial"]["id"] for s in first["studies"]]


def test_the_pool_takes_the_itt_row_never_a_sensitivity_or_subgroup_row(immuno):
    pooled = compare(immuno, "-e", "OS", "--drug", "pembrolizumab", "-i", "NSCLC", "--pool", "--subgroups",
                     "--sort", "hr", "--cut", "all")["pooled"]
    kn24 = [s for s in pooled["studies"] if s["trial"]["id"] == "keynote-024"]
    assert len(kn24) == 1 and kn24[0]["analysis"] == "itt" and kn24[0]["population"] == "ITT"
    crossover = [s for s in pooled["excluded"] if s["trial"]["id"] == "keynote-024" and "crossover" in s["population"]]
    assert crossover and crossover[0]["reason"].startswith("sensitivity analysis")


def test_the_pooled_arithmetic_is_hksj_on_the_listed_studies(immuno):
    pooled = compare(immuno, "-e", "OS", "-i", "HCC", "--pool")["pooled"]
    logs = [math.log(s["hazard_ratio"]) for s in pooled["studies"]]
    variances = [log_se_from_ci(*s["ci"], s["ci_level"]) ** 2 for s in pooled["studies"]]
    expected = random_effects(logs, variances, "hksj")
    assert pooled["method"] == "hksj" and pooled["k"] == len(logs) >= 5
    assert pooled["estimate"] == round(math.exp(expected.estimate), 4)
    assert pooled["ci"] == [round(math.exp(b), 4) for b in expected.ci()]
    assert round(sum(s["weight"] for s in pooled["studies"])) == 100
    assert pooled["prediction_interval"][0] <= pooled["ci"][0] and pooled["q_p"] is not None


def test_each_method_is_named_and_dl_differs_from_hksj(immuno):
    by_method = {m: compare(immuno, "-e", "OS", "-i", "HCC", "--pool", "--pool-method", m)["pooled"]
                 for m in ("hksj", "reml", "dl")}
    assert by_method["reml"]["estimate"] == by_method["hksj"]["estimate"]  # same τ², another interval
    assert by_method["hksj"]["ci"] != by_method["reml"]["ci"]
    assert "DerSimonian" in by_method["dl"]["method_text"]


def test_a_drug_in_both_arms_is_not_evidence_for_it(immuno):
    pooled = compare(immuno, "-e", "OS", "--drug", "nivolumab", "--pool")["pooled"]
    both = [s for s in pooled["excluded"] if "in both arms" in s["reason"]]
    assert any(s["trial"]["id"] == "relativity-047" for s in both) or not any(
        s["trial"]["id"] == "relativity-047" for s in pooled["studies"])
    assert all(s["trial"]["id"] != "relativity-047" for s in pooled["studies"])


def test_pooling_needs_one_endpoint(immuno):
    run = immuno("compare", "-i", "HCC", "--pool")
    assert run.code == 2 and "one endpoint at a time" in run.err


def test_pool_needs_two_trials(immuno):
    run = immuno("compare", "-e", "RFS", "--drug", "mrna-4157", "--pool")
    assert run.code == 2 and "at least two" in run.err


def test_a_rate_endpoint_pools_proportions_on_the_logit_scale(immuno):
    pooled = compare(immuno, "-e", "ORR", "--modality", "car-t", "--pool")["pooled"]
    assert pooled["measure"] == "proportion" and 0 < pooled["ci"][0] < pooled["estimate"] < pooled["ci"][1] < 100
    assert all(s["n"] for s in pooled["studies"])


def test_the_default_cut_hides_no_figure(immuno):
    """For every comparison, a hazard ratio or median that some cut reports is shown by --cut latest."""
    everything = compare(immuno, "-e", "OS", "--cut", "all", "--subgroups")["rows"]
    latest = compare(immuno, "-e", "OS", "--subgroups")["rows"]

    def key(row):
        hr = row["hazard_ratio"] or {}
        return (row["trial"]["id"], row["population"], row["experimental"]["arm"],
                (row["control"] or {}).get("arm"), hr.get("experimental"))

    shown = {}
    for row in latest:
        shown[key(row)] = row
    for row in everything:
        mine = shown.get(key(row))
        if mine is None:
            continue
        if row["hazard_ratio"]:
            assert mine["hazard_ratio"], (key(row), "HR hidden")
        if row["experimental"]["median"] is not None:
            assert mine["experimental"]["median"] is not None or mine["experimental"]["median_not_reached"], key(row)
    cm066 = [r for r in latest if r["trial"]["id"] == "checkmate-066" and r["analysis"] == "itt"]
    assert cm066 and all(r["hazard_ratio"] for r in cm066)
    taken = [f for r in cm066 for f in r.get("figures_from_earlier_cuts", [])]
    assert any(f["figure"] == "hazard_ratio" for f in taken)


def test_derived_figures_carry_formula_ci_and_a_plain_note(immuno):
    rows = compare(immuno, "-e", "OS", "--drug", "pembrolizumab", "-i", "NSCLC", "--cut", "all")["rows"]
    kn24 = [r for r in rows if r["trial"]["id"] == "keynote-024" and r["population"] == "ITT"
            and r["cut"]["id"] == "update-5y"][0]
    derived = {d["name"]: d for d in kn24["derived"]}
    reduction = derived["relative reduction in hazard (1 − HR)"]
    assert reduction["value"] == 38.0 and reduction["ci"] == [19.0, 52.0] and reduction["note"] is None
    assert derived["absolute difference at 60 months"]["formula"] == "31.9 − 16.3"
    nnt = derived["number needed to treat at 60 months (Altman)"]
    assert nnt["note"].startswith("NNTB") and "∞" not in nnt["note"]


def test_a_non_significant_result_gets_no_bare_nnt(immuno):
    rows = compare(immuno, "-e", "RFS", "--trial", "KEYNOTE-942")["rows"]
    derived = {d["name"]: d for d in rows[0]["derived"]}
    assert "not significant" in derived["relative reduction in hazard (1 − HR)"]["note"]
    nnts = [d for d in rows[0]["derived"] if d["name"].startswith("number needed")]
    assert nnts and all(d["note"].startswith("not significant") and "∞" in d["note"] for d in nnts)


def test_explain_prints_the_formulas(immuno):
    run = immuno("compare", "-e", "OS", "--drug", "pembrolizumab", "-i", "NSCLC", "--explain", env={"COLUMNS": "200"})
    shown = run.out + run.err  # piped, the derived figures follow the table on stderr
    assert run.code == 0 and "31.9 − 16.3" in shown and "1 − 0.62" in shown


def test_terminal_forest_plot_fits_the_width_sits_above_the_footer_and_marks_the_pool(immuno, monkeypatch):
    from immunocli.render import table

    monkeypatch.setattr(table, "terminal", lambda: True)
    run = immuno("compare", "-e", "OS", "--drug", "pembrolizumab", "--plot", "--pool", "--no-pager",
                 env={"COLUMNS": "90", "NO_COLOR": "1"})
    assert run.code == 0
    plot = run.out[run.out.index("HR (CI)"):run.out.index("Pooled HR")]
    assert all(len(line) <= 90 for line in plot.splitlines()), max(plot.splitlines(), key=len)
    assert "│" in plot and "◆" in plot and "favours" in plot and "Prediction interval" in plot
    assert "not pooled" in plot
    assert run.out.index("favours") < run.out.index("medical advice")  # the footer comes last


def test_piped_plot_never_mixes_into_the_rows(immuno):
    run = immuno("compare", "-e", "OS", "-i", "HCC", "--plot")
    assert run.code == 0 and "◆" not in run.out and "■" not in run.out and "--plot-file" in run.err


def svg(path):
    root = ET.parse(path).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    return root, ns


def test_svg_diamond_spans_the_pooled_ci_and_squares_are_sized_by_weight(immuno, tmp_path):
    path = tmp_path / "forest.svg"
    run = immuno("compare", "-e", "OS", "-i", "HCC", "--pool", "--plot-file", str(path))
    assert run.code == 0 and f"wrote {path}" in run.err
    pooled = compare(immuno, "-e", "OS", "-i", "HCC", "--pool")["pooled"]
    root, ns = svg(path)
    line = root.find(f"{ns}line[@class='no-effect']")
    ticks = {t.text: float(t.get("x")) for t in root.findall(f"{ns}text") if t.text in ("0.5", "1", "2")}
    scale = (ticks["2"] - ticks["1"]) / math.log(2)

    def x(v):
        return ticks["1"] + math.log(v) * scale

    assert abs(float(line.get("x1")) - ticks["1"]) < 0.01
    diamond = root.find(f"{ns}polygon[@class='diamond']")
    xs = [float(p.split(",")[0]) for p in diamond.get("points").split()]
    assert abs(min(xs) - x(pooled["ci"][0])) < 0.05 and abs(max(xs) - x(pooled["ci"][1])) < 0.05
    squares = root.findall(f"{ns}rect[@class='square']")
    assert len(squares) == pooled["k"]
    ratios = {round(float(r.get("width")) ** 2 / float(r.get("data-weight")), 2) for r in squares}
    assert max(ratios) - min(ratios) < 0.05  # area ∝ weight
    labels = [t.text for t in root.findall(f"{ns}text")]
    assert len([t for t in labels if t and " · " in t]) == len({t for t in labels if t and " · " in t})


def test_png_file_when_matplotlib_is_installed(immuno, tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "forest.png"
    assert immuno("trial", "KEYNOTE-024", "--plot-file", str(path)).code == 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_plot_file_name_is_a_usage_error(immuno, tmp_path):
    run = immuno("trial", "KEYNOTE-024", "--plot-file", str(tmp_path / "forest.pdf"))
    assert run.code == 2 and ".svg or .png" in run.err


def test_trial_plot_shows_each_hazard_ratio(immuno, monkeypatch):
    from immunocli.render import table

    monkeypatch.setattr(table, "terminal", lambda: True)
    run = immuno("trial", "CheckMate 067", "--plot", "--no-pager", env={"COLUMNS": "200"})
    assert run.code == 0 and run.out.count("■") + run.out.count("█") + run.out.count("▪") >= 2


def test_the_comparisons_of_a_multi_arm_trial_left_out_of_a_pool_read_apart(immuno):
    """KEYNOTE-010's two doses are two comparisons: each "Not pooled" entry names its arms."""
    run = immuno("compare", "-e", "OS", "-i", "NSCLC", "--pool")
    left_out = next(line for line in (run.out + run.err).splitlines() if line.startswith("Not pooled: "))
    entries = [e for e in left_out.removeprefix("Not pooled: ").split("; ") if e.startswith("KEYNOTE-010 (")]
    assert len(entries) >= 2 and len(set(entries)) == len(entries)
    assert any("2 mg/kg" in e for e in entries) and any("10 mg/kg" in e for e in entries)
