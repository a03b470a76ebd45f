"""A table cell on one line, for compiled cells and TSV: its line breaks become " · "."""

from __future__ import annotations


def flat(cell) -> str:
    """A cell on one line: its line breaks become " · "."""
    return "" if cell is None else str(cell).replace("\n", " · ")
