"""The questions immuno answers, as functions of a `Knowledge`: find, compare, search, list.

They return plain objects (model records and `ComparisonRow`s); `serialize` turns them into the JSON
contract and the renderers draw that.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable

from .errors import NotFound, UsageError
from .index import NameIndex, check_query, normalise
from .model import ArmFigures, Drug, HazardRatio, Knowledge, Landmark, Result, Trial

CUT_CHOICES = ("latest", "primary", "all")
SORT_CHOICES = ("trial", "hr", "gain", "year", "indication")


class Catalogue:
    """A Knowledge with its name indexes, built on first use."""

    def __init__(self, knowledge: Knowledge, trial_names: Callable[[], NameIndex] | None = None):
        self.knowledge = knowledge
        self._trial_names = trial_names  # the compiled cache holds trial names apart from the trials

    @cached_property
    def drug_index(self) -> NameIndex:
        return NameIndex.build("drug", ((d.id, d.name, [*d.brands, *d.codes, *d.aliases])
                                        for d in self.knowledge.drugs.values()))

    @cached_property
    def trial_index(self) -> NameIndex:
        if self._trial_names is not None:
            return self._trial_names()
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
        return self.knowledge.trials[self.trial_id(query)]

    def trial_id(self, query: str) -> str:
        try:
            return self.trial_index.resolve(query)
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

    def filters(self, endpoint: str | None = None, *, indication: str | None = None, drug: str | None = None,
                target: str | None = None, modality: str | None = None, setting: str | None = None,
                phase: str | None = None, population: str | None = None, year: int | None = None,
                cut: str = "latest", sort: str = "trial") -> "Filters":
        """Check and resolve compare's filters once, against the names this catalogue knows."""
        if cut not in CUT_CHOICES:
            raise UsageError(f"--cut must be one of {', '.join(CUT_CHOICES)}, not {cut!r}")
        if sort not in SORT_CHOICES:
            raise UsageError(f"--sort must be one of {', '.join(SORT_CHOICES)}, not {sort!r}")
        from .schema import MODALITIES, SETTINGS

        if setting and normalise(setting) not in {normalise(s) for s in SETTINGS}:
            raise UsageError(f"--setting must be one of {', '.join(SETTINGS)}, not {setting!r}")
        if modality and normalise(modality) not in {normalise(m) for m in MODALITIES}:
            raise UsageError(f"--modality must be one of {', '.join(MODALITIES)}, not {modality!r}")
        endpoint_id = self.endpoint(endpoint).id if endpoint else None
        indication_id = self.indication(indication).id if indication else None
        drug_id = self.drug(drug).id if drug else None
        return Filters(
            shown={"endpoint": endpoint_id, "indication": indication_id, "drug": drug_id, "target": target,
                   "modality": modality, "setting": setting, "phase": phase, "population": population,
                   "year": year, "cut": cut, "sort": sort},
            endpoint=endpoint_id,
            indications=self.knowledge.descendants(indication_id) if indication_id else None,
            drug=drug_id, target=normalise(check_query(target)) if target else None,
            modality=normalise(check_query(modality)) if modality else None,
            setting=normalise(setting) if setting else None, phase=normalise(phase) if phase else None,
            population=check_query(population).casefold() if population else None, year=year, cut=cut, sort=sort)

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

    def pool(self) -> PooledHazardRatio:
        """Random-effects pooled HR of the rows shown (see `pool`)."""
        return pool([{"trial": {"id": r.trial.id, "name": r.trial.name}, "population": r.result.population,
                      "cut": {"published": r.result.cut.published},
                      "hazard_ratio": {"value": r.hr.value, "ci": r.hr.ci, "ci_level": r.hr.ci_level} if r.hr else None}
                     for r in self.rows])


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


@dataclass(slots=True)
class Filters:
    """compare's filters, checked and resolved (ids, normalised keys, an indication's descendants)."""

    shown: dict  # as the user gave them, with resolved ids: echoed in the JSON
    endpoint: str | None
    indications: set[str] | None
    drug: str | None
    target: str | None
    modality: str | None
    setting: str | None
    phase: str | None
    population: str | None
    year: int | None
    cut: str
    sort: str


@dataclass(slots=True)
class Facts:
    """What compare filters and sorts one row by, so the compiled cache can choose rows without the trials."""

    trial: str
    name: str
    indication: str
    setting: str
    phase: str
    year: int | None
    result: int  # the result's position in its trial: rows of one result stand or fall together
    endpoint: str
    population: str
    published: str
    primary_cut: bool
    drugs: list[str]  # of the experimental arm
    targets: list[str]
    modalities: list[str]
    hr: float | None
    gain: float | None
    ref: object = None  # the ComparisonRow in memory; the row's number in the compiled cache

    def values(self) -> list:
        return [getattr(self, name) for name in self.__slots__ if name != "ref"]


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


def select(facts: list[Facts], f: Filters) -> list[Facts]:
    """The rows compare shows, in order: the same whether the facts come from memory or the cache."""
    kept = [x for x in facts
            if (f.endpoint is None or x.endpoint == f.endpoint)
            and (f.indications is None or x.indication in f.indications)
            and (f.setting is None or normalise(x.setting) == f.setting)
            and (f.phase is None or normalise(x.phase) == f.phase)
            and (not f.year or x.year == f.year)]
    if f.cut != "all":  # one result per trial, endpoint and population: the newest, or the primary
        best: dict[tuple, Facts] = {}
        for x in kept:
            key = (x.trial, x.endpoint, x.population)
            rank = x.published if f.cut == "latest" else (not x.primary_cut, x.published)
            held = best.get(key)
            if held is None:
                best[key] = x
                continue
            held_rank = held.published if f.cut == "latest" else (not held.primary_cut, held.published)
            if (rank > held_rank) if f.cut == "latest" else (rank < held_rank):
                best[key] = x
        kept = [x for x in kept if best[(x.trial, x.endpoint, x.population)].result == x.result]
    kept = [x for x in kept
            if (f.population is None or f.population in x.population.casefold())
            and (f.drug is None or f.drug in x.drugs)
            and (f.target is None or f.target in x.targets)
            and (f.modality is None or f.modality in x.modalities)]
    kept.sort(key=lambda x: x.published, reverse=True)  # ties: the newest cut first
    kept.sort(key=_SORT_KEYS[f.sort])
    return kept


_SORT_KEYS = {
    "trial": lambda x: (x.name.casefold(), x.endpoint, x.population),
    "hr": lambda x: (x.hr is None, x.hr or 0, x.name),
    "gain": lambda x: (x.gain is None, -(x.gain or 0), x.name),
    "year": lambda x: (-(x.year or 0), x.name.casefold()),
    "indication": lambda x: (x.indication, x.name.casefold()),
}
