"""The JSON contract: model objects and query results as plain dicts.

Every renderer (JSON, NDJSON, CSV, Markdown, the Rich tables) draws from these dicts, so no view can
show a field the others lack. The envelope and `SCHEMA_VERSION` live in `contract`.
"""

from __future__ import annotations

from .contract import SCHEMA_VERSION, envelope  # noqa: F401 - part of this module's interface
from .model import ArmFigures, Cut, Drug, HazardRatio, Knowledge, Result, Source, Trial
from .queries import Comparison, ComparisonRow, Hit, comparison_rows, select_cuts


def source(s: Source | None) -> dict | None:
    if s is None:
        return None
    return {"citation": s.citation, "pmid": s.pmid, "doi": s.doi, "url": s.url, "link": s.link,
            "verified_in": s.verified_in}


def cut(c: Cut) -> dict:
    return {"id": c.id, "kind": c.kind, "label": c.label, "published": c.published, "data_cutoff": c.data_cutoff,
            "follow_up": c.follow_up, "source": source(c.source)}


def figures(f: ArmFigures | None) -> dict | None:
    if f is None:
        return None
    return {"median": f.median, "median_ci": _list(f.median_ci), "rate": f.rate, "rate_ci": _list(f.rate_ci),
            "count": f.count, "n": f.n, "events": f.events}


def _list(ci):
    return list(ci) if ci is not None else None


def hazard_ratio(hr: HazardRatio | None, trial: Trial) -> dict | None:
    if hr is None:
        return None
    return {"value": hr.value, "ci": _list(hr.ci), "ci_level": hr.ci_level, "p": hr.p, "p_sided": hr.p_sided,
            "experimental": hr.experimental, "control": hr.control,
            "experimental_label": trial.arm(hr.experimental).label, "control_label": trial.arm(hr.control).label}


def ref(k: Knowledge, kind: str, rid: str) -> dict:
    table = {"drug": k.drugs, "indication": k.indications, "endpoint": k.endpoints}[kind]
    record = table.get(rid)
    out = {"id": rid, "name": record.name if record else rid}
    if kind == "indication" and record:
        out["oncotree"] = record.oncotree
    if kind == "endpoint" and record:
        out["kind"] = record.kind
    return out


def result(r: Result, trial: Trial, k: Knowledge) -> dict:
    return {
        "endpoint": ref(k, "endpoint", r.endpoint),
        "population": r.population,
        "primary_endpoint": r.primary_endpoint,
        "cut": r.cut.id,
        "arms": [{"arm": arm_id, "label": trial.arm(arm_id).label, **figures(f)} for arm_id, f in r.arms.items()],
        "hazard_ratios": [hazard_ratio(hr, trial) for hr in r.hrs],
        "landmarks": [{"months": lm.months,
                       "arms": [{"arm": a, "label": trial.arm(a).label, "rate": f.rate, "rate_ci": _list(f.rate_ci)}
                                for a, f in lm.arms.items()]} for lm in r.landmarks],
        "source": source(r.source),
        "notes": r.notes,
    }


def trial(t: Trial, k: Knowledge) -> dict:
    order = {e: i for i, e in enumerate(k.endpoints)}
    cut_rank = {c.id: i for i, c in enumerate(t.cuts)}
    results = sorted(t.results, key=lambda r: (cut_rank[r.cut.id], not r.primary_endpoint,
                                               order.get(r.endpoint, 999), r.population != "ITT"))
    return {
        "id": t.id, "name": t.name, "aliases": t.aliases, "nct": t.nct, "phase": t.phase, "design": t.design,
        "randomized": t.randomized, "indication": ref(k, "indication", t.indication), "setting": t.setting,
        "population": t.population, "biomarkers": t.biomarkers, "enrolled": t.enrolled,
        "arms": [{"id": a.id, "label": a.label, "role": a.role, "n": a.n,
                  "drugs": [ref(k, "drug", d) for d in a.drugs]} for a in t.arms],
        "cuts": [cut(c) for c in t.cuts],
        "results": [result(r, t, k) for r in results],
        "notes": t.notes, "origin": t.origin,
    }


def trial_summary(t: Trial, k: Knowledge) -> dict:
    """A trial in a list: identity and its headline (primary-endpoint, newest-cut) results."""
    headline = [r for r in select_cuts(t, None, "latest") if r.primary_endpoint] or select_cuts(t, None, "latest")[:1]
    return {"id": t.id, "name": t.name, "phase": t.phase, "indication": ref(k, "indication", t.indication),
            "setting": t.setting, "arms": [a.label for a in t.arms], "year": t.year,
            "headline": [comparison_row(row, k) for r in headline for row in comparison_rows(t, r)], "origin": t.origin}


def drug(d: Drug, k: Knowledge, approvals: list, trials: list[Trial]) -> dict:
    first = d.first_fda_approval
    return {
        "id": d.id, "name": d.name, "brands": d.brands, "codes": d.codes, "aliases": d.aliases,
        "modality": d.modality, "drug_class": d.drug_class, "targets": d.targets, "maker": d.maker,
        "status": d.status,
        "first_fda_approval": {"date": first.date, "indication": first.indication, "source": source(first.source)}
        if first else None,
        "approvals": [approval(a, k) for a in approvals],
        "trials": [trial_summary(t, k) for t in trials],
        "notes": d.notes, "origin": d.origin,
    }


def approval(a, k: Knowledge) -> dict:
    return {"id": a.id, "drugs": [ref(k, "drug", d) for d in a.drugs], "indication": ref(k, "indication", a.indication),
            "setting": a.setting, "text": a.text, "biomarker": a.biomarker, "date": a.date, "type": a.type,
            "trials": a.trials, "source": source(a.source), "notes": a.notes, "origin": a.origin}


def comparison_row(row: ComparisonRow, k: Knowledge) -> dict:
    t, r = row.trial, row.result
    exp, ctl = row.figures

    def side(arm_id, figs):
        if arm_id is None:
            return None
        return {"arm": arm_id, "label": t.arm(arm_id).label, **(figures(figs) or figures(ArmFigures()))}

    return {
        "trial": {"id": t.id, "name": t.name, "phase": t.phase, "year": t.year},
        "indication": ref(k, "indication", t.indication),
        "setting": t.setting,
        "endpoint": ref(k, "endpoint", r.endpoint),
        "population": r.population,
        "cut": {"id": r.cut.id, "kind": r.cut.kind, "label": r.cut.label, "published": r.cut.published,
                "follow_up": r.cut.follow_up},
        "experimental": side(row.experimental, exp),
        "control": side(row.control, ctl),
        "hazard_ratio": hazard_ratio(row.hr, t),
        "median_gain_months": row.median_gain,
        "landmarks": [{"months": lm.months, "experimental": e.rate if e else None,
                       "control": c.rate if c else None} for lm, e, c in row.landmark_pairs()],
        "source": source(r.source),
        "derived": [{"name": d.name, "value": d.value, "unit": d.unit, "formula": d.formula} for d in row.derived()],
    }


def pooled(p) -> dict | None:
    if p is None:
        return None
    return {"method": p.method, "hazard_ratio": p.hazard_ratio, "ci": list(p.ci), "ci_level": 95, "tau2": p.tau2,
            "i2": p.i2, "q": p.q, "k": p.k, "trials": p.trials, "skipped": p.skipped, "warning": p.warning}


def comparison(c: Comparison, k: Knowledge, pool: bool = False) -> dict:
    """The library's comparison as `immuno compare --json` gives it (the CLI reads the compiled rows)."""
    from .queries import pool as pool_rows

    body = {"filters": c.filters, "rows": [comparison_row(r, k) for r in c.rows]}
    if pool and body["rows"]:
        body["pooled"] = pooled(pool_rows(body["rows"]))
    return envelope("comparison", **body)


def hit(h: Hit) -> dict:
    return {"kind": h.kind, "id": h.id, "name": h.name, "field": h.field, "text": h.text}
