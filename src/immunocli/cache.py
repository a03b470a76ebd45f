"""A compiled copy of the loaded knowledge, so a look-up does not re-parse hundreds of YAML files.

The key is the package version plus every knowledge file's path, size and mtime: editing, adding or
removing a file makes a new key. The file is written to a temporary name and renamed into place, so
parallel or interrupted runs never leave a half-written cache; any unreadable cache is ignored.
Set IMMUNO_NO_CACHE=1 to bypass it, IMMUNO_CACHE_DIR to move it.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path

ENV_CACHE_DIR = "IMMUNO_CACHE_DIR"
ENV_NO_CACHE = "IMMUNO_NO_CACHE"
FORMAT = 2


def cache_dir() -> Path:
    if os.environ.get(ENV_CACHE_DIR):
        return Path(os.environ[ENV_CACHE_DIR])
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("immuno", appauthor=False))


def _key(dirs) -> str | None:
    from . import __version__
    from .loader import knowledge_files

    files, problems = knowledge_files(dirs)
    if problems:
        return None
    digest = hashlib.blake2b(f"{FORMAT}|{__version__}".encode(), digest_size=16)
    for _kind, path, _display, origin in files:
        try:
            st = os.stat(path)
        except OSError:
            return None
        digest.update(f"{origin}|{path}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _path(dirs) -> Path | None:
    if os.environ.get(ENV_NO_CACHE):
        return None
    key = _key(dirs)
    return cache_dir() / f"knowledge-{key}.pickle" if key else None


def read(dirs):
    path = _path(dirs)
    if path is None:
        return None
    try:
        with open(path, "rb") as handle:
            return pickle.load(handle)  # noqa: S301 - our own file, in the user's own cache directory
    except Exception:  # a missing, corrupt or foreign cache is simply rebuilt
        return None


def write(dirs, knowledge) -> None:
    path = _path(dirs)
    if path is None:
        return
    import tempfile

    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        for old in path.parent.glob("knowledge-*.pickle"):
            if old != path:
                old.unlink(missing_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".knowledge-", suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            pickle.dump(knowledge, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
        tmp = None
    except (OSError, pickle.PickleError):
        pass  # a read-only or full cache directory costs speed, never an answer
    finally:
        if tmp:
            try:
                os.unlink(tmp)
            except OSError:
                pass
