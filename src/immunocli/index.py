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


def _prefix_at_boundary(name: str, key: str) -> bool:
    """Does `key` end where a token of `name` ends? "cartitude" in "cartitude1" yes; "keynote16" in
    "keynote164" never (a number is matched whole); a word prefix only in a name without numbers."""
    if len(key) < 3 or len(name) <= len(key) or not name.startswith(key):
        return False
    last, following = key[-1], name[len(key)]
    if last.isdigit() != following.isdigit():
        return True
    return not last.isdigit() and len(key) >= MIN_LETTER_PREFIX and not digit_runs(name)


class NameIndex:
    """Maps normalised names to ids for one kind of record."""

    __slots__ = ("kind", "exact", "labels")

    def __init__(self, kind: str, exact: dict[str, set[str]], labels: dict[str, str]):
        self.kind = kind
        self.exact = exact
        self.labels = labels  # id -> display name

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
                        if key.startswith(long) and key[len(long):].isdigit():
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
        prefixed = sorted({rid for name, ids in self.exact.items() if _prefix_at_boundary(name, key) for rid in ids},
                          key=lambda r: self.labels[r])
        if len(prefixed) == 1:
            return Match(prefixed[0], "prefix", query, self.labels[prefixed[0]])
        if prefixed:
            raise Ambiguous(self.kind, query, [self.labels[r] for r in prefixed])
        close = self.fuzzy(key, scorer="ratio")
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

    def fuzzy(self, key: str, scorer: str = "ratio", limit: int = 5,
              same_numbers: bool = True) -> list[tuple[str, float]]:
        """Best ids for a normalised key, by the best score of any of their names.

        `ratio` (edit similarity) decides a match: it forgives a typo but not a fragment, and only among
        names with the query's numbers (KEYNOTE-043 is never a typo of KEYNOTE-042). `WRatio` also
        scores fragments of long names, which is right for suggestions and wrong for answers.
        """
        from rapidfuzz import fuzz, process

        numbers = digit_runs(key)
        choices = [name for name in self.exact if not _NCT.match(name)
                   and (not same_numbers or digit_runs(name) == numbers)]
        best: dict[str, float] = {}
        for name, score, _ in process.extract(key, choices, scorer=getattr(fuzz, scorer), limit=limit * 4,
                                              processor=None):
            if len(name) < 3 and name != key:
                continue  # two-letter abbreviations match everything
            for rid in self.exact[name]:
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
        """A trial name given to `drug` (or the reverse) earns a pointer to the right command."""
        other = self.index(kind)
        hits = other.exact.get(normalise(exc.query))
        if hits and len(hits) == 1:
            name = other.labels[next(iter(hits))]
            return NotFound(exc.kind, exc.query, exc.suggestions, hint=f"{name} is a {kind}: try `immuno {kind} {exc.query}`")
        return exc

    def descendants(self, indication_id: str) -> set[str]:
        return descendants(self.parents, indication_id)
