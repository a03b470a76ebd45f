"""The questions immuno answers, as functions of a `Knowledge`: find, compare, search, list.

They return plain objects (model records and `ComparisonRow`s); `serialize` turns them into the JSON
contract and the renderers draw that.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from .errors import UsageError
from .index import NameIndex, Names, check_query, normalise
from .model import ArmFigures, Drug, HazardRatio, Knowledge, Landmark, Result, Trial
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
    def names(self) -> Names:
        return Names({"drug": lambda: self.drug_index, "trial": lambda: self.trial_index,
                      "endpoint": lambda: self.endpoint_index, "indication": lambda: self.indication_index},
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
        return Comparison(filters=chosen.shown, rows=[f.ref for f in select(facts, chosen)])

    # --- search ----------------------------------------------------------------------------------

    def search(self, text: str, limit: int = 50) -> list["Hit"]:
        query = check_query(text)
        needle, key = query.casefold(), normalise(query)
        hits: list[Hit] = []

        def consider(kind: str, rid: str, name: str, fields: dict[str, list[str]]) -> None:
            for field_name, values in fields.items():
                for value in values:
                    if value and (needle in value.casefold() or (key and len(key) > 2 and key in normalise(value))):
                        hits.append(Hit(kind, rid, name, field_name, value))
                        return

        k = self.knowledge
        for d in k.drugs.values():
            consider("drug", d.id, d.name, {"name": [d.name, d.id], "brands": d.brands, "codes": d.codes,
                                             "aliases": d.aliases, "class": [d.drug_class or ""],
                                             "targets": d.targets, "maker": [d.maker or ""]})
        for t in k.trials.values():
            ind = k.indications.get(t.indication)
            consider("trial", t.id, t.name, {"name": [t.name, t.id], "aliases": t.aliases, "nct": [t.nct or ""],
                                              "indication": [ind.name if ind else t.indication],
                                              "population": [t.population], "biomarkers": t.biomarkers,
                                              "arms": [a.label for a in t.arms], "notes": [t.notes or ""]})
        for e in k.endpoints.values():
            consider("endpoint", e.id, e.name, {"name": [e.id, e.name], "synonyms": e.synonyms,
                                                 "definition": [e.definition]})
        for i in k.indications.values():
            consider("indication", i.id, i.name, {"name": [i.id, i.name], "synonyms": i.synonyms})
        for a in k.approvals.values():
            consider("approval", a.id, a.id, {"text": [a.text], "biomarker": [a.biomarker or ""]})
        return hits[:limit]


@dataclass(slots=True)
class Hit:
    kind: str
    id: str
    name: str
    field: str
    text: str


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
        """Figures computed from the published ones, each with the formula that made it."""
        out = []
        exp, ctl = self.figures
        if self.hr:
            out.append(Derived("relative risk reduction", round((1 - self.hr.value) * 100, 1), "%",
                               f"1 − HR = 1 − {self.hr.value}"))
        if self.median_gain is not None:
            out.append(Derived("absolute gain in median", self.median_gain, "months",
                               f"{exp.median} − {ctl.median}"))
        if exp and ctl and exp.rate is not None and ctl.rate is not None:
            diff = round(exp.rate - ctl.rate, 1)
            out.append(Derived("absolute difference in rate", diff, "percentage points", f"{exp.rate} − {ctl.rate}"))
        for lm, e, c in self.landmark_pairs():
            if e and c and e.rate is not None and c.rate is not None:
                diff = round(e.rate - c.rate, 1)
                out.append(Derived(f"absolute difference at {lm.months:g} months", diff, "percentage points",
                                   f"{e.rate} − {c.rate}"))
                from .stats import number_needed_to_treat

                nnt = number_needed_to_treat(diff)
                if nnt is not None:
                    out.append(Derived(f"number needed to treat at {lm.months:g} months", nnt, "patients",
                                       f"⌈100 / {diff}⌉"))
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


@dataclass(slots=True)
class PooledHazardRatio:
    hazard_ratio: float
    ci: tuple[float, float]
    tau2: float
    i2: float
    q: float
    k: int
    trials: list[str]
    skipped: list[str]
    warning: str
    method: str = "DerSimonian–Laird random effects on log HR; SE from each CI at its stated level"


@dataclass(slots=True)
class Comparison:
    filters: dict
    rows: list[ComparisonRow] = field(default_factory=list)


def pool(rows: list[dict]) -> PooledHazardRatio:
    """Random-effects pooled HR of comparison rows (the JSON contract's); rows without a usable CI are skipped.

    Works on the serialised rows so that the compiled cache, which holds rows and not trials, pools
    exactly as the library does.
    """
    import math

    from .stats import dersimonian_laird, log_se_from_ci

    used, skipped, estimates, variances = [], [], [], []
    chosen: dict[str, dict] = {}

    def label(row: dict) -> str:
        return f"{row['trial']['name']} ({row['population']})"

    for row in rows:  # one row per trial, the ITT one where there is one: no patient counted twice
        hr = row.get("hazard_ratio")
        ci = hr.get("ci") if hr else None
        if not hr or not ci or not all(isinstance(b, (int, float)) and b > 0 for b in ci) or ci[0] >= ci[1]:
            skipped.append(f"{label(row)}: no HR with a CI")
            continue
        best = chosen.get(row["trial"]["id"])
        if best is None or (not best["population"].upper().startswith("ITT")
                            and row["population"].upper().startswith("ITT")):
            if best is not None:
                skipped.append(f"{label(best)}: same trial")
            chosen[row["trial"]["id"]] = row
        else:
            skipped.append(f"{label(row)}: same trial")
    for row in chosen.values():
        hr = row["hazard_ratio"]
        lo, hi = hr["ci"]
        se = log_se_from_ci(lo, hi, hr["ci_level"])
        used.append(f"{row['trial']['name']} ({row['population']}, {row['cut']['published'][:4]})")
        estimates.append(math.log(hr["value"]))
        variances.append(se * se)
    if len(estimates) < 2:
        raise UsageError(f"--pool needs at least two trials with a hazard ratio and its CI; found {len(estimates)}")
    pooled = dersimonian_laird(estimates, variances)
    lo, hi = pooled.ci()
    warning = ("Pooling trials of different populations, comparators, lines and eras (one row per trial, ITT "
               "where given): a descriptive summary, not a meta-analysis")
    return PooledHazardRatio(hazard_ratio=round(math.exp(pooled.estimate), 4),
                             ci=(round(math.exp(lo), 4), round(math.exp(hi), 4)), tau2=round(pooled.tau2, 4),
                             i2=round(pooled.i2, 1), q=round(pooled.q, 2), k=pooled.k, trials=used,
                             skipped=skipped, warning=warning)


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
        for row in comparison_rows(trial, result):
            drugs = [k.drugs[d] for d in trial.arm(row.experimental).drugs if d in k.drugs]
            out.append(Facts(
                trial=trial.id, name=trial.name, indication=trial.indication, setting=trial.setting,
                phase=trial.phase, year=trial.year, result=number, endpoint=result.endpoint,
                population=result.population, published=result.cut.published,
                primary_cut=result.cut.kind == "primary", drugs=[d.id for d in drugs],
                targets=sorted({normalise(t) for d in drugs for t in d.targets}),
                modalities=sorted({normalise(d.modality) for d in drugs}),
                hr=row.hr.value if row.hr else None, gain=row.median_gain, ref=row))
    return out


