"""The knowledge as plain objects: what a trial, a drug, a result and a source are.

Figures keep the form the source printed: a time is months or the string "NR" (not reached), a p
value is the printed string, a CI carries its level.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from operator import attrgetter
from typing import Union

NR = "NR"
Months = Union[float, str]  # a number of months, or NR
Bound = Union[float, str, None]  # a CI bound: number, NR, or not reported


class Record:
    """Pickles as (class, positional fields): three times faster to load than slot state, and smaller."""

    __slots__ = ()

    def __reduce__(self):
        cls = type(self)
        fields = _FIELDS.get(cls)
        if fields is None:
            fields = _FIELDS[cls] = attrgetter(*cls.__slots__, cls.__slots__[0])  # always a tuple
        return cls, fields(self)[:-1]


_FIELDS: dict[type, attrgetter] = {}


@dataclass(slots=True)
class Source(Record):
    key: str
    citation: str
    pmid: str | None = None
    doi: str | None = None
    url: str | None = None
    verified_in: list[str] = field(default_factory=list)
    kind: str | None = None  # journal | congress | label | registry | press

    @property
    def link(self) -> str | None:
        if self.pmid:
            return f"https://pubmed.ncbi.nlm.nih.gov/{self.pmid}/"
        if self.doi:
            return f"https://doi.org/{self.doi}"
        return self.url

    def short(self) -> str:
        ident = f"PMID {self.pmid}" if self.pmid else (f"doi:{self.doi}" if self.doi else self.url or "")
        return f"{self.citation} ({ident})" if ident else self.citation


@dataclass(slots=True)
class Cut(Record):
    id: str
    kind: str
    published: str
    source: Source
    label: str | None = None
    data_cutoff: str | None = None
    follow_up: str | None = None

    def title(self) -> str:
        return self.label or f"{self.kind} analysis"


@dataclass(slots=True)
class ArmFigures(Record):
    median: Months | None = None
    median_ci: tuple[Bound, Bound] | None = None
    rate: float | None = None
    rate_ci: tuple[Bound, Bound] | None = None
    count: int | None = None
    n: int | None = None
    events: int | None = None


@dataclass(slots=True)
class HazardRatio(Record):
    value: float
    experimental: str
    control: str
    ci: tuple[Bound, Bound] | None = None
    ci_level: float = 95
    p: str | None = None
    p_sided: int = 2


@dataclass(slots=True)
class Landmark(Record):
    months: float
    arms: dict[str, ArmFigures]


@dataclass(slots=True)
class Result(Record):
    endpoint: str
    cut: Cut
    population: str
    arms: dict[str, ArmFigures]
    source: Source
    primary_endpoint: bool = False
    hrs: list[HazardRatio] = field(default_factory=list)
    landmarks: list[Landmark] = field(default_factory=list)
    notes: str | None = None
    analysis: str = "itt"  # itt | primary | subgroup | sensitivity | per-protocol | safety (vocabulary.ANALYSES)
    indication: str | None = None  # a cohort's own disease, where it differs from the trial's


@dataclass(slots=True)
class Arm(Record):
    id: str
    label: str
    drugs: list[str]
    role: str
    n: int | None = None


@dataclass(slots=True)
class Trial(Record):
    id: str
    name: str
    phase: str
    indication: str
    setting: str
    population: str
    arms: list[Arm]
    sources: dict[str, Source]
    cuts: list[Cut]  # newest first
    results: list[Result]
    origin: str
    aliases: list[str] = field(default_factory=list)
    nct: str | None = None
    design: str | None = None
    randomized: bool | None = None
    biomarkers: list[str] = field(default_factory=list)
    enrolled: int | None = None
    notes: str | None = None
    primary_outcome: str | None = None  # met | not-met | mixed | descriptive (vocabulary.OUTCOMES)

    def arm(self, arm_id: str) -> Arm:
        for arm in self.arms:  # a loop, not next(genexpr): called for every figure when compiling
            if arm.id == arm_id:
                return arm
        raise KeyError(arm_id)

    @property
    def drugs(self) -> list[str]:
        seen: dict[str, None] = {}
        for arm in self.arms:
            seen.update(dict.fromkeys(arm.drugs))
        return list(seen)

    @property
    def year(self) -> int | None:
        dates = [c.published for c in self.cuts]
        return int(min(dates)[:4]) if dates else None


@dataclass(slots=True)
class FirstApproval(Record):
    date: str
    source: Source
    indication: str | None = None


@dataclass(slots=True)
class Drug(Record):
    id: str
    name: str
    modality: str
    status: str
    origin: str
    brands: list[str] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    drug_class: str | None = None
    targets: list[str] = field(default_factory=list)
    maker: str | None = None
    first_fda_approval: FirstApproval | None = None
    notes: str | None = None


@dataclass(slots=True)
class Approval(Record):
    id: str
    drugs: list[str]
    indication: str
    text: str
    date: str
    trials: list[str]
    source: Source
    origin: str
    setting: str | None = None
    biomarker: str | None = None
    type: str | None = None
    notes: str | None = None
    withdrawn: str | bool | None = None  # the date the indication was withdrawn, or True (date not read)


@dataclass(slots=True)
class Endpoint(Record):
    id: str
    name: str
    kind: str  # time-to-event | rate
    higher_is_better: bool
    definition: str
    origin: str
    synonyms: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Indication(Record):
    id: str
    name: str
    origin: str
    oncotree: str | None = None
    parent: str | None = None
    synonyms: list[str] = field(default_factory=list)
    notes: str | None = None


@dataclass(slots=True)
class Knowledge(Record):
    """Everything loaded, keyed by id, plus where each directory came from."""

    drugs: dict[str, Drug]
    trials: dict[str, Trial]
    approvals: dict[str, Approval]
    endpoints: dict[str, Endpoint]
    indications: dict[str, Indication]
    directories: list[str]
    context: dict = field(default_factory=dict)  # biomarkers, irAEs, warnings: clinical-context.yaml as checked

    def descendants(self, indication_id: str) -> set[str]:
        """An indication and every indication below it (MEL covers SKCM and UM)."""
        from .index import descendants

        return descendants({i.id: i.parent for i in self.indications.values()}, indication_id)
