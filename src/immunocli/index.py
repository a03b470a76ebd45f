"""Name resolution: what people type (brand, code name, "KN-942", a typo) to a record id.

Exact and normalised look-ups are dictionary hits; RapidFuzz is imported only when they miss.
"""

from __future__ import annotations

import re
from typing import Callable, Iterable, NamedTuple

from .errors import Ambiguous, NotFound, UsageError

MAX_QUERY = 200
FUZZY_CUTOFF = 85  # below this a fuzzy match is only a suggestion
SUGGEST_CUTOFF = 70

_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_LEADING_ZEROS = re.compile(r"(?<![0-9])0+(?=[0-9])")
# Trial families people abbreviate; the short form is added as an alias automatically.
_SHORT_FORMS = {"keynote": "kn", "checkmate": "cm"}
_IDENTIFIER = re.compile(r"[a-z]{0,2}[0-9]+[a-z]{0,3}")  # what follows the family: 942, 9la, 8hw, a18, b96, 76k


def normalise(text: str) -> str:
    """Case, spacing, punctuation and leading zeros do not matter: 'CheckMate 067' == 'checkmate-67'."""
    key = _NON_ALNUM.sub("", text.casefold().replace("×", "x"))
    return _LEADING_ZEROS.sub("", key)


def check_query(query: str) -> str:
    if query is None or not query.strip():
        raise UsageError("the query is empty")
    if len(query) > MAX_QUERY:
        raise UsageError(f"the query is {len(query)} characters long; the limit is {MAX_QUERY}")
    if any(ord(c) < 32 or ord(c) == 127 for c in query):
        raise UsageError("the query contains control characters")
    return query.strip()


class Match(NamedTuple):
    """What a query resolved to, and how: a script can insist on `exact` or `alias` (`--exact`)."""

    id: str
    how: str  # exact (the record's name or id) | alias | prefix | fuzzy
    query: str
    name: str = ""  # the record's display name

    @property
    def announced(self) -> bool:
        """Anything but an exact or alias match is said out loud: the user may have meant another record."""
        return self.how not in ("exact", "alias")

    def to_dict(self) -> dict:
        return {"query": self.query, "how": self.how, "id": self.id, "name": self.name or self.id}

    def notice(self) -> str | None:
        """The stderr line for an announced match: the user asked for one name and is shown another."""
        if not self.announced:
            return None
        why = "the only name that starts so" if self.how == "prefix" else "closest name"
        return f"showing {self.name or self.id} for {self.query!r} ({why}; --exact refuses this)"


_DIGITS = re.compile(r"[0-9]+")
_NCT = re.compile(r"^nct[0-9]+$")
MIN_LETTER_PREFIX = 4  # a prefix inside a word counts only for names without numbers, and from 4 letters


def digit_runs(key: str) -> list[str]:
    """The numbers in a normalised name: "keynote42" -> ["42"]. They must match exactly, never approximately."""
    return _DIGITS.findall(key)


_TOKENS = re.compile(r"[0-9a-z]+")


def codes(text: str) -> tuple[str, ...]:
    """The identifier parts of a name, each matched whole: every word that holds a number ("D19" in
    KEYNOTE-D19, "8HW" in CheckMate 8HW, "150" in IMpower150 once its leading word is set aside).
    KEYNOTE-19 is not KEYNOTE-D19, and CheckMate 8HX is not CheckMate 8HW: letters glued to a number are
    part of the identifier, never a typo."""
    out = []
    for n, token in enumerate(_TOKENS.findall(text.casefold().replace("×", "x"))):
        if not any(c.isdigit() for c in token):
            continue
        if n == 0:  # "impower150": the word the name starts with is not part of the number
            token = token.lstrip("abcdefghijklmnopqrstuvwxyz") or token
        out.append(_LEADING_ZEROS.sub("", token))
    return tuple(out)


def _boundaries(label: str) -> set[int]:
    """Where, in the normalised name, a word or a number ends (a prefix must stop at one of these)."""
    ends, at = set(), 0
    for token in _TOKENS.findall(label.casefold().replace("×", "x")):
        key = normalise(token)
        for i in range(1, len(key)):  # a word running into a number: "impower|150" (not "7|fl")
            if key[i - 1].isalpha() and key[i].isdigit():
                ends.add(at + i)
        at += len(key)
        ends.add(at)
    return ends


class NameIndex:
    """Maps normalised names to ids for one kind of record."""

    __slots__ = ("kind", "exact", "labels", "_shapes")

    def __init__(self, kind: str, exact: dict[str, set[str]], labels: dict[str, str]):
        self.kind = kind
        self.exact = exact
        self.labels = labels  # id -> display name
        self._shapes = None  # id -> (normalised name, where its words end, its codes): built on a first miss

    def shapes(self) -> dict[str, tuple[str, set[int], tuple[str, ...]]]:
        if self._shapes is None:
            self._shapes = {rid: (normalise(label), _boundaries(label), codes(label))
                            for rid, label in self.labels.items()}
        return self._shapes

    @classmethod
    def build(cls, kind: str, entries: Iterable[tuple[str, str, Iterable[str]]]) -> "NameIndex":
        exact: dict[str, set[str]] = {}
        labels = {}
        for record_id, label, names in entries:
            labels[record_id] = label
            for name in (record_id, label, *names):
                key = normalise(name)
                if key:
                    exact.setdefault(key, set()).add(record_id)
                    for long, short in _SHORT_FORMS.items():
                        if key.startswith(long) and _IDENTIFIER.fullmatch(key[len(long):]):  # 942, 9la, a18
                            exact.setdefault(short + key[len(long):], set()).add(record_id)
        return cls(kind, exact, labels)

    def resolve(self, query: str) -> str:
        """The one id `query` means; NotFound (with suggestions) or Ambiguous otherwise."""
        return self.match(query).id

    def how_exact(self, record_id: str, key: str) -> str:
        return "exact" if key in (normalise(record_id), normalise(self.labels.get(record_id, ""))) else "alias"

    def match(self, query: str, exact_only: bool = False) -> Match:
        """Resolve `query`: exact names and aliases first, then a prefix at a token boundary, then a typo in
        the letters of a name whose numbers are the query's numbers. With `exact_only`, only the first."""
        query = check_query(query)
        key = normalise(query)
        if not key:
            raise NotFound(self.kind, query)
        hits = self.exact.get(key)
        if hits and len(hits) == 1:
            record_id = next(iter(hits))
            return Match(record_id, self.how_exact(record_id, key), query, self.labels.get(record_id, ""))
        if hits:
            raise Ambiguous(self.kind, query, sorted(self.labels[h] for h in hits))
        if _NCT.match(key):  # a registry number is an identifier: only itself
            raise NotFound(self.kind, query, hint="an NCT id matches only a trial registered under that exact number")
        if exact_only:
            raise NotFound(self.kind, query, self.suggest(key))
        # a prefix counts against display names, and only where one of their words or numbers ends
        prefixed = sorted({rid for rid, (name, ends, _codes) in self.shapes().items()
                           if len(key) >= 3 and len(name) > len(key) and name.startswith(key)
                           and (len(key) in ends or (len(key) >= MIN_LETTER_PREFIX and not digit_runs(name)))},
                          key=lambda r: self.labels[r])
        if len(prefixed) == 1:
            return Match(prefixed[0], "prefix", query, self.labels[prefixed[0]])
        if prefixed:
            raise Ambiguous(self.kind, query, [self.labels[r] for r in prefixed])
        close = self.fuzzy(key, scorer="ratio", query=query)
        strong = [(rid, score) for rid, score in close if score >= FUZZY_CUTOFF]
        if strong:
            top = [rid for rid, score in strong if strong[0][1] - score < 2]
            if len(top) == 1:
                return Match(top[0], "fuzzy", query, self.labels[top[0]])
            raise Ambiguous(self.kind, query, [self.labels[r] for r in top])
        raise NotFound(self.kind, query, self.suggest(key))

    def suggest(self, key: str) -> list[str]:
        """Names to offer in "did you mean" (never answered: the user decides)."""
        if _NCT.match(key):
            return []
        loose = self.fuzzy(key, scorer="WRatio", same_numbers=False)
        return [self.labels[r] for r, s in loose if s >= SUGGEST_CUTOFF][:3]

    def fuzzy(self, key: str, scorer: str = "ratio", limit: int = 5, same_numbers: bool = True,
              query: str | None = None) -> list[tuple[str, float]]:
        """Best ids for a normalised key, by the best score of any of their names.

        `ratio` (edit similarity) decides a match: it forgives a typo but not a fragment, and only in the
        letters: a name with numbers is a candidate only if its display name's identifiers (`codes`) are the
        query's, and names without numbers (brands, aliases) only if the query has none. `WRatio` also scores
        fragments of long names, which is right for suggestions (`same_numbers=False`) and wrong for answers.
        """
        from rapidfuzz import fuzz, process

        if same_numbers:
            wanted = codes(query if query is not None else key)
            choices = {name: {rid} for rid, (name, _ends, its) in self.shapes().items() if its == wanted}
            if not wanted:  # a query without numbers may also be a typo of a brand or alias without numbers
                for name, ids in self.exact.items():
                    if not digit_runs(name):
                        choices.setdefault(name, set()).update(ids)
        else:
            choices = {name: ids for name, ids in self.exact.items() if not _NCT.match(name)}
        best: dict[str, float] = {}
        for name, score, _ in process.extract(key, list(choices), scorer=getattr(fuzz, scorer), limit=limit * 4,
                                              processor=None):
            if len(name) < 3 and name != key:
                continue  # two-letter abbreviations match everything
            for rid in choices[name]:
                if score > best.get(rid, -1):
                    best[rid] = score
        return sorted(best.items(), key=lambda kv: (-kv[1], self.labels[kv[0]]))[:limit]


def descendants(parents: dict[str, str | None], root: str) -> set[str]:
    """An indication and every indication below it (MEL covers SKCM and UM)."""
    found = {root}
    changed = True
    while changed:
        changed = False
        for child, parent in parents.items():
            if parent in found and child not in found:
                found.add(child)
                changed = True
    return found


class Names:
    """What resolving a query needs apart from the records: each kind's index and the indication tree.

    The compiled cache keeps these as plain data, so `compare` resolves its filters without the model.
    """

    __slots__ = ("_indexes", "_make", "parents")

    def __init__(self, make: dict[str, Callable[[], NameIndex]], parents: dict[str, str | None]):
        self._indexes: dict[str, NameIndex] = {}
        self._make = make  # kind -> how to build its index, on first use
        self.parents = parents

    def index(self, kind: str) -> NameIndex:
        if kind not in self._indexes:
            self._indexes[kind] = self._make[kind]()
        return self._indexes[kind]

    def resolve(self, kind: str, query: str) -> str:
        return self.match(kind, query).id

    def match(self, kind: str, query: str, exact_only: bool = False) -> Match:
        try:
            return self.index(kind).match(query, exact_only)
        except NotFound as exc:
            other = {"drug": "trial", "trial": "drug"}.get(kind)
            raise (self._elsewhere(exc, other) if other else exc) from None

    def _elsewhere(self, exc: NotFound, kind: str) -> NotFound:
        """A trial name given to `drug` (or the reverse), or a target given to `drug`, earns a pointer to the
        right command instead of a neighbour's name."""
        other = self.index(kind)
        hits = other.exact.get(normalise(exc.query))
        if hits and len(hits) == 1:
            name = other.labels[next(iter(hits))]
            return NotFound(exc.kind, exc.query, exc.suggestions, hint=f"{name} is a {kind}: try `immuno {kind} {exc.query}`")
        if exc.kind == "drug" and "target" in self._make:
            targets = self.index("target")
            hit = targets.exact.get(normalise(exc.query))
            if hit and len(hit) == 1:
                name = targets.labels[next(iter(hit))]
                return NotFound(exc.kind, exc.query, hint=f"{name} is a target: try `immuno compare --target {name}` "
                                                          "or `immuno list targets`")
        return exc

    def descendants(self, indication_id: str) -> set[str]:
        return descendants(self.parents, indication_id)
