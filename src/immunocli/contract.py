"""The JSON contract's envelope and layout, apart from `serialize` so that writing JSON imports no model.

`SCHEMA_VERSION` changes only when a field is removed or changes meaning; new fields may appear at any
time (docs/json.md).
"""

import json
from typing import Iterable

SCHEMA_VERSION = 1
LIST_KEYS = {"comparison": "rows", "list": "items", "search": "hits"}


def envelope(kind: str, **body) -> dict:
    return {"schema_version": SCHEMA_VERSION, "kind": kind, **body}


def compact(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def to_json(payload: dict, items: Iterable[str] | None = None) -> str:
    """Indented JSON; a listing's items (comparison rows, list items, search hits) one compact item a line.

    One item a line keeps 100,000 rows quick to write (the C encoder; `items` may bring them already
    encoded) and easy to grep and diff, while the envelope stays readable.
    """
    key = LIST_KEYS.get(payload.get("kind"))
    if key is None:
        return json.dumps(payload, ensure_ascii=False, indent=2) + "\n"
    lines = []
    for name, value in payload.items():
        if name == key:
            body = ",\n    ".join(map(compact, value) if items is None else items)
            lines.append(f"  {json.dumps(name)}: [\n    {body}\n  ]" if body else f"  {json.dumps(name)}: []")
        else:
            lines.append(f"  {json.dumps(name)}: " + json.dumps(value, ensure_ascii=False, indent=2).replace("\n", "\n  "))
    return "{\n" + ",\n".join(lines) + "\n}\n"
