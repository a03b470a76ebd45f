"""Pooling and derived figures against published worked examples."""

from __future__ import annotations

import math

import pytest

from immunocli.stats import (
    altman_nnt, chi2_sf, dersimonian_laird, describe_nnt, log_se_from_ci, random_effects,
    t_quantile, tau2_dl,
)

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


def test_reml_matches_metafor_on_the_bcg_data():
    # metafor rma(yi, vi, data=dat.bcg, method="REML"): -0.7145 [-1.0669, -0.3622], tau2 0.3132
    pooled = random_effects(*log_risk_ratios(), method="reml")
    assert round(pooled.estimate, 4) == -0.7145
    assert tuple(round(b, 4) for b in pooled.ci()) == (-1.0669, -0.3622)
    assert round(pooled.tau2, 4) == 0.3132


def test_hartung_knapp_matches_metafor_on_the_bcg_data():
    # metafor rma(..., method="REML", test="knha"): se 0.1808, t on 12 df, p 0.0019, CI [-1.1084, -0.3206]
    pooled = random_effects(*log_risk_ratios(), method="hksj")
    assert round(pooled.se, 4) == 0.1808
    assert tuple(round(b, 4) for b in pooled.ci()) == (-1.1084, -0.3206)
    assert round(pooled.p, 4) == 0.0019


def test_against_statsmodels_as_an_independent_implementation():
    np = pytest.importorskip("numpy")
    meta = pytest.importorskip("statsmodels.stats.meta_analysis")
    yi, vi = log_risk_ratios()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wald = meta.combine_effects(np.array(yi), np.array(vi), method_re="chi2", use_t=False)
        knha = meta.combine_effects(np.array(yi), np.array(vi), method_re="chi2", use_t=True)
        row, hk_row = wald.summary_frame().loc["random effect"], knha.summary_frame().loc["random effect wls"]
    dl = random_effects(yi, vi, "dl")
    assert math.isclose(dl.estimate, row["eff"], abs_tol=1e-9) and math.isclose(dl.tau2, wald.tau2, abs_tol=1e-9)
    assert all(math.isclose(a, b, abs_tol=1e-9) for a, b in zip(dl.ci(), (row["ci_low"], row["ci_upp"])))
    # Hartung-Knapp with the DL tau2: statsmodels' "random effect wls" row with use_t
    hk = random_effects(yi, vi, "hksj", tau2=tau2_dl(yi, vi))
    row = hk_row
    assert math.isclose(hk.se, row["sd_eff"], rel_tol=1e-9)
    assert all(math.isclose(a, b, abs_tol=1e-6) for a, b in zip(hk.ci(), (row["ci_low"], row["ci_upp"])))


@pytest.mark.parametrize("level,df,expected", [(95, 4, 2.7764), (95, 12, 2.1788), (99, 10, 3.1693), (95, 1, 12.7062)])
def test_t_quantiles_match_the_tables(level, df, expected):
    assert round(t_quantile(level, df), 4) == expected


def test_chi2_tail_matches_the_tables():
    assert round(chi2_sf(3.841, 1), 3) == 0.050 and round(chi2_sf(18.307, 10), 3) == 0.050
    assert round(chi2_sf(14.14, 10), 2) == 0.17


def test_altman_nnt_and_its_ci_in_words():
    # Altman & Andersen BMJ 1999;319:1492: S_c = 0.5, HR 0.5 -> 1/(0.5^0.5 - 0.5) = 4.83
    assert round(altman_nnt(50, 0.5), 2) == 4.83
    assert altman_nnt(50, 1.0) is None
    assert describe_nnt(4.83, altman_nnt(50, 0.3), altman_nnt(50, 0.8)).startswith("NNTB 5 (95% CI NNTB")
    crossing = describe_nnt(altman_nnt(50, 0.8), altman_nnt(50, 0.6), altman_nnt(50, 1.2))
    assert crossing.startswith("not significant") and "∞" in crossing and "NNTH" in crossing
