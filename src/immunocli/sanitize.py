"""Text from knowledge files and file names made safe to print, at the point where it enters.

Every view (Rich, plain, JSON, CSV, Markdown, problem messages) is written from parsed strings, so one
cleaning here covers views that do not exist yet. A knowledge file may carry an escape sequence only
through an escape in a quoted string (`"\\e"` in YAML, `"\\u001b"` in JSON) or a raw C1 character in
JSON: the whole text is searched once, and only a file with such a sign is walked string by string.
"""

from __future__ import annotations

import re

# C0 controls but tab, newline and carriage return (a line break in the text), DEL, and C1.
RAW_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# In a parsed string, carriage return too: it rewrites the terminal line it is printed on.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
SURROGATE = re.compile(r"[\ud800-\udfff]")
_SUSPECT = re.compile(r"[\\\x7f-\x9f]")  # an escape, or a raw DEL/C1 (JSON allows them in strings)


def clean(text: str) -> str:
    """`text` without C0/C1 control characters (tab and newline kept)."""
    return CONTROL.sub("", text) if CONTROL.search(text) else text


def may_hide_controls(text: str) -> bool:
    """Could parsing this file's text yield a control character or a lone surrogate?"""
    return _SUSPECT.search(text) is not None


def clean_data(value):
    """Parsed data with every string (keys too) cleaned; mappings keep their type and line numbers."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, dict):
        out = type(value)()
        for slot in getattr(type(value), "__slots__", ()):
            if hasattr(value, slot):
                setattr(out, slot, getattr(value, slot))
        for key, item in value.items():
            out[clean(key) if isinstance(key, str) else key] = clean_data(item)
        return out
    if isinstance(value, list):
        return [clean_data(item) for item in value]
    return value


def has_surrogate(value) -> bool:
    """Does any string (or key) hold a lone surrogate, which no output can encode?"""
    if isinstance(value, str):
        return SURROGATE.search(value) is not None
    if isinstance(value, dict):
        return any(has_surrogate(k) or has_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(map(has_surrogate, value))
    return False
