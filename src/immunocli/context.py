"""Clinical starting points: a disease, a biomarker, a side effect, each joined to the trials.

The cards are plain dicts in the JSON contract; the facts about biomarkers and irAEs come from
clinical-context.yaml with their source, the figures from the trial files.
"""

from __future__ import annotations

from .index import NameIndex, normalise
from .queries import Catalogue, comparison_rows, select_cuts


def _index(kind: str, entries: list[dict], name_key: str = "name") -> NameIndex:
    return NameIndex.build(kind, ((e["id"], e[name_key], [e["id"], *e.get("synonyms", [])]) for e in entries))


def _source(cat: Catalogue, ref: dict) -> dict:
    src = cat.knowledge.context.get("sources", {}).get(ref["key"], {})
    return {"citation": src.get("citation"), "url": src.get("url"), "section": ref.get("section")}


def _caution(cat: Catalogue) -> str:
    return cat.knowledge.context.get("caution", "Reference information, not medical advice.")


def indication_card(cat: Catalogue, query: str, exact: bool = False) -> dict:
    from . import serialize

    k = cat.knowledge
    match = cat.names.match("indication", query, exact)
    ind = k.indications[match.id]
    covered = k.descendants(ind.id)
    by_setting: dict[str, list[dict]] = {}
    for trial in sorted(k.trials.values(), key=lambda t: (-(t.year or 0), t.name)):
        if trial.indication not in covered:
            continue
        experimental = [d for a in trial.arms if a.role != "control" for d in a.drugs]
        therapies = sorted({k.drugs[d].name for d in experimental
                            if d in k.drugs and k.drugs[d].modality not in ("chemotherapy", "other")})
        summary = serialize.trial_summary(trial, k)
        by_setting.setdefault(trial.setting, []).append({**summary, "immunotherapies": therapies})
    approvals = [serialize.approval(a, k) for a in sorted(k.approvals.values(), key=lambda a: a.date)
                 if a.indication in covered]
    order = ["neoadjuvant", "perioperative", "adjuvant", "consolidation", "maintenance", "first-line",
             "second-line", "later-line", "previously-treated"]
    settings = [{"setting": s, "trials": by_setting[s]} for s in order if s in by_setting]
    payload = serialize.envelope("indication", indication={
        "id": ind.id, "name": ind.name, "oncotree": ind.oncotree, "includes": sorted(covered - {ind.id}),
        "settings": settings, "approvals": approvals, "caution": _caution(cat)})
    payload["match"] = match.to_dict()
    return payload


def _mentions(terms: list[str], *texts: str | None) -> bool:
    keys = [normalise(t) for t in terms]
    return any(key and key in normalise(text or "") for text in texts for key in keys)


def biomarker_card(cat: Catalogue, query: str, exact: bool = False) -> dict:
    from . import serialize

    k = cat.knowledge
    entries = k.context.get("biomarkers", [])
    match = _index("biomarker", entries).match(query, exact)
    marker = next(e for e in entries if e["id"] == match.id)
    terms = marker.get("match") or [marker["id"]]
    approvals = [serialize.approval(a, k) for a in sorted(k.approvals.values(), key=lambda a: a.date)
                 if _mentions(terms, a.biomarker, a.text)]
    trials = [{"id": t.id, "name": t.name, "indication": t.indication, "setting": t.setting,
               "selected_by": [b for b in t.biomarkers if _mentions(terms, b)],
               "populations": sorted({r.population for r in t.results if _mentions(terms, r.population)})}
              for t in sorted(k.trials.values(), key=lambda t: t.name)
              if _mentions(terms, *t.biomarkers, t.population, *(r.population for r in t.results))]
    payload = serialize.envelope("biomarker", biomarker={
        **{key: marker.get(key) for key in ("id", "name", "synonyms", "what", "assay", "cutoffs", "fda", "caveats")},
        "source": _source(cat, marker["source"]), "approvals": approvals, "trials": trials,
        "caution": _caution(cat)})
    payload["match"] = match.to_dict()
    return payload


def irae_card(cat: Catalogue, query: str, exact: bool = False) -> dict:
    from . import serialize

    k = cat.knowledge
    entries = k.context.get("iraes", [])
    match = _index("irAE", entries).match(query, exact)
    irae = next(e for e in entries if e["id"] == match.id)
    drugs = [{"id": d, "name": k.drugs[d].name} for d in irae.get("drugs", []) if d in k.drugs]
    targets = irae.get("targets", [])
    if targets:
        drugs += [{"id": d.id, "name": d.name} for d in sorted(k.drugs.values(), key=lambda d: d.name)
                  if set(d.targets) & set(targets) and d.status == "approved" and d.id not in {x["id"] for x in drugs}]
    rates = []
    for endpoint in irae.get("endpoints", []):
        for trial in sorted(k.trials.values(), key=lambda t: t.name):
            for result in select_cuts(trial, endpoint, "latest"):
                rates += [serialize.comparison_row(row, k) for row in comparison_rows(trial, result)]
    # the checkpoint-inhibitor grading rule is for checkpoint-inhibitor irAEs, not a CAR-T toxicity's card
    checkpoint = not any(k.drugs[d].modality in ("car-t", "bispecific", "tcr-t") for d in irae.get("drugs", [])
                         if d in k.drugs)
    grading = k.context.get("grading") if checkpoint and not irae.get("endpoints") else None
    payload = serialize.envelope("irae", irae={
        **{key: irae.get(key) for key in ("id", "organ", "name", "synonyms", "management", "notes")},
        "drugs_most_associated": drugs, "targets": targets,
        "warnings": [k.context["warnings"][w] for w in irae.get("warnings", [])],
        "grading": {"text": grading["text"], "source": _source(cat, grading["source"])} if grading else None,
        "trial_rates": rates, "source": _source(cat, irae["source"]), "caution": _caution(cat)})
    payload["match"] = match.to_dict()
    return payload
