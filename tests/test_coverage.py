"""What the bundled knowledge covers, by category: the floors a change must not fall below (docs/coverage.md).

The evidence is the whole evidence: negative trials and non-US programmes are counted as firmly as the
approvals, so a pooled HR is never built from winners alone."""

from __future__ import annotations

import pytest

from immunocli import load

NON_US_PROGRAMMES = {"sintilimab", "camrelizumab", "serplulimab", "sugemalimab", "ivonescimab", "cadonilimab",
                     "toripalimab", "tislelizumab", "penpulimab", "adebrelimab"}


@pytest.fixture(scope="module")
def knowledge():
    return load()


def randomized_phase3(k):
    return [t for t in k.trials.values() if t.randomized and t.phase in ("3", "2/3")]


def test_at_least_300_trials_and_230_randomized_phase_3(knowledge):
    assert len(knowledge.trials) >= 300
    assert len(randomized_phase3(knowledge)) >= 230


def test_at_least_50_negative_trials_with_their_primary_result(knowledge):
    negative = [t for t in knowledge.trials.values() if t.primary_outcome == "not-met"]
    assert len(negative) >= 50
    # a negative trial is recorded with the figure that failed, not only with a sentence
    without = [t.id for t in negative if not any(r.primary_endpoint and (r.hrs or any(
        f.median is not None or f.rate is not None for f in r.arms.values())) for r in t.results)]
    assert len(without) <= len(negative) // 10, without


def test_every_trial_says_whether_it_met_its_primary_endpoint(knowledge):
    missing = [t.id for t in knowledge.trials.values() if t.primary_outcome is None]
    assert missing == []
    randomized_descriptive = [t.id for t in randomized_phase3(knowledge) if t.primary_outcome == "descriptive"]
    assert len(randomized_descriptive) <= 3, randomized_descriptive


def test_at_least_15_non_us_phase_3_programmes(knowledge):
    trials = [t for t in randomized_phase3(knowledge) if set(t.drugs) & NON_US_PROGRAMMES]
    assert len(trials) >= 15
    assert NON_US_PROGRAMMES <= set(knowledge.drugs)


@pytest.mark.parametrize("drug,at_least", [("pembrolizumab", 45), ("nivolumab", 30), ("atezolizumab", 12),
                                           ("durvalumab", 10), ("ipilimumab", 10), ("cemiplimab", 5)])
def test_approvals_by_drug(knowledge, drug, at_least):
    assert sum(drug in a.drugs for a in knowledge.approvals.values()) >= at_least


# Trials without an NCT id: run before registration (IMPACT, GELF-86), pooled analyses of several trials
# (the high-dose IL-2 pools), and denileukin diftitox's phase 3 (enrolled from the 1990s; no NCT id was
# seen in a text). Any other trial must carry its id.
UNREGISTERED = {"impact", "gelf-86", "denileukin-ctcl-phase3", "hd-il2-melanoma-pooled", "hd-il2-rcc-pooled"}


def test_registered_trials_carry_their_nct_id(knowledge):
    missing = {t.id for t in knowledge.trials.values() if not t.nct}
    assert missing <= UNREGISTERED, sorted(missing - UNREGISTERED)


NOT_PAPERS = {"congress", "label", "registry", "press"}


def test_every_trial_card_whose_paper_has_one_cites_its_pmid_or_doi(knowledge):
    """A card cites a PMID or DOI unless every source of it says it is no journal paper: results given only
    at a congress, in an FDA text or a registry record, or by the sponsor, not yet in a paper."""
    cards = list(knowledge.trials.values())
    cited = [t for t in cards if any(s.pmid or s.doi for s in t.sources.values())]
    unpublished = [t for t in cards if t not in cited and all(s.kind in NOT_PAPERS for s in t.sources.values())]
    assert len(cited) / (len(cards) - len(unpublished)) >= 0.95  # the rest: docs/coverage.md
    # results given only at a congress or by a sponsor are the newest evidence, and welcome; but a tenth of
    # the cards is the most such an exemption may cover, so that `kind` never becomes a way round the 95%
    assert len(unpublished) <= len(cards) // 10, [t.id for t in unpublished]


def test_every_source_of_a_card_without_pmid_or_doi_says_what_it_is(knowledge):
    """So that a paper whose identifier is missing is never taken for a congress abstract that has none."""
    unsaid = sorted(t.id for t in knowledge.trials.values() if not any(s.pmid or s.doi for s in t.sources.values())
                    and any(s.kind is None for s in t.sources.values()))
    assert unsaid == []


def test_every_result_has_a_figure(knowledge):
    empty = [(t.id, r.endpoint, r.population) for t in knowledge.trials.values() for r in t.results
             if not (r.hrs or r.landmarks or any(f.median is not None or f.rate is not None or f.count is not None
                                                 or f.events is not None for f in r.arms.values()))]
    assert empty == []


def test_non_squamous_nsclc_has_one_coding(knowledge):
    assert not [t.id for t in knowledge.trials.values() if t.indication == "LUAD"]


def test_approvals_cite_the_fdas_own_text_where_one_was_found(knowledge):
    """84 approval records cite an FDA notice, label, review or approval-summary paper (docs/coverage.md);
    the rest cite a copy of the FDA notice in the news, and say so with `kind: press`."""
    fda = [a.id for a in knowledge.approvals.values() if a.source.kind in ("label", "journal")]
    assert len(fda) >= 84
    assert all(a.source.kind in ("label", "journal", "press") for a in knowledge.approvals.values())
