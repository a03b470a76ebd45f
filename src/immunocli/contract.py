"""The JSON contract's envelope and layout, apart from `serialize` so that writing JSON imports no model.

`SCHEMA_VERSION` changes only when a field is removed or changes meaning; new fields may appear at any
time (docs/json.md).
"""

import json
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


def compact(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def to_json(payload: dict, items: Iterable[str] | None = None) -> str:
    return "".join(json_chunks(payload, items))


def json_chunks(payload: dict, items: Iterable[str] | None = None) -> Iterator[str]:
    """Indented JSON; a listing's items (comparison rows, list items, search hits) one compact item a line.

    One item a line keeps 100,000 rows quick to write (the C encoder; `items` may bring them already
    encoded, and they are streamed, never held) and easy to grep and diff; the envelope stays readable.
    """
    key = LIST_KEYS.get(payload.get("kind"))
    if key is None:
        yield json.dumps(payload, ensure_ascii=False, indent=2, allow_nan=False) + "\n"
        return
    yield "{"
    for number, (name, value) in enumerate(payload.items()):
        yield ("\n  " if number == 0 else ",\n  ") + json.dumps(name) + ": "
        if name != key:
            yield json.dumps(value, ensure_ascii=False, indent=2, allow_nan=False).replace("\n", "\n  ")
            continue
        count = 0
        for count, text in enumerate(map(compact, value) if items is None else items, 1):
            yield ("[\n    " if count == 1 else ",\n    ") + text
        yield "\n  ]" if count else "[]"
    yield "\n}\n"
