"""The compiled knowledge: one SQLite file per list of knowledge directories, in the user's cache.

A trial look-up reads one name and one card, and `compare` reads one line of facts per row and the
cells or JSON of the rows it shows, so neither loads every trial: at 100,000 trials that is the
difference between a tenth of a second and ten (benchmarks/README.md). What needs everything (search,
list, the context cards, the library's `load()`) is made from the checked file data kept in the same
file.

Fresh, or rebuilt: every use stats the knowledge directories (adding, removing or renaming a file
changes its directory's mtime), every file that is not a trial (drugs, approvals, endpoints,
indications, context: few), and the trial files its answer comes from (every trial file, for any
answer but `trial`); any change of size, mtime or ctime rebuilds (ctime: an edit that restores the
mtime, as `touch -r` or `cp -p` do, still moves it). The file is written under a temporary name and
renamed into place, so parallel or interrupted runs never leave half a cache; an unreadable, corrupt
or foreign file is rebuilt, and where nothing can be written the knowledge is compiled in memory:
slower, never a different answer. IMMUNO_NO_CACHE=1 compiles in memory every time; IMMUNO_CACHE_DIR
moves the cache.

Trusted, or not used: the cache holds data only (SQLite columns, JSON and marshalled plain values;
nothing is unpickled), and a compiled file is used only if it and its folder belong to this user and
neither is writable by group or others: a shared folder must not let another user choose the answer.
The folder is made 0700 and the files 0600 whatever the umask. Every blob carries a CRC checked when
read; a mismatch or an SQLite error rebuilds once, with one line on stderr. The tidy-up removes only
files with the cache's own name pattern and its mark inside (the SQLite application id, or a marker
file in a build folder), only in the cache folder.
"""

from __future__ import annotations

import json
import marshal
import os
import sqlite3
import stat
import sys
import zlib
from pathlib import Path

from . import __version__

ENV_CACHE_DIR = "IMMUNO_CACHE_DIR"
ENV_NO_CACHE = "IMMUNO_NO_CACHE"
FORMAT = 6
APPLICATION_ID = 0x494D4D55  # "IMMU" in the SQLite header: the mark that a file is a compiled cache
BUILD_MARK = ".immuno-build"  # the file that marks a build folder as the cache's own
KEEP = 8  # compiled files kept for other lists of directories (with and without --data-dir …)
# Modules whose code shapes the compiled form: an edited checkout must not answer from an old one.
_CODE = ("cache.py", "loader.py", "model.py", "queries.py", "selection.py", "serialize.py", "contract.py",
         "index.py", "render/text.py", "render/plain.py", "render/flat.py", "yamlfile.py", "sanitize.py", "schema.py", "validate.py",
         "indexed.py", "context.py", "listing.py", "search.py")

_TABLES = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE dirs(path TEXT PRIMARY KEY, mtime_ns INTEGER, ctime_ns INTEGER);
CREATE TABLE files(id INTEGER PRIMARY KEY, path TEXT, size INTEGER, mtime_ns INTEGER, ctime_ns INTEGER, shared INTEGER);
CREATE TABLE base(knowledge BLOB, knowledge_crc INTEGER, names BLOB, names_crc INTEGER);
CREATE TABLE stamps(blob BLOB, crc INTEGER);
CREATE TABLE trials(id TEXT PRIMARY KEY, file INTEGER, name TEXT, origin TEXT, data TEXT, card BLOB, data_crc INTEGER,
                    card_crc INTEGER);
CREATE TABLE names(key TEXT, trial TEXT, crc INTEGER);
CREATE TABLE trial_drugs(drug TEXT, trial TEXT, crc INTEGER);
CREATE TABLE rows(id INTEGER PRIMARY KEY, file INTEGER, endpoint TEXT, facts BLOB, facts_crc INTEGER, payload TEXT,
                  payload_crc INTEGER, cells TEXT, cells_crc INTEGER, csv TEXT, csv_crc INTEGER);
"""
_INDEXES = """
CREATE INDEX names_key ON names(key);
CREATE INDEX trial_drugs_drug ON trial_drugs(drug);
CREATE INDEX files_shared ON files(shared, path, size, mtime_ns, ctime_ns);
CREATE INDEX rows_facts ON rows(endpoint, id, file, facts, facts_crc);
"""


class Damaged(Exception):
    """A blob read from the compiled file does not match its CRC."""


def _crc(*parts) -> int:
    """CRC-32 of the parts, each text followed by a NUL (bytes as they are): one encoding when all are text."""
    if len(parts) == 1 and type(parts[0]) is bytes:  # a marshalled blob: as the loop below sums it
        return zlib.crc32(parts[0])
    try:
        return zlib.crc32(("\x00".join(parts) + "\x00").encode("utf-8", "surrogatepass"))
    except TypeError:  # bytes or numbers among them: the same sum, part by part
        crc = 0
        for part in parts:
            crc = zlib.crc32(part if isinstance(part, bytes) else str(part).encode("utf-8", "surrogatepass") + b"\x00",
                             crc)
        return crc


def _checked(crc: int, *parts):
    if _crc(*parts) != crc:
        raise Damaged("a row does not match its checksum")


_said: set[str] = set()


def _notice(message: str) -> None:
    """One line on stderr, once per process: the answer is still right, only slower or rebuilt."""
    if message not in _said:
        _said.add(message)
        sys.stderr.write(f"immuno: {message}\n")


def _distrust(st: os.stat_result, what: str) -> str | None:
    """Why a cache file or folder must not be used, or None: it must be this user's, writable by no one else."""
    if os.name != "posix":
        return None
    if st.st_uid != os.getuid():
        return f"{what} belongs to another user (uid {st.st_uid})"
    if st.st_mode & 0o022:
        return f"{what} is writable by {'others' if st.st_mode & 0o002 else 'its group'} (mode {st.st_mode & 0o777:o})"
    return None


def _make_folder(folder: Path) -> None:
    """The cache folder and any missing parent, 0700 whatever the umask (as XDG asks)."""
    missing = []
    for path in (folder, *folder.parents):
        if os.path.isdir(path):
            break
        missing.append(path)
    for path in reversed(missing):
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            continue
        os.chmod(path, 0o700)


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


def _may_fork() -> bool:
    """Whether a check may run in a forked child: two CPUs or more, fork available, no other thread (a
    fork copies their locks)."""
    import threading

    if sys.platform != "linux" or not hasattr(os, "fork") or threading.active_count() > 1:
        return False  # (macOS: a fork without exec is unsafe once system frameworks are loaded)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return cpus > 1


class _Check:
    """Every trial file's stamps checked in a forked child (or, where a fork is unsafe, when asked). Used as
    a context manager, so that a child whose verdict was not asked (the answer failed first) is reaped."""

    def __init__(self, stamps):
        self.stamps, self.pid, self.read, self.said = stamps, None, None, None
        if not _may_fork():
            return
        read, write = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            os.close(read)
            os.close(write)
            return
        if pid == 0:  # the child: stat, say, leave (never the parent's exit handlers or buffers)
            code = 1
            try:
                os.close(read)
                os.write(write, b"1" if _unchanged(stamps) else b"0")
                code = 0
            finally:
                os._exit(code)
        os.close(write)
        self.pid, self.read = pid, read

    def __call__(self) -> bool:
        """True when every file is as compiled; a child that said nothing (it failed) counts as a change."""
        if self.said is None:
            if self.pid is None:
                self.said = _unchanged(self.stamps)
            else:
                try:
                    self.said = os.read(self.read, 1) == b"1"
                finally:
                    self.close()
        return self.said

    def close(self) -> None:
        if self.pid is not None:
            os.close(self.read)
            os.waitpid(self.pid, 0)
            self.pid = None

    def __enter__(self) -> "_Check":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _uri(path: Path) -> str:
    return "file:" + str(path).replace("%", "%25").replace("?", "%3f").replace("#", "%23")


def _dir_stamps(dirs) -> dict[str, tuple[int, int]]:
    """(mtime, ctime) of each knowledge directory and its record folders ((-1, -1): absent)."""
    from .layout import RECORD_DIRS

    out = {}
    for root, _origin in dirs:
        for path in (root, *(root / sub for sub in RECORD_DIRS)):
            try:
                st = os.stat(path)
                out[str(path)] = (st.st_mtime_ns, st.st_ctime_ns)
            except OSError:
                out[str(path)] = (-1, -1)
    return out


def _unchanged(stamps) -> bool:
    """True when every (path, size, mtime_ns, ctime_ns) still holds (a stat a file: the cost of the check
    at 10,000 trials is these system calls)."""
    look = os.stat
    try:
        for path, size, mtime, ctime in stamps:
            st = look(path)
            if st.st_mtime_ns != mtime or st.st_size != size or st.st_ctime_ns != ctime:
                return False
    except OSError:
        return False
    return True


def _guarded(answer):
    """An answer from the compiled file, rebuilt once if SQLite fails or a checksum does not match."""
    import functools

    @functools.wraps(answer)
    def wrapper(self, *args, **kwargs):
        try:
            return answer(self, *args, **kwargs)
        except (sqlite3.Error, Damaged) as exc:
            self._recover(exc)
            return answer(self, *args, **kwargs)

    return wrapper


class Compiled:
    """The compiled knowledge of one list of directories; rebuilds itself when an answer's files changed."""

    def __init__(self, dirs, progress=None):
        self.dirs = dirs
        self.progress = progress
        self.path = None if os.environ.get(ENV_NO_CACHE) else _trusted(cache_dir() / f"knowledge-{_key(dirs)}.sqlite")
        self._base = self._names = None
        self._recovered = False
        self.db = self._open() or self._prebuilt() or self._rebuild()

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
            stamps = _dir_stamps(self.dirs)
            if any(stamps.get(p) != (m, c) for p, m, c in db.execute("SELECT path, mtime_ns, ctime_ns FROM dirs")):
                return None
            if not _unchanged(db.execute("SELECT path, size, mtime_ns, ctime_ns FROM files WHERE shared = 1")):
                return None
            return db
        except sqlite3.OperationalError:
            return None  # missing, unreadable, or of another layout: compile anew
        except sqlite3.DatabaseError as exc:
            _notice(f"the compiled cache {self.path} is damaged ({exc}); rebuilding it")
            return None
        except (OSError, ValueError):
            return None

    def _prebuilt(self) -> sqlite3.Connection | None:
        """The wheel's compiled bundled knowledge, made this install's (prebuilt.py), if it matches."""
        if self.path is None:
            return None
        from .prebuilt import adopt

        return self._open() if adopt(self.path, self.dirs) else None

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

        def write(tmp: str) -> None:
            db = sqlite3.connect(tmp)
            db.execute("PRAGMA journal_mode = OFF")
            db.execute("PRAGMA synchronous = OFF")
            _fill(db, self.dirs, knowledge, files, stamps, self.progress)
            db.close()

        if not _put(self.path, write):
            return None  # a read-only or full cache directory costs speed, never an answer
        try:
            return self._open() or sqlite3.connect(_uri(self.path) + "?mode=ro", uri=True)
        except sqlite3.Error:
            return None

    def _build_in_parallel(self, stamps, shards: int) -> sqlite3.Connection | None:
        """Compile shares of the trials in forked processes, then merge their files into one.

        None if the processes could not run (the caller compiles in this process, which also reports
        any problem with its file and line); DataError if the knowledge has problems. Interrupted (Ctrl-C,
        or SIGTERM, which the CLI turns into the same), it stops the workers and removes what they wrote.
        """
        import multiprocessing
        import shutil
        import tempfile
        import time

        from .errors import DataError, Problem

        try:
            _make_folder(self.path.parent)
            work = tempfile.mkdtemp(dir=self.path.parent, prefix=".build-")  # 0700
            with open(os.path.join(work, BUILD_MARK), "w", encoding="utf-8") as mark:
                mark.write("a build folder of immuno's compiled cache; removed when the build ends\n")
        except OSError:
            return None
        tmp = None
        workers: list = []
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
                with open(os.path.join(work, f"{k}.problems"), encoding="utf-8") as handle:
                    problems.update((str(p), p) for p in (Problem(*p) for p in json.load(handle)))
            if problems:
                raise DataError(list(problems.values()))
            _merge(tmp, outs[1:])
            clashes = _clashing_names(tmp)  # each share checked its own trials' names; now across shares
            if clashes:
                raise DataError(clashes)
            os.replace(tmp, self.path)
            tmp = None
            _tidy(self.path)
            return self._open()
        except (OSError, sqlite3.Error, ValueError, TypeError):
            return None
        finally:
            for worker in workers:  # stopped before their folder goes, or they would write into a removed one
                if worker.is_alive():
                    worker.terminate()
                    worker.join(5)
            shutil.rmtree(work, ignore_errors=True)
            if tmp:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass

    def _all_stamps(self) -> list:
        """Every trial file's stamp, from one blob: 10,000 rows cost more to read than to stat."""
        blob, crc = self.db.execute("SELECT blob, crc FROM stamps").fetchone()
        _checked(crc, blob)
        return marshal.loads(blob)

    def _checking(self) -> "_Check":
        """Start checking every trial file (one `stat` each, ~30 ms at 10,000) in a forked child, so that it
        runs on the other core while the answer is read; `_fresh` takes its verdict. Where a fork is unsafe
        (threads, one CPU, no fork) the check runs when the verdict is asked."""
        return _Check(self._all_stamps())

    def _fresh(self, file_ids, verdict=None) -> bool:
        """Are these trial files (None: all of them; or the `verdict` of a check `_checking` started)
        unchanged? If not, rebuild and say so."""
        if verdict is not None:
            if verdict():
                return True
            self.db = self._rebuild()
            return False
        if file_ids is None:
            stamps = self._all_stamps()
        else:
            ids = sorted(set(file_ids))
            stamps = [s for chunk in range(0, len(ids), 500) for s in self.db.execute(
                f"SELECT path, size, mtime_ns, ctime_ns FROM files WHERE id IN ({','.join('?' * len(ids[chunk:chunk + 500]))})",
                ids[chunk:chunk + 500])]
        if _unchanged(stamps):
            return True
        self.db = self._rebuild()
        return False

    @_guarded
    def check(self) -> None:
        """Every file as compiled (so checked when it was built), or rebuilt now: DataError lists any problem."""
        self._fresh(None)

    def _recover(self, exc: Exception) -> None:
        """An SQLite error or a checksum mismatch: rebuild, once, and say so; a second one is an error."""
        from .errors import ImmunoError

        if self._recovered:
            raise ImmunoError(f"the compiled cache cannot be read ({exc}); set IMMUNO_NO_CACHE=1 to compile in memory")
        self._recovered = True
        _notice(f"the compiled cache {self.path or '(in memory)'} is damaged ({exc}); rebuilding it")
        try:
            self.db.close()
        except sqlite3.Error:
            pass
        if self.path is not None:
            try:
                os.unlink(self.path)  # never opened again, even if this rebuild cannot write
            except OSError:
                pass
        self.db = self._rebuild()

    # --- answers -----------------------------------------------------------------------------------

    @_guarded
    def base(self):
        """The knowledge without its trials: drugs, approvals, endpoints, indications, context (small).

        Stored as marshalled plain data (the checked file data), made into objects by the loader's own
        constructors: a compiled file can hold nothing that runs when read."""
        if self._base is None:
            blob, crc = self.db.execute("SELECT knowledge, knowledge_crc FROM base").fetchone()
            _checked(crc, blob)
            self._base = _knowledge_from(marshal.loads(blob))
        return self._base

    @_guarded
    def knowledge(self, trial_ids=None):
        """The knowledge with all its trials, or only those named (the drug card needs only its own)."""
        import dataclasses

        from .loader import no_gc, trial_from_data

        columns = "SELECT id, file, origin, data, data_crc FROM trials"
        for _attempt in range(2):
            if trial_ids is None:
                found = self.db.execute(columns + " ORDER BY rowid").fetchall()
            else:
                found = [r for t in trial_ids for r in self.db.execute(columns + " WHERE id = ?", (t,))]
            if self._fresh(None if trial_ids is None else [f for _, f, _, _, _ in found]):
                break
        for tid, _, origin, data, crc in found:
            _checked(crc, tid, origin, data)
        with no_gc():  # the checked data, made into objects by the loader's own constructor
            trials = {tid: trial_from_data(json.loads(data), origin) for tid, _, origin, data, _ in found}
        return dataclasses.replace(self.base(), trials=trials)

    def catalogue(self):
        from .queries import Catalogue

        return Catalogue(self.knowledge())

    @_guarded
    def names(self):
        """Every kind's name index (plain data; the trials' read from their table only when needed)."""
        if self._names is None:
            from .index import NameIndex, Names

            names, crc = self.db.execute("SELECT names, names_crc FROM base").fetchone()  # not the knowledge
            _checked(crc, names)
            indexes, parents = marshal.loads(names)
            make = {kind: (lambda kind=kind: NameIndex(kind, *indexes[kind])) for kind in indexes}
            self._names = Names({**make, "trial": self.trial_names}, parents)
        return self._names

    def trial_names(self):
        from .index import NameIndex

        exact: dict[str, set[str]] = {}
        for key, trial, crc in self.db.execute("SELECT key, trial, crc FROM names"):
            _checked(crc, key, trial)
            exact.setdefault(key, set()).add(trial)
        return NameIndex("trial", exact, dict(self.db.execute("SELECT id, name FROM trials")))

    def trial_id(self, query: str) -> str:
        return self.trial_match(query).id

    def trial_match(self, query: str, exact_only: bool = False):
        """What `query` names, and how (exact, alias, prefix, fuzzy): an exact name is one indexed read."""
        from .index import Match, check_query, normalise

        key = normalise(check_query(query))
        hits = self.db.execute("SELECT trial, crc FROM names WHERE key = ?", (key,)).fetchall()
        if len(hits) == 1:
            _checked(hits[0][1], key, hits[0][0])
            trial = hits[0][0]
            (name,) = self.db.execute("SELECT name FROM trials WHERE id = ?", (trial,)).fetchone()
            return Match(trial, "exact" if key in (normalise(trial), normalise(name)) else "alias", query.strip(), name)
        # not one exact name: prefix, typo, ambiguity, a drug
        return self.names().match("trial", query, exact_only)

    @_guarded
    def trial_card(self, query: str, exact_only: bool = False) -> dict:
        """The trial card payload, with how the query was matched."""
        for _attempt in range(2):
            found = self.trial_match(query, exact_only)
            file, card, crc = self.db.execute("SELECT file, card, card_crc FROM trials WHERE id = ?",
                                              (found.id,)).fetchone()
            if self._fresh([file]):
                break
        _checked(crc, card)
        return {**marshal.loads(card), "match": found.to_dict()}

    @_guarded
    def drug_card(self, query: str, exact_only: bool = False) -> dict:
        """The drug card payload, from its compiled head and its trials' summaries. Every trial file is
        checked, not only those of the drug's trials: an edit that adds the drug to another trial must show."""
        from . import indexed
        from .contract import envelope

        for _attempt in range(2):
            match = self.names().match("drug", query, exact_only)  # a name not found never starts the check
            with self._checking() as verdict:
                drug = indexed.head(self.db, _checked, "drug", match.id)
                drug["trials"] = self._late(indexed.drug_trials(self.db, _checked, match.id))
                if self._fresh(None, verdict):
                    break
        return {**envelope("drug", drug=drug), "match": match.to_dict()}

    def _late(self, encoded):
        """An Encoded list whose texts are read when first written: a damaged read rebuilds the file once
        and reads the same trials' texts from it (nothing is written before they are read)."""
        from .errors import ImmunoError

        load = encoded.load

        def read(keys):
            try:
                return load(keys, db=self.db)  # the file now open: another list's read may have rebuilt it
            except (sqlite3.Error, Damaged) as exc:
                self._recover(exc)
            try:
                return load(keys, db=self.db)
            except (sqlite3.Error, Damaged, KeyError) as exc:
                raise ImmunoError(f"the compiled cache was damaged ({exc}) while the answer was being read; it "
                                  "has been rebuilt: run the command again") from None

        encoded.load = read
        return encoded

    @_guarded
    def context_card(self, name: str, query: str, exact_only: bool = False) -> dict:
        """The indication, biomarker or irAE card (`name` as in context.py), from the compiled indexes; from
        the whole knowledge for a record the compiled file has no head for."""
        from . import indexed

        for _attempt in range(2):
            with self._checking() as verdict:
                try:
                    card = self._indexed_card(name, query, exact_only)
                except indexed.Missing:
                    from . import context
                    from .queries import Catalogue

                    verdict.close()  # the whole knowledge is read and checked instead
                    return getattr(context, name)(Catalogue(self.knowledge()), query, exact_only)
                if self._fresh(None, verdict):
                    break
        return card

    def _indexed_card(self, name: str, query: str, exact_only: bool) -> dict:
        from . import indexed

        db = self.db
        if name == "indication_card":
            from .vocabulary import SETTINGS

            match = self.names().match("indication", query, exact_only)
            card = indexed.head(db, _checked, name, match.id)
            covered = card.pop("covered")
            card["indication"]["settings"] = [{**group, "trials": self._late(group["trials"])} for group in
                                              indexed.indication_settings(db, _checked, covered, SETTINGS)]
        else:
            from .index import NameIndex

            kind = name.removesuffix("_card")
            entries = indexed.head(db, _checked, "index", kind)
            match = NameIndex.build("irAE" if kind == "irae" else kind,
                                    ((e["id"], e["name"], [e["id"], *e["synonyms"]]) for e in entries)
                                    ).match(query, exact_only)
            card = indexed.head(db, _checked, name, match.id)
            if kind == "biomarker":
                card["biomarker"]["trials"] = indexed.biomarker_trials(db, _checked, match.id)
            else:
                card["irae"]["trial_rates"] = indexed.irae_rates(db, _checked, card.pop("endpoints"))
        card["match"] = match.to_dict()
        return card

    @_guarded
    def list_items(self, what: str) -> list | None:
        """`list`'s items of a kind other than trials (compiled), or None for a vocabulary of the code."""
        from . import indexed

        return indexed.head(self.db, _checked, "list", what) if what in indexed.LISTED else None

    @_guarded
    def trial_columns(self) -> list[str] | None:
        from . import indexed

        return indexed.trial_columns(self.db, _checked)

    def trial_items(self, line: bool = False):
        """Every trial's `list` item as compact JSON (`line`: as its TSV line), by name, streamed in chunks
        (lists of texts; the trial files checked first). A damaged chunk before any output rebuilds and
        reads anew; after it, the answer fails (as `compare`)."""
        from . import indexed
        from .errors import ImmunoError

        given = 0
        try:
            self._fresh(None)
            for chunk in indexed.trial_items(self.db, _checked, line):
                given += 1
                yield chunk
        except (sqlite3.Error, Damaged) as exc:
            if given or self._recovered:
                if not self._recovered:
                    self._recover(exc)
                raise ImmunoError(f"the compiled cache was damaged ({exc}) while the answer was being written; "
                                  "it has been rebuilt: run the command again") from None
            self._recover(exc)
            yield from indexed.trial_items(self.db, _checked, line)

    @_guarded
    def search(self, text: str) -> list:
        """queries.search_hits over the records FTS5 finds holding every word of three characters or more
        (all records where no word is that long, or, with a notice, where this SQLite lacks FTS5)."""
        from . import indexed
        from .search import search_hits, word_keys

        drugs = self.names().index("drug")
        words = [alts for alts in word_keys(text, drugs) if all(len(a) >= 3 for a in alts)]
        full_text = indexed.has_full_text(self.db)
        if words and not full_text:
            _notice("this Python's SQLite has no FTS5 trigram index; searching by reading every record")
        for _attempt in range(2):
            with self._checking() as verdict:
                found = indexed.documents(self.db, _checked, words if words and full_text else None)
                hits = search_hits(text, found, lambda: indexed.documents(self.db, _checked, None), drugs=drugs)
                if self._fresh(None, verdict):
                    break
        return hits

    @_guarded
    def comparison(self, endpoint: str | None = None, **filters) -> "Selection":
        """The rows `compare` shows, chosen from their facts alone (queries.select, as in memory)."""
        from .selection import Facts, compare_filters, select

        chosen = compare_filters(self.names(), endpoint, **filters)
        # A covering index: the facts are read without touching the rows' wide JSON and cells.
        wanted = sorted(chosen.endpoints or ())
        query = ("SELECT id, file, facts, facts_crc FROM rows INDEXED BY rows_facts"
                 + (f" WHERE endpoint IN ({','.join('?' * len(wanted))})" if wanted else "") + " ORDER BY id")
        for _attempt in range(2):
            with self._checking() as verdict:
                facts = []
                for row, file, values, crc in self.db.execute(query, wanted):
                    _checked(crc, values)
                    facts.append(Facts(*marshal.loads(values), ref=(row, file)))
                rows = select(facts, chosen)
                if self._fresh(None, verdict):  # every trial was weighed, so every trial file must be as compiled
                    break
        found = Selection(self, chosen.shown, [f.ref[0] for f in rows], lambda: self.comparison(endpoint, **filters))
        found.older = {f.ref[0]: [o.ref[0] for o in f.older] for f in rows if f.older}
        return found


class Selection:
    """Chosen comparison rows, read in the form the output needs: the JSON payloads, or the table's cells."""

    CHUNK = 2000  # rows checked before any of them is given out: a damaged one is found before output starts

    def __init__(self, compiled: Compiled, filters: dict, rows: list[int], again=None):
        self.compiled, self.filters, self.rows, self.again = compiled, filters, rows, again
        self.older: dict[int, list[int]] = {}  # row -> earlier cuts of its comparison, newest first

    def complete_payloads(self):
        """The rows' JSON with each figure the newest cut lacks taken from the newest earlier cut that has it."""
        from .queries import fill_from_older

        if not self.older:
            yield from self.payloads()
            return
        chosen = list(zip(self.rows, self.payloads()))  # read whole first: one temporary table at a time
        wanted = sorted({o for row in self.rows for o in self.older.get(row, ())})
        earlier = dict(zip(wanted, Selection(self.compiled, {}, wanted).payloads()))
        for row, payload in chosen:
            older = [earlier[o] for o in self.older.get(row, ())]
            yield fill_from_older(payload, older) if older else payload

    def __len__(self) -> int:
        return len(self.rows)

    def _column(self, column: str):
        """One column of the chosen rows, in their order: one query, through a temporary table of the order.

        Rows are read and checked a chunk at a time; a damaged first chunk rebuilds the cache and reads
        the rows anew, a later one (output has begun) rebuilds it and fails the answer."""
        given = 0
        try:
            db = self.compiled.db
            db.execute("CREATE TEMP TABLE IF NOT EXISTS chosen(seq INTEGER PRIMARY KEY, row INTEGER)")
            db.execute("DELETE FROM chosen")
            db.executemany("INSERT INTO chosen(row) VALUES (?)", ((row,) for row in self.rows))
            if column not in ("payload", "cells", "csv"):
                raise ValueError(column)
            # only the column written, with its own checksum: a table never reads the JSON, nor JSON the cells
            cursor = db.execute(f"SELECT rows.{column}, rows.{column}_crc FROM chosen "
                                "JOIN rows ON rows.id = chosen.row ORDER BY chosen.seq")
            while True:
                chunk = cursor.fetchmany(self.CHUNK)
                if not chunk:
                    return
                for value, crc in chunk:
                    _checked(crc, value)
                for value, _crc_ in chunk:
                    given += 1
                    yield value
        except (sqlite3.Error, Damaged) as exc:
            if given or self.again is None or self.compiled._recovered:
                if not self.compiled._recovered:
                    self.compiled._recover(exc)
                from .errors import ImmunoError

                raise ImmunoError(f"the compiled cache was damaged ({exc}) while the answer was being written; "
                                  "it has been rebuilt: run the command again") from None
            self.compiled._recover(exc)
            fresh = self.again()
            self.rows = fresh.rows
            yield from fresh._column(column)

    def texts(self):
        """Each row's JSON, compact, as compiled: `--json` and `--format ndjson` write it as it is."""
        return self._column("payload")

    def payloads(self):
        return map(json.loads, self._column("payload"))

    def cells(self):
        return (text.split(_SEP) for text in self._column("cells"))

    def complete(self, column: str):
        """Each row, complete, in one compiled form: "payload" (compact JSON), "cells" (the plain table's) or
        "csv" (a CSV line). As compiled, but a row that takes a figure from an earlier cut is made anew from
        its completed JSON, so output streams whatever the cuts."""
        from .contract import compact
        from .render.flat import COMPARISON_COLUMNS, comparison_record, write_csv
        from .render.text import comparison_cells

        make = {"payload": compact,
                "cells": lambda row: [_cell(c) for c in comparison_cells(row)],
                "csv": lambda row: write_csv(COMPARISON_COLUMNS, [comparison_record(row)], False)}[column]
        completed = {}
        if self.older:
            some = Selection(self.compiled, {}, [row for row in self.rows if row in self.older])
            some.older = self.older
            completed = dict(zip(some.rows, some.complete_payloads()))  # read whole: one temporary table at a time
        for row, value in zip(self.rows, self._column(column)):
            if row in completed:
                yield make(completed[row])
            else:
                yield value.split(_SEP) if column == "cells" else value


def _trusted(path: Path) -> Path | None:
    """The compiled file's path, or None (compile in memory, and say why) if it or its folder could have
    been written by someone else."""
    try:
        why = _distrust(os.stat(path.parent), f"the cache folder {path.parent}")
        if why is None and os.path.lexists(path):
            why = _distrust(os.lstat(path), f"the compiled file {path}")
    except OSError:
        return path  # no folder yet (it is made 0700), or none can be made: the build says which
    if why:
        _notice(f"{why}; not using it, compiling in memory (use a folder of your own: IMMUNO_CACHE_DIR)")
        return None
    return path


def _knowledge_from(base: dict):
    """The Knowledge without trials from the plain data `_fill` stored, through the loader's constructors."""
    from .loader import RawFile, _approval, _drug, _endpoint, _indication
    from .model import Knowledge

    def raw(kind: str, origin: str, data) -> RawFile:
        return RawFile(kind, Path(origin), origin, "", data, (0, 0, 0))

    return Knowledge(
        drugs={d["id"]: _drug(raw("drug", origin, d)) for origin, d in base["drugs"]},
        approvals={a["id"]: _approval(raw("approval", origin, a)) for origin, a in base["approvals"]},
        endpoints={e["id"]: _endpoint(e, raw("endpoints", origin, None)) for origin, e in base["endpoints"]},
        indications={i["id"]: _indication(i, raw("indications", origin, None)) for origin, i in base["indications"]},
        trials={}, directories=base["directories"], context=base["context"])


_SEP = "\x1f"  # between a row's table cells (the ASCII unit separator)


def _cell(text: str) -> str:
    """A table cell as compiled: on one line, with no tab, so a TSV line is its cells joined as they are."""
    from .render.plain import flat

    return flat(text.replace(_SEP, " ")).replace("\t", " ").replace("\r", "")

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
        with open(problems_out, "w", encoding="utf-8") as handle:
            json.dump([list(p) for p in problems], handle)
        code = 0
    finally:
        os._exit(code)  # never run the parent's exit handlers in a fork


def _merge(target: str, parts: list[str]) -> None:
    """Add the other shares' trials to the first share's file (which holds what every share holds alike)."""
    from . import indexed

    db = sqlite3.connect(target)
    db.execute("PRAGMA journal_mode = OFF")
    db.execute("PRAGMA synchronous = OFF")
    for part in parts:
        db.execute("ATTACH DATABASE ? AS part", (part,))
        db.execute("INSERT INTO files SELECT * FROM part.files WHERE shared = 0")
        for table in ("trials", "names", "trial_drugs"):
            db.execute(f"INSERT INTO {table} SELECT * FROM part.{table}")
        db.execute("INSERT INTO rows (file, endpoint, facts, facts_crc, payload, payload_crc, cells, cells_crc, csv, "
                   "csv_crc) SELECT file, endpoint, facts, facts_crc, payload, payload_crc, cells, cells_crc, csv, "
                   "csv_crc FROM part.rows ORDER BY id")
        indexed.merge(db)
        # each share dated its own trials: the knowledge is as new as the newest of them
        db.execute("UPDATE meta SET value = (SELECT max(value) FROM (SELECT value FROM meta WHERE key = ? UNION ALL "
                   "SELECT value FROM part.meta WHERE key = ?)) WHERE key = ?",
                   ("knowledge_as_of",) * 3)
        db.commit()
        db.execute("DETACH DATABASE part")
    db.executescript(_INDEXES + indexed.INDEXES)
    indexed.index_text(db)
    indexed.write_listing(db, _crc)
    _write_stamps(db)
    db.commit()
    db.close()


def _clashing_names(path: str) -> list:
    """Names or aliases shared by trials of different shares, by the loader's own rule (NCT ids may be
    shared), found from the merged name index: the trials involved are read only if there are any."""
    import re

    from .loader import RawFile, _shared_trial_names, trial_from_data

    db = sqlite3.connect(path)
    try:
        ids = {trial for key, trials in db.execute(
                   "SELECT key, group_concat(DISTINCT trial) FROM names GROUP BY key HAVING COUNT(DISTINCT trial) > 1")
               if not re.fullmatch(r"nct\d+", key) for trial in trials.split(",")}
        found = [db.execute("SELECT id, origin, data FROM trials WHERE id = ?", (t,)).fetchone() for t in sorted(ids)]
    finally:
        db.close()
    raws = {tid: RawFile("trial", Path(origin), origin, "", json.loads(data), (0, 0, 0)) for tid, origin, data in found}
    return _shared_trial_names(raws, {tid: trial_from_data(raw.data, raw.display) for tid, raw in raws.items()})


def _fill(db: sqlite3.Connection, dirs, knowledge, files, stamps, progress, first_file_id: int = 0,
          indexes: bool = True) -> None:
    from . import indexed, serialize
    from .contract import compact
    from .loader import no_gc, plain
    from .queries import Catalogue, trial_facts
    from .render.flat import comparison_record
    from .render.text import comparison_cells

    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")  # the mark `_tidy` looks for
    db.executescript(_TABLES)
    file_ids = {raw.display: number for number, raw in enumerate(files, first_file_id)}
    db.executemany("INSERT INTO files VALUES (?, ?, ?, ?, ?, ?)",
                   [(number, str(raw.path), *raw.stamp, raw.kind != "trial")
                    for number, raw in enumerate(files, first_file_id)])
    db.executemany("INSERT INTO dirs VALUES (?, ?, ?)", [(path, *stamp) for path, stamp in stamps.items()])
    db.executemany("INSERT INTO meta VALUES (?, ?)", [("key", _key_text(dirs)), ("code", _code_stamp()), ("knowledge_as_of", serialize.knowledge_as_of(knowledge))])
    catalogue = Catalogue(knowledge)
    names = {kind: (index.exact, index.labels) for kind, index in
             (("drug", catalogue.drug_index), ("endpoint", catalogue.endpoint_index),
              ("indication", catalogue.indication_index), ("target", catalogue.target_index))}
    # The knowledge without trials as the checked file data it was made from (plain values, never a pickle)
    by_file = {raw.display: raw.data for raw in files}

    def entry(kind: str, record) -> dict:  # the list file's entry a record was made from (the last of its id)
        return plain([e for e in by_file[record.origin][kind] if e["id"] == record.id][-1])

    base = marshal.dumps({
        "drugs": [(d.origin, plain(by_file[d.origin])) for d in knowledge.drugs.values()],
        "approvals": [(a.origin, plain(by_file[a.origin])) for a in knowledge.approvals.values()],
        "endpoints": [(e.origin, entry("endpoints", e)) for e in knowledge.endpoints.values()],
        "indications": [(i.origin, entry("indications", i)) for i in knowledge.indications.values()],
        "directories": list(knowledge.directories), "context": plain(knowledge.context)})
    names_blob = marshal.dumps((names, catalogue.names.parents))
    db.execute("INSERT INTO base VALUES (?, ?, ?, ?)", (base, _crc(base), names_blob, _crc(names_blob)))
    index = catalogue.trial_index
    db.executemany("INSERT INTO names VALUES (?, ?, ?)",
                   [(k, t, _crc(k, t)) for k, ids in index.exact.items() for t in ids])
    total = len(knowledge.trials)
    data = {raw.display: raw.data for raw in files if raw.kind == "trial"}
    trials, drugs, rows = [], [], []
    csv_line = _csv_writer()
    with no_gc():
        for done, trial in enumerate(knowledge.trials.values(), 1):
            file = file_ids.get(trial.origin)
            card = serialize.envelope("trial", trial=serialize.trial(trial, knowledge))
            for facts in trial_facts(trial, knowledge):
                payload = serialize.comparison_row(facts.ref, knowledge)
                values, text = marshal.dumps(facts.values()), compact(payload)
                # cells as the plain table prints them (the one table drawn from compiled cells)
                cells = _SEP.join(_cell(c) for c in comparison_cells(payload))
                # and its CSV line, as `--format csv` writes it
                line = csv_line(comparison_record(payload))
                rows.append((file, facts.endpoint, values, _crc(values), text, _crc(text), cells, _crc(cells), line,
                             _crc(line)))
            # Cards are marshalled (plain data: quicker than pickle, nothing to import to read); rows are
            # compact JSON, so that `compare --json` of 100,000 rows writes them without encoding.
            checked = data[trial.origin]
            text = getattr(checked, "text", None) or json.dumps(checked, ensure_ascii=False, separators=(",", ":"),
                                                                allow_nan=False)
            card = marshal.dumps(card)
            trials.append((trial.id, file, trial.name, trial.origin, text, card, _crc(trial.id, trial.origin, text),
                           _crc(card)))
            drugs += [(d, trial.id, _crc(d, trial.id)) for d in trial.drugs]
            if done % 500 == 0 or done == total:
                db.executemany("INSERT INTO trials VALUES (?, ?, ?, ?, ?, ?, ?, ?)", trials)
                db.executemany("INSERT INTO trial_drugs VALUES (?, ?, ?)", drugs)
                db.executemany("INSERT INTO rows (file, endpoint, facts, facts_crc, payload, payload_crc, cells, "
                               "cells_crc, csv, csv_crc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
                trials, drugs, rows = [], [], []
                if progress:
                    progress("compiling", done, total)
    if progress:
        progress("compiling", total, total)
    indexed.fill(db, knowledge, _crc, full_text=indexes)
    if indexes:
        db.executescript(_INDEXES + indexed.INDEXES)
        indexed.write_listing(db, _crc)
        _write_stamps(db)
    db.commit()


def _write_stamps(db: sqlite3.Connection) -> None:
    """The trial files' stamps as one blob, for the whole-knowledge answers' check."""
    blob = marshal.dumps(db.execute("SELECT path, size, mtime_ns, ctime_ns FROM files WHERE shared = 0 "
                                    "ORDER BY id").fetchall())
    db.execute("INSERT INTO stamps VALUES (?, ?)", (blob, _crc(blob)))


def _csv_writer():
    """One comparison record as the CSV line render.flat.write_csv writes for it (its columns, its
    spreadsheet-safe cells), with one writer for every row: a writer per row was a seventh of a build."""
    import csv
    import io

    from .render.flat import COMPARISON_COLUMNS, csv_value

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")

    def line(record: dict) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([csv_value(record.get(column, "")) for column in COMPARISON_COLUMNS])
        return buffer.getvalue()

    return line


def _put(path: Path, write) -> bool:
    """A compiled file written by `write(temporary name)` in the cache folder (0600), then renamed into
    place, so parallel or interrupted runs never leave half a file; False, and nothing left, if it cannot be."""
    import tempfile

    tmp = None
    try:
        _make_folder(path.parent)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".knowledge-", suffix=".tmp")  # 0600
        os.close(fd)
        write(tmp)
        os.replace(tmp, path)
        tmp = None
        _tidy(path)
        return True
    except (OSError, sqlite3.Error):
        return False
    finally:
        if tmp:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def _tidy(current: Path) -> None:
    """Keep the newest few compiled files (other --data-dir lists), and remove what a killed build left
    behind an hour ago. Only files of the cache's own name pattern, with its mark inside, that this user
    owns, directly in the cache folder: IMMUNO_CACHE_DIR may point at a folder that holds other things.
    Tidying never fails a run: another process may be at it too."""
    import shutil
    import time

    folder = current.parent
    try:
        for left in [*folder.glob(".knowledge-*.tmp"), *folder.glob(".build-*")]:
            st = os.lstat(left)
            if time.time() - st.st_mtime <= 3600 or not _ours(left, st):
                continue
            if stat.S_ISDIR(st.st_mode):
                shutil.rmtree(left, ignore_errors=True)
            else:
                left.unlink(missing_ok=True)
        compiled = [(os.lstat(p), p) for p in folder.glob("knowledge-*.sqlite")]
        compiled = sorted(((st, p) for st, p in compiled if _ours(p, st)), key=lambda sp: sp[0].st_mtime, reverse=True)
        for _st, old in compiled[KEEP:]:
            if old != current:
                old.unlink(missing_ok=True)
    except OSError:
        pass


def _ours(path: Path, st: os.stat_result) -> bool:
    """Made by this cache: this user's, not a link, and marked (a build folder's marker file, or the
    SQLite header's application id)."""
    if os.name == "posix" and st.st_uid != os.getuid():
        return False
    if stat.S_ISDIR(st.st_mode):
        return os.path.isfile(path / BUILD_MARK) and not os.path.islink(path / BUILD_MARK)
    if not stat.S_ISREG(st.st_mode):
        return False
    try:
        with open(path, "rb") as handle:
            header = handle.read(72)
    except OSError:
        return False
    return header[:16] == b"SQLite format 3\x00" and int.from_bytes(header[68:72], "big") == APPLICATION_ID
