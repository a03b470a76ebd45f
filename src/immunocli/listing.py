"""Rows for `immuno list`: one short record per drug, trial, endpoint, indication, approval, biomarker or irAE,
and the vocabularies compare's options take."""

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
    if what == "biomarkers":
        return [{"id": b["id"], "name": b["name"], "synonyms": b.get("synonyms", [])}
                for b in k.context.get("biomarkers", [])]
    if what == "irae":
        return [{"id": e["id"], "name": e["name"], "organ": e["organ"], "synonyms": e.get("synonyms", [])}
                for e in k.context.get("iraes", [])]
    if what == "targets":
        by_target: dict[str, list[str]] = {}
        for d in sorted(k.drugs.values(), key=lambda d: d.name.casefold()):
            for t in d.targets:
                by_target.setdefault(t, []).append(d.name)
        return [{"id": t, "drugs": names} for t, names in sorted(by_target.items(), key=lambda kv: kv[0].casefold())]
    return vocabulary(what)


def vocabulary(what: str) -> list[dict]:
    """The closed vocabularies compare's options take, with the words each also accepts."""
    from .selection import SETTING_ALIASES, SETTING_COVERS
    from .vocabulary import ANALYSES, MAIN_ANALYSES, MODALITIES, SETTINGS

    if what == "settings":
        aliases: dict[str, list[str]] = {}
        for word, setting in SETTING_ALIASES.items():
            aliases.setdefault(setting, []).append(word)
        return [{"id": s, "also": aliases.get(s, []), "covers": sorted(SETTING_COVERS.get(s, {s}))} for s in SETTINGS]
    if what == "modalities":
        return [{"id": m} for m in MODALITIES]
    if what == "phases":
        return [{"id": p, "matches": m} for p, m in (("1", "1, 1b, 1/2"), ("2", "2, 2a, 2b, 1/2, 2/3"), ("3", "3, 2/3"),
                                                     ("4", "4"))]
    if what == "analyses":
        return [{"id": a, "shown_by_default": a in MAIN_ANALYSES} for a in ANALYSES]
    raise ValueError(what)
