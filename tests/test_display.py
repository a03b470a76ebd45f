"""Every figure on screen: each bundled trial's card shows every figure of its JSON whole, piped and at
60, 80 and 120 columns, and opens with its primary result."""

from __future__ import annotations

import copy
import json
import re

import pytest

from immunocli import serialize
from immunocli.loader import build, data_dirs
from immunocli.render import cards, page
from immunocli.render import text as fmt

WIDTHS = [None, 60, 80, 120]  # None: piped, at natural width
NUMBER = re.compile(r"(?<![\d.])\d+(?:\.\d+)?(?!\d|\.\d)")


@pytest.fixture(scope="module")
def payloads():
    knowledge, problems = build(data_dirs())
    assert not problems, problems[:3]
    as_of = serialize.knowledge_as_of(knowledge)
    return {t.id: serialize.envelope("trial", as_of, trial=serialize.trial(t, knowledge))
            for t in knowledge.trials.values()}


def figures(trial: dict):
    """Every figure of a trial's results, as (number, what) and the dates and p values as text."""
    numbers, texts = [], []
    for r in trial["results"]:
        where = f"{r['endpoint']['id']} {r['population']} {r['cut']['id']}"
        texts.append((r["cut"]["published"], f"{where} published"))
        for a in r["arms"]:
            for key in ("median", "rate", "count", "n", "events"):
                if a[key] is not None:
                    numbers.append((a[key], f"{where} {a['arm']} {key}"))
            for key in ("median_ci", "rate_ci"):
                numbers += [(b, f"{where} {a['arm']} {key}") for b in a[key] or [] if b is not None]
        for hr in r["hazard_ratios"]:
            numbers.append((hr["value"], f"{where} HR"))
            numbers += [(b, f"{where} HR CI") for b in hr["ci"] or [] if b is not None]
            if hr["p"]:
                texts.append((fmt.p_value(hr), f"{where} p"))
        for lm in r["landmarks"]:
            numbers += [(lm["months"], f"{where} landmark months")]
            for a in lm["arms"]:
                if a["rate"] is not None:
                    numbers.append((a["rate"], f"{where} {a['arm']} {lm['months']}-mo rate"))
                numbers += [(b, f"{where} landmark CI") for b in a["rate_ci"] or [] if b is not None]
    return numbers, texts


def without_prose(payload: dict) -> dict:
    """The card without notes, citations and descriptions, so that a figure they mention cannot stand in
    for the one the results must show."""
    p = copy.deepcopy(payload)
    t = p["trial"]
    t.update(notes=None, design=None, population="", aliases=[], nct=None)
    for c in t["cuts"]:
        c.update(label="cut", follow_up=None, source={"citation": ""})
    for r in t["results"]:
        r.update(notes=None, source=None)
    return p


def test_the_bundled_knowledge_has_trials(payloads):
    assert len(payloads) > 150


@pytest.mark.parametrize("width", WIDTHS, ids=lambda w: f"{w or 'piped'}-columns")
def test_every_figure_of_every_trial_appears_whole(payloads, width):
    missing = []
    for tid, payload in payloads.items():
        text = "\n".join(page.lines(cards.trial_card(without_prose(payload)), width))
        tokens = {round(float(n), 6) for n in NUMBER.findall(text)}
        numbers, texts = figures(payload["trial"])
        missing += [f"{tid}: {what} = {value}" for value, what in numbers if round(float(value), 6) not in tokens]
        missing += [f"{tid}: {what} = {value}" for value, what in texts
                    if not re.search(rf"(?<![\w.-]){re.escape(value)}(?![\d-]|\.\d)", text)]
    assert not missing, f"{len(missing)} figures not shown whole, e.g. {missing[:10]}"


@pytest.mark.parametrize("width", [60, 80, 120])
def test_no_line_is_wider_than_the_screen_unless_one_word_is(payloads, width):
    too_wide = []
    for tid, payload in payloads.items():
        for line in page.lines(cards.trial_card(payload), width):
            if len(line) > width and max(map(len, line.split(" "))) + 12 < len(line):
                too_wide.append(f"{tid}: {line!r}")
    assert not too_wide, too_wide[:5]


def test_piped_lines_have_no_trailing_spaces(payloads):
    for payload in payloads.values():
        assert all(line == line.rstrip() for line in page.lines(cards.trial_card(payload), None))


def _primaries(trial: dict) -> list[dict]:
    """The primary endpoint's results at the newest cut that reports one (any of them may lead the card): a
    later cut's main row of a marked row's endpoint and population is the primary endpoint's too; a
    multi-cohort trial's own disease comes first."""
    results = trial["results"]
    mine = [r for r in results if r["indication"]["id"] == trial["indication"]["id"]]
    if mine and (any(r["primary_endpoint"] for r in mine) or not any(r["primary_endpoint"] for r in results)):
        results = mine
    trial = {**trial, "results": results}
    primary = [r for r in trial["results"] if r["primary_endpoint"]]
    keys = {(r["endpoint"]["id"], r["population"]) for r in primary}
    primary += [r for r in trial["results"] if not r["primary_endpoint"] and r.get("analysis") in ("itt", "primary")
                and (r["endpoint"]["id"], r["population"]) in keys]
    if not primary:
        return trial["results"][:1]
    newest = max(r["cut"]["published"] for r in primary)
    return [r for r in primary if r["cut"]["published"] == newest]


def _headline_figure(result: dict):
    """The figure a reader looks for first: the HR, else a median, a rate, a landmark rate, the events."""
    if result["hazard_ratios"]:
        return result["hazard_ratios"][0]["value"]
    for key in ("median", "rate"):
        for a in result["arms"]:
            if a[key] is not None:
                return a[key]
    for lm in result["landmarks"]:
        return lm["arms"][0]["rate"]
    return next((a["events"] for a in result["arms"] if a["events"] is not None), None)


@pytest.mark.parametrize("width,first", [(None, 3), (80, 5), (120, 4)])
def test_each_card_opens_with_its_primary_result(payloads, width, first):
    late = []
    for tid, payload in payloads.items():
        top = "\n".join(page.lines(cards.trial_card(without_prose(payload)), width)[:first])
        shown = {round(float(n), 6) for n in NUMBER.findall(top)}
        candidates = [(r, _headline_figure(r)) for r in _primaries(payload["trial"])]
        candidates = [(r, f) for r, f in candidates if f is not None]
        if candidates and not any(r["endpoint"]["id"] in top and round(float(f), 6) in shown for r, f in candidates):
            late.append(f"{tid}: {candidates[0][0]['endpoint']['id']} {candidates[0][1]}")
    assert not late, late[:10]


def test_a_landmark_trial_leads_with_its_newest_primary_analysis(immuno):
    """KEYNOTE-042's files mark the 2019 rows primary; its 5-year update of the same comparison leads."""
    card = immuno("trial", "KEYNOTE-042").out.splitlines()
    assert card[2].startswith("Primary: OS HR 0.79 (95% CI 0.70–0.89)") and "2023-04" in card[2]
    drug = immuno("drug", "pembrolizumab", "--json").json()["drug"]["trials"]
    (kn42,) = [t for t in drug if t["id"] == "keynote-042"]
    assert kn42["headline"][0]["hazard_ratio"]["value"] == 0.79


def test_keynote_942_headline_as_the_issue_asks(immuno):
    run = immuno("trial", "KEYNOTE-942")
    assert run.code == 0
    second = run.out.splitlines()[1]
    assert second.startswith("Primary")
    assert "RFS HR 0.561 (95% CI 0.309–1.017), p=0.053" in second and "18-mo 79% vs 62%" in second


def test_pacific_piped_shows_the_five_year_survival(immuno):
    run = immuno("trial", "PACIFIC")
    assert run.code == 0
    assert re.search(r"60-mo 42\.9%", run.out) and re.search(r"60-mo 33\.4%", run.out)


def test_results_name_arms_by_their_short_id_and_the_full_label_once(payloads):
    lines = page.lines(cards.trial_card(payloads["keynote-942"]), None)
    assert sum("mRNA-4157 + pembrolizumab" in line for line in lines) == 1
    assert any(line.split()[:1] == ["pembro"] or " pembro " in line for line in lines)


def test_drug_card_is_compact(immuno):
    run = immuno("drug", "pembrolizumab")
    assert run.code == 0
    lines = run.out.splitlines()
    card = run.out
    d = immuno("drug", "pembrolizumab", "--json").json()["drug"]
    approvals = [line for line in lines if re.match(r"\d{4}-\d\d-\d\d( \(withdrawn[^)]*\))?  ", line)]
    assert len(approvals) == len(d["approvals"])  # one line each
    assert len(lines) < len(d["approvals"]) + len(d["trials"]) + 40
    assert "As approved" not in card  # the approvals' long texts only with --full
    full = immuno("drug", "pembrolizumab", "--full").out
    assert "As approved" in full and d["approvals"][-1]["text"] in full


@pytest.mark.parametrize("args", [["drug", "nivolumab"], ["indication", "MEL"], ["trial", "KEYNOTE-942"],
                                  ["compare", "-e", "OS"], ["drug", "nivolumab", "--format", "markdown"]])
def test_written_figures_hold_plain_spaces(immuno, args):
    """A figure is kept whole with no-break spaces while laid out; what is written holds plain ones, so
    that `grep "HR 0.56"` or a copy and paste finds the figure."""
    out = immuno(*args).out
    assert "\u00a0" not in out
    for width in WIDTHS:
        assert not any("\u00a0" in line for line in page.lines(cards.drug_card(immuno("drug", "nivolumab", "--json")
                                                                                   .json()), width))


def test_a_source_that_is_no_paper_says_what_it_is(immuno):
    """A figure from a congress abstract or a sponsor's report is read differently from one in a paper."""
    card = immuno("trial", "KEYNOTE-905").out
    assert re.search(r"^  Source: .*\[congress abstract\]$", card, re.M)
    paper = [line for line in immuno("trial", "KEYNOTE-024").out.splitlines() if line.startswith("  Source:")]
    assert paper and not any(line.endswith("]") for line in paper)


def test_drug_card_sections(immuno):
    only_approvals = immuno("drug", "nivolumab", "--approvals").out
    assert "FDA approvals" in only_approvals and "Trials (" not in only_approvals
    only_trials = immuno("drug", "nivolumab", "--trials").out
    assert "Trials (" in only_trials and "FDA approvals" not in only_trials


def test_text_speaks_of_the_product(immuno):
    for args in (["trial", "KEYNOTE-942"], ["drug", "pembrolizumab"], ["biomarker", "MSI-H"], ["irae", "colitis"],
                 ["endpoint", "OS"]):
        out = immuno(*args).out
        assert "shared/seeds" not in out and "data/trials/" not in out and "data/drugs/" not in out
    assert re.search(r"^From +bundled$", immuno("trial", "KEYNOTE-942").out, re.M)
    listing = immuno("list", "endpoints").out
    assert "True" not in listing and "False" not in listing and "\tyes" in listing


def test_one_disclaimer_wording(immuno):
    for args in (["trial", "KEYNOTE-942"], ["drug", "pembrolizumab"], ["indication", "HCC"], ["biomarker", "MSI-H"],
                 ["irae", "colitis"], ["endpoint", "OS"]):
        last = immuno(*args).out.rstrip().splitlines()[-1]
        assert last.endswith(fmt.CAUTION) and last.startswith("Knowledge as of ")


@pytest.mark.parametrize("args,card", [(["drug", "pembrolizumab"], "drug_card"), (["indication", "NSCLC"], "indication_card"),
                                       (["irae", "CRS"], "irae_card")])
def test_other_cards_keep_their_hazard_ratios_whole_at_every_width(immuno, args, card):
    payload = immuno(*args, "--json").json()
    text = json.dumps(payload)
    hrs = {h["value"] for h in re_rows(payload) if h} if "hazard_ratio" in text else set()
    for width in WIDTHS:
        shown = {round(float(n), 6) for n in NUMBER.findall("\n".join(page.lines(getattr(cards, card)(payload),
                                                                                  width)))}
        assert {round(float(v), 6) for v in hrs} <= shown, width


def re_rows(payload: dict):
    """The hazard ratio of each trial's first headline row (the compact card's one line per trial) and of
    every rate row of an irAE card."""
    if isinstance(payload, dict):
        if "hazard_ratio" in payload and "trial" in payload:
            yield payload["hazard_ratio"]
        if payload.get("headline"):
            yield from re_rows(payload["headline"][0])
            return
        for value in payload.values():
            yield from re_rows(value)
    elif isinstance(payload, list):
        for value in payload:
            yield from re_rows(value)


def test_prose_never_parts_a_number_from_its_unit(payloads):
    """Wrapped prose keeps "25.6 months", "3 mg/kg" and "every 3 weeks" on one line."""
    parted = []
    for tid, payload in payloads.items():
        for width in (60, 80):
            lines = page.lines(cards.trial_card(payload), width)
            for line, after in zip(lines, lines[1:]):
                if re.search(r"\d$", line) and re.match(r"\s*(months|mg/kg|weeks|cycles|mo)\b", after):
                    parted.append(f"{tid} at {width}: {line[-20:]!r} / {after.strip()[:20]!r}")
    assert parted == [], parted[:5]


def test_a_figure_from_an_earlier_cut_says_so_in_every_view(immuno):
    """KEYNOTE-042's 5-year update reports no medians: --cut latest shows 2019's, and the table says so."""
    run = immuno("compare", "-e", "OS", "--trial", "KEYNOTE-042", "--format", "tsv")
    lines = [l.split("\t") for l in run.out.splitlines()[1:]]
    itt = next(cells for cells in lines if cells[6].startswith("ITT"))
    assert itt[-1] == "2023-04 (median: 2019-04)"
    assert cards.comparison_view_row(itt)[0].startswith("KEYNOTE-042 · 2023-04 (median: 2019-04)\n")
    stacked = page.lines(cards.comparison_stacked(itt), 80)
    assert any("2023-04 (median: 2019-04)" in line for line in stacked)


@pytest.mark.parametrize("width", [60, 80, 120, 200])
def test_a_derived_figure_is_never_split(immuno, width):
    """An NNT with its interval is one figure: "NNTB 9 (95% CI NNTB 7 to NNTB 15)" stays on one line."""
    rows = immuno("compare", "-e", "OS", "--trial", "CARES-310", "--explain", "--json").json()["rows"]
    values = [fmt.derived_value(d) for r in rows for d in r["derived"]]
    assert any(v.startswith("NNTB") and " to " in v for v in values)
    lines = page.lines([cards.derived_table(rows)], width)
    assert all(any(v in line for line in lines) for v in values), [v for v in values if not any(v in l for l in lines)]


def test_exports_name_the_earlier_cut_and_paper_a_figure_comes_from(immuno):
    """KEYNOTE-240's newest cut (2023) reports no HR or medians of its own: CSV and Markdown say the 2019
    paper's figures are shown, and cite it."""
    import csv
    import io

    (row,) = csv.DictReader(io.StringIO(immuno("compare", "-e", "OS", "--trial", "KEYNOTE-240", "--format", "csv").out))
    assert (row["published"], row["hr"]) == ("2023", "0.781")
    assert row["from_earlier_cuts"] == "HR, median: 2019-12 (PMID 31790344)"
    md = immuno("compare", "-e", "OS", "--trial", "KEYNOTE-240", "--format", "markdown").out
    assert "| 2023 (HR, median: 2019-12) |" in md and "from earlier cuts: HR, median: 2019-12 (PMID 31790344)" in md
    plain = immuno("compare", "-e", "OS", "--trial", "KEYNOTE-240", "--cut", "all", "--format", "csv").out
    assert all(not r["from_earlier_cuts"] for r in csv.DictReader(io.StringIO(plain)))


@pytest.mark.parametrize("width", [80, 120, 200])
def test_a_one_sided_p_is_never_parted_from_its_value(immuno, width):
    cells = [l.split("\t") for l in immuno("compare", "-e", "OS", "-i", "HCC", "--format", "tsv").out.splitlines()[1:]]
    lines = page.lines([cards.comparison_cells_table(cells, None)], width)
    assert any("p<0.0001 one-sided" in line for line in lines)  # CARES-310
    assert not [line for line in lines if line.strip() == "one-sided"]


def test_a_multi_cohort_trial_is_headed_by_its_own_disease(immuno):
    """KEYNOTE-001 is filed as melanoma: its card and the drug card open with a melanoma cohort, not NSCLC."""
    assert "melanoma" in immuno("trial", "KEYNOTE-001").out.splitlines()[1]
    (kn1,) = [t for t in immuno("drug", "pembrolizumab", "--json").json()["drug"]["trials"] if t["id"] == "keynote-001"]
    assert all(row["indication"]["id"] == "MEL" for row in kn1["headline"])
