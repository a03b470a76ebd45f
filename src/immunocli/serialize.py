"""The JSON contract: model objects and query results as plain dicts.

Every renderer (JSON, NDJSON, CSV, Markdown, the Rich tables) draws from these dicts, so no view can
show a field the others lack. The envelope and `SCHEMA_VERSION` live in `contract`.
"""

from __future__ import annotations

from .contract import SCHEMA_VERSION, envelope  # noqa: F401 - part of this module's interface
from .model import ArmFigures, Cut, Drug, HazardRatio, Knowledge, Result, Source, Trial
from .queries import Comparison, ComparisonRow, comparison_rows


def source(s: Source | None) -> dict | None:
    if s is None:
        return None
    return {"citation": s.citation, "kind": s.kind, "pmid": s.pmid, "doi": s.doi, "url": s.url, "link": s.link,
            "verified_in": s.verified_in}


def cut(c: Cut) -> dict:
    return {"id": c.id, "kind": c.kind, "label": c.label, "published": c.published, "data_cutoff": c.data_cutoff,
            "follow_up": c.follow_up, "source": source(c.source)}


def _number(value):
    """A figure as a number or null: "NR" (not reached) is carried by its own boolean, never in the number."""
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _bounds(ci):
    return [_number(b) for b in ci] if ci is not None else None


def _not_reached(ci):
    return [b == "NR" for b in ci] if ci is not None else None


def figures(f: ArmFigures | None) -> dict | None:
    if f is None:
        return None
    return {"median": _number(f.median), "median_not_reached": f.median == "NR", "median_ci": _bounds(f.median_ci),
            "median_ci_not_reached": _not_reached(f.median_ci), "rate": f.rate, "rate_ci": _bounds(f.rate_ci),
            "count": f.count, "n": f.n, "events": f.events}


def _list(ci):
    return list(ci) if ci is not None else None


def hazard_ratio(hr: HazardRatio | None, trial: Trial) -> dict | None:
    if hr is None:
        return None
    return {"value": hr.value, "ci": _bounds(hr.ci), "ci_level": hr.ci_level, "p": hr.p,
            "p_sided": hr.p_sided if hr.p is not None else None,  # sidedness of a p that was printed
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


def cut_ref(c: Cut) -> dict:
    """The cut a result belongs to, as every result (card or comparison row) names it."""
    return {"id": c.id, "kind": c.kind, "label": c.label, "published": c.published, "data_cutoff": c.data_cutoff,
            "follow_up": c.follow_up}


def result(r: Result, trial: Trial, k: Knowledge) -> dict:
    """One result in the shape a trial card and a comparison row share (docs/json.md)."""
    roles = {a.id: a.role for a in trial.arms}
    return {
        "endpoint": ref(k, "endpoint", r.endpoint),
        "population": r.population,
        "analysis": getattr(r, "analysis", None) or "itt",
        "indication": ref(k, "indication", getattr(r, "indication", None) or trial.indication),
        "primary_endpoint": r.primary_endpoint,
        "cut": cut_ref(r.cut),
        "arms": [{"arm": arm_id, "label": trial.arm(arm_id).label, "role": roles.get(arm_id), **figures(f)}
                 for arm_id, f in r.arms.items()],
        "hazard_ratios": [hazard_ratio(hr, trial) for hr in r.hrs],
        "landmarks": [{"months": lm.months,
                       "arms": [{"arm": a, "label": trial.arm(a).label, "rate": f.rate, "rate_ci": _bounds(f.rate_ci)}
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
        "primary_outcome": getattr(t, "primary_outcome", None),
        "notes": t.notes, "origin": t.origin,
    }


def trial_summary(t: Trial, k: Knowledge) -> dict:
    """A trial in a list: identity and its headline (primary-endpoint, newest-cut) results."""
    from .selection import headline as choose

    headline, _primary = choose(t.results, lambda r: r.primary_endpoint, lambda r: r.analysis,
                                lambda r: r.cut.published, key=lambda r: (r.endpoint, r.population),
                                own=lambda r: getattr(r, "indication", None) in (None, t.indication))
    return {"id": t.id, "name": t.name, "phase": t.phase, "indication": ref(k, "indication", t.indication),
            "setting": t.setting, "arms": [a.label for a in t.arms], "year": t.year,
            "primary_outcome": getattr(t, "primary_outcome", None),
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
            "trials": a.trials, "source": source(a.source), "notes": a.notes, "origin": a.origin,
            "withdrawn": a.withdrawn}


def comparison_row(row: ComparisonRow, k: Knowledge) -> dict:
    """A trial card's result plus the trial, its setting, and the comparison this row is about."""
    t, r = row.trial, row.result
    exp, ctl = row.figures
    roles = {a.id: a.role for a in t.arms}

    def side(arm_id, figs):
        if arm_id is None:
            return None
        return {"arm": arm_id, "label": t.arm(arm_id).label, "role": roles.get(arm_id),
                "drugs": list(t.arm(arm_id).drugs), **(figures(figs) or figures(ArmFigures()))}

    body = result(r, t, k)
    return {
        "trial": {"id": t.id, "name": t.name, "phase": t.phase, "year": t.year, "nct": t.nct},
        "indication": body.pop("indication"),
        "setting": t.setting,
        **body,
        "experimental": side(row.experimental, exp),
        "control": side(row.control, ctl),
        "hazard_ratio": hazard_ratio(row.hr, t),
        "landmark_pairs": [{"months": lm.months, "experimental": e.rate if e else None,
                            "control": c.rate if c else None} for lm, e, c in row.landmark_pairs()],
        "median_gain_months": row.median_gain,
        "derived": [{"name": d.name, "value": d.value, "unit": d.unit, "formula": d.formula,
                     "ci": list(d.ci) if d.ci else None, "note": d.note} for d in row.derived()],
    }


def pooled(p) -> dict | None:
    """The pooled HR, generically: a study is an object, whatever the pooling code put in it."""
    if p is None:
        return None
    if isinstance(p, dict):
        return p
    out = {"method": p.method, "hazard_ratio": p.hazard_ratio, "ci": list(p.ci), "ci_level": 95, "tau2": p.tau2,
           "i2": p.i2, "q": p.q, "k": p.k}
    for name in ("prediction_interval", "p"):
        if getattr(p, name, None) is not None:
            out[name] = p.__getattribute__(name)
    out["studies"] = [s if isinstance(s, dict) else _study(s) for s in getattr(p, "studies", None) or p.trials]
    out["excluded"] = [s if isinstance(s, dict) else _study(s) for s in getattr(p, "excluded", None) or p.skipped]
    warnings = getattr(p, "warnings", None)
    out["warnings"] = list(warnings) if warnings is not None else ([p.warning] if p.warning else [])
    return out


def _study(text: str) -> dict:
    """A study the pooling code still names in prose ("NAME (population, year)" or "NAME (population): why")."""
    head, _, reason = text.partition("): ")
    name, _, rest = head.partition(" (")
    population, _, year = rest.rstrip(")").rpartition(", ")
    if not (year.isdigit() and len(year) == 4):
        population, year = rest.rstrip(")"), None
    out = {"trial": name, "population": population, "year": int(year) if year else None}
    if reason:
        out["reason"] = reason
    return out


def comparison(c: Comparison, k: Knowledge, pool: bool = False) -> dict:
    """The library's comparison as `immuno compare --json` gives it (the CLI reads the compiled rows)."""
    from .queries import fill_from_older, pool as pool_rows

    rows = []
    for r in c.rows:
        older = c.older.get(id(r))
        row = comparison_row(r, k)
        rows.append(fill_from_older(row, [comparison_row(o, k) for o in older]) if older else row)
    body = {"filters": c.filters, "rows": rows}
    if pool and body["rows"]:
        body["pooled"] = pooled(pool_rows(body["rows"], c.pool_method, (c.filters.get("drug") or None)))
    return envelope("comparison", knowledge_as_of(k), **body)


def knowledge_as_of(k: Knowledge) -> str | None:
    """The newest published date of any data cut or approval: how current the answers can be."""
    dates = [c.published for t in k.trials.values() for c in t.cuts if c.published]
    dates += [a.date for a in k.approvals.values() if a.date]
    return max(dates) if dates else None


from .search import hit  # noqa: E402,F401 - a hit in the contract, kept with search (no model on its path)
