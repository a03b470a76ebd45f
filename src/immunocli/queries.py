"""The questions immuno answers, as functions of a `Knowledge`: find, compare, search, list.

They return plain objects (model records and `ComparisonRow`s); `serialize` turns them into the JSON
contract and the renderers draw that.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from .errors import NotFound, UsageError
from .index import NameIndex, check_query, normalise
from .model import ArmFigures, Drug, HazardRatio, Knowledge, Landmark, Result, Trial

CUT_CHOICES = ("latest", "primary", "all")
SORT_CHOICES = ("trial", "hr", "gain", "year", "indication")


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

    def drug(self, query: str) -> Drug:
        try:
            return self.knowledge.drugs[self.drug_index.resolve(query)]
        except NotFound as exc:
            raise self._elsewhere(exc, self.trial_index, "trial") from None

    def trial(self, query: str) -> Trial:
        try:
            return self.knowledge.trials[self.trial_index.resolve(query)]
        except NotFound as exc:
            raise self._elsewhere(exc, self.drug_index, "drug") from None

    @staticmethod
    def _elsewhere(exc: NotFound, other: NameIndex, command: str) -> NotFound:
        """A trial name given to `drug` (or the reverse) earns a pointer to the right command."""
        hits = other.exact.get(normalise(exc.query))
        if hits and len(hits) == 1:
            name = other.labels[next(iter(hits))]
            return NotFound(exc.kind, exc.query, exc.suggestions, hint=f"{name} is a {command}: try `immuno {command} {exc.query}`")
        return exc

    def endpoint(self, query: str):
        return self.knowledge.endpoints[self.endpoint_index.resolve(query)]

    def indication(self, query: str):
        return self.knowledge.indications[self.indication_index.resolve(query)]

    # --- drug card -------------------------------------------------------------------------------

    def approvals_of(self, drug_id: str) -> list:
        return sorted((a for a in self.knowledge.approvals.values() if drug_id in a.drugs), key=lambda a: a.date)

    def trials_of(self, drug_id: str) -> list[Trial]:
        return sorted((t for t in self.knowledge.trials.values() if drug_id in t.drugs), key=lambda t: t.name)

    # --- compare ---------------------------------------------------------------------------------

    def compare(self, endpoint: str | None = None, *, indication: str | None = None, drug: str | None = None,
                target: str | None = None, modality: str | None = None, setting: str | None = None,
                phase: str | None = None, population: str | None = None, year: int | None = None,
                cut: str = "latest", sort: str = "trial") -> "Comparison":
        if cut not in CUT_CHOICES:
            raise UsageError(f"--cut must be one of {', '.join(CUT_CHOICES)}, not {cut!r}")
        if sort not in SORT_CHOICES:
            raise UsageError(f"--sort must be one of {', '.join(SORT_CHOICES)}, not {sort!r}")
        from .schema import MODALITIES, SETTINGS

        if setting and normalise(setting) not in {normalise(s) for s in SETTINGS}:
            raise UsageError(f"--setting must be one of {', '.join(SETTINGS)}, not {setting!r}")
        if modality and normalise(modality) not in {normalise(m) for m in MODALITIES}:
            raise UsageError(f"--modality must be one of {', '.join(MODALITIES)}, not {modality!r}")
        k = self.knowledge
        endpoint_id = self.endpoint(endpoint).id if endpoint else None
        indications = k.descendants(self.indication(indication).id) if indication else None
        drug_id = self.drug(drug).id if drug else None
        target_key = normalise(check_query(target)) if target else None
        modality_key = normalise(check_query(modality)) if modality else None
        population_key = check_query(population).casefold() if population else None
        filters = {"endpoint": endpoint_id, "indication": indication and self.indication(indication).id,
                   "drug": drug_id, "target": target, "modality": modality, "setting": setting, "phase": phase,
                   "population": population, "year": year, "cut": cut, "sort": sort}
        rows = []
        for trial in k.trials.values():
            if indications is not None and trial.indication not in indications:
                continue
            if setting and normalise(trial.setting) != normalise(setting):
                continue
            if phase and normalise(trial.phase) != normalise(phase):
                continue
            if year and trial.year != year:
                continue
            for result in select_cuts(trial, endpoint_id, cut):
                if population_key and population_key not in result.population.casefold():
                    continue
                for row in comparison_rows(trial, result):
                    drugs = [k.drugs[d] for d in trial.arm(row.experimental).drugs]
                    if drug_id and drug_id not in {d.id for d in drugs}:
                        continue
                    if target_key and not any(normalise(t) == target_key for d in drugs for t in d.targets):
                        continue
                    if modality_key and not any(normalise(d.modality) == modality_key for d in drugs):
                        continue
                    rows.append(row)
        rows.sort(key=_SORT_KEYS[sort])
        return Comparison(filters=filters, rows=rows)

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

    def pool(self) -> PooledHazardRatio:
        """Random-effects pooled HR of the rows shown; rows without a usable CI are listed as skipped."""
        import math

        from .stats import dersimonian_laird, log_se_from_ci

        used, skipped, estimates, variances = [], [], [], []
        chosen: dict[str, ComparisonRow] = {}
        for row in self.rows:  # one row per trial, the ITT one where there is one: no patient counted twice
            ci = row.hr.ci if row.hr else None
            if not row.hr or not ci or not all(isinstance(b, (int, float)) and b > 0 for b in ci) or ci[0] >= ci[1]:
                skipped.append(f"{row.trial.name} ({row.result.population}): no HR with a CI")
                continue
            best = chosen.get(row.trial.id)
            if best is None or (not best.result.population.upper().startswith("ITT")
                                and row.result.population.upper().startswith("ITT")):
                if best is not None:
                    skipped.append(f"{best.trial.name} ({best.result.population}): same trial")
                chosen[row.trial.id] = row
            else:
                skipped.append(f"{row.trial.name} ({row.result.population}): same trial")
        for row in chosen.values():
            hr, ci = row.hr, row.hr.ci
            se = log_se_from_ci(ci[0], ci[1], hr.ci_level)
            used.append(f"{row.trial.name} ({row.result.population}, {row.result.cut.published[:4]})")
            estimates.append(math.log(hr.value))
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


def _hr_key(row: ComparisonRow):
    return (row.hr is None, row.hr.value if row.hr else 0, row.trial.name)


def _gain_key(row: ComparisonRow):
    gain = row.median_gain
    return (gain is None, -(gain or 0), row.trial.name)


_SORT_KEYS = {
    "trial": lambda r: (r.trial.name.casefold(), r.result.endpoint, r.result.population),
    "hr": _hr_key,
    "gain": _gain_key,
    "year": lambda r: (-(r.trial.year or 0), r.trial.name.casefold()),
    "indication": lambda r: (r.trial.indication, r.trial.name.casefold()),
}
