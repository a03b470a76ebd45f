"""The questions immuno answers, as functions of a `Knowledge`: find, compare, search, list.

They return plain objects (model records and `ComparisonRow`s); `serialize` turns them into the JSON
contract and the renderers draw that.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from .index import NameIndex, Names, normalise
from .model import ArmFigures, Drug, HazardRatio, Knowledge, Landmark, Result, Trial
from .search import Hit, approximate, search_hits, search_keys  # noqa: F401 - part of this module's interface
from .selection import CUT_CHOICES, SORT_CHOICES, Facts, Filters, compare_filters, select  # noqa: F401


class Catalogue:
    """A Knowledge with its name indexes, built on first use."""

    def __init__(self, knowledge: Knowledge):
        self.knowledge = knowledge

    @cached_property
    def drug_index(self) -> NameIndex:
        return NameIndex.build("drug", ((d.id, d.name, [*d.brands, *d.codes, *d.aliases])
                                        for d in self.knowledge.drugs.values()))

    @cached_property
    def trial_index(self) -> NameIndex:
        return NameIndex.build("trial", ((t.id, t.name, [*t.aliases, *([t.nct] if t.nct else [])])
                                         for t in self.knowledge.trials.values()))

    @cached_property
    def endpoint_index(self) -> NameIndex:
        return NameIndex.build("endpoint", ((e.id, e.name, e.synonyms) for e in self.knowledge.endpoints.values()))

    @cached_property
    def indication_index(self) -> NameIndex:
        return NameIndex.build("indication", ((i.id, i.name, [*i.synonyms, *([i.oncotree] if i.oncotree else [])])
                                              for i in self.knowledge.indications.values()))

    @cached_property
    def target_index(self) -> NameIndex:
        from .selection import target_index

        return target_index(t for d in self.knowledge.drugs.values() for t in d.targets)

    @cached_property
    def names(self) -> Names:
        return Names({"drug": lambda: self.drug_index, "trial": lambda: self.trial_index,
                      "endpoint": lambda: self.endpoint_index, "indication": lambda: self.indication_index,
                      "target": lambda: self.target_index},
                     {i.id: i.parent for i in self.knowledge.indications.values()})

    def drug(self, query: str) -> Drug:
        return self.knowledge.drugs[self.names.resolve("drug", query)]

    def trial(self, query: str) -> Trial:
        return self.knowledge.trials[self.trial_id(query)]

    def trial_id(self, query: str) -> str:
        return self.names.resolve("trial", query)

    def endpoint(self, query: str):
        return self.knowledge.endpoints[self.names.resolve("endpoint", query)]

    def indication(self, query: str):
        return self.knowledge.indications[self.names.resolve("indication", query)]

    # --- drug card -------------------------------------------------------------------------------

    def approvals_of(self, drug_id: str) -> list:
        return sorted((a for a in self.knowledge.approvals.values() if drug_id in a.drugs), key=lambda a: a.date)

    def trials_of(self, drug_id: str) -> list[Trial]:
        return sorted((t for t in self.knowledge.trials.values() if drug_id in t.drugs), key=lambda t: t.name)

    # --- compare ---------------------------------------------------------------------------------

    def filters(self, endpoint: str | None = None, **filters) -> Filters:
        return compare_filters(self.names, endpoint, **filters)

    def compare(self, endpoint: str | None = None, **filters) -> "Comparison":
        chosen = self.filters(endpoint, **filters)
        facts = [f for t in self.knowledge.trials.values() for f in trial_facts(t, self.knowledge)]
        rows = select(facts, chosen)
        return Comparison(filters=chosen.shown, rows=[f.ref for f in rows],
                          older={id(f.ref): [o.ref for o in f.older] for f in rows if f.older})

    # --- search ----------------------------------------------------------------------------------

    def search(self, text: str, limit: int | None = None) -> list["Hit"]:
        """Every record holding all the words, in any order and any field (`search_hits`)."""
        hits = search_hits(text, list(search_documents(self.knowledge)), drugs=self.drug_index)
        return hits[:limit] if limit else hits


def search_documents(k: Knowledge):
    """Every record as search reads it, (kind, id, name, {field: texts}), in the order ties keep: drugs,
    trials, endpoints, indications, approvals, biomarkers, irAEs. The compiled file stores these, so an
    indexed search reads the very fields this one does."""
    for d in k.drugs.values():
        yield "drug", d.id, d.name, {"name": [d.name, d.id], "brands": d.brands, "codes": d.codes,
                                     "aliases": d.aliases, "class": [d.drug_class or ""],
                                     "targets": d.targets, "maker": [d.maker or ""]}
    for t in k.trials.values():
        yield trial_document(t, k)
    for e in k.endpoints.values():
        yield "endpoint", e.id, e.name, {"name": [e.id, e.name], "synonyms": e.synonyms, "definition": [e.definition]}
    for i in k.indications.values():
        yield "indication", i.id, i.name, {"name": [i.id, i.name], "synonyms": i.synonyms}
    for a in k.approvals.values():
        yield "approval", a.id, a.id, {"text": [a.text], "biomarker": [a.biomarker or ""],
                                       "drugs": [k.drugs[d].name for d in a.drugs if d in k.drugs],
                                       "indication": [a.indication]}
    for b in k.context.get("biomarkers", []):
        yield "biomarker", b["id"], b["name"], {"name": [b["id"], b["name"]], "aliases": b.get("synonyms", []),
                                                "what": [b.get("what") or ""]}
    for e in k.context.get("iraes", []):
        yield "irae", e["id"], e["name"], {"name": [e["id"], e["name"]], "aliases": e.get("synonyms", []),
                                           "organ": [e.get("organ") or ""], "management": [e.get("management") or ""]}


def trial_document(t: Trial, k: Knowledge) -> tuple[str, str, str, dict]:
    ind = k.indications.get(t.indication)
    return "trial", t.id, t.name, {"name": [t.name, t.id], "aliases": t.aliases, "nct": [t.nct or ""],
                                   "indication": [ind.name if ind else t.indication, t.indication],
                                   "setting": [t.setting or ""], "population": [t.population],
                                   "biomarkers": t.biomarkers,
                                   "arms": [a.label for a in t.arms],
                                   "drugs": [k.drugs[d].name for d in t.drugs if d in k.drugs],
                                   "notes": [t.notes or ""]}


@dataclass(slots=True)
class ComparisonRow:
    """One comparison (experimental vs control, or a single arm) of one result."""

    trial: Trial
    result: Result
    experimental: str  # arm id
    control: str | None  # arm id, None for a single arm
    hr: HazardRatio | None

    @property
    def figures(self) -> tuple[ArmFigures | None, ArmFigures | None]:
        arms = self.result.arms
        return arms.get(self.experimental), arms.get(self.control) if self.control else None

    @property
    def median_gain(self) -> float | None:
        exp, ctl = self.figures
        if exp and ctl and isinstance(exp.median, (int, float)) and isinstance(ctl.median, (int, float)):
            return round(exp.median - ctl.median, 2)
        return None

    def derived(self) -> list["Derived"]:
        """Figures computed from the published ones, each with its formula, its CI where one follows from
        the published CI, and a plain note where it could mislead (a non-significant result, a shorter median)."""
        from .stats import altman_nnt, describe_nnt

        out = []
        exp, ctl = self.figures
        hr = self.hr
        numeric_ci = bool(hr and hr.ci and all(isinstance(b, (int, float)) for b in hr.ci))
        significant = numeric_ci and (hr.ci[1] < 1 or hr.ci[0] > 1)
        if hr:
            out.append(Derived(
                "relative reduction in hazard (1 − HR)", round((1 - hr.value) * 100, 1), "%", f"1 − {hr.value}",
                ci=(round((1 - hr.ci[1]) * 100, 1), round((1 - hr.ci[0]) * 100, 1)) if numeric_ci else None,
                note=None if significant else ("the CI of the HR includes 1: not significant" if numeric_ci
                                               else "the HR has no CI: significance unknown")))
        if self.median_gain is not None:
            gain = self.median_gain
            out.append(Derived("difference in median", gain, "months", f"{exp.median} − {ctl.median}",
                               note="the experimental arm's median is shorter" if gain < 0 else
                               "medians compare one time point of each curve, not the whole curve"))
        if exp and ctl and exp.rate is not None and ctl.rate is not None:
            diff = round(exp.rate - ctl.rate, 1)
            out.append(Derived("absolute difference in rate", diff, "percentage points", f"{exp.rate} − {ctl.rate}"))
        for lm, e, c in self.landmark_pairs():
            if e and c and e.rate is not None and c.rate is not None:
                diff = round(e.rate - c.rate, 1)
                out.append(Derived(f"absolute difference at {lm.months:g} months", diff, "percentage points",
                                   f"{e.rate} − {c.rate}", note=None if significant else
                                   "the HR is not significant: this difference may be chance"))
                if hr and numeric_ci:  # Altman & Andersen: NNT at a time from the control survival and the HR
                    point = altman_nnt(c.rate, hr.value)
                    lo, hi = altman_nnt(c.rate, hr.ci[0]), altman_nnt(c.rate, hr.ci[1])
                    if point is not None:
                        out.append(Derived(
                            f"number needed to treat at {lm.months:g} months (Altman)", round(abs(point), 1),
                            "patients", f"1 / (S_c^HR − S_c), S_c = {c.rate}%, HR {hr.value}",
                            note=describe_nnt(point, lo, hi)))
        return out

    def landmark_pairs(self) -> list[tuple[Landmark, ArmFigures | None, ArmFigures | None]]:
        return [(lm, lm.arms.get(self.experimental), lm.arms.get(self.control) if self.control else None)
                for lm in self.result.landmarks]


@dataclass(slots=True)
class Derived:
    name: str
    value: float
    unit: str
    formula: str
    ci: tuple[float, float] | None = None  # at the HR's CI level
    note: str | None = None


@dataclass(slots=True)
class Comparison:
    filters: dict
    rows: list[ComparisonRow] = field(default_factory=list)
    older: dict = field(default_factory=dict)  # id(row) -> earlier cuts of its comparison, newest first
    pool_method: str = "hksj"


def pool(rows: list[dict], method: str = "hksj", drugs: list[str] | None = None) -> dict:
    from .pooling import pool as pool_rows

    return pool_rows(rows, method, drugs)


_FROM_OLDER = ("median", "median_not_reached", "median_ci", "median_ci_not_reached")
_RATE = ("rate", "rate_ci", "count", "n")


def _has_ci(hr: dict) -> bool:
    ci = hr.get("ci")
    return bool(ci and all(isinstance(b, (int, float)) for b in ci))


def fill_from_older(row: dict, older: list[dict]) -> dict:
    """The newest cut's row, with each figure it lacks taken from the newest earlier cut that reports it, and
    `figures_from_earlier_cuts` naming each such figure with its cut and source (no figure hidden by --cut)."""
    taken = []

    def note(figure: str, other: dict) -> None:
        taken.append({"figure": figure, "cut": {k: other["cut"].get(k) for k in ("id", "published", "label")},
                      "source": other.get("source")})

    for other in older:
        theirs = other.get("hazard_ratio")
        if row.get("hazard_ratio") is None and theirs is not None:
            row["hazard_ratio"] = {**theirs, "from_cut": other["cut"].get("id")}
            note("hazard_ratio", other)
        elif (row.get("hazard_ratio") is not None and not _has_ci(row["hazard_ratio"]) and theirs is not None
              and _has_ci(theirs) and "hazard_ratio_with_ci" not in row):
            # The newest HR has no CI: the newest that has one is kept beside it (pooling needs a CI; a CI
            # is never joined to another cut's HR).
            row["hazard_ratio_with_ci"] = {**theirs, "from_cut": other["cut"].get("id")}
            note("hazard_ratio_with_ci", other)
        for side in ("experimental", "control"):
            mine, theirs = row.get(side), other.get(side)
            if not mine or not theirs:
                continue
            if mine.get("median") is None and not mine.get("median_not_reached") and (
                    theirs.get("median") is not None or theirs.get("median_not_reached")):
                mine.update({k: theirs.get(k) for k in _FROM_OLDER})
                note(f"{side}.median", other)
            if mine.get("rate") is None and theirs.get("rate") is not None:
                mine.update({k: theirs.get(k) for k in _RATE})
                note(f"{side}.rate", other)
        have = {lm.get("months") for lm in row.get("landmark_pairs") or []}
        for lm in other.get("landmark_pairs") or []:
            if lm.get("months") not in have:
                row.setdefault("landmark_pairs", []).append({**lm, "from_cut": other["cut"].get("id")})
                have.add(lm.get("months"))
                note(f"landmark {lm.get('months'):g} months", other)
    if taken:
        row["figures_from_earlier_cuts"] = taken
        row["landmark_pairs"] = sorted(row.get("landmark_pairs") or [], key=lambda lm: lm.get("months") or 0)
    return row


def select_cuts(trial: Trial, endpoint_id: str | None, cut: str) -> list[Result]:
    """The results of `trial` for an endpoint, one per population, from the cut asked for."""
    results = [r for r in trial.results if endpoint_id is None or r.endpoint == endpoint_id]
    if cut == "all":
        return sorted(results, key=lambda r: r.cut.published, reverse=True)
    chosen: dict[tuple[str, str], Result] = {}
    for r in results:
        key = (r.endpoint, r.population)
        best = chosen.get(key)
        if cut == "latest":
            better = best is None or r.cut.published > best.cut.published
        else:  # primary: the cut marked primary, else the earliest
            rank = (r.cut.kind != "primary", r.cut.published)
            better = best is None or rank < (best.cut.kind != "primary", best.cut.published)
        if better:
            chosen[key] = r
    return list(chosen.values())


def comparison_rows(trial: Trial, result: Result) -> list[ComparisonRow]:
    """Each HR is a row; without an HR, each experimental arm faces the control, or stands alone."""
    if result.hrs:
        return [ComparisonRow(trial, result, hr.experimental, hr.control, hr) for hr in result.hrs]
    roles = {a.id: a.role for a in trial.arms}
    present = [a for a in result.arms if a in roles]
    controls = [a for a in present if roles[a] == "control"]
    others = [a for a in present if roles[a] != "control"]
    if controls and others:
        return [ComparisonRow(trial, result, arm, controls[0], None) for arm in others]
    return [ComparisonRow(trial, result, arm, None, None) for arm in present]


def trial_facts(trial: Trial, k: Knowledge) -> list[Facts]:
    """A Facts for every comparison row of every result of `trial`, in the trial's order."""
    out = []
    for number, result in enumerate(trial.results):
        for rank, row in enumerate(comparison_rows(trial, result)):
            drugs = [k.drugs[d] for d in trial.arm(row.experimental).drugs if d in k.drugs]
            out.append(Facts(
                trial=trial.id, name=trial.name, indication=result.indication or trial.indication,
                setting=trial.setting, phase=trial.phase, year=trial.year, result=number, endpoint=result.endpoint,
                population=result.population, published=result.cut.published,
                primary_cut=result.cut.kind == "primary", drugs=[d.id for d in drugs],
                targets=sorted({normalise(t) for d in drugs for t in d.targets}),
                modalities=sorted({normalise(d.modality) for d in drugs}),
                hr=row.hr.value if row.hr else None, gain=row.median_gain, analysis=result.analysis,
                experimental=row.experimental, control=row.control,
                control_drugs=list(trial.arm(row.control).drugs) if row.control else [],
                comparison=rank, ref=row))
    return out


