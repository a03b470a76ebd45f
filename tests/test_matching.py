"""Never the wrong record: exact identifiers, announced matches, --exact, multi-word queries, and compare's
filters meaning what people mean (issue: a neighbour's record answered for a name not in the knowledge)."""

from __future__ import annotations

import pytest

from immunocli import load
from immunocli.errors import Ambiguous, NotFound
from immunocli.index import normalise
from immunocli.queries import Catalogue


@pytest.fixture(scope="module")
def catalogue():
    return Catalogue(load())


def _one_digit_off(name: str):
    for i, c in enumerate(name):
        if c.isdigit():
            for d in "0123456789":
                if d != c:
                    yield name[:i] + d + name[i + 1:]


def test_no_name_one_digit_off_is_answered_silently_with_another_trial(catalogue):
    """Every trial name, alias and NCT id with one digit changed: refused, or announced, never silent."""
    index = catalogue.trial_index
    known = set(index.exact)
    silent, tried = [], 0
    for trial in catalogue.knowledge.trials.values():
        for name in {trial.name, trial.nct or "", *trial.aliases}:
            for variant in _one_digit_off(name):
                if normalise(variant) in known:
                    continue  # that is another record's real name: answering it is right
                tried += 1
                try:
                    found = index.match(variant)
                except (NotFound, Ambiguous):
                    continue
                if not found.announced:
                    silent.append((variant, found.id))
    assert tried > 2000
    assert silent == []


@pytest.mark.parametrize("query,expected", [
    ("IMvigor210", "imvigor210"), ("IMvigor211", "imvigor211"), ("CheckMate 459", "checkmate-459"),
    ("CheckMate 649", "checkmate-649"), ("IMpassion130", "impassion130"), ("IMbrave150", "imbrave150"),
    ("KN-942", "keynote-942"), ("CM-67", "checkmate-067"), ("keynote 024", "keynote-024"),
    ("NCT03897881", "keynote-942"), ("CM-9DW", "checkmate-9dw"), ("CM 8HW", "checkmate-8hw"),
    ("cm9la", "checkmate-9la"), ("KN-A18", "keynote-a18"), ("KN-B96", "keynote-b96"),
])
def test_names_and_aliases_answer_their_own_record(catalogue, query, expected):
    found = catalogue.trial_index.match(query)
    assert found.id == expected and found.how in ("exact", "alias")


@pytest.mark.parametrize("query", ["IMvigor212", "CheckMate 458", "KEYNOTE-016", "NCT03897882", "IMbrave151",
                                   "KEYNOTE-16"])
def test_a_number_not_in_the_knowledge_is_refused(immuno, query):
    run = immuno("trial", query, "--json")
    assert run.code == 1 and run.out == ""
    assert "no trial matches" in run.err


def test_keynote_16_never_means_keynote_164(catalogue):
    with pytest.raises(NotFound):
        catalogue.trial_index.match("KEYNOTE-16")


def test_a_prefix_at_a_boundary_lists_the_family(immuno):
    run = immuno("trial", "cartitude")
    assert run.code == 1 and "CARTITUDE-1" in run.err and "CARTITUDE-4" in run.err


@pytest.mark.parametrize("args,expected,how", [
    (("trial", "keynot", "189"), "keynote-189", "fuzzy"),
    (("trial", "chekmate", "67"), "checkmate-067", "fuzzy"),
    (("trial", "himalya"), "himalaya", "fuzzy"),
    (("drug", "pembrolizumb"), "pembrolizumab", "fuzzy"),
])
def test_a_typo_in_letters_is_forgiven_and_announced(immuno, args, expected, how):
    run = immuno(*args, "--json")
    assert run.code == 0, run.err
    payload = run.json()
    assert payload["match"]["how"] == how and payload["match"]["id"] == expected
    assert "immuno: showing" in run.err and "closest name" in run.err
    refused = immuno(*args, "--exact")
    assert refused.code == 1 and refused.out == ""


def test_exact_accepts_names_and_aliases(immuno):
    for args in (("drug", "Keytruda"), ("drug", "MK-3475"), ("trial", "KN-942"), ("trial", "NCT03897881")):
        run = immuno(*args, "--exact", "--json")
        assert run.code == 0 and run.err == "" and run.json()["match"]["how"] in ("exact", "alias"), args


@pytest.mark.parametrize("args", [("trial", "CheckMate", "067"), ("indication", "lung", "cancer"),
                                  ("search", "pembrolizumab", "melanoma"), ("irae", "type", "1", "diabetes"),
                                  ("endpoint", "overall", "survival"), ("drug", "axi-cel")])
def test_several_words_need_no_quotes(immuno, args):
    run = immuno(*args)
    assert run.code == 0, run.err


def test_search_ands_its_words_in_any_order(immuno):
    one = {h["id"] for h in immuno("search", "pembrolizumab", "melanoma", "--json").json()["hits"]}
    other = {h["id"] for h in immuno("search", "melanoma", "pembrolizumab", "--json").json()["hits"]}
    assert one == other and "keynote-006" in one and "keynote-189" not in one


def test_a_brand_finds_what_its_generic_name_finds(immuno):
    """Trial records name drugs by their generic names: Keytruda finds the pembrolizumab trials, and says so."""
    run = immuno("search", "keytruda", "melanoma", "adjuvant", "--json")
    ids = {h["id"] for h in run.json()["hits"]}
    assert {"keynote-054", "keynote-716", "keynote-942", "swog-s1404"} <= ids  # a trial's setting is searched
    assert ids == {h["id"] for h in immuno("search", "pembrolizumab", "melanoma", "adjuvant", "--json").json()["hits"]}
    assert "'keytruda' is also searched as pembrolizumab" in run.err
    bcg = {h["id"] for h in immuno("search", "BCG", "unresponsive", "--json").json()["hits"]}
    assert "keynote-057" in bcg  # a word that is also an alias still matches as written


def test_search_ranks_exact_names_first_and_covers_context_cards(immuno):
    hits = immuno("search", "KEYNOTE-024", "--json").json()["hits"]
    assert hits[0]["id"] == "keynote-024" and hits[0]["match"] == "exact"
    kinds = {h["kind"] for h in immuno("search", "colitis", "--json").json()["hits"]}
    assert "irae" in kinds
    approximate = immuno("search", "pembrolizumb", "--json")
    assert all(h["match"] == "approximate" for h in approximate.json()["hits"]) and "approximate" in approximate.err


@pytest.mark.parametrize("endpoint", ["PFS2", "TRAE"])
def test_an_endpoint_not_in_the_vocabulary_is_refused(immuno, endpoint):
    run = immuno("compare", "-e", endpoint)
    assert run.code == 1 and "no endpoint matches" in run.err and run.out == ""


def test_cr_rate_is_cr(immuno):
    payload = immuno("compare", "-e", "CR rate", "--json").json()
    assert payload["filters"]["endpoint"] == "CR"


def rows(immuno, *args):
    run = immuno("compare", *args, "--json")
    assert run.code == 0, run.err
    return run.json()


def trials(payload) -> set[str]:
    return {r["trial"]["id"] for r in payload["rows"]}


def test_second_line_finds_trials_filed_as_previously_treated(immuno):
    payload = rows(immuno, "-e", "OS", "--setting", "2L")
    assert {"keynote-010", "oak"} <= trials(payload)
    assert "previously-treated" in payload["filters"]["settings_covered"]


@pytest.mark.parametrize("phase", ["3", "III", "phase 3"])
def test_phase_words_are_one_phase_and_2_3_counts_as_3(immuno, phase):
    payload = rows(immuno, "-e", "OS", "--phase", phase)
    phases = {r["trial"]["phase"] for r in payload["rows"]}
    assert "3" in phases and phases <= {"3", "2/3"}


def test_lung_cancer_covers_nsclc_and_sclc(immuno):
    payload = rows(immuno, "-e", "OS", "-i", "lung cancer")
    assert {"impower133", "caspian", "keynote-189"} <= trials(payload)
    assert "(from 'lung cancer')" in payload["filters"]["summary"]


@pytest.mark.parametrize("query,member", [("lymphoma", "zuma-7"), ("leukemia", "eliana"), ("stomach", "checkmate-649"),
                                          ("bladder", "keynote-045"), ("kidney", "checkmate-214")])
def test_disease_groups_are_nodes_of_the_tree(immuno, query, member):
    assert member in trials(rows(immuno, "-i", query, "--subgroups"))


def test_repeated_options_combine_with_or(immuno):
    nivo = trials(rows(immuno, "-e", "OS", "--drug", "nivolumab"))
    ipi = trials(rows(immuno, "-e", "OS", "--drug", "ipilimumab"))
    both = trials(rows(immuno, "-e", "OS", "--drug", "nivolumab", "--drug", "ipilimumab"))
    assert both == nivo | ipi and nivo - ipi and ipi - nivo


def test_a_cohort_is_found_by_its_own_disease(immuno):
    assert "keynote-001" in trials(rows(immuno, "-e", "ORR", "-i", "NSCLC"))
    melanoma = [r for r in rows(immuno, "-e", "ORR", "-i", "MEL", "--subgroups")["rows"] if r["trial"]["id"] == "keynote-001"]
    assert melanoma and all("NSCLC" not in r["population"] for r in melanoma)
    assert "zuma-5" in trials(rows(immuno, "-i", "MZL"))


@pytest.mark.parametrize("option,value", [("--target", "xyz"), ("--drug", "xyz"), ("--indication", "xyzzy"),
                                          ("--setting", "fifth-line"), ("--modality", "magic"), ("--phase", "seven")])
def test_every_unknown_value_gets_the_same_message(immuno, option, value):
    run = immuno("compare", option, value)
    assert run.code == 1 and run.out == "" and f"matches {value!r}" in run.err


def test_the_table_says_what_each_filter_became(immuno):
    run = immuno("compare", "-e", "OS", "-i", "lung cancer", "--drug", "pembrolizumab")
    assert "indication: LUAD, LUNG, LUSC, NSCLC, SCLC (from 'lung cancer')" in run.out + run.err


@pytest.mark.parametrize("what,member", [("biomarkers", "msi-h"), ("irae", "colitis"), ("targets", "PD-1"),
                                         ("settings", "second-line"), ("modalities", "car-t"), ("phases", "3"),
                                         ("analyses", "subgroup")])
def test_every_vocabulary_can_be_listed(immuno, what, member):
    items = immuno("list", what, "--json").json()["items"]
    assert any(i["id"].casefold() == member.casefold() for i in items)


@pytest.mark.parametrize("query", ["KEYNOTE-19", "KEYNOTE-18", "KEYNOTE-B18", "KEYNOTE-96", "CheckMate 8HX",
                                   "CheckMate 7", "CheckMate 76"])
def test_letters_glued_to_a_number_are_part_of_the_identifier(catalogue, query):
    """KEYNOTE-D19, -A18, -B96 and CheckMate 8HW, 7FL, 76K are identifiers: never reached by a typo or a prefix."""
    with pytest.raises((NotFound, Ambiguous)):
        catalogue.trial_index.match(query)


def test_a_family_name_lists_the_family(immuno):
    for family, members in (("JAVELIN", ("JAVELIN Bladder 100", "JAVELIN Gastric 300")),
                            ("EMPOWER", ("EMPOWER-Lung 1", "EMPOWER-CSCC-1"))):
        run = immuno("trial", family)
        assert run.code == 1 and all(m in run.err for m in members), run.err


def test_a_target_given_to_drug_points_to_the_target_filter(immuno):
    run = immuno("drug", "PD-1")
    assert run.code == 1 and "--target PD-1" in run.err and run.out == ""
