"""Shell completion: trial and drug names and every option's values, read from the compiled knowledge.

Each function takes what the user has typed so far and returns the names that start with it (case,
spaces and hyphens aside), so `immuno trial keyn<TAB>` offers the KEYNOTE trials.
"""

from __future__ import annotations


def _compiled():
    from .cache import Compiled
    from .layout import data_dirs

    return Compiled(data_dirs())


def _key(text: str) -> str:
    return "".join(c for c in text.casefold() if c.isalnum())  # leading zeros kept: "keynote-0" → KEYNOTE-024


def _starting(names, incomplete: str) -> list[str]:
    key = _key(incomplete or "")
    return sorted({n for n in names if n and _key(n).startswith(key)}, key=str.casefold)[:200]


def _labels(kind: str) -> list[str]:
    try:
        compiled = _compiled()
        if kind == "trial":
            return [name for (name,) in compiled.db.execute("SELECT name FROM trials")]
        return list(compiled.names().index(kind).labels.values())
    except Exception:  # noqa: BLE001 - completion must never print a traceback into the shell
        return []


def trials(incomplete: str) -> list[str]:
    return _starting(_labels("trial"), incomplete)


def drugs(incomplete: str) -> list[str]:
    return _starting(_labels("drug"), incomplete)


def endpoints(incomplete: str) -> list[str]:
    try:
        return _starting(_compiled().names().index("endpoint").labels, incomplete)  # ids: OS, PFS …
    except Exception:  # noqa: BLE001
        return []


def indications(incomplete: str) -> list[str]:
    try:
        return _starting(_compiled().names().index("indication").labels, incomplete)
    except Exception:  # noqa: BLE001
        return []


def targets(incomplete: str) -> list[str]:
    return _starting(_labels("target"), incomplete)


def settings(incomplete: str) -> list[str]:
    from .selection import SETTING_ALIASES
    from .vocabulary import SETTINGS

    return _starting([*SETTINGS, *SETTING_ALIASES], incomplete)


def modalities(incomplete: str) -> list[str]:
    from .vocabulary import MODALITIES

    return _starting(MODALITIES, incomplete)


def phases(incomplete: str) -> list[str]:
    return _starting(["1", "2", "3", "4", "1/2", "2/3"], incomplete)


def cuts(incomplete: str) -> list[str]:
    from .selection import CUT_CHOICES

    return _starting(CUT_CHOICES, incomplete)


def sorts(incomplete: str) -> list[str]:
    from .selection import SORT_CHOICES

    return _starting(SORT_CHOICES, incomplete)


def pool_methods(incomplete: str) -> list[str]:
    return _starting(["hksj", "reml", "dl"], incomplete)
