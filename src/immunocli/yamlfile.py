"""Safe YAML reading that remembers where every mapping and key came from.

Only the safe loader is used (a `!!python/object` tag is an error, never executed), timestamps stay
the strings the author wrote, and anchors/aliases are refused beyond a small number so that an
"alias bomb" cannot exhaust time or memory.
"""

from __future__ import annotations

import yaml

from .errors import Problem

MAX_BYTES = 5 * 1024 * 1024
MAX_ALIASES = 100

_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class Located(dict):
    """A mapping that knows the line of itself and of each of its keys (1-based)."""

    __slots__ = ("line", "key_lines")

    def line_of(self, key) -> int:
        return self.key_lines.get(key, self.line)


class _Loader(_Base):  # type: ignore[misc, valid-type]
    pass


def _mapping(loader: _Loader, node: yaml.MappingNode) -> Located:
    loader.flatten_mapping(node)
    out = Located()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key must be a plain value", key_node.start_mark) from None
        if key in out:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = key_node.start_mark.line + 1
    return out


def _timestamp_as_text(loader: _Loader, node: yaml.ScalarNode) -> str:
    return loader.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:map", _mapping)
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)


def read(path, display: str) -> tuple[object, Problem | None]:
    """Parse one file; on failure return a Problem naming the file and line, never raise."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        return None, Problem(display, None, f"cannot read: {exc.strerror or exc}")
    if len(raw) > MAX_BYTES:
        return None, Problem(display, None, f"file is larger than {MAX_BYTES // (1024 * 1024)} MiB")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return None, Problem(display, line, f"not UTF-8 text (byte 0x{raw[exc.start]:02x})")
    if "*" in text and "&" in text:
        problem = _too_many_aliases(text, display)
        if problem:
            return None, problem
    try:
        return yaml.load(text, Loader=_Loader), None  # noqa: S506 - _Loader derives from the safe loader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = exc.problem or exc.context or "invalid YAML"
        if "could not determine a constructor" in str(exc):
            what = "only plain YAML data is allowed: " + (exc.problem or "unknown tag")
        return None, Problem(display, mark.line + 1 if mark else None, f"YAML error: {what}")
    except yaml.YAMLError as exc:
        return None, Problem(display, None, f"YAML error: {exc}")
    except RecursionError:
        return None, Problem(display, None, "YAML nesting is too deep")


def _too_many_aliases(text: str, display: str) -> Problem | None:
    count = 0
    try:
        for event in yaml.parse(text, Loader=_Base):
            if isinstance(event, yaml.AliasEvent):
                count += 1
                if count > MAX_ALIASES:
                    line = event.start_mark.line + 1
                    return Problem(display, line, f"more than {MAX_ALIASES} YAML aliases; refusing to expand them")
    except yaml.YAMLError:
        return None  # the real parse reports it with its line
    return None
