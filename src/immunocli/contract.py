"""The JSON contract's envelope, apart from `serialize` so that writing it imports no model.

`SCHEMA_VERSION` changes only when a field is removed or changes meaning; new fields may appear at any
time (docs/json.md).
"""

SCHEMA_VERSION = 1


def envelope(kind: str, **body) -> dict:
    return {"schema_version": SCHEMA_VERSION, "kind": kind, **body}
