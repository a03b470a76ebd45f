"""The bundled knowledge compiled when the wheel is built, so that the first answer after an install costs
a copy of one file instead of a compile (~2 s).

The wheel's file is adopted only when it was compiled by this version of immuno and this Python from code
and bundled files whose contents are the installed ones (a digest of them, read on adoption); its paths,
file stamps and directory stamps are then made this install's, and it is checked and used like any
compiled file. Anything else (another Python, an edited file, a missing or unreadable prebuilt file, a
user directory on top) compiles as before.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import sqlite3
import stat
from pathlib import Path

PREBUILT = Path(__file__).resolve().parent / "prebuilt.sqlite"  # where the wheel's build hook puts it
_MAX_BYTES = 5 * 1024 * 1024  # as yamlfile.MAX_BYTES: anything larger is for the loader to refuse


def _digest(listing, stats) -> str | None:
    """SHA-256 of the compiling code and of every knowledge file (its name as shown and its bytes), or
    None when a file is not a regular file of sane size (the loader reports those)."""
    from .cache import _CODE

    h = hashlib.sha256()
    here = Path(__file__).resolve().parent
    for name in _CODE:
        h.update(name.encode() + b"\0" + (here / name).read_bytes() + b"\0")
    for _kind, path, display, _origin in listing:
        st = stats[display]
        if not stat.S_ISREG(st.st_mode) or st.st_size > _MAX_BYTES:
            return None
        h.update(display.encode() + b"\0" + Path(path).read_bytes() + b"\0")
    return h.hexdigest()


def _listing(dirs):
    """The knowledge files in load order and their stats, taken before any is read; None on a problem."""
    from .loader import knowledge_files

    listing, problems = knowledge_files(dirs)
    if problems:
        return None
    return listing, {display: os.stat(path) for _kind, path, display, _origin in listing}


def make(root: Path, out: Path) -> None:
    """Compile the knowledge in `root` (as the bundled data) into `out`, marked with its digest: the
    wheel's build hook calls this. DataError if the knowledge has problems."""
    from .cache import _dir_stamps, _fill
    from .errors import DataError
    from .loader import build, no_gc

    root = Path(root).resolve()
    dirs = [(root, "bundled")]
    stamps = _dir_stamps(dirs)
    found = _listing(dirs)  # None: a problem the build names
    files: list = []
    with no_gc():
        knowledge, problems = build(dirs, None, files)
        if problems:
            raise DataError(problems)
        listing, stats = found
        db = sqlite3.connect(out)
        try:
            db.execute("PRAGMA journal_mode = OFF")
            _fill(db, dirs, knowledge, files, stamps, None)
            db.executemany("INSERT INTO meta VALUES (?, ?)",
                           [("prebuilt_root", str(root)), ("prebuilt_digest", _digest(listing, stats))])
            db.commit()
        finally:
            db.close()


def adopt(target: Path, dirs) -> bool:
    """Put the wheel's compiled knowledge at `target`, made this install's, if it was compiled from what is
    installed; False (nothing written) otherwise."""
    from .cache import _dir_stamps, _key_text, _uri

    if len(dirs) != 1 or dirs[0][1] != "bundled" or not PREBUILT.is_file():
        return False
    try:
        source = sqlite3.connect(_uri(PREBUILT) + "?mode=ro&immutable=1", uri=True)
        try:
            meta = dict(source.execute("SELECT key, value FROM meta"))
            ids = {path: number for number, path in source.execute("SELECT id, path FROM files")}
        finally:
            source.close()
        root = meta.get("prebuilt_root")
        if root is None or meta.get("key") != _key_text([(Path(root), "bundled")]):
            return False  # another version, Python or file format
        stamps = _dir_stamps(dirs)  # before reading, as a build takes them
        found = _listing(dirs)
        if found is None:
            return False
        listing, stats = found
        built = {"data/" + Path(path).relative_to(root).as_posix(): number for path, number in ids.items()}
        if sorted(built) != sorted(display for _k, _p, display, _o in listing):
            return False
        digest = _digest(listing, stats)
        if digest is None or digest != meta.get("prebuilt_digest"):
            return False
    except (OSError, ValueError, sqlite3.Error):
        return False
    return _install(target, dirs, stamps, listing, stats, built)


def _install(target: Path, dirs, stamps, listing, stats, built) -> bool:
    import shutil

    from .cache import _code_stamp, _crc, _key_text, _put, _write_stamps

    def write(tmp: str) -> None:
        shutil.copyfile(PREBUILT, tmp)
        db = sqlite3.connect(tmp)
        try:
            db.execute("PRAGMA journal_mode = OFF")
            db.executemany("UPDATE files SET path = ?, size = ?, mtime_ns = ?, ctime_ns = ? WHERE id = ?",
                           [(str(path), stats[display].st_size, stats[display].st_mtime_ns,
                             stats[display].st_ctime_ns, built[display]) for _k, path, display, _o in listing])
            db.execute("DELETE FROM dirs")
            db.executemany("INSERT INTO dirs VALUES (?, ?, ?)", [(path, *stamp) for path, stamp in stamps.items()])
            db.execute("DELETE FROM meta WHERE key IN ('prebuilt_root', 'prebuilt_digest')")
            db.executemany("UPDATE meta SET value = ? WHERE key = ?",
                           [(_key_text(dirs), "key"), (_code_stamp(), "code")])
            blob, = db.execute("SELECT knowledge FROM base").fetchone()
            base = marshal.loads(blob)
            base["directories"] = [str(path) for path, _origin in dirs]
            blob = marshal.dumps(base)
            db.execute("UPDATE base SET knowledge = ?, knowledge_crc = ?", (blob, _crc(blob)))
            db.execute("DELETE FROM stamps")
            _write_stamps(db)
            db.commit()
        finally:
            db.close()

    try:
        return _put(target, write)
    except (ValueError, KeyError, TypeError, EOFError):  # a prebuilt file of another shape: compile instead
        return False
