"""The bundled knowledge as a whole: coverage, references and a sample of figures across families."""

from __future__ import annotations

import pytest

from immunocli.loader import load


@pytest.fixture(scope="module")
def knowledge():
    return load()


def test_every_approval_names_a_trial_file_or_says_why_not(knowledge):
    """Old approvals (1986 interferons) rest on studies with no file: the notes must say so."""
    unexplained = [a.id for a in knowledge.approvals.values() if not a.trials
                   and not any(w in (a.notes or "").casefold() for w in ("trial", "study", "studies", "basis"))]
    assert unexplained == []
    assert sum(1 for a in knowledge.approvals.values() if a.trials) >= 190


def test_every_approved_immunotherapy_lists_its_approvals(knowledge):
    immunotherapies = {"checkpoint-inhibitor", "car-t", "bispecific", "til", "tcr-t", "oncolytic-virus"}
    missing = [d.id for d in knowledge.drugs.values()
               if d.modality in immunotherapies and d.status == "approved"
               and not any(d.id in a.drugs for a in knowledge.approvals.values())]
    assert missing == []


def test_coverage_of_checkpoint_inhibitor_and_other_trials(knowledge):
    def experimental_modalities(trial):
        return {knowledge.drugs[d].modality for a in trial.arms if a.role != "control" for d in a.drugs}

    cpi = [t for t in knowledge.trials.values() if "checkpoint-inhibitor" in experimental_modalities(t)]
    other = [t for t in knowledge.trials.values() if t not in cpi]
    assert len(cpi) >= 120 and len(other) >= 45


@pytest.mark.parametrize("trial,cut,endpoint,population,medians,hr,ci,level,p", [
    ("checkmate-017", "primary", "OS", "ITT", (9.2, 6.0), 0.59, (0.44, 0.79), 95, "<0.001"),
    ("keynote-426", "primary", "OS", "ITT", ("NR", "NR"), 0.53, (0.38, 0.74), 95, "<0.0001"),
    ("imbrave150", "primary", "OS", "ITT", ("NR", 13.2), 0.58, (0.42, 0.79), 95, "<0.001"),
    ("zuma-7", "primary", "EFS", "ITT (blinded central review)", (8.3, 2.0), 0.4, (0.31, 0.51), 95, "<0.001"),
    ("tower", "interim", "OS", "ITT (N=405)", (7.7, 4.0), 0.71, (0.55, 0.93), 95, "0.01"),
])
def test_sample_figures_across_families(knowledge, trial, cut, endpoint, population, medians, hr, ci, level, p):
    result = next(r for r in knowledge.trials[trial].results
                  if r.cut.id == cut and r.endpoint == endpoint and r.population == population)
    first = result.hrs[0]
    assert (first.value, first.ci, first.ci_level, first.p) == (hr, ci, level, p)
    exp, ctl = result.arms[first.experimental], result.arms[first.control]
    assert (exp.median, ctl.median) == medians


def test_himalaya_keeps_its_96_percent_ci(knowledge):
    result = next(r for r in knowledge.trials["himalaya"].results if r.cut.id == "primary" and r.endpoint == "OS")
    assert result.hrs[0].ci_level == 96.02 and result.hrs[0].value == 0.78


def test_every_hazard_ratio_sits_near_the_middle_of_its_ci(knowledge):
    """A CI is (nearly) symmetric about its HR on the log scale; one that is not is usually a misprint copied
    from a secondary source. Where the source really prints it so (a repeated CI), the notes must say so."""
    import math

    odd = []
    for t in knowledge.trials.values():
        for r in t.results:
            for hr in r.hrs:
                if not (hr.ci and all(isinstance(b, (int, float)) and b > 0 for b in hr.ci)):
                    continue
                lo, hi = hr.ci
                half = (math.log(hi) - math.log(lo)) / 2
                rounding = 0.005 / min(lo, hr.value)  # two printed decimals move the log this much
                off = (abs(math.log(hr.value) - (math.log(lo) + math.log(hi)) / 2) - rounding) / half
                explained = any(w in (r.notes or "").casefold() for w in ("as printed", "repeated"))
                if off > 0.15 and not explained:
                    odd.append((t.id, r.endpoint, r.population, hr.value, hr.ci))
    assert odd == []


def test_a_two_sided_p_agrees_with_its_95_percent_ci(knowledge):
    """A two-sided p below 0.05 with a 95% CI that holds 1, or above 0.05 with one that excludes it, cannot
    both be right: usually the p is one-sided and was recorded without `p_sided: 1`. Rounding is allowed."""
    import re

    odd = []
    for t in knowledge.trials.values():
        for r in t.results:
            for hr in r.hrs:
                found = re.fullmatch(r"\s*([<>≤≥=]?)\s*(0?\.\d+|1(?:\.0+)?)\s*", hr.p or "")
                if not found or hr.p_sided == 1 or (hr.ci_level or 95) > 95.01 or not (
                        hr.ci and all(isinstance(b, (int, float)) for b in hr.ci)):
                    continue
                op, p = found.group(1), float(found.group(2))
                lo, hi = hr.ci
                holds_one, excludes_one = lo < 0.99 and hi > 1.01, hi < 0.99 or lo > 1.01
                if (holds_one and p < 0.05 and op in ("", "=", "<", "≤")) or \
                        (excludes_one and p > 0.05 and op in ("", "=", ">", "≥")):
                    odd.append((t.id, r.endpoint, r.population, hr.value, hr.ci, hr.p))
    assert odd == []
