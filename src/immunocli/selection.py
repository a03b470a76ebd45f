"""Which comparison rows `compare` shows, chosen from a line of facts per row, never from the trials.

The library (from memory) and the compiled cache (from SQLite) run this same code, so a comparison
is the same whichever answers it; neither the model nor the schema is imported here.

Filters mean what people mean: each option may be repeated (OR within an option, AND across options);
an indication covers the diseases below it (`lung cancer` is NSCLC and SCLC); a setting covers the
settings it contains (`second-line` also finds trials filed as previously-treated); `--phase 3`,
`III` and `phase 3` are one phase, and a phase 2/3 trial is found by 2 and by 3. Rows are chosen by
the `analysis` each result declares, never by the wording of its population.
"""

from __future__ import annotations

import re

from .errors import NotFound, UsageError
from .index import Match, NameIndex, Names, check_query, normalise

CUT_CHOICES = ("latest", "primary", "all")
SORT_CHOICES = ("trial", "hr", "gain", "year", "indication")

# Settings people type, and what each covers (a line number within previously-treated, and the reverse).
SETTING_ALIASES = {  # as people write them; compared after normalise() (case, spaces, hyphens)
    "1L": "first-line", "front-line": "first-line", "2L": "second-line", "3L": "later-line",
    "3L+": "later-line", "third-line": "later-line", "pretreated": "previously-treated",
    "relapsed": "previously-treated", "refractory": "previously-treated", "periop": "perioperative",
    "neoadj": "neoadjuvant", "adj": "adjuvant",
}
SETTING_COVERS = {
    "second-line": {"second-line", "previously-treated"},
    "later-line": {"later-line", "previously-treated"},
    "previously-treated": {"previously-treated", "second-line", "later-line"},
}
_ROMAN = {"i": "1", "ii": "2", "iii": "3", "iv": "4"}


def _as_list(value) -> list:
    if value is None:
        return []
    return [v for v in ([value] if isinstance(value, (str, int)) else value) if v not in (None, "")]


def setting_covers(query: str) -> tuple[str, set[str]]:
    """The setting a query names and the settings it covers; UsageError with suggestions otherwise."""
    from .vocabulary import SETTINGS

    known = {normalise(s): s for s in SETTINGS}
    known.update((normalise(word.replace("+", "plus")), setting) for word, setting in SETTING_ALIASES.items())
    setting = known.get(normalise(check_query(query).replace("+", "plus")))
    if setting is None:
        raise _unknown("setting", query, SETTINGS + ["1L", "2L", "3L+"])
    return setting, SETTING_COVERS.get(setting, {setting})


def phase_numbers(text: str) -> frozenset[str]:
    """"3", "III", "phase 3" → {3}; "2/3" → {2, 3}; "1b/2" → {1, 2}."""
    words = re.split(r"[\s/,&-]+|(?<=\d)(?=[a-z])", str(text).casefold().replace("phase", " ").replace("and", " "))
    out = set()
    for word in words:
        word = _ROMAN.get(word, word)
        digits = re.match(r"^([1-4])[a-c]?$", word)  # phases 1 to 4 exist; "5" is refused, not searched for
        if digits:
            out.add(digits.group(1))
        elif word:
            return frozenset()
    return frozenset(out)


def _unknown(kind: str, query: str, vocabulary) -> NotFound:
    """The same message form as an unknown drug or indication: what was asked, and the closest known values."""
    from rapidfuzz import fuzz, process

    close = [v for v, score, _ in process.extract(query, list(vocabulary), scorer=fuzz.WRatio, limit=3) if score >= 60]
    return NotFound(kind, query, close, hint=None if close else f"known: {', '.join(vocabulary)}")


def compare_filters(names: Names, endpoint=None, *, indication=None, drug=None, target=None, modality=None,
                    setting=None, phase=None, population=None, year=None, cut: str = "latest",
                    sort: str = "trial", subgroups: bool = False, trial=None, exclude=None,
                    exact: bool = False) -> "Filters":
    """Check and resolve compare's filters once, against the names given; every value may be a list."""
    if cut not in CUT_CHOICES:
        raise UsageError(f"--cut must be one of {', '.join(CUT_CHOICES)}, not {cut!r}")
    if sort not in SORT_CHOICES:
        raise UsageError(f"--sort must be one of {', '.join(SORT_CHOICES)}, not {sort!r}")
    from .vocabulary import MODALITIES

    matches: list[dict] = []

    def resolve(kind: str, option: str, values) -> list[Match]:
        found = []
        for value in _as_list(values):
            m = names.match(kind, str(value), exact)
            found.append(m)
            matches.append({"filter": option, **m.to_dict()})
        return found

    endpoints = resolve("endpoint", "endpoint", endpoint)
    indications = resolve("indication", "indication", indication)
    drugs = resolve("drug", "drug", drug)
    trials = resolve("trial", "trial", trial)
    excluded = resolve("trial", "exclude", exclude)
    target_ids = []
    if _as_list(target):
        index = names.index("target")
        for m in resolve("target", "target", target):
            target_ids.append(normalise(index.labels[m.id]))
    modalities = []
    for value in _as_list(modality):
        key = normalise(check_query(value))
        hit = next((m for m in MODALITIES if normalise(m) == key), None)
        if hit is None:
            raise _unknown("modality", value, MODALITIES)
        modalities.append(normalise(hit))
    covered_settings: set[str] = set()
    setting_names = []
    for value in _as_list(setting):
        name, covers = setting_covers(value)
        setting_names.append(name)
        covered_settings |= covers
    settings = {normalise(s) for s in covered_settings}
    phases = []
    for value in _as_list(phase):
        numbers = phase_numbers(check_query(str(value)))
        if not numbers:
            raise _unknown("phase", str(value), ["1", "2", "3", "4", "1/2", "2/3"])
        phases.append(numbers)
    covered = set()
    for m in indications:
        covered |= names.descendants(m.id)
    shown = {
        "endpoint": [m.id for m in endpoints] if len(endpoints) > 1 else (endpoints[0].id if endpoints else None),
        "indication": [m.id for m in indications] or None, "drug": [m.id for m in drugs] or None,
        "target": [names.index("target").labels[m["id"]] for m in matches if m["filter"] == "target"] or None,
        "modality": [normalise_back(m) for m in modalities] or None, "setting": setting_names or None,
        "phase": [str(p) for p in _as_list(phase)] or None, "population": population, "year": year,
        "trial": [m.id for m in trials] or None, "exclude": [m.id for m in excluded] or None,
        "analyses": "all" if subgroups else "main", "cut": cut, "sort": sort,
        "indications_covered": sorted(covered) or None, "settings_covered": sorted(covered_settings) or None,
        "matches": matches,
    }
    shown["summary"] = summary(shown)
    return Filters(
        shown=shown, endpoints={m.id for m in endpoints} or None, indications=covered or None,
        drugs=[m.id for m in drugs] or None, targets=target_ids or None, modalities=modalities or None,
        settings=settings or None, phases=phases or None,
        population=check_query(population).casefold() if population else None, year=year, cut=cut, sort=sort,
        subgroups=subgroups, trials={m.id for m in trials} or None, exclude={m.id for m in excluded})


def normalise_back(key: str) -> str:
    from .vocabulary import MODALITIES

    return next((m for m in MODALITIES if normalise(m) == key), key)


def summary(shown: dict) -> str:
    """What each filter became, in one line: `OS · indication: NSCLC, SCLC (from 'lung cancer') · …`."""
    parts = []
    if shown["endpoint"]:
        parts.append(", ".join(_as_list(shown["endpoint"])))
    by_filter: dict[str, list[dict]] = {}
    for m in shown["matches"]:
        by_filter.setdefault(m["filter"], []).append(m)
    for name in ("indication", "drug", "target", "trial", "exclude"):
        ms = by_filter.get(name)
        if not ms:
            continue
        if name == "indication":
            covered = ", ".join(shown["indications_covered"])
            asked = ", ".join(f"'{m['query']}'" for m in ms)
            parts.append(f"indication: {covered} (from {asked})")
            continue
        words = []
        for m in ms:
            note = "" if m["how"] in ("exact", "alias") else f" ({m['how']} match for '{m['query']}')"
            words.append((m.get("name") if name == "target" else m["id"]) + note)
        parts.append(f"{name}: {', '.join(words)}")
    for name in ("modality", "phase"):
        if shown[name]:
            parts.append(f"{name}: {', '.join(map(str, shown[name]))}")
    if shown["setting"]:
        parts.append(f"setting: {', '.join(shown['setting'])} (covers {', '.join(shown['settings_covered'])})")
    if shown["population"]:
        parts.append(f"population contains '{shown['population']}'")
    if shown["year"]:
        parts.append(f"year: {shown['year']}")
    parts.append("all analyses" if shown["analyses"] == "all" else "main analyses (ITT, primary, safety)")
    parts.append(f"cut: {shown['cut']}")
    return " · ".join(parts)


class Filters:
    """compare's filters, checked and resolved (ids, normalised keys, an indication's descendants)."""

    __slots__ = ("shown", "endpoints", "indications", "drugs", "targets", "modalities", "settings", "phases",
                 "population", "year", "cut", "sort", "subgroups", "trials", "exclude")

    def __init__(self, **values):
        for name in self.__slots__:  # shown: as the user gave them, with resolved ids (echoed in the JSON)
            setattr(self, name, values[name])


class Facts:
    """What compare filters and sorts one row by, so the compiled cache can choose rows without the trials.

    `result` is the result's position in its trial (rows of one result stand or fall together);
    `indication` is the row's (a cohort's own disease where it has one); `drugs`, `targets` and
    `modalities` are the experimental arm's, `control_drugs` the control arm's; `comparison` is the
    row's rank among its result's comparisons (0: the trial's primary comparison, listed first);
    `ref` is the ComparisonRow in memory and the row's number in the compiled cache.
    """

    __slots__ = ("trial", "name", "indication", "setting", "phase", "year", "result", "endpoint", "population",
                 "published", "primary_cut", "drugs", "targets", "modalities", "hr", "gain", "analysis",
                 "experimental", "control", "control_drugs", "comparison", "ref", "older")

    def __init__(self, trial, name, indication, setting, phase, year, result, endpoint, population, published,
                 primary_cut, drugs, targets, modalities, hr, gain, analysis="itt", experimental=None,
                 control=None, control_drugs=(), comparison=0, ref=None):
        self.trial, self.name, self.indication, self.setting, self.phase = trial, name, indication, setting, phase
        self.year, self.result, self.endpoint, self.population = year, result, endpoint, population
        self.published, self.primary_cut, self.drugs, self.targets = published, primary_cut, drugs, targets
        self.modalities, self.hr, self.gain, self.analysis = modalities, hr, gain, analysis
        self.experimental, self.control, self.control_drugs = experimental, control, control_drugs
        self.comparison, self.ref, self.older = comparison, ref, []

    def values(self) -> list:
        """The facts as a plain list (what the compiled cache stores), without `ref` and `older`."""
        return [getattr(self, name) for name in self.__slots__[:-2]]

    def same_comparison(self) -> tuple:
        """Rows of one comparison in one population across cuts: what `--cut latest` picks among. The whole
        randomised population is one population whatever a cut's label calls it ("ITT", "ITT (interim
        analysis)", "All randomised"): else an older cut's ITT row would stand beside the newest's."""
        population = "" if self.analysis == "itt" else self.population
        return self.trial, self.endpoint, population, self.experimental, self.control


def select(facts: list[Facts], f: Filters) -> list[Facts]:
    """The rows compare shows, in order: the same whether the facts come from memory or the cache.

    With `--cut latest` each chosen row keeps, as `older`, the earlier cuts of the same comparison,
    newest first, so that a figure the newest cut does not report is taken from the newest that does.
    """
    from .vocabulary import MAIN_ANALYSES

    kept = [x for x in facts
            if (f.endpoints is None or x.endpoint in f.endpoints)
            and (f.indications is None or x.indication in f.indications)
            and (f.settings is None or normalise(x.setting) in f.settings)
            and (f.phases is None or any(p <= phase_numbers(x.phase) for p in f.phases))
            and (not f.year or x.year == f.year)
            and (f.subgroups or x.analysis in MAIN_ANALYSES)
            and (f.trials is None or x.trial in f.trials)
            and x.trial not in f.exclude]
    older: dict[tuple, list[Facts]] = {}
    if f.cut != "all":  # one result per comparison and population: the newest cut, or the primary
        best: dict[tuple, Facts] = {}
        keys = [x.same_comparison() for x in kept]  # computed once: 100,000 rows are weighed here
        preferred = _newer if f.cut == "latest" else _more_primary
        for x, key in zip(kept, keys):
            held = best.get(key)
            if held is None or preferred(x, held):
                best[key] = x
        chosen = []
        for x, key in zip(kept, keys):
            if best[key] is x:
                chosen.append(x)
            else:
                older.setdefault(key, []).append(x)
        kept = chosen
    kept = [x for x in kept
            if (f.population is None or f.population in x.population.casefold())
            and (f.drugs is None or any(d in x.drugs for d in f.drugs))
            and (f.targets is None or any(t in x.targets for t in f.targets))
            and (f.modalities is None or any(m in x.modalities for m in f.modalities))]
    if f.cut == "latest":
        for x in kept:
            x.older = sorted(older.get(x.same_comparison(), []), key=lambda o: o.published, reverse=True)
            # the row will show the newest earlier HR or median gain where its own cut has none: sort by that
            if x.hr is None:
                x.hr = next((o.hr for o in x.older if o.hr is not None), None)
            if x.gain is None:
                x.gain = next((o.gain for o in x.older if o.gain is not None), None)
    kept.sort(key=lambda x: (x.published, -x.result, -x.comparison), reverse=True)  # ties: newest cut first
    kept.sort(key=_SORT_KEYS[f.sort])
    return kept


def _newer(x: Facts, held: Facts) -> bool:
    """For --cut latest: the newer cut; between results of one cut, the one listed first."""
    return x.published > held.published or (x.published == held.published and x.result < held.result)


def _more_primary(x: Facts, held: Facts) -> bool:
    """For --cut primary: the cut marked primary, else the earliest; then the result listed first."""
    return (not x.primary_cut, x.published, x.result) < (not held.primary_cut, held.published, held.result)


_SORT_KEYS = {
    "trial": lambda x: (x.name.casefold(), x.endpoint, x.population),
    "hr": lambda x: (x.hr is None, x.hr or 0, x.name),
    "gain": lambda x: (x.gain is None, -(x.gain or 0), x.name),
    "year": lambda x: (-(x.year or 0), x.name.casefold()),
    "indication": lambda x: (x.indication, x.name.casefold()),
}


def target_index(targets) -> NameIndex:
    """Targets (PD-1, CD19, BCMA …) as a name index, so an unknown one gets the usual "did you mean"."""
    return NameIndex.build("target", ((normalise(t), t, []) for t in sorted(set(targets), key=str.casefold)))



MAIN_RANK = {"itt": 0, "primary": 1}


def headline(results: list, primary, analysis, published, key=None, own=None) -> tuple[list, bool]:
    """What answers "what did it show?" first, for a trial card and a drug or indication card alike: the
    primary endpoint's results at the newest cut that reports one, by declared analysis (the ITT row, then
    the primary analysis populations; never a subgroup while a main row exists), at most three; without a
    primary result, the newest main-analysis result. Returns (results, whether they are primary).

    A later cut's row is the primary endpoint's too when `key` (endpoint, population) matches a row marked
    primary: files mark the primary analysis's rows, and a 5-year update of the same comparison must not
    lose to them. A multi-cohort trial is headed by a row of its own disease (`own`), when one is primary or
    none is: KEYNOTE-001, filed as melanoma, must not open with its NSCLC cohort's response rate."""
    if own is not None:
        mine = [r for r in results if own(r)]
        if mine and (any(primary(r) for r in mine) or not any(primary(r) for r in results)):
            results = mine
    pool = [r for r in results if primary(r)]
    if pool and key is not None:
        keys = {key(r) for r in pool}
        pool += [r for r in results if not primary(r) and analysis(r) in MAIN_RANK and key(r) in keys]
    is_primary = bool(pool)
    if not pool:
        pool = [r for r in results if analysis(r) in MAIN_RANK] or list(results)
    if not pool:
        return [], False
    newest = max(str(published(r)) for r in pool)
    at_cut = [r for r in pool if str(published(r)) == newest]
    main = [r for r in at_cut if analysis(r) in MAIN_RANK] or at_cut[:1]
    return sorted(main, key=lambda r: MAIN_RANK.get(analysis(r), 9))[:3 if is_primary else 1], is_primary
