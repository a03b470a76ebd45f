"""Rows for `immuno list`: one short record per drug, trial, endpoint, indication or approval."""

from __future__ import annotations

from .model import Knowledge


def items(k: Knowledge, what: str) -> list[dict]:
    if what == "drugs":
        return [{"id": d.id, "name": d.name, "brands": d.brands, "modality": d.modality, "class": d.drug_class,
                 "targets": d.targets, "status": d.status, "origin": d.origin}
                for d in sorted(k.drugs.values(), key=lambda d: d.name.casefold())]
    if what == "trials":
        return [{"id": t.id, "name": t.name, "phase": t.phase, "indication": t.indication, "setting": t.setting,
                 "drugs": t.drugs, "year": t.year, "results": len(t.results), "origin": t.origin}
                for t in sorted(k.trials.values(), key=lambda t: t.name.casefold())]
    if what == "endpoints":
        return [{"id": e.id, "name": e.name, "kind": e.kind, "higher_is_better": e.higher_is_better,
                 "origin": e.origin} for e in k.endpoints.values()]
    if what == "indications":
        return [{"id": i.id, "name": i.name, "oncotree": i.oncotree, "parent": i.parent, "origin": i.origin}
                for i in sorted(k.indications.values(), key=lambda i: i.name.casefold())]
    if what == "approvals":
        return [{"id": a.id, "date": a.date, "drugs": a.drugs, "indication": a.indication, "trials": a.trials,
                 "origin": a.origin} for a in sorted(k.approvals.values(), key=lambda a: (a.date, a.id))]
    raise ValueError(what)
