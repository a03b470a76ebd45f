"""Pooling and derived figures against published worked examples."""

from __future__ import annotations

import math

import pytest

from immunocli.stats import dersimonian_laird, log_se_from_ci, number_needed_to_treat

# BCG vaccine trials (Colditz et al., JAMA 1994;271:698-702), as metafor's dat.bcg:
# TB-positive / TB-negative in the vaccinated and control groups.
BCG = [(4, 119, 11, 128), (6, 300, 29, 274), (3, 228, 11, 209), (62, 13536, 248, 12619),
       (33, 5036, 47, 5761), (180, 1361, 372, 1079), (8, 2537, 10, 619), (505, 87886, 499, 87892),
       (29, 7470, 45, 7232), (17, 1699, 65, 1600), (186, 50448, 141, 27197), (5, 2493, 3, 2338),
       (27, 16886, 29, 17825)]


def log_risk_ratios():
    yi, vi = [], []
    for a, b, c, d in BCG:
        yi.append(math.log((a / (a + b)) / (c / (c + d))))
        vi.append(1 / a - 1 / (a + b) + 1 / c - 1 / (c + d))
    return yi, vi


def test_dersimonian_laird_matches_metafor_and_stata_on_the_bcg_data():
    # metafor rma(method="DL") checked against Stata metan: -0.7141 [-1.0644, -0.3638], tau2 0.3088, I2 92.1%
    pooled = dersimonian_laird(*log_risk_ratios())
    assert round(pooled.estimate, 4) == -0.7141
    lo, hi = pooled.ci()
    assert (round(lo, 4), round(hi, 4)) == (-1.0644, -0.3638)
    assert round(pooled.tau2, 4) == 0.3088
    assert round(pooled.i2, 1) == 92.1
    assert round(pooled.q, 2) == 152.23
    assert round(math.exp(pooled.estimate), 2) == 0.49


def test_identical_trials_have_no_heterogeneity():
    se = log_se_from_ci(0.5, 0.8)
    pooled = dersimonian_laird([math.log(0.63)] * 3, [se * se] * 3)
    assert pooled.tau2 == 0 and pooled.i2 == 0
    assert round(math.exp(pooled.estimate), 6) == 0.63


def test_se_from_a_ci_uses_its_level():
    assert round(log_se_from_ci(0.47, 0.997, 99.73), 4) == round((math.log(0.997) - math.log(0.47)) / (2 * 3.0), 4)


@pytest.mark.parametrize("difference,nnt", [(15.6, 7), (10.0, 10), (33.4 - 16.3, 6), (0.0, None), (-2.0, None)])
def test_number_needed_to_treat_rounds_up(difference, nnt):
    assert number_needed_to_treat(difference) == nnt
