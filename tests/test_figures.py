"""The figures themselves, as the primary publications report them, read through the JSON contract."""

from __future__ import annotations


def result(card, cut, endpoint, population="ITT"):
    matches = [r for r in card["trial"]["results"]
               if r["cut"]["id"] == cut and r["endpoint"]["id"] == endpoint and r["population"] == population]
    assert len(matches) == 1, (cut, endpoint, population)
    return matches[0]


def arms(r):
    return {a["arm"]: a for a in r["arms"]}


def test_keynote_024_pfs_primary_and_os_cuts_are_kept_apart(immuno):
    card = immuno("trial", "KEYNOTE-024", "--json").json()
    pfs = result(card, "primary", "PFS")
    assert arms(pfs)["pembro"]["median"] == 10.3 and arms(pfs)["chemo"]["median"] == 6.0
    hr = pfs["hazard_ratios"][0]
    assert (hr["value"], hr["ci"], hr["p"]) == (0.5, [0.37, 0.68], "<0.001")
    assert (hr["experimental"], hr["control"]) == ("pembro", "chemo")
    # A secondary report's "26.3 vs 14.2" mixes two cuts: each median lives with its own publication.
    five_year = result(card, "update-5y", "OS")
    assert (arms(five_year)["pembro"]["median"], arms(five_year)["chemo"]["median"]) == (26.3, 13.4)
    assert five_year["source"]["pmid"] == "33872070"
    update = result(card, "update-2019", "OS")
    assert (arms(update)["pembro"]["median"], arms(update)["chemo"]["median"]) == (30.0, 14.2)


def test_keynote_942_rfs_hazard_ratio_and_its_ci(immuno):
    card = immuno("trial", "KN-942", "--json").json()
    rfs = result(card, "primary", "RFS")
    hr = rfs["hazard_ratios"][0]
    assert (hr["value"], hr["ci"], hr["ci_level"], hr["p"]) == (0.561, [0.309, 1.017], 95, "0.053")
    assert hr["experimental_label"].startswith("mRNA-4157")
    dmfs = result(card, "primary", "DMFS")
    assert dmfs["hazard_ratios"][0]["value"] == 0.347


def test_pacific_os_hr_keeps_its_99_73_percent_ci(immuno):
    card = immuno("trial", "pacific", "--json").json()
    os_primary = result(card, "os-primary", "OS")
    hr = os_primary["hazard_ratios"][0]
    assert hr["ci_level"] == 99.73 and hr["ci"] == [0.47, 0.997] and hr["value"] == 0.68
    assert arms(os_primary)["durva"]["median"] is None and arms(os_primary)["durva"]["median_not_reached"] is True
    five_year = result(card, "update-5y", "OS")
    assert (arms(five_year)["durva"]["median"], arms(five_year)["placebo"]["median"]) == (47.5, 29.1)


def test_tebentafusp_os_primary_and_three_year(immuno):
    card = immuno("trial", "IMCgp100-202", "--json").json()
    primary = result(card, "primary", "OS")
    assert (arms(primary)["tebe"]["median"], arms(primary)["control"]["median"]) == (21.7, 16.0)
    assert primary["hazard_ratios"][0]["ci"] == [0.37, 0.71]


def test_cartitude_1_headline_figures_come_from_the_label_cut(immuno):
    card = immuno("trial", "CARTITUDE-1", "--json").json()
    scr = [r for r in card["trial"]["results"] if r["cut"]["id"] == "fda-label" and r["endpoint"]["id"] == "sCR"]
    assert scr and (arms(scr[0])["ciltacel"]["rate"], arms(scr[0])["ciltacel"]["count"],
                    arms(scr[0])["ciltacel"]["n"]) == (78.4, 76, 97)
    primary_orr = [r for r in card["trial"]["results"] if r["cut"]["id"] == "primary" and r["endpoint"]["id"] == "ORR"][0]
    assert (arms(primary_orr)["ciltacel"]["count"], arms(primary_orr)["ciltacel"]["n"]) == (94, 97)
    assert all(not r["hazard_ratios"] for r in card["trial"]["results"]), "a single-arm trial has no HR"


def test_cuts_are_listed_newest_first(immuno):
    cuts = immuno("trial", "KEYNOTE-024", "--json").json()["trial"]["cuts"]
    published = [c["published"] for c in cuts]
    assert published == sorted(published, reverse=True) and len(published) >= 3


def test_every_cut_has_a_citable_source(immuno):
    listing = immuno("list", "trials", "--json").json()["items"]
    for item in listing:
        card = immuno("trial", item["id"], "--json").json()["trial"]
        for cut in card["cuts"]:
            src = cut["source"]
            assert src["citation"] and (src["pmid"] or src["doi"] or src["url"]), (item["id"], cut["id"])
