"""Search's ranking, apart from the model: the compiled file's indexed search reads stored fields and
ranks them here, so a search imports neither the model nor dataclasses (~30 ms of a start).

`queries.search_documents` says which fields of each record search reads; `search_hits` ranks them.
"""

from __future__ import annotations

from .index import check_query, normalise


class Hit:
    """One record a search found: where it matched, the text shown, how (exact | name | text | approximate)
    and its rank (lower first)."""

    __slots__ = ("kind", "id", "name", "field", "text", "how", "rank")

    def __init__(self, kind: str, id: str, name: str, field: str, text: str, how: str = "text", rank: int = 2):
        self.kind, self.id, self.name, self.field, self.text, self.how, self.rank = kind, id, name, field, text, how, rank

    def _values(self) -> tuple:
        return self.kind, self.id, self.name, self.field, self.text, self.how, self.rank

    def __eq__(self, other) -> bool:
        return type(other) is Hit and self._values() == other._values()

    __hash__ = None

    def __repr__(self) -> str:
        return "Hit(" + ", ".join(f"{name}={value!r}" for name, value in zip(self.__slots__, self._values())) + ")"


def hit(h: Hit) -> dict:
    """A hit in the JSON contract."""
    return {"kind": h.kind, "id": h.id, "name": h.name, "match": h.how, "field": h.field, "text": h.text}


def search_keys(fields: dict[str, list[str]]) -> dict[str, list[str]]:
    """A record's fields as search compares them (normalised); a compiled file stores them ready."""
    return {f: [normalise(v) for v in values if v] for f, values in fields.items()}


def generic_names(text: str, drugs) -> dict[str, str]:
    """The query's words that are a drug's brand, code or other alias (Keytruda, MK-3475), each with the
    drug's name: trial records name drugs by their generic names, so a brand also finds them."""
    out = {}
    for word in check_query(text).split():
        key = normalise(word)
        ids = drugs.exact.get(key) if key else None
        if ids and len(ids) == 1:
            name = drugs.labels.get(next(iter(ids)), "")
            if normalise(name) and normalise(name) != key:
                out[word] = name
    return out


def word_keys(text: str, drugs=None) -> list[tuple[str, ...]]:
    """Each word of a query, normalised, with what else it may be written as (`generic_names`)."""
    generic = generic_names(text, drugs) if drugs is not None else {}
    return [(key, normalise(generic[word])) if word in generic else (key,)
            for word in check_query(text).split() if (key := normalise(word))]


def search_hits(text: str, documents, every_document=None, drugs=None) -> list["Hit"]:
    """The records among `documents` holding all the words (a brand also as its drug's name: `drugs`, the
    drug name index), in any order and any field; exact names first, then names that hold the words, then
    other text; where nothing matches, close names among `every_document()` (default: `documents`, a list),
    marked `approximate`. A document may carry its `search_keys` as a fifth item."""
    query = check_query(text)
    alternatives = word_keys(query, drugs)
    whole = normalise(query)
    hits: list[Hit] = []

    def name_keys(keys: dict[str, list[str]]) -> list[str]:
        return [*keys.get("name", ()), *keys.get("aliases", ()), *keys.get("brands", ()), *keys.get("codes", ())]

    def consider(kind: str, rid: str, name: str, fields: dict[str, list[str]], keys=None) -> None:
        keys = keys if keys is not None else search_keys(fields)
        # every key in one text: a key holds only [0-9a-z], so a word never matches across the space
        every = " ".join([v for vs in keys.values() for v in vs])
        words = []  # each word as this record holds it (a brand, or its drug's name)
        for alts in alternatives:
            held = next((a for a in alts if a in every), None)
            if held is None:
                return
            words.append(held)
        names = name_keys(keys)
        if whole in names:
            rank, how, where = 0, "exact", "name"
        elif all(any(w in v for v in names) for w in words):  # shown: the name, alias, brand or code matched
            rank, how = 1, "name"
            where = next((f for f in ("name", "aliases", "brands", "codes") if any(words[0] in v for v in keys.get(f, ()))),
                         "name")
        else:
            rank, how = 2, "text"
            where = next(f for f, vs in keys.items() if any(words[0] in v for v in vs))
        shown = next((v for v in fields[where] if v and words[0] in normalise(v)), fields[where][0] if fields[where] else "")
        hits.append(Hit(kind, rid, name, where, shown, how, rank))

    documents = documents if every_document is not None else list(documents)
    for document in documents if alternatives else ():
        consider(*document)
    if not hits:  # close names, among every record (read again only now)
        pool = every_document() if every_document is not None else documents
        hits = approximate(whole, [(d[0], d[1], d[2], name_keys(d[4] if len(d) > 4 else search_keys(d[3])))
                                   for d in pool])
    hits.sort(key=lambda h: (h.rank, h.kind != "trial", h.name.casefold()))
    return hits


def approximate(key: str, names: list[tuple[str, str, str, list[str]]]) -> list["Hit"]:
    """Names close to a query that matched nothing (a typo), each marked approximate: a suggestion."""
    from rapidfuzz import fuzz, process

    choices = {n: (kind, rid, name) for kind, rid, name, keys in names for n in keys if len(n) > 2}
    found = process.extract(key, list(choices), scorer=fuzz.ratio, limit=5, processor=None)
    seen, out = set(), []
    for name_key, score, _ in found:
        kind, rid, name = choices[name_key]
        if score >= 75 and (kind, rid) not in seen:
            seen.add((kind, rid))
            out.append(Hit(kind, rid, name, "name", name, "approximate", 3))
    return out
