"""Safe YAML reading that remembers where every mapping and key came from.

Only the safe loader is used (a `!!python/object` tag is an error, never executed), timestamps stay
the strings the author wrote, and anchors/aliases are refused beyond a small number so that an
"alias bomb" cannot exhaust time or memory.
"""

from __future__ import annotations

import os

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
    """Composes nodes in C; `_construct` below turns them into data without PyYAML's generic machinery."""

    _tags: dict = {}

    def resolve(self, kind, value, implicit):
        # Plain scalars resolve by their text alone ("ITT", "0.53", "true"): remember the answer.
        if kind is yaml.ScalarNode and implicit[0]:
            tag = self._tags.get(value)
            if tag is None:
                if len(self._tags) > 50_000:
                    self._tags.clear()
                tag = self._tags[value] = super().resolve(kind, value, implicit)
            return tag
        return super().resolve(kind, value, implicit)


_STR, _MAP, _SEQ = "tag:yaml.org,2002:str", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"
_SCALARS = {
    "tag:yaml.org,2002:int": _Base.construct_yaml_int,
    "tag:yaml.org,2002:float": _Base.construct_yaml_float,
    "tag:yaml.org,2002:bool": _Base.construct_yaml_bool,
    "tag:yaml.org,2002:null": lambda loader, node: None,
    "tag:yaml.org,2002:timestamp": lambda loader, node: node.value,  # dates stay the text the author wrote
}


def _construct(loader: _Loader, node):
    tag = node.tag
    if tag == _STR:
        return node.value
    if tag == _MAP:
        return _mapping(loader, node)
    if tag == _SEQ:
        return [_construct(loader, item) for item in node.value]
    make = _SCALARS.get(tag)
    if make is None or not isinstance(node, yaml.ScalarNode):
        raise yaml.constructor.ConstructorError(
            None, None, f"could not determine a constructor for the tag {tag!r}", node.start_mark)
    return make(loader, node)


def _mapping(loader: _Loader, node: yaml.MappingNode) -> Located:
    if any(k.tag == "tag:yaml.org,2002:merge" for k, _ in node.value):
        loader.flatten_mapping(node)
    out = Located()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    for key_node, value_node in node.value:
        key = _construct(loader, key_node)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key must be a plain value", key_node.start_mark) from None
        if key in out:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark)
        out[key] = _construct(loader, value_node)
        out.key_lines[key] = key_node.start_mark.line + 1
    return out


def _load(text: str):
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        return None if node is None else _construct(loader, node)
    finally:
        loader.dispose()


def read(path, display: str, as_yaml: bool = False) -> tuple[object, Problem | None]:
    """Parse one file; on failure return a Problem naming the file and line, never raise.

    A .json file is read with the json module (many times faster; JSON is a subset of YAML), unless
    `as_yaml` asks for the line-remembering YAML reading, which the loader does when a file has problems.
    """
    try:
        with open(path, "rb") as handle:
            # read(n) would allocate n bytes for every small file; ask the size, then read what is there
            if os.fstat(handle.fileno()).st_size > MAX_BYTES:
                return None, Problem(display, None, f"file is larger than {MAX_BYTES // (1024 * 1024)} MiB")
            raw = handle.read()
    except OSError as exc:
        return None, Problem(display, None, f"cannot read: {exc.strerror or exc}")
    if len(raw) > MAX_BYTES:  # grew while being read
        return None, Problem(display, None, f"file is larger than {MAX_BYTES // (1024 * 1024)} MiB")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return None, Problem(display, line, f"not UTF-8 text (byte 0x{raw[exc.start]:02x})")
    if str(path).endswith(".json") and not as_yaml:
        import json

        try:
            data = json.loads(text, object_pairs_hook=_unique_keys)
            if isinstance(data, dict):
                data = JsonText(data)
                data.text = text
            return data, None
        except _DuplicateKey:
            return read(path, display, as_yaml=True)  # the YAML reading names the duplicate and its line
        except json.JSONDecodeError as exc:
            return None, Problem(display, exc.lineno, f"JSON error: {exc.msg}")
        except RecursionError:
            return None, Problem(display, None, "JSON nesting is too deep")
    if "*" in text and "&" in text:
        problem = _too_many_aliases(text, display)
        if problem:
            return None, problem
    try:
        return _load(text), None
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


class JsonText(dict):
    """A JSON file's top-level object with the text it came from: the compiled cache keeps the text as is."""

    __slots__ = ("text",)


class _DuplicateKey(ValueError):
    pass


def _unique_keys(pairs: list) -> dict:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise _DuplicateKey
    return out


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
