"""Safe YAML reading that remembers where every mapping and key came from.

Only the safe loader is used (a `!!python/object` tag is an error, never executed), and timestamps
stay the strings the author wrote. A knowledge file may be hostile, so reading it must end quickly with
at most one located problem: only regular files are opened (a FIFO or a device would hang or never
end), never more than 5 MiB, aliases may not expand past a node budget (an "alias bomb" of a few
hundred bytes would take minutes and gigabytes), integers are of sane length, control characters are
refused in the text and stripped from strings, and no message quotes a file that is not YAML or JSON.
"""

from __future__ import annotations

import os
import stat

import yaml

from . import sanitize
from .errors import Problem, clip

MAX_BYTES = 5 * 1024 * 1024
MAX_EXPANDED = 100_000  # nodes that aliases may add to a file (a few kB of data; a bomb adds billions)
MAX_DIGITS = 15  # an integer longer than this is no count, year or identifier of this knowledge
_EXTENSIONS = (".yaml", ".yml", ".json")

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


def _int(loader, node):
    if len(node.value.lstrip("+-").replace("_", "")) > MAX_DIGITS:
        raise yaml.constructor.ConstructorError(
            None, None, f"an integer of more than {MAX_DIGITS} digits", node.start_mark)
    return loader.construct_yaml_int(node)


_SCALARS = {
    "tag:yaml.org,2002:int": _int,
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
    raw, problem = _read_regular(path, display)
    if problem:
        return None, problem
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return None, Problem(display, line, f"not UTF-8 text (byte 0x{raw[exc.start]:02x})")
    control = sanitize.RAW_CONTROL.search(text)
    if control:  # YAML refuses these without a line; JSON would let C1 characters into strings
        line = text.count("\n", 0, control.start()) + 1
        return None, Problem(display, line, f"control character U+{ord(control.group()):04X} in the text")
    if str(path).endswith(".json") and not as_yaml:
        import json

        try:
            data = json.loads(text, object_pairs_hook=_unique_keys, parse_int=_json_int, parse_constant=_json_constant)
        except (_DuplicateKey, _BadNumber):
            return read(path, display, as_yaml=True)  # the YAML reading names the duplicate or number and its line
        except json.JSONDecodeError as exc:
            return None, Problem(display, exc.lineno, f"JSON error: {exc.msg}")
        except RecursionError:
            return None, Problem(display, None, "JSON nesting is too deep")
        if not isinstance(data, dict):
            return None, _not_a_mapping(display, data)
        escaped = sanitize.may_hide_controls(text)
        if escaped and sanitize.has_surrogate(data):
            return read(path, display, as_yaml=True)  # YAML refuses the lone surrogate's escape, with its line
        data = JsonText(sanitize.clean_data(data) if escaped else data)
        data.text = None if escaped else text  # cleaned data is re-encoded for the cache, not kept as written
        return data, None
    if "*" in text and "&" in text:
        problem = _alias_bomb(text, display)
        if problem:
            return None, problem
    try:
        data = _load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = exc.problem or exc.context or "invalid YAML"
        if "could not determine a constructor" in str(exc):
            what = "only plain YAML data is allowed: " + (exc.problem or "unknown tag")
        return None, Problem(display, mark.line + 1 if mark else None, f"YAML error: {what}")
    except yaml.YAMLError as exc:
        return None, Problem(display, None, f"YAML error: {getattr(exc, 'problem', None) or type(exc).__name__}")
    except RecursionError:
        return None, Problem(display, None, "YAML nesting is too deep")
    except ValueError:  # an out-of-range number the constructors could not make
        return None, Problem(display, None, "YAML error: a number that cannot be read")
    if not isinstance(data, dict):
        return None, _not_a_mapping(display, data)
    return (sanitize.clean_data(data) if sanitize.may_hide_controls(text) else data), None


def _read_regular(path, display: str) -> tuple[bytes | None, Problem | None]:
    """The bytes of a regular file of at most MAX_BYTES; anything else (a FIFO, device, socket, folder,
    or a link to one, or a link to a file that is not YAML/JSON) is a problem, found without blocking."""
    try:
        st = os.stat(path)  # follows a symbolic link; never opens, so a FIFO cannot hang it
        if not stat.S_ISREG(st.st_mode):
            return None, Problem(display, None, f"not a regular file ({_kind(st.st_mode)}); not read")
        if os.path.islink(path):
            target = os.path.realpath(path)
            if not target.endswith(_EXTENSIONS):
                return None, Problem(display, None, f"a symbolic link to {clip(sanitize.clean(target))}, "
                                                    "which is not a .yaml, .yml or .json file; not read")
        if st.st_size > MAX_BYTES:
            return None, _too_large(display)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        return None, Problem(display, None, f"cannot read: {exc.strerror or type(exc).__name__}")
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode) or (opened.st_dev, opened.st_ino) != (st.st_dev, st.st_ino):
            return None, Problem(display, None, "replaced while being opened; not read")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            raw = handle.read(MAX_BYTES + 1)  # a file that grows while being read stops here
    except OSError as exc:
        return None, Problem(display, None, f"cannot read: {exc.strerror or type(exc).__name__}")
    finally:
        os.close(fd)
    if len(raw) > MAX_BYTES:
        return None, _too_large(display)
    return raw, None


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a file"


def _too_large(display: str) -> Problem:
    return Problem(display, None, f"file is larger than {MAX_BYTES // (1024 * 1024)} MiB")


def _not_a_mapping(display: str, data) -> Problem:
    # Named by its type only: a file that is not knowledge (a key file behind a link) is never quoted.
    kind = {list: "a list", str: "text", type(None): "nothing"}.get(type(data), "a single value")
    return Problem(display, 1, f"expected a mapping of keys at the top level, got {kind}")


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


class _BadNumber(ValueError):
    pass


def _json_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise _BadNumber
    return int(text)


def _json_constant(name: str):
    raise _BadNumber  # NaN and Infinity are not JSON; the YAML reading reports them where they are


def _alias_bomb(text: str, display: str) -> Problem | None:
    """Refuse a file whose aliases would expand past MAX_EXPANDED nodes, from its parse events alone.

    Each anchored node's expanded size is known when it ends; each alias adds that size. Linear in the
    file's length, whatever the expansion (a 542-byte file of 80 aliases expands to 10^80 nodes).
    """
    sizes: dict[str, int] = {}
    stack: list[list] = []  # [anchor, expanded size] of each open collection
    added = 0
    try:
        for event in yaml.parse(text, Loader=_Base):
            kind = type(event)
            if kind is yaml.AliasEvent:
                size = sizes.get(event.anchor, 1)
                added += size
                if added > MAX_EXPANDED:
                    return Problem(display, event.start_mark.line + 1,
                                   f"YAML aliases expand to more than {MAX_EXPANDED:,} nodes; refusing to expand them")
            elif kind is yaml.ScalarEvent:
                size = 1
                if event.anchor:
                    sizes[event.anchor] = 1
            elif kind in (yaml.MappingStartEvent, yaml.SequenceStartEvent):
                stack.append([event.anchor, 1])
                continue
            elif kind in (yaml.MappingEndEvent, yaml.SequenceEndEvent):
                anchor, size = stack.pop()
                size = min(size, MAX_EXPANDED + 1)
                if anchor:
                    sizes[anchor] = size
            else:
                continue
            if stack:
                stack[-1][1] += size
    except yaml.YAMLError:
        return None  # the real parse reports it with its line
    return None
