"""Which comparison rows `compare` shows, chosen from a line of facts per row, never from the trials.

The library (from memory) and the compiled cache (from SQLite) run this same code, so a comparison
is the same whichever answers it; neither the model nor the schema is imported here.
"""

from __future__ import annotations

from .errors import UsageError
from .index import Names, check_query, normalise

CUT_CHOICES = ("latest", "primary", "all")
SORT_CHOICES = ("trial", "hr", "gain", "year", "indication")


def compare_filters(names: Names, endpoint: str | None = None, *, indication: str | None = None,
                    drug: str | None = None, target: str | None = None, modality: str | None = None,
                    setting: str | None = None, phase: str | None = None, population: str | None = None,
                    year: int | None = None, cut: str = "latest", sort: str = "trial") -> "Filters":
    """Check and resolve compare's filters once, against the names given."""
    if cut not in CUT_CHOICES:
        raise UsageError(f"--cut must be one of {', '.join(CUT_CHOICES)}, not {cut!r}")
    if sort not in SORT_CHOICES:
        raise UsageError(f"--sort must be one of {', '.join(SORT_CHOICES)}, not {sort!r}")
    from .vocabulary import MODALITIES, SETTINGS

    if setting and normalise(setting) not in {normalise(s) for s in SETTINGS}:
        raise UsageError(f"--setting must be one of {', '.join(SETTINGS)}, not {setting!r}")
    if modality and normalise(modality) not in {normalise(m) for m in MODALITIES}:
        raise UsageError(f"--modality must be one of {', '.join(MODALITIES)}, not {modality!r}")
    endpoint_id = names.resolve("endpoint", endpoint) if endpoint else None
    indication_id = names.resolve("indication", indication) if indication else None
    drug_id = names.resolve("drug", drug) if drug else None
    return Filters(
        shown={"endpoint": endpoint_id, "indication": indication_id, "drug": drug_id, "target": target,
               "modality": modality, "setting": setting, "phase": phase, "population": population,
               "year": year, "cut": cut, "sort": sort},
        endpoint=endpoint_id,
        indications=names.descendants(indication_id) if indication_id else None,
        drug=drug_id, target=normalise(check_query(target)) if target else None,
        modality=normalise(check_query(modality)) if modality else None,
        setting=normalise(setting) if setting else None, phase=normalise(phase) if phase else None,
        population=check_query(population).casefold() if population else None, year=year, cut=cut, sort=sort)


class Filters:
    """compare's filters, checked and resolved (ids, normalised keys, an indication's descendants)."""

    __slots__ = ("shown", "endpoint", "indications", "drug", "target", "modality", "setting", "phase",
                 "population", "year", "cut", "sort")

    def __init__(self, **values):
        for name in self.__slots__:  # shown: as the user gave them, with resolved ids (echoed in the JSON)
            setattr(self, name, values[name])


class Facts:
    """What compare filters and sorts one row by, so the compiled cache can choose rows without the trials.

    `result` is the result's position in its trial (rows of one result stand or fall together); `drugs`,
    `targets` and `modalities` are the experimental arm's; `ref` is the ComparisonRow in memory and the
    row's number in the compiled cache.
    """

    __slots__ = ("trial", "name", "indication", "setting", "phase", "year", "result", "endpoint", "population",
                 "published", "primary_cut", "drugs", "targets", "modalities", "hr", "gain", "ref")

    def __init__(self, trial, name, indication, setting, phase, year, result, endpoint, population, published,
                 primary_cut, drugs, targets, modalities, hr, gain, ref=None):
        self.trial, self.name, self.indication, self.setting, self.phase = trial, name, indication, setting, phase
        self.year, self.result, self.endpoint, self.population = year, result, endpoint, population
        self.published, self.primary_cut, self.drugs, self.targets = published, primary_cut, drugs, targets
        self.modalities, self.hr, self.gain, self.ref = modalities, hr, gain, ref

    def values(self) -> list:
        return [getattr(self, name) for name in self.__slots__[:-1]]


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
