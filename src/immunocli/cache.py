"""The compiled knowledge: one SQLite file per list of knowledge directories, in the user's cache.

A trial look-up reads one name and one card, and `compare` reads one line of facts per row and the
cells or JSON of the rows it shows, so neither loads every trial: at 100,000 trials that is the
difference between a tenth of a second and ten (benchmarks/README.md). What needs everything (search,
list, the context cards, the library's `load()`) is made from the checked file data kept in the same
file.

Fresh, or rebuilt: every use stats the knowledge directories (adding, removing or renaming a file
changes its directory's mtime), every file that is not a trial (drugs, approvals, endpoints,
indications, context: few), and the trial files its answer comes from; any change of size or mtime
rebuilds. The file is written under a temporary name and renamed into place, so parallel or
interrupted runs never leave half a cache; an unreadable, corrupt or foreign file is rebuilt, and
where nothing can be written the knowledge is compiled in memory: slower, never a different answer.
IMMUNO_NO_CACHE=1 compiles in memory every time; IMMUNO_CACHE_DIR moves the cache.
"""

from __future__ import annotations

import json
import marshal
import os
import sqlite3
import sys
from pathlib import Path

from . import __version__

ENV_CACHE_DIR = "IMMUNO_CACHE_DIR"
ENV_NO_CACHE = "IMMUNO_NO_CACHE"
FORMAT = 3
KEEP = 8  # compiled files kept for other lists of directories (with and without --data-dir …)
# Modules whose code shapes the compiled form: an edited checkout must not answer from an old one.
_CODE = ("cache.py", "loader.py", "model.py", "queries.py", "selection.py", "serialize.py", "contract.py",
         "index.py", "render/text.py", "render/plain.py")

_TABLES = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE dirs(path TEXT PRIMARY KEY, mtime_ns INTEGER);
CREATE TABLE files(id INTEGER PRIMARY KEY, path TEXT, size INTEGER, mtime_ns INTEGER, shared INTEGER);
CREATE TABLE base(knowledge BLOB, names BLOB);
CREATE TABLE trials(id TEXT PRIMARY KEY, file INTEGER, name TEXT, origin TEXT, data TEXT, card BLOB);
CREATE TABLE names(key TEXT, trial TEXT);
CREATE TABLE trial_drugs(drug TEXT, trial TEXT);
CREATE TABLE rows(id INTEGER PRIMARY KEY, file INTEGER, endpoint TEXT, facts BLOB, payload TEXT, cells TEXT);
"""
_INDEXES = """
CREATE INDEX names_key ON names(key);
CREATE INDEX trial_drugs_drug ON trial_drugs(drug);
CREATE INDEX files_shared ON files(shared, path, size, mtime_ns);
CREATE INDEX rows_facts ON rows(endpoint, id, file, facts);
"""


def cache_dir() -> Path:
    if os.environ.get(ENV_CACHE_DIR):
        return Path(os.environ[ENV_CACHE_DIR])
    if sys.platform == "linux":
        # platformdirs' own rule for Linux (XDG Base Directory), without its 5 ms import on every
        # look-up; tests/test_scale.py checks the two agree. Elsewhere platformdirs decides.
        base = os.environ.get("XDG_CACHE_HOME", "").strip() or os.path.expanduser("~/.cache")
        return Path(base) / "immuno"
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("immuno", appauthor=False))


def _key_text(dirs) -> str:
    # marshal's format is the Python version's: a cache from another Python is rebuilt, never misread
    python = ".".join(map(str, sys.version_info[:2]))
    return "|".join([str(FORMAT), __version__, python, *(f"{os.path.abspath(p)}={origin}" for p, origin in dirs)])


def _key(dirs) -> str:
    # The file's name; its meta holds the whole text, so two lists sharing a checksum only cost a rebuild.
    import zlib

    text = _key_text(dirs).encode()
    return f"{zlib.crc32(text):08x}{zlib.adler32(text):08x}"


def _code_stamp() -> str:
    here = os.path.dirname(__file__)
    return ",".join(str(os.stat(os.path.join(here, name)).st_mtime_ns) for name in _CODE)


def _uri(path: Path) -> str:
    return "file:" + str(path).replace("%", "%25").replace("?", "%3f").replace("#", "%23")


def _dir_stamps(dirs) -> dict[str, int]:
    """mtime of each knowledge directory and its record folders (-1: absent)."""
    from .layout import RECORD_DIRS

    out = {}
    for root, _origin in dirs:
        for path in (root, *(root / sub for sub in RECORD_DIRS)):
            try:
                out[str(path)] = os.stat(path).st_mtime_ns
            except OSError:
                out[str(path)] = -1
    return out


def _unchanged(stamps) -> bool:
    """True when every (path, size, mtime_ns) still holds."""
    for path, size, mtime in stamps:
        try:
            st = os.stat(path)
        except OSError:
            return False
        if st.st_size != size or st.st_mtime_ns != mtime:
            return False
    return True


class Compiled:
    """The compiled knowledge of one list of directories; rebuilds itself when an answer's files changed."""

    def __init__(self, dirs, progress=None):
        self.dirs = dirs
        self.progress = progress
        self.path = None if os.environ.get(ENV_NO_CACHE) else cache_dir() / f"knowledge-{_key(dirs)}.sqlite"
        self._base = self._names = None
        self.db = self._open() or self._rebuild()

    # --- opening, checking, building ---------------------------------------------------------------

    def _open(self) -> sqlite3.Connection | None:
        """The compiled file if it exists, is whole, and its directories and shared files are unchanged."""
        if self.path is None:
            return None
        try:
            db = sqlite3.connect(_uri(self.path) + "?mode=ro&immutable=1", uri=True)
            meta = dict(db.execute("SELECT key, value FROM meta"))
            if meta.get("key") != _key_text(self.dirs) or meta.get("code") != _code_stamp():
                return None
            if any(_dir_stamps(self.dirs).get(p) != m for p, m in db.execute("SELECT path, mtime_ns FROM dirs")):
                return None
            if not _unchanged(db.execute("SELECT path, size, mtime_ns FROM files WHERE shared = 1")):
                return None
            return db
        except (sqlite3.Error, OSError, ValueError):
            return None  # missing, corrupt, foreign or unreadable: compile anew

    def _rebuild(self) -> sqlite3.Connection:
        from .errors import DataError
        from .loader import build

        self._base = self._names = None
        stamps = _dir_stamps(self.dirs)  # before reading: a file added meanwhile makes the next run rebuild
        shards = _shards(self.dirs) if self.path is not None else 1
        if shards > 1:
            db = self._build_in_parallel(stamps, shards)
            if db is not None:
                return db
        from .loader import no_gc

        files: list = []
        with no_gc():
            knowledge, problems = build(self.dirs, self.progress, files)
            if problems:
                raise DataError(problems)
            db = self._write_file(knowledge, files, stamps)
            if db is None:
                db = sqlite3.connect(":memory:")
                _fill(db, self.dirs, knowledge, files, stamps, self.progress)
        return db

    def _write_file(self, knowledge, files, stamps) -> sqlite3.Connection | None:
        if self.path is None:
            return None
        import tempfile

        tmp = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".knowledge-", suffix=".tmp")
            os.close(fd)
            db = sqlite3.connect(tmp)
            db.execute("PRAGMA journal_mode = OFF")
            db.execute("PRAGMA synchronous = OFF")
            _fill(db, self.dirs, knowledge, files, stamps, self.progress)
            db.close()
            os.replace(tmp, self.path)
            tmp = None
            _tidy(self.path)
            return self._open() or sqlite3.connect(_uri(self.path) + "?mode=ro", uri=True)
        except (OSError, sqlite3.Error):
            return None  # a read-only or full cache directory costs speed, never an answer
        finally:
            if tmp:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass

    def _build_in_parallel(self, stamps, shards: int) -> sqlite3.Connection | None:
        """Compile shares of the trials in forked processes, then merge their files into one.

        None if the processes could not run (the caller compiles in this process, which also reports
        any problem with its file and line); DataError if the knowledge has problems.
        """
        import multiprocessing
        import pickle
        import shutil
        import tempfile
        import time

        from .errors import DataError

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            work = tempfile.mkdtemp(dir=self.path.parent, prefix=".build-")
        except OSError:
            return None
        tmp = None
        try:
            context = multiprocessing.get_context("fork")
            counts = context.Array("q", 4 * shards, lock=False)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".knowledge-", suffix=".tmp")
            os.close(fd)
            # The first share compiles straight into the new file; the others are merged into it.
            outs = [tmp, *(os.path.join(work, f"{k}.sqlite") for k in range(1, shards))]
            workers = [context.Process(target=_compile_shard, daemon=True,
                                       args=(self.dirs, stamps, (k, shards), outs[k],
                                             os.path.join(work, f"{k}.problems"), counts))
                       for k in range(shards)]
            for worker in workers:
                worker.start()
            while True:
                running = any(w.is_alive() for w in workers)
                if self.progress:
                    for phase, at in (("reading", 0), ("compiling", 2)):
                        total = sum(counts[4 * k + at + 1] for k in range(shards))
                        if total:
                            self.progress(phase, sum(counts[4 * k + at] for k in range(shards)), total)
                if not running:
                    break
                time.sleep(0.1)
            if any(w.exitcode != 0 for w in workers):
                return None
            problems: dict = {}
            for k in range(shards):
                with open(os.path.join(work, f"{k}.problems"), "rb") as handle:
                    problems.update((str(p), p) for p in pickle.load(handle))
            if problems:
                raise DataError(list(problems.values()))
            _merge(tmp, outs[1:])
            os.replace(tmp, self.path)
            tmp = None
            _tidy(self.path)
            return self._open()
        except (OSError, sqlite3.Error, EOFError, pickle.PickleError):
            return None
        finally:
            shutil.rmtree(work, ignore_errors=True)
            if tmp:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass

    def _fresh(self, file_ids) -> bool:
        """Are these trial files (None: all of them) unchanged? If not, rebuild and say so."""
        if file_ids is None:
            stamps = self.db.execute("SELECT path, size, mtime_ns FROM files WHERE shared = 0").fetchall()
        else:
            ids = sorted(set(file_ids))
            stamps = [s for chunk in range(0, len(ids), 500) for s in self.db.execute(
                f"SELECT path, size, mtime_ns FROM files WHERE id IN ({','.join('?' * len(ids[chunk:chunk + 500]))})",
                ids[chunk:chunk + 500])]
        if _unchanged(stamps):
            return True
        self.db = self._rebuild()
        return False

    # --- answers -----------------------------------------------------------------------------------

    def base(self):
        """The knowledge without its trials: drugs, approvals, endpoints, indications, context (small)."""
        if self._base is None:
            import pickle

            self._base = pickle.loads(self.db.execute("SELECT knowledge FROM base").fetchone()[0])
        return self._base

    def knowledge(self, trial_ids=None):
        """The knowledge with all its trials, or only those named (the drug card needs only its own)."""
        import dataclasses

        from .loader import no_gc, trial_from_data

        columns = "SELECT id, file, origin, data FROM trials"
        for _attempt in range(2):
            if trial_ids is None:
                found = self.db.execute(columns + " ORDER BY rowid").fetchall()
            else:
                found = [r for t in trial_ids for r in self.db.execute(columns + " WHERE id = ?", (t,))]
            if self._fresh(None if trial_ids is None else [f for _, f, _, _ in found]):
                break
        with no_gc():  # the checked data, made into objects by the loader's own constructor
            trials = {tid: trial_from_data(json.loads(data), origin) for tid, _, origin, data in found}
        return dataclasses.replace(self.base(), trials=trials)

    def catalogue(self):
        from .queries import Catalogue

        return Catalogue(self.knowledge())

    def names(self):
        """Every kind's name index (plain data; the trials' read from their table only when needed)."""
        if self._names is None:
            from .index import NameIndex, Names

            indexes, parents = marshal.loads(self.db.execute("SELECT names FROM base").fetchone()[0])
            make = {kind: (lambda kind=kind: NameIndex(kind, *indexes[kind])) for kind in indexes}
            self._names = Names({**make, "trial": self.trial_names}, parents)
        return self._names

    def trial_names(self):
        from .index import NameIndex

        exact: dict[str, set[str]] = {}
        for key, trial in self.db.execute("SELECT key, trial FROM names"):
            exact.setdefault(key, set()).add(trial)
        return NameIndex("trial", exact, dict(self.db.execute("SELECT id, name FROM trials")))

    def trial_id(self, query: str) -> str:
        from .index import check_query, normalise

        hits = self.db.execute("SELECT trial FROM names WHERE key = ?", (normalise(check_query(query)),)).fetchall()
        if len(hits) == 1:
            return hits[0][0]
        return self.names().resolve("trial", query)  # not one exact name: prefix, typo, ambiguity, a drug

    def trial_card(self, query: str) -> dict:
        """The trial card payload."""
        for _attempt in range(2):
            file, card = self.db.execute("SELECT file, card FROM trials WHERE id = ?", (self.trial_id(query),)).fetchone()
            if self._fresh([file]):
                break
        return marshal.loads(card)

    def drug_card(self, query: str) -> dict:
        """The drug card payload, loading only the trials that use the drug."""
        from . import serialize
        from .queries import Catalogue

        found = self.base().drugs[self.names().resolve("drug", query)]
        trial_ids = [t for (t,) in self.db.execute("SELECT trial FROM trial_drugs WHERE drug = ?", (found.id,))]
        cat = Catalogue(self.knowledge(trial_ids))
        return serialize.envelope("drug", drug=serialize.drug(found, cat.knowledge, cat.approvals_of(found.id),
                                                              cat.trials_of(found.id)))

    def comparison(self, endpoint: str | None = None, **filters) -> "Selection":
        """The rows `compare` shows, chosen from their facts alone (queries.select, as in memory)."""
        from .selection import Facts, compare_filters, select

        chosen = compare_filters(self.names(), endpoint, **filters)
        for _attempt in range(2):
            # A covering index: the facts are read without touching the rows' wide JSON and cells.
            query = ("SELECT id, file, facts FROM rows INDEXED BY rows_facts"
                     + (" WHERE endpoint = ?" if chosen.endpoint else "") + " ORDER BY id")
            facts = [Facts(*marshal.loads(values), ref=(row, file))
                     for row, file, values in self.db.execute(query, (chosen.endpoint,) if chosen.endpoint else ())]
            rows = select(facts, chosen)
            if self._fresh(None):  # every trial was weighed, so every trial file must be as compiled
                break
        return Selection(self.db, chosen.shown, [f.ref[0] for f in rows])


class Selection:
    """Chosen comparison rows, read in the form the output needs: the JSON payloads, or the table's cells."""

    def __init__(self, db: sqlite3.Connection, filters: dict, rows: list[int]):
        self.db, self.filters, self.rows = db, filters, rows

    def __len__(self) -> int:
        return len(self.rows)

    def _column(self, column: str):
        """One column of the chosen rows, in their order: one query, through a temporary table of the order."""
        self.db.execute("CREATE TEMP TABLE IF NOT EXISTS chosen(seq INTEGER PRIMARY KEY, row INTEGER)")
        self.db.execute("DELETE FROM chosen")
        self.db.executemany("INSERT INTO chosen(row) VALUES (?)", ((row,) for row in self.rows))
        for (value,) in self.db.execute(f"SELECT rows.{column} FROM chosen JOIN rows ON rows.id = chosen.row "
                                        "ORDER BY chosen.seq"):
            yield value

    def texts(self):
        """Each row's JSON, compact, as compiled: `--json` and `--format ndjson` write it as it is."""
        return self._column("payload")

    def payloads(self):
        return map(json.loads, self._column("payload"))

    def cells(self):
        return (text.split(_SEP) for text in self._column("cells"))


_SEP = "\x1f"  # between a row's table cells (the ASCII unit separator)

PARALLEL_FROM = 2000  # trial files; below this a forked build costs more than it saves
SHARD_IDS = 10**9  # file ids of shard k start at k × this


def _shards(dirs) -> int:
    """How many processes to compile with: one per CPU for thousands of trials, where fork is safe.

    Not from a process with other threads (a notebook kernel, a server): a fork copies their locks.
    """
    import multiprocessing
    import threading

    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if cpus < 2 or threading.active_count() > 1 or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    trials = 0
    for root, _origin in dirs:
        try:
            trials += len(os.listdir(root / "trials"))
        except OSError:
            pass
    return min(cpus, 8) if trials >= PARALLEL_FROM else 1


def _compile_shard(dirs, stamps, shard, out, problems_out, counts) -> None:
    """In a forked process: build and compile one share of the trials; the parent merges the files."""
    import pickle

    from .loader import build

    def report(phase: str, done: int, total: int) -> None:
        at = 4 * shard[0] + (0 if phase == "reading" else 2)
        counts[at], counts[at + 1] = done, total

    import gc

    gc.disable()  # a short-lived process of millions of acyclic objects: collection would only cost time
    code = 1
    try:
        files: list = []
        knowledge, problems = build(dirs, report, files, shard)
        if not problems:
            db = sqlite3.connect(out)
            db.execute("PRAGMA journal_mode = OFF")
            db.execute("PRAGMA synchronous = OFF")
            _fill(db, dirs, knowledge, files, stamps, report, first_file_id=shard[0] * SHARD_IDS, indexes=False)
            db.close()
        with open(problems_out, "wb") as handle:
            pickle.dump(problems, handle)
        code = 0
    finally:
        os._exit(code)  # never run the parent's exit handlers in a fork


def _merge(target: str, parts: list[str]) -> None:
    """Add the other shares' trials to the first share's file (which holds what every share holds alike)."""
    db = sqlite3.connect(target)
    db.execute("PRAGMA journal_mode = OFF")
    db.execute("PRAGMA synchronous = OFF")
    for part in parts:
        db.execute("ATTACH DATABASE ? AS part", (part,))
        db.execute("INSERT INTO files SELECT * FROM part.files WHERE shared = 0")
        for table in ("trials", "names", "trial_drugs"):
            db.execute(f"INSERT INTO {table} SELECT * FROM part.{table}")
        db.execute("INSERT INTO rows (file, endpoint, facts, payload, cells) "
                   "SELECT file, endpoint, facts, payload, cells FROM part.rows ORDER BY id")
        db.commit()
        db.execute("DETACH DATABASE part")
    db.executescript(_INDEXES)
    db.commit()
    db.close()


def _fill(db: sqlite3.Connection, dirs, knowledge, files, stamps, progress, first_file_id: int = 0,
          indexes: bool = True) -> None:
    import dataclasses
    import pickle

    from . import serialize
    from .contract import compact
    from .loader import no_gc
    from .queries import Catalogue, trial_facts
    from .render.plain import flat
    from .render.text import comparison_cells

    db.executescript(_TABLES)
    file_ids = {raw.display: number for number, raw in enumerate(files, first_file_id)}
    db.executemany("INSERT INTO files VALUES (?, ?, ?, ?, ?)",
                   [(number, str(raw.path), *raw.stamp, raw.kind != "trial")
                    for number, raw in enumerate(files, first_file_id)])
    db.executemany("INSERT INTO dirs VALUES (?, ?)", stamps.items())
    db.executemany("INSERT INTO meta VALUES (?, ?)", [("key", _key_text(dirs)), ("code", _code_stamp()), ("knowledge_as_of", serialize.knowledge_as_of(knowledge))])
    base = dataclasses.replace(knowledge, trials={})
    catalogue = Catalogue(knowledge)
    names = {kind: (index.exact, index.labels) for kind, index in
             (("drug", catalogue.drug_index), ("endpoint", catalogue.endpoint_index),
              ("indication", catalogue.indication_index))}
    db.execute("INSERT INTO base VALUES (?, ?)", (pickle.dumps(base, protocol=pickle.HIGHEST_PROTOCOL),
                                                 marshal.dumps((names, catalogue.names.parents))))
    index = catalogue.trial_index
    db.executemany("INSERT INTO names VALUES (?, ?)", [(k, t) for k, ids in index.exact.items() for t in ids])
    total = len(knowledge.trials)
    data = {raw.display: raw.data for raw in files if raw.kind == "trial"}
    trials, drugs, rows = [], [], []
    with no_gc():
        for done, trial in enumerate(knowledge.trials.values(), 1):
            file = file_ids.get(trial.origin)
            card = serialize.envelope("trial", trial=serialize.trial(trial, knowledge))
            for facts in trial_facts(trial, knowledge):
                payload = serialize.comparison_row(facts.ref, knowledge)
                rows.append((file, facts.endpoint, marshal.dumps(facts.values()), compact(payload),
                             # cells as the plain table prints them (the one table drawn from compiled cells)
                             _SEP.join(flat(c.replace(_SEP, " ")) for c in comparison_cells(payload))))
            # Cards are marshalled (plain data: quicker than pickle, nothing to import to read); rows are
            # compact JSON, so that `compare --json` of 100,000 rows writes them without encoding.
            checked = data[trial.origin]
            text = getattr(checked, "text", None) or json.dumps(checked, ensure_ascii=False, separators=(",", ":"))
            trials.append((trial.id, file, trial.name, trial.origin, text, marshal.dumps(card)))
            drugs += [(d, trial.id) for d in trial.drugs]
            if done % 500 == 0 or done == total:
                db.executemany("INSERT INTO trials VALUES (?, ?, ?, ?, ?, ?)", trials)
                db.executemany("INSERT INTO trial_drugs VALUES (?, ?)", drugs)
                db.executemany("INSERT INTO rows (file, endpoint, facts, payload, cells) VALUES (?, ?, ?, ?, ?)", rows)
                trials, drugs, rows = [], [], []
                if progress:
                    progress("compiling", done, total)
    if progress:
        progress("compiling", total, total)
    if indexes:
        db.executescript(_INDEXES)
    db.commit()


def _tidy(current: Path) -> None:
    """Keep the newest few compiled files (other --data-dir lists); drop older cache formats, and what a
    killed build left behind an hour ago. Tidying never fails a run: another process may be at it too."""
    import shutil
    import time

    folder = current.parent
    try:
        for old in folder.glob("knowledge-*.pickle"):
            old.unlink(missing_ok=True)
        for left in [*folder.glob(".knowledge-*.tmp"), *folder.glob(".build-*")]:
            if time.time() - left.stat().st_mtime > 3600:
                shutil.rmtree(left, ignore_errors=True) if left.is_dir() else left.unlink(missing_ok=True)
        compiled = sorted(folder.glob("knowledge-*.sqlite"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in compiled[KEEP:]:
            if old != current:
                old.unlink(missing_ok=True)
    except OSError:
        pass
