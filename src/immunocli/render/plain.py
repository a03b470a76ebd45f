"""Long tables as aligned plain text: for a pipe or a file, and for more rows than Rich lays out quickly.

One line per row (a cell's line breaks become " · "), so `grep`, `head` and `sort` work on it; no
colour, no box, no wrapping. Imports nothing heavy: 100,000 rows print in well under a second.
"""

from __future__ import annotations

import sys
from typing import Iterable

from . import text as fmt

MAX_WIDTH = 48  # wider cells are printed whole; they just do not widen their column further


def flat(cell) -> str:
    """A cell on one line: its line breaks become " · "."""
    return "" if cell is None else str(cell).replace("\n", " · ")


def table(title: str, headers: list[str], rows: Iterable[list[str]], notes: Iterable[str] = (),
          flattened: bool = False) -> None:
    sys.stdout.write("\n".join([*_lines(title, headers, rows, flattened), *notes]) + "\n")
    sys.stdout.flush()


def _lines(title: str, headers: list[str], rows: Iterable[list[str]], flattened: bool = False) -> list[str]:
    heads = [h.replace("\n", " / ") for h in headers]
    cells = rows if flattened else [[flat(c) for c in row] for row in rows]
    cells = cells if isinstance(cells, list) else list(cells)
    widths = [min(MAX_WIDTH, max([len(h)] + [len(r[i]) for r in cells])) for i, h in enumerate(heads)]
    last = len(heads) - 1
    return [title, "  ".join(h.ljust(w) for h, w in zip(heads, widths)).rstrip(), "  ".join("-" * w for w in widths),
            *("  ".join(c if i == last else c.ljust(widths[i]) for i, c in enumerate(r)).rstrip() for r in cells)]


def comparison(payload: dict, cells: Iterable[list[str]] | None = None, count: int | None = None) -> None:
    """The comparison table; `cells` (compiled, already flat) spare parsing each row's JSON."""
    rows = payload.get("rows") or []
    count = len(rows) if count is None else count
    endpoint = payload["filters"].get("endpoint")
    notes = []
    if payload.get("explain"):
        notes.append("")
        notes += _lines("Derived figures", ["trial", "population", "figure", "value", "formula"],
                        [[r["trial"]["name"], r["population"], d["name"], f"{fmt.num(d['value'])} {d['unit']}",
                          d["formula"]] for r in rows for d in r["derived"]])
    notes += fmt.pooled_summary(payload.get("pooled"))
    notes.append(fmt.COMPARISON_NOTE)
    table(f"{count} result(s)" + (f" for {endpoint}" if endpoint else ""), fmt.COMPARISON_HEADERS,
          cells if cells is not None else (fmt.comparison_cells(r) for r in rows), notes, flattened=cells is not None)


def listing(payload: dict) -> None:
    items = payload["items"]
    if not items:
        sys.stdout.write(f"no {payload['what']}\n")
        return
    columns = [c for c in items[0] if c != "origin"]
    table(f"{len(items)} {payload['what']}", columns,
          ([", ".join(map(str, v)) if isinstance(v, list) else v for v in (item[c] for c in columns)] for item in items))


def hits(payload: dict) -> None:
    table(f"{len(payload['hits'])} match(es) for {payload['query']!r}", ["kind", "id", "name", "matched", "text"],
          ([h["kind"], h["id"], h["name"], h["field"], h["text"]] for h in payload["hits"]))
