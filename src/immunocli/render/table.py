"""The `table` format: a card or table laid out for the terminal (paged when taller than it), or, piped,
the card at its natural width and a listing as TSV, with counts and the caution on stderr.

Plain text with ANSI bold only on a terminal: no Rich on a look-up's path, and nothing Rich could crop.
"""

from __future__ import annotations

import os
import shutil
import sys

from . import cards, page
from . import text as fmt

CARDS = {"trial_card": cards.trial_card, "drug_card": cards.drug_card, "endpoint_card": cards.endpoint_card,
         "indication_card": cards.indication_card, "biomarker_card": cards.biomarker_card,
         "irae_card": cards.irae_card}


def terminal() -> bool:
    return sys.stdout.isatty()


def width() -> int:
    return shutil.get_terminal_size().columns


def _style() -> bool:
    return terminal() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def blocks(name: str, payload: dict, **options) -> list:
    options.pop("all", None)
    if name not in ("drug_card", "indication_card"):
        options.pop("limit", None)
    return CARDS[name](payload, **options)


CARD_LIMIT = 25  # trials or approvals a drug or indication card lists on a terminal, unless --all or --limit


def card(name: str, payload: dict, pager: bool = True, **options) -> None:
    """A card: laid out for the terminal, or whole at its natural width when piped."""
    on_terminal = terminal()
    if name in ("drug_card", "indication_card") and options.get("limit") is None and on_terminal \
            and not options.get("all"):
        options["limit"] = CARD_LIMIT
    out = page.lines(blocks(name, payload, **options), width() if on_terminal else None, _style())
    show("\n".join(out) + "\n", pager and on_terminal)


def listing(title: str, tables: list, notes: list[str], pager: bool = True) -> None:
    """A listing on the terminal: its count, its tables, its notes (pooled HR, caution)."""
    w = width()
    style = _style()
    blocks_ = [page.Line(title, "bold"), *tables, *(page.Line(n, _note_style(n)) for n in notes)]
    show("\n".join(page.lines(blocks_, w, style)) + "\n", pager)


def _note_style(note: str) -> str | None:
    return "warn" if note.startswith("Warning") else "dim" if note.startswith(("Not pooled", "Medians", "Knowledge")) \
        else "bold" if note.startswith("Pooled HR") else None


def comparison_notes(payload: dict) -> list[str]:
    notes = fmt.pooled_summary(payload.get("pooled"))
    as_of = payload.get("knowledge_as_of")
    return notes + [fmt.COMPARISON_NOTE + (f" Knowledge as of {as_of}." if as_of else "")]


def show(text: str, pager: bool = True) -> None:
    """Write to stdout, through a pager (as git: IMMUNO_PAGER, PAGER, else `less -FRX`) when the text is
    taller than the terminal; never when piped."""
    if pager and terminal() and text.count("\n") >= shutil.get_terminal_size().lines:
        command = os.environ.get("IMMUNO_PAGER", os.environ.get("PAGER", "less -FRX")).strip()
        if command and command != "cat" and _through(command, text):
            return
    sys.stdout.write(text)
    sys.stdout.flush()


def _through(command: str, text: str) -> bool:
    import subprocess

    env = dict(os.environ)
    env.setdefault("LESS", "FRX")
    try:
        process = subprocess.Popen(command, shell=True, stdin=subprocess.PIPE, env=env)
    except OSError:
        return False
    try:
        process.stdin.write(text.encode(sys.stdout.encoding or "utf-8", "replace"))
        process.stdin.close()
    except BrokenPipeError:  # the reader quit the pager early: the answer was shown
        pass
    except KeyboardInterrupt:
        pass
    while True:
        try:
            process.wait()
            break
        except KeyboardInterrupt:  # as git: the pager handles ^C; wait for it to exit
            continue
    return True


def tsv(headers: list[str], rows, with_headers: bool = True, compiled: bool = False) -> None:
    """Untruncated tab-separated values, one header row (as gh prints when piped); tabs and line breaks in a
    cell become spaces and " · ". `compiled` cells are so already (the cache made them): joined as they are."""
    write = sys.stdout.write
    if with_headers:
        write("\t".join(headers) + "\n")
    if compiled:
        sys.stdout.writelines("\t".join(row) + "\n" for row in rows)
    else:
        for row in rows:
            if all(type(c) is str for c in row):  # the common row: plain text, nothing to replace
                line = "\t".join(row)
                if "\n" not in line and "\r" not in line and line.count("\t") == len(row) - 1:
                    write(line + "\n")
                    continue
            write("\t".join(_tsv_cell(c) for c in row) + "\n")
    sys.stdout.flush()


def _tsv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        value = ", ".join(map(str, value))
    return str(value).replace("\t", " ").replace("\r", "").replace("\n", " · ")


def listing_rows(payload: dict) -> tuple[list[str], list[list]]:
    """A list or search payload as TSV headers and rows."""
    if payload["kind"] == "search":
        return ["kind", "id", "name", "match", "in", "text"], [
            [h["kind"], h["id"], h["name"], h.get("match", ""), h["field"], h["text"]] for h in payload["hits"]]
    items = payload["items"]
    columns = [c for c in (items[0] if items else {}) if c != "origin"]
    return columns, [[item[c] for c in columns] for item in items]


def notice(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()
