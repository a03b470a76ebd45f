"""The JSON contract's envelope and layout, apart from `serialize` so that writing JSON imports no model.

`SCHEMA_VERSION` changes only when a field is removed or changes meaning; new fields may appear at any
time (docs/json.md).
"""

import json
from json.encoder import encode_basestring
from typing import Iterable, Iterator

SCHEMA_VERSION = 2
LIST_KEYS = {"comparison": "rows", "list": "items", "search": "hits"}


def envelope(kind: str, knowledge_as_of: str | None = None, **body) -> dict:
    """Every document opens alike; `knowledge_as_of` may be stamped later by whoever knows the knowledge."""
    return {"schema_version": SCHEMA_VERSION, "kind": kind, "knowledge_as_of": knowledge_as_of, **body}


def stamp(payload: dict, knowledge_as_of: str | None) -> dict:
    """The document with its knowledge date (kept in place, after `kind`)."""
    if knowledge_as_of and "kind" in payload:
        payload = envelope(payload["kind"], knowledge_as_of,
                           **{k: v for k, v in payload.items() if k not in ("schema_version", "kind", "knowledge_as_of")})
    return payload


class Encoded:
    """A list whose items are kept as the indented JSON they are written as (each at depth 0), decoded only
    when read: a card of thousands of trials is written as it was compiled, not decoded and encoded again.
    `cells` are each item's table cells as render.cards makes them from the same item; the texts may be
    read only when first wanted (`load(keys)`, which its maker may wrap), so that a table never reads them."""

    __slots__ = ("_texts", "cells", "_keys", "load")

    def __init__(self, texts: list[str] | None, cells: list[list[str]], keys: list | None = None, load=None):
        self._texts, self.cells, self._keys, self.load = texts, cells, keys, load

    @property
    def texts(self) -> list[str]:
        if self._texts is None:
            self._texts = self.load(self._keys)
        return self._texts

    def __len__(self) -> int:
        return len(self.cells)

    def __bool__(self) -> bool:
        return bool(self.cells)

    def __getitem__(self, at):
        if isinstance(at, slice):
            if self._texts is None:
                return Encoded(None, self.cells[at], self._keys[at], self.load)
            return Encoded(self._texts[at], self.cells[at])
        return json.loads(self.texts[at])

    def __iter__(self):
        return map(json.loads, self.texts)

    def __eq__(self, other) -> bool:
        return list(self) == list(other)

    def __repr__(self) -> str:
        return f"Encoded({len(self.cells)} items)"

    def written(self, pad: str) -> str:
        """The list as `indented` writes it at this depth (JSON strings hold no raw newline)."""
        if not self.cells:
            return "[]"
        inner = pad + "  "
        step = "\n" + inner
        return "[" + step + ("," + step).join(t.replace("\n", step) for t in self.texts) + "\n" + pad + "]"


def _listed(value):
    """json.dumps's fallback for an Encoded list."""
    if type(value) is Encoded:
        return list(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def compact(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=_listed)


def indented(value) -> str:
    """`json.dumps(value, ensure_ascii=False, indent=2, allow_nan=False)`, byte for byte, about three times
    quicker: with an indent Python's json uses its pure-Python encoder (a generator per container), and a
    drug card of a thousand trials is a million values. Anything unusual (a non-string key, a subclass, a
    NaN, a cycle) is left to json.dumps, which writes it or raises as it always did."""
    parts: list[str] = []
    add = parts.append
    text = encode_basestring

    def scalar(o) -> str | None:
        kind = type(o)
        if kind is str:
            return text(o)
        if o is None:
            return "null"
        if kind is bool:
            return "true" if o else "false"
        if kind is int:
            return int.__repr__(o)
        if kind is float and o - o == 0:  # finite
            return float.__repr__(o)
        return None

    def walk(o, pad: str) -> None:
        kind = type(o)
        if kind is dict:
            if not o:
                add("{}")
                return
            inner = pad + "  "
            sep = "{\n" + inner
            for key, item in o.items():
                if type(key) is not str:
                    raise _Unusual
                done = scalar(item)
                if done is not None:
                    add(sep + text(key) + ": " + done)
                elif type(item) in (dict, list, tuple):
                    add(sep + text(key) + ": ")
                    walk(item, inner)
                elif type(item) is Encoded:
                    add(sep + text(key) + ": " + item.written(inner))
                else:
                    raise _Unusual
                sep = ",\n" + inner
            add("\n" + pad + "}")
        elif kind is list or kind is tuple:
            if not o:
                add("[]")
                return
            inner = pad + "  "
            sep = "[\n" + inner
            for item in o:
                done = scalar(item)
                if done is not None:
                    add(sep + done)
                elif type(item) in (dict, list, tuple):
                    add(sep)
                    walk(item, inner)
                elif type(item) is Encoded:
                    add(sep + item.written(inner))
                else:
                    raise _Unusual
                sep = ",\n" + inner
            add("\n" + pad + "]")
        else:
            done = scalar(o)
            if done is None:
                raise _Unusual
            add(done)

    try:
        walk(value, "")
    except (_Unusual, RecursionError):
        return json.dumps(value, ensure_ascii=False, indent=2, allow_nan=False, default=_listed)
    finally:
        walk = None  # noqa: F841 - the recursive closure refers to itself: a cycle that would keep `parts`
        # alive until the collector runs, and the compiler, writing 100,000 summaries, runs with it off
    return "".join(parts)


class _Unusual(Exception):
    """A value `indented` leaves to json.dumps."""


def to_json(payload: dict, items: Iterable[str] | None = None) -> str:
    return "".join(json_chunks(payload, items))


def json_chunks(payload: dict, items: Iterable[str] | None = None) -> Iterator[str]:
    """Indented JSON; a listing's items (comparison rows, list items, search hits) one compact item a line.

    One item a line keeps 100,000 rows quick to write (the C encoder; `items` may bring them already
    encoded, and they are streamed, never held) and easy to grep and diff; the envelope stays readable.
    """
    key = LIST_KEYS.get(payload.get("kind"))
    if key is None:
        yield indented(payload) + "\n"
        return
    yield "{"
    for number, (name, value) in enumerate(payload.items()):
        yield ("\n  " if number == 0 else ",\n  ") + json.dumps(name) + ": "
        if name != key:
            yield indented(value).replace("\n", "\n  ")
            continue
        count = 0
        for count, text in enumerate(map(compact, value) if items is None else items, 1):
            yield ("[\n    " if count == 1 else ",\n    ") + text
        yield "\n  ]" if count else "[]"
    yield "\n}\n"
