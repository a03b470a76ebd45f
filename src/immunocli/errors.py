"""Exceptions that carry a user-facing message, and the exit codes they map to.

The library raises these; only the CLI turns them into exit codes, so a notebook user gets a normal
exception and a shell user gets one clear line on stderr.
"""

from __future__ import annotations

from enum import IntEnum
from typing import NamedTuple


class ExitCode(IntEnum):
    OK = 0
    NOT_FOUND = 1
    BAD_INPUT = 2  # bad usage or bad data
    OUTPUT_ERROR = 74  # the answer could not be written: disk full, stdout closed, a bad --plot-file (EX_IOERR)
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)
    TERMINATED = 143  # SIGTERM (128 + SIGTERM); both clean up alike


def clip(text: str, limit: int = 80) -> str:
    """User input shortened for a message: a 100 kB argument is not echoed whole."""
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters)"


class Problem(NamedTuple):
    """One thing wrong in a knowledge file, located as precisely as the file allows.

    A NamedTuple, not a dataclass: every command imports this module, and `dataclasses` costs a look-up
    a millisecond it need not pay."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"

    def to_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "message": self.message}


class ImmunoError(Exception):
    exit_code = ExitCode.BAD_INPUT


class UsageError(ImmunoError):
    """The user asked for something that cannot be answered as asked."""


class DataError(ImmunoError):
    """The knowledge (bundled or the user's) is broken; lists every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        shown = "\n".join(str(p) for p in problems[:20])
        more = f"\n… and {len(problems) - 20} more (run `immuno validate`)" if len(problems) > 20 else ""
        super().__init__(f"{len(problems)} problem(s) in the knowledge files:\n{shown}{more}")


class NotFound(ImmunoError):
    """Nothing matched; carries near misses for a "did you mean" line."""

    exit_code = ExitCode.NOT_FOUND

    def __init__(self, kind: str, query: str, suggestions: list[str] | None = None, hint: str | None = None):
        self.kind, self.query, self.suggestions, self.hint = kind, query, suggestions or [], hint
        msg = f"no {kind} matches {clip(query)!r}"
        if hint:
            msg += f"; {hint}"
        elif self.suggestions:
            msg += "; did you mean: " + ", ".join(self.suggestions) + "?"
        super().__init__(msg)


class Ambiguous(ImmunoError):
    """Several records match equally well; the user must pick one."""

    exit_code = ExitCode.NOT_FOUND

    def __init__(self, kind: str, query: str, candidates: list[str]):
        self.kind, self.query, self.candidates = kind, query, candidates
        super().__init__(
            f"{clip(query)!r} matches several {kind}s: " + ", ".join(candidates) + "; be more specific"
        )
