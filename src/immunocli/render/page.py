"""Cards and tables as text that never crops or splits a figure, at any width or at none.

A view is built once as blocks (a title, lines, labelled fields, tables) and laid out here: at a
terminal's width (labels wrap at spaces, figures never; a table that does not fit, or any table below
`STACK_BELOW` columns, becomes one block per row), at its natural width when piped (nothing wraps, no
trailing spaces), or as Markdown. Imports nothing heavy: no Rich on a look-up's path.
"""

from __future__ import annotations

import re
import textwrap

STACK_BELOW = 100  # columns: below this a card's results are stacked, one result per block (other tables
# keep their columns while their figures fit)
NBSP = "\u00a0"  # joins the words of one figure ("0.56 (0.31–1.02)") so wrapping never parts them
GAP = 2
_ANSI = {"bold": "\x1b[1m", "dim": "\x1b[2m", "warn": "\x1b[1;33m"}


def keep(text: str) -> str:
    """A figure as one unbreakable word."""
    return text.replace(" ", NBSP)


class Block:
    """A piece of a page (plain classes: dataclasses cost a look-up ~3 ms to import)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(repr(getattr(self, k)) for k in self.__slots__)})"


class Title(Block):
    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text


class Line(Block):
    __slots__ = ("text", "style", "indent")

    def __init__(self, text: str, style: str | None = None, indent: int = 0):
        self.text, self.style, self.indent = text, style, indent


class Fields(Block):
    __slots__ = ("rows",)

    def __init__(self, rows: list[tuple[str, object]]):
        self.rows = rows


class Table(Block):
    """Columns of cells; `fixed` columns hold figures and never wrap; `stacked` is what to show instead
    when the table is stacked (blocks, or a function that makes them); `spaced` puts a blank line between
    rows of several lines."""

    __slots__ = ("title", "headers", "rows", "fixed", "stacked", "spaced")

    def __init__(self, title: str | None, headers: list[str], rows: list[list[str]], fixed: set[int] = frozenset(),
                 stacked: list | None = None, spaced: bool = False):
        self.title, self.headers, self.rows, self.fixed = title, headers, rows, set(fixed)
        self.stacked, self.spaced = stacked, spaced


# In prose, a number keeps the word after it ("25.6 months", "3 mg/kg", "every 3 weeks") and "×" its number.
_GLUED = re.compile(r"(?<=\d) (?=[^\W\d_][^\s]{0,11}(?:\s|$))|(?<=×) (?=\d)")  # a short word: a unit


def wrap(text: str, width: int | None, indent: int = 0, hang: int = 0) -> list[str]:
    """Lines of at most `width` (None: one line), broken only at plain spaces, never between a number and
    its unit."""
    text = text or ""
    if width is None or (indent + len(text) <= width and "\n" not in text):  # the common case, quickly
        lines = [" " * indent + text]
    else:
        lines = textwrap.wrap(_GLUED.sub(NBSP, text), max(width, 10), initial_indent=" " * indent,
                              subsequent_indent=" " * (indent + hang), break_long_words=False,
                              break_on_hyphens=False) or [""]
    return [line.replace(NBSP, " ") for line in lines]


def _value(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value))
    return str(value)


def _present(value) -> bool:
    return value not in (None, "", [], ())


def lines(blocks: list, width: int | None = None, style: bool = False) -> list[str]:
    """Lay the blocks out at `width` columns, or at natural width when None (piped)."""
    out: list[str] = []

    def paint(text: str, how: str | None) -> str:
        return f"{_ANSI[how]}{text}\x1b[0m" if style and how and text else text

    for block in blocks:
        if isinstance(block, Title):
            out += [paint(t, "bold") for t in wrap(block.text, width)]
        elif isinstance(block, Line):
            out += [paint(t, block.style) for t in wrap(block.text, width, block.indent, 2)]
        elif isinstance(block, Fields):
            rows = [(label, _value(v)) for label, v in block.rows if _present(v)]
            if not rows:
                continue
            pad = min(max(len(label) for label, _ in rows), 14) + GAP
            for label, value in rows:
                if width is not None and width - pad < 30:
                    out.append(paint(label, "bold"))
                    out += wrap(value, width, 2, 0)
                    continue
                body = wrap(value, None if width is None else width - pad)
                first = label.ljust(pad) if len(label) < pad else label + " " * GAP
                out.append((paint(label, "bold") + first[len(label):] + body[0]).rstrip())
                out += [" " * pad + b for b in body[1:]]
        elif isinstance(block, Table):
            out += _table(block, width, style, paint)
    # a figure's joining spaces are plain spaces again in what is written: grep "HR 0.56" must find it
    return [line.rstrip().replace(NBSP, " ") for line in out]


def _table(block: Table, width: int | None, style: bool, paint) -> list[str]:
    columns = [i for i in range(len(block.headers)) if any(_present(r[i]) for r in block.rows)]
    if not columns:
        return []
    head = [paint(t, "bold") for t in wrap(block.title, width)] if block.title else []
    narrow = width is not None and width < STACK_BELOW and block.stacked is not None and not block.spaced
    grid = None if narrow else _grid(block, columns, width)
    if grid is None:
        return head + _stacked(block, columns, width, paint, style)
    rule = next(k for k, line in enumerate(grid) if line.startswith("─"))
    return head + [paint(line, "bold") for line in grid[:rule]] + grid[rule:]


def _cell_lines(cell) -> list[str]:
    return str(cell).split("\n") if _present(cell) else [""]


def _grid(block: Table, columns: list[int], width: int | None) -> list[str] | None:
    """Aligned columns; labels wrap to fit `width`, figures never. None when the figures alone do not fit."""
    if width is None:
        quick = _one_line_grid(block, columns)
        if quick is not None:
            return quick
    heads = {i: block.headers[i].split("\n") for i in columns}
    cells = [[_cell_lines(r[i]) for i in columns] for r in block.rows]  # each cell's lines, split once
    natural = {i: max([len(h) for h in heads[i]] + [len(line) for r in cells for line in r[k]])
               for k, i in enumerate(columns)}
    widths = dict(natural)
    if width is not None:
        least = {i: natural[i] if i in block.fixed else
                 max([len(w) for r in cells for line in r[k] for w in line.split(" ")]
                     + [len(h) for h in heads[i]] + [min(natural[i], 12)]) for k, i in enumerate(columns)}
        room = width - GAP * (len(columns) - 1) - 1
        if sum(least.values()) > room:
            return None
        spare = room - sum(least.values())
        want = {i: natural[i] - least[i] for i in columns}
        total = sum(want.values())
        widths = {i: least[i] + (want[i] if total <= spare else want[i] * spare // total) for i in columns}
    fitted = [widths[i] for i in columns]

    def fit(i: int, parts: list[str]) -> list[str]:
        if width is None or i in block.fixed:
            return parts
        return [piece for line in parts for piece in ([line] if len(line) <= widths[i] else wrap(line, widths[i]))]

    def row_lines(parts_of: list[list[str]]) -> list[str]:
        parts = [fit(i, p) for i, p in zip(columns, parts_of)]
        if all(len(p) == 1 for p in parts):  # the common case: one line a row
            return ["  ".join(p[0].ljust(w) for p, w in zip(parts, fitted)).rstrip()]
        height = max(len(p) for p in parts)
        return ["  ".join((p[k] if k < len(p) else "").ljust(w) for p, w in zip(parts, fitted)).rstrip()
                for k in range(height)]

    return [*row_lines([heads[i] for i in columns]),
            "  ".join("─" * widths[i] for i in columns),
            *(line for k, r in enumerate(cells)
              for line in ([""] if block.spaced and k else []) + row_lines(r))]


def _one_line_grid(block: Table, columns: list[int]) -> list[str] | None:
    """Piped, a table whose every cell is one line (a drug card's thousands of trials): padded as they are.
    None when a cell or header has several lines."""
    rows = [[str(r[i]) if _present(r[i]) else "" for i in columns] for r in block.rows]  # as _cell_lines
    heads = [block.headers[i] for i in columns]
    if any("\n" in c for row in rows for c in row) or any("\n" in h for h in heads):
        return None
    widths = [max(map(len, column)) for column in zip(heads, *rows)]
    last = len(widths) - 1

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if k < last else c for k, (c, w) in enumerate(zip(cells, widths))).rstrip()

    return [line(heads), "  ".join("─" * w for w in widths), *map(line, rows)]


def _stacked(block: Table, columns: list[int], width: int | None, paint, style: bool) -> list[str]:
    """One block per row: its first cell, then "header value" pairs on as few lines as fit."""
    if block.stacked is not None:
        return lines(block.stacked() if callable(block.stacked) else block.stacked, width, style)
    out = []
    first, rest = columns[0], columns[1:]
    for r in block.rows:
        out.append(paint(" · ".join(_cell_lines(r[first])), "bold"))
        pairs = []
        for i in rest:
            if _present(r[i]):
                value = "; ".join(_cell_lines(r[i]))
                pairs.append(keep(block.headers[i].replace("\n", " / ") + " ") + (keep(value) if i in block.fixed
                                                                                   else value))
        if pairs:
            out += wrap(" · ".join(pairs), width, 2, 2)
    return out


def _md(text) -> str:
    """Text that stays text in Markdown: HTML escaped, no link but the bare http(s) of a source (flat's rule)."""
    from .flat import markdown_text

    return "<br>".join(markdown_text(line) for line in _value(text).split("\n"))


def markdown(blocks: list) -> str:
    """The same blocks as Markdown: a heading, paragraphs, a field list and pipe tables."""
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Title):
            out += [f"## {_md(block.text)}", ""]
        elif isinstance(block, Line):
            if block.text.strip():  # a blank line is spacing on a terminal; Markdown has its own
                out += [("*" + _md(block.text) + "*") if block.style == "dim" else _md(block.text), ""]
        elif isinstance(block, Fields):
            rows = [f"- **{_md(label)}**: {_md(v)}" for label, v in block.rows if _present(v)]
            out += [*rows, ""] if rows else []
        elif isinstance(block, Table):
            columns = [i for i in range(len(block.headers)) if any(_present(r[i]) for r in block.rows)]
            if not columns:
                continue
            if block.title:
                out += [f"**{_md(block.title)}**", ""]
            out.append("| " + " | ".join(_md(block.headers[i].replace("\n", " / ")) for i in columns) + " |")
            out.append("|" + "---|" * len(columns))
            out += ["| " + " | ".join(_md(r[i]) if _present(r[i]) else "" for i in columns) + " |" for r in block.rows]
            out.append("")
    return "\n".join(out).rstrip("\n").replace(NBSP, " ") + "\n"
