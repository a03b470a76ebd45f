"""Pooling compare's rows the way a meta-analyst would: one endpoint, one row per trial by a stated rule,
every row left out named with its reason, the method and its heterogeneity reported in full.

It works on the JSON rows (what `compare --json` prints), so the compiled cache and the library pool
alike, and the result is the same whatever order the rows come in (`--sort` never changes it).

The rule for one row per trial, in order: the trial's ITT analysis, else its primary analysis population
(subgroup, sensitivity, per-protocol and safety rows are never pooled); the trial's primary comparison
(its first-listed), skipping comparisons whose both arms contain a drug the user filtered on; the
newest cut that reports a hazard ratio with its CI; then the population's name, so ties cannot depend on
order. A CI printed at another level (99.73% in PACIFIC) gives its SE through its own z.
"""

from __future__ import annotations

import math

from .errors import UsageError

POOLED_ANALYSES = ("itt", "primary")
ANALYSIS_RANK = {"itt": 0, "primary": 1}
FEW_STUDIES = 5


def _comparison(row: dict) -> str:
    hr = row.get("hazard_ratio") or {}
    exp, ctl = row.get("experimental") or {}, row.get("control") or {}
    return f"{hr.get('experimental_label') or exp.get('label')} vs {hr.get('control_label') or ctl.get('label')}" \
        if (hr or ctl) else (exp.get("label") or "")


def _rank_of_comparison(row: dict) -> int:
    """0 for the result's first-listed comparison (the trial's primary one), then 1, 2 …"""
    hr = row.get("hazard_ratio")
    for number, other in enumerate(row.get("hazard_ratios") or []):
        if hr and other and other.get("experimental") == hr.get("experimental") and other.get("control") == hr.get("control"):
            return number
    return 0


def _study(row: dict, **extra) -> dict:
    cut = row.get("cut") or {}
    hr = hazard_ratio(row) or {}
    if hr.get("from_cut"):  # the HR was taken from an earlier cut: the study is that cut
        cut = next((c["cut"] for c in row.get("figures_from_earlier_cuts", []) if c["cut"].get("id") == hr["from_cut"]),
                   {"id": hr["from_cut"]})
    return {"trial": {"id": row["trial"]["id"], "name": row["trial"]["name"]}, "population": row.get("population"),
            "analysis": row.get("analysis"), "cut": {"id": cut.get("id"), "published": cut.get("published"),
                                                     "label": cut.get("label")},
            "comparison": _comparison(row), **extra}


def hazard_ratio(row: dict) -> dict | None:
    """The HR a row pools: its own, or, where its own has no CI, the newest earlier cut's that has one."""
    hr = row.get("hazard_ratio")
    if hr and not (hr.get("ci") and all(isinstance(b, (int, float)) for b in hr["ci"])):
        return row.get("hazard_ratio_with_ci") or hr
    return hr


def _usable_hr(row: dict) -> bool:
    hr = hazard_ratio(row)
    ci = hr.get("ci") if hr else None
    return bool(hr and ci and all(isinstance(b, (int, float)) and math.isfinite(b) and b > 0 for b in ci)
                and ci[0] < ci[1] and hr.get("value", 0) > 0)


def _usable_rate(row: dict) -> bool:
    exp = row.get("experimental") or {}
    return exp.get("n") is not None and (exp.get("count") is not None or exp.get("rate") is not None)


def _key(row: dict) -> tuple:
    cut = row.get("cut") or {}
    return (ANALYSIS_RANK.get(row.get("analysis"), 9), _rank_of_comparison(row),
            tuple(-ord(c) for c in (cut.get("published") or "")), row.get("population") or "", _comparison(row))


def choose(rows: list[dict], usable, drugs: list[str] | None = None) -> tuple[list[dict], list[dict]]:
    """One row per trial by the module's rule; returns (chosen, excluded-with-reasons)."""
    excluded, by_trial = [], {}
    for row in sorted(rows, key=lambda r: (r["trial"]["id"], _key(r))):
        reason = None
        if row.get("analysis") not in POOLED_ANALYSES:
            reason = f"{row.get('analysis')} analysis: only a trial's ITT or primary analysis is pooled"
        elif drugs and _in_both_arms(row, drugs):
            reason = f"{', '.join(d for d in drugs if _in_both_arms(row, [d]))} in both arms: not a test of it"
        elif not usable(row):
            reason = "no hazard ratio with a CI" if usable is _usable_hr else "no count and denominator"
        elif row["trial"]["id"] in by_trial:
            held = by_trial[row["trial"]["id"]]
            reason = ("an earlier cut" if held.get("population") == row.get("population")
                      and _comparison(held) == _comparison(row) else
                      "another comparison of a multi-arm trial" if held.get("population") == row.get("population")
                      else f"another population of the same trial (pooled: {held.get('population')})")
        if reason:
            excluded.append(_study(row, reason=reason))
        else:
            by_trial[row["trial"]["id"]] = row
    return [by_trial[t] for t in sorted(by_trial)], excluded


def _in_both_arms(row: dict, drugs: list[str]) -> bool:
    exp = {d["id"] if isinstance(d, dict) else d for d in (row.get("experimental") or {}).get("drugs") or []}
    ctl = {d["id"] if isinstance(d, dict) else d for d in (row.get("control") or {}).get("drugs") or []}
    return any(d in exp and d in ctl for d in drugs)


def pool(rows: list[dict], method: str = "hksj", drugs: list[str] | None = None, level: float = 95) -> dict:
    """The pooled estimate of compare's rows: hazard ratios for a time-to-event endpoint, the experimental
    arms' proportions (logit scale) for a rate endpoint."""
    from .stats import METHODS, expit, log_se_from_ci, logit_proportion, random_effects

    if method not in METHODS:
        raise UsageError(f"--pool-method must be one of {', '.join(METHODS)}, not {method!r}")
    endpoints = sorted({r["endpoint"]["id"] for r in rows})
    if len(endpoints) > 1:
        raise UsageError(f"--pool pools one endpoint at a time; these rows have {', '.join(endpoints)}: "
                         "add --endpoint")
    kind = rows[0]["endpoint"].get("kind", "time-to-event") if rows else "time-to-event"
    proportions = kind == "rate"
    chosen, excluded = choose(rows, _usable_rate if proportions else _usable_hr, drugs)
    estimates, variances, levels = [], [], set()
    for row in chosen:
        if proportions:
            exp = row["experimental"]
            count = exp["count"] if exp.get("count") is not None else round(exp["rate"] * exp["n"] / 100)
            y, v = logit_proportion(count, exp["n"])
        else:
            hr = hazard_ratio(row)
            levels.add(hr.get("ci_level") or 95)
            se = log_se_from_ci(*hr["ci"], hr.get("ci_level") or 95)
            y, v = math.log(hr["value"]), se * se
        estimates.append(y)
        variances.append(v)
    if len(estimates) < 2:
        what = "proportions with their denominators" if proportions else "hazard ratios with their CI"
        raise UsageError(f"--pool needs at least two trials with {what}; found {len(estimates)}"
                         + (f" ({len(excluded)} row(s) left out: see --json)" if excluded else ""))
    fit = random_effects(estimates, variances, method)
    back = expit if proportions else math.exp
    scale = 100 if proportions else 1
    lo, hi = fit.ci(level)
    interval = fit.prediction_interval(level)
    studies = []
    for row, y, weight in zip(chosen, estimates, fit.weights):
        extra = {"weight": round(weight, 1)}
        if proportions:
            exp = row["experimental"]
            extra.update(proportion=exp.get("rate"), count=exp.get("count"), n=exp.get("n"))
        else:
            hr = hazard_ratio(row)
            extra.update(hazard_ratio=hr["value"], ci=hr["ci"], ci_level=hr.get("ci_level") or 95)
        studies.append(_study(row, **extra))
    out = {
        "measure": "proportion" if proportions else "hazard_ratio",
        "endpoint": endpoints[0] if endpoints else None,
        "method": method, "method_text": METHODS[method] + ("; logit-transformed proportions of the experimental"
                                                            " arms" if proportions else "; log hazard ratios"),
        "estimate": round(back(fit.estimate) * scale, 4), "ci": [round(back(lo) * scale, 4), round(back(hi) * scale, 4)],
        "ci_level": level, "p": fit.p,
        "prediction_interval": [round(back(b) * scale, 4) for b in interval] if interval else None,
        "tau2": round(fit.tau2, 4), "i2": round(fit.i2, 1), "q": round(fit.q, 2), "q_df": fit.df, "q_p": fit.q_p,
        "k": fit.k, "studies": studies, "excluded": excluded,
        "warnings": _warnings(chosen, levels, fit.k, proportions),
    }
    if not proportions:
        out["hazard_ratio"] = out["estimate"]
    return out


def _warnings(chosen: list[dict], levels: set, k: int, proportions: bool) -> list[str]:
    notes = []
    if k < FEW_STUDIES:
        notes.append(f"only {k} trials: τ² and the intervals are imprecise; the prediction interval is wide by "
                     "design" + ("" if k >= 3 else " and cannot be computed from 2"))
    controls = sorted({(r.get("control") or {}).get("label") or "—" for r in chosen})
    if not proportions and len(controls) > 1:
        notes.append("the comparators differ: " + "; ".join(controls))
    settings = sorted({r.get("setting") or "—" for r in chosen})
    if len(settings) > 1:
        notes.append("the settings differ: " + ", ".join(settings))
    diseases = sorted({(r.get("indication") or {}).get("id") or "—" for r in chosen})
    if len(diseases) > 1:
        notes.append("the diseases differ: " + ", ".join(diseases))
    other = sorted(x for x in levels if x != 95)
    if other:
        notes.append("CIs at " + ", ".join(f"{x:g}%" for x in other) + " were converted to standard errors "
                     "through their own z")
    notes.append("trials of different populations, eras and designs: a summary of the evidence shown, "
                 "not a substitute for a systematic review")
    return notes
