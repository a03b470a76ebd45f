"""Name resolution: what people type (brand, code name, "KN-942", a typo) to a record id.

Exact and normalised look-ups are dictionary hits; RapidFuzz is imported only when they miss.
"""

from __future__ import annotations

import re
from typing import Callable, Iterable

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
        query = check_query(query)
        key = normalise(query)
        if not key:
            raise NotFound(self.kind, query)
        hits = self.exact.get(key)
        if hits and len(hits) == 1:
            return next(iter(hits))
        if hits:
            raise Ambiguous(self.kind, query, sorted(self.labels[h] for h in hits))
        prefixed = sorted({rid for name, ids in self.exact.items() if len(key) >= 3 and name.startswith(key)
                           for rid in ids}, key=lambda r: self.labels[r])
        if len(prefixed) == 1:
            return prefixed[0]
        if prefixed:
            raise Ambiguous(self.kind, query, [self.labels[r] for r in prefixed])
        close = self.fuzzy(key, scorer="ratio")
        strong = [(rid, score) for rid, score in close if score >= FUZZY_CUTOFF]
        if strong:
            top = [rid for rid, score in strong if strong[0][1] - score < 2]
            if len(top) == 1:
                return top[0]
            raise Ambiguous(self.kind, query, [self.labels[r] for r in top])
        loose = self.fuzzy(key, scorer="WRatio")
        raise NotFound(self.kind, query, [self.labels[r] for r, s in loose if s >= SUGGEST_CUTOFF][:3])

    def fuzzy(self, key: str, scorer: str = "ratio", limit: int = 5) -> list[tuple[str, float]]:
        """Best ids for a normalised key, by the best score of any of their names.

        `ratio` (edit similarity) decides a match: it forgives a typo but not a fragment. `WRatio` also
        scores fragments of long names, which is right for suggestions and wrong for answers.
        """
        from rapidfuzz import fuzz, process

        best: dict[str, float] = {}
        for name, score, _ in process.extract(key, list(self.exact), scorer=getattr(fuzz, scorer), limit=limit * 4,
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
        try:
            return self.index(kind).resolve(query)
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
