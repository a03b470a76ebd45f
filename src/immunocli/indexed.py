"""Answers read from the compiled file's indexes: the drug, indication, biomarker and irAE cards, `list`
and `search`, each reading only the rows it shows.

The compiled file keeps, beside each trial's card, what these answers show of a trial: its summary (the
headline a drug or indication card lists) as the indented JSON a card writes and as the card's line of
table cells, its `list` item, its biomarker entries, its irAE-rate rows and its search fields; and, once
all trials are in, `list trials` in stored chunks and each drug's card lines in one row. What does not depend on the trials (a drug's approvals, an indication's sub-types, a
biomarker's text) is kept as a card "head" whose trial list is filled at answer time. Each is made by the
same functions the whole-knowledge answer uses (serialize, context, listing, queries.search_documents),
so the two give the same JSON; tests/test_indexed.py holds them equal on the bundled data.

Search finds its candidates through an SQLite FTS5 trigram index of the normalised fields (a word of
three characters or more is a substring query); `search.search_hits` then checks and ranks them as the
whole-knowledge search does. Where FTS5 is missing it scans the stored fields, and says so once.
"""

from __future__ import annotations

import json
import marshal
import sqlite3

from .contract import Encoded, indented

TABLES = """
CREATE TABLE heads(kind TEXT, id TEXT, payload TEXT, crc INTEGER, PRIMARY KEY (kind, id));
CREATE TABLE summaries(trial TEXT, name TEXT, sort_name TEXT, indication TEXT, year INTEGER, setting TEXT,
                       cells TEXT, therapies TEXT, crc INTEGER, item TEXT, item_crc INTEGER, line TEXT);
CREATE TABLE summary_texts(trial TEXT PRIMARY KEY, crc INTEGER, summary TEXT);
CREATE TABLE marks(biomarker TEXT, trial TEXT, name TEXT, entry TEXT, crc INTEGER);
CREATE TABLE rates(endpoint TEXT, trial TEXT, name TEXT, payloads TEXT, crc INTEGER);
CREATE TABLE listing(kind TEXT, seq INTEGER, text TEXT, crc INTEGER, PRIMARY KEY (kind, seq));
CREATE TABLE drug_lines(drug TEXT PRIMARY KEY, trials TEXT, cells TEXT, crc INTEGER);
CREATE TABLE search_docs(seq INTEGER PRIMARY KEY, grp INTEGER, kind TEXT, id TEXT, name TEXT, doc BLOB,
                         crc INTEGER, text TEXT);
"""
INDEXES = """
CREATE INDEX summaries_trial ON summaries(trial);
CREATE INDEX summaries_indication ON summaries(indication);
CREATE INDEX summaries_sort ON summaries(sort_name);
CREATE INDEX marks_biomarker ON marks(biomarker);
CREATE INDEX rates_endpoint ON rates(endpoint);
"""
TRIAL_TABLES = ("summaries", "summary_texts", "marks", "rates")  # one share's trials each: merged whole
# Search's full-text index: trigrams of the normalised fields, as stored (no case folding: they are folded).
_FTS = ("CREATE VIRTUAL TABLE search_text USING fts5(text, content='search_docs', content_rowid='seq', "
        "tokenize='trigram case_sensitive 1')")
_GROUP = {"drug": 0, "trial": 1}  # search's record order: drugs, trials, then the rest as written
LISTED = ("drugs", "endpoints", "indications", "approvals", "biomarkers", "irae", "targets")


def _compact(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# --- compiling -------------------------------------------------------------------------------------

def fill(db: sqlite3.Connection, knowledge, crc, full_text: bool) -> None:
    """Write the heads, every trial's summary, marks, rates and search fields (`full_text`: and index them;
    a share of a parallel build leaves that to the merge)."""
    db.executescript(TABLES)
    _fill_heads(db, knowledge, crc)
    _fill_trials(db, knowledge, crc)
    if full_text:
        index_text(db)


def index_text(db: sqlite3.Connection) -> None:
    """The FTS5 index of every stored search field; none where this SQLite lacks FTS5 or its trigrams
    (the read path then scans)."""
    try:
        db.execute(_FTS)
    except sqlite3.OperationalError:
        return
    db.execute("INSERT INTO search_text(search_text) VALUES ('rebuild')")


def _fill_heads(db, k, crc) -> None:
    import dataclasses

    from . import context, serialize
    from .listing import items
    from .queries import Catalogue, search_documents

    heads = []

    def head(kind: str, rid: str, payload) -> None:
        text = _compact(payload)
        heads.append((kind, rid, text, crc(kind, rid, text)))

    bare = Catalogue(dataclasses.replace(k, trials={}))  # the cards without trials: what they add is per trial
    for d in k.drugs.values():
        head("drug", d.id, serialize.drug(d, k, bare.approvals_of(d.id), []))
    for kind, entries in (("indication_card", k.indications), ("biomarker_card", k.context.get("biomarkers", [])),
                          ("irae_card", k.context.get("iraes", []))):
        for entry in entries:
            rid = entry if isinstance(entry, str) else entry["id"]
            card = getattr(context, kind)(bare, rid, True)
            if card["match"]["id"] == rid:  # an id that names another record is answered from the whole knowledge
                if kind == "indication_card":
                    card["covered"] = sorted(k.descendants(rid))
                elif kind == "irae_card":
                    card["endpoints"] = entry.get("endpoints", [])
                head(kind, rid, card)
    head("index", "biomarker", [{"id": e["id"], "name": e["name"], "synonyms": e.get("synonyms", [])}
                                for e in k.context.get("biomarkers", [])])
    head("index", "irae", [{"id": e["id"], "name": e["name"], "synonyms": e.get("synonyms", [])}
                           for e in k.context.get("iraes", [])])
    for what in LISTED:
        head("list", what, items(k, what))
    db.executemany("INSERT INTO heads VALUES (?, ?, ?, ?)", heads)
    docs = [document for document in search_documents(dataclasses.replace(k, trials={}))]
    _write_documents(db, docs, crc)


def _write_documents(db, docs, crc) -> None:
    """Each record's search fields, their normalised keys, and the keys as one text for the FTS5 index (a
    space, which no key holds, between them: a word never matches across two)."""
    from .search import search_keys

    rows = []
    for kind, rid, name, fields in docs:
        keys = search_keys(fields)
        text = " ".join(key for values in keys.values() for key in values)
        doc = marshal.dumps((fields, keys))  # plain data: quicker to read than JSON
        # the checksum covers what a search reads (the text only feeds the FTS5 index, whose finds are
        # checked against the keys), and the text is the row's last column: it is never read
        rows.append((_GROUP.get(kind, 2), kind, rid, name, doc, text, crc(kind, rid, name, doc)))
    db.executemany("INSERT INTO search_docs (grp, kind, id, name, doc, text, crc) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)


def _fill_trials(db, k, crc) -> None:
    from . import serialize
    from .index import normalise
    from .listing import items
    from .queries import comparison_rows, select_cuts, trial_document
    from .render.cards import summary_cells
    from .render.table import _tsv_cell

    listed = {item["id"]: item for item in items(k, "trials")}
    markers = [(b["id"], [normalise(t) for t in (b.get("match") or [b["id"]])]) for b in k.context.get("biomarkers", [])]
    markers = [(bid, [key for key in keys if key]) for bid, keys in markers]
    endpoints = list(dict.fromkeys(e for irae in k.context.get("iraes", []) for e in irae.get("endpoints", [])))

    def mentions(keys, text) -> bool:
        return any(key in text for key in keys)

    summaries, summary_texts, marks, rates, docs = [], [], [], [], []

    def flush() -> None:  # every thousand trials: a share of 50,000 never holds all its rows at once
        db.executemany("INSERT INTO summaries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", summaries)
        db.executemany("INSERT INTO summary_texts VALUES (?, ?, ?)", summary_texts)
        db.executemany("INSERT INTO marks VALUES (?, ?, ?, ?, ?)", marks)
        db.executemany("INSERT INTO rates VALUES (?, ?, ?, ?, ?)", rates)
        _write_documents(db, docs, crc)
        for rows in (summaries, summary_texts, marks, rates, docs):
            rows.clear()

    for done, t in enumerate(k.trials.values(), 1):
        experimental = [d for a in t.arms if a.role != "control" for d in a.drugs]
        therapies = _compact(sorted({k.drugs[d].name for d in experimental
                                     if d in k.drugs and k.drugs[d].modality not in ("chemotherapy", "other")}))
        # the summary as the indented JSON a card writes it (in a table of its own: the summaries' rows stay
        # small, so a card's thousand rows are read from few pages), and its cells in a card's table
        # (tab-joined: a cell holds no tab or newline); the list item as the JSON it is written as
        found = serialize.trial_summary(t, k)
        summary, cells = indented(found), "\t".join(summary_cells(found))
        item = _compact(listed[t.id])
        # and its line of `list trials` piped, as render.table.tsv writes it
        line = "\t".join(_tsv_cell(value) for column, value in listed[t.id].items() if column != "origin")
        summaries.append((t.id, t.name, t.name.casefold(), t.indication, t.year, t.setting, cells, therapies,
                          crc(t.id, cells, therapies), item, crc(t.id, item), line))
        summary_texts.append((t.id, crc(t.id, summary), summary))
        texts = [normalise(x or "") for x in (*t.biomarkers, t.population, *(r.population for r in t.results))]
        for bid, keys in markers:
            if any(mentions(keys, text) for text in texts):
                entry = _compact({"id": t.id, "name": t.name, "indication": t.indication, "setting": t.setting,
                                  "selected_by": [b for b in t.biomarkers if mentions(keys, normalise(b or ""))],
                                  "populations": sorted({r.population for r in t.results
                                                         if mentions(keys, normalise(r.population or ""))})})
                marks.append((bid, t.id, t.name, entry, crc(bid, t.id, entry)))
        for endpoint in endpoints:
            found = [serialize.comparison_row(row, k) for result in select_cuts(t, endpoint, "latest")
                     for row in comparison_rows(t, result)]
            if found:
                text = _compact(found)
                rates.append((endpoint, t.id, t.name, text, crc(endpoint, t.id, text)))
        docs.append(trial_document(t, k))
        if done % 1000 == 0:
            flush()
    flush()


def merge(db: sqlite3.Connection) -> None:
    """Add an attached share's (`part`) trials to these tables; the heads are every share's alike."""
    for table in TRIAL_TABLES:
        db.execute(f"INSERT INTO {table} SELECT * FROM part.{table}")
    db.execute("INSERT INTO search_docs (grp, kind, id, name, doc, text, crc) "
               "SELECT grp, kind, id, name, doc, text, crc FROM part.search_docs WHERE grp = 1 ORDER BY seq")


# --- answering -------------------------------------------------------------------------------------

class Missing(Exception):
    """The compiled file has no head for this record: the caller answers from the whole knowledge."""


def head(db, checked, kind: str, rid: str):
    found = db.execute("SELECT payload, crc FROM heads WHERE kind = ? AND id = ?", (kind, rid)).fetchone()
    if found is None:
        raise Missing(f"{kind} {rid}")
    checked(found[1], kind, rid, found[0])
    return json.loads(found[0])


def _summaries(db, checked, query: str, params) -> list[tuple]:
    """The rows (trial, cells, therapies, crc, …), checked."""
    rows = db.execute(query, params).fetchall()
    for trial, cells, therapies, crc, *_ in rows:
        checked(crc, trial, cells, therapies)
    return rows


_SUMMARY = "SELECT trial, cells, therapies, crc"


def _texts(db, checked, trials: list[str]) -> list[str]:
    """The summaries' JSON texts of these trials, in their order, checked (read only when written or decoded);
    KeyError for a trial the file does not hold."""
    found = {}
    for start in range(0, len(trials), 500):
        chunk = trials[start:start + 500]
        for trial, summary, crc in db.execute(
                f"SELECT trial, summary, crc FROM summary_texts WHERE trial IN ({','.join('?' * len(chunk))})",
                chunk):
            checked(crc, trial, summary)
            found[trial] = summary
    return [found[t] for t in trials]


def drug_trials(db, checked, drug_id: str) -> Encoded:
    """The drug card's trials: each trial with the drug, by name (then as compiled), from the drug's one
    stored row. Their texts are read when first wanted, from `db` (the file a rebuild made, if one did
    meanwhile)."""
    found = db.execute("SELECT trials, cells, crc FROM drug_lines WHERE drug = ?", (drug_id,)).fetchone()
    trials, cells = ([], []) if found is None else (found[0].split("\n"), found[1].split("\n"))
    if found is not None:
        checked(found[2], drug_id, found[0], found[1])
    return Encoded(None, [line.split("\t") for line in cells], trials,
                   lambda keys, db=db: _texts(db, checked, keys))


def indication_settings(db, checked, covered: list[str], order: list[str]) -> list[dict]:
    """The indication card's settings: trials of the indication and those below it, newest first, each
    summary with its immunotherapies (the key added last, as the whole-knowledge card adds it)."""
    marks = ",".join("?" * len(covered))
    rows = _summaries(db, checked, f"{_SUMMARY}, setting FROM summaries WHERE indication IN ({marks}) "
                      "ORDER BY -coalesce(year, 0), name, rowid", covered)
    therapies_of: dict[str, list[str]] = {}
    by_setting: dict[str, tuple[list, list]] = {}
    for trial, cells, therapies, _crc, setting in rows:
        trials, lines = by_setting.setdefault(setting, ([], []))
        trials.append(trial)
        names = therapies_of[trial] = json.loads(therapies)
        line = cells.split("\t")
        line.insert(4, ", ".join(names))
        lines.append(line)

    def load(trials: list[str], db=db) -> list[str]:
        return [text[:-2] + ',\n  "immunotherapies": ' + indented(therapies_of[t]).replace("\n", "\n  ") + "\n}"
                for t, text in zip(trials, _texts(db, checked, trials))]

    return [{"setting": s, "trials": Encoded(None, by_setting[s][1], by_setting[s][0], load)}
            for s in order if s in by_setting]


def biomarker_trials(db, checked, biomarker_id: str) -> list[dict]:
    out = []
    for trial, entry, crc in db.execute("SELECT trial, entry, crc FROM marks WHERE biomarker = ? ORDER BY name, rowid",
                                        (biomarker_id,)):
        checked(crc, biomarker_id, trial, entry)
        out.append(json.loads(entry))
    return out


def irae_rates(db, checked, endpoints: list[str]) -> list[dict]:
    out = []
    for endpoint in endpoints:
        for trial, payloads, crc in db.execute("SELECT trial, payloads, crc FROM rates WHERE endpoint = ? "
                                               "ORDER BY name, rowid", (endpoint,)):
            checked(crc, endpoint, trial, payloads)
            out += json.loads(payloads)
    return out


LISTING_CHUNK = 2000  # trials a stored chunk of `list trials` holds


def write_listing(db: sqlite3.Connection, crc) -> None:
    """`list trials` as it is written, in chunks of lines by name (items as compact JSON, and TSV lines),
    and each drug card's trials (their ids and cells, in the card's order) as one row: made once the trials
    are all in (after a parallel build's merge), so a listing or a drug card reads a few rows."""
    drugs: dict[str, tuple[list, list]] = {}
    for drug, trial, cells, _name, _row in db.execute(
            "SELECT DISTINCT d.drug, s.trial, s.cells, s.name, s.rowid FROM trial_drugs AS d "
            "JOIN summaries AS s ON s.trial = d.trial ORDER BY d.drug, s.name, s.rowid"):
        trials, lines = drugs.setdefault(drug, ([], []))
        trials.append(trial)
        lines.append(cells)
    rows = []
    for drug, (trials, lines) in drugs.items():
        ids, cells = "\n".join(trials), "\n".join(lines)
        rows.append((drug, ids, cells, crc(drug, ids, cells)))
    db.executemany("INSERT INTO drug_lines VALUES (?, ?, ?, ?)", rows)
    cursor = db.execute("SELECT item, line FROM summaries ORDER BY sort_name, rowid")
    seq = 0
    while True:
        chunk = cursor.fetchmany(LISTING_CHUNK)
        if not chunk:
            return
        items, lines = "\n".join(r[0] for r in chunk), "\n".join(r[1] for r in chunk)
        db.executemany("INSERT INTO listing VALUES (?, ?, ?, ?)",
                       [("item", seq, items, crc("item", seq, items)), ("line", seq, lines, crc("line", seq, lines))])
        seq += 1


def trial_items(db, checked, line: bool = False):
    """Every trial's `list` item as compact JSON (`line`: as a TSV line), by name: streamed a stored chunk at
    a time (a list of texts), each chunk checked before any of it is given out."""
    kind = "line" if line else "item"
    for seq, text, crc in db.execute("SELECT seq, text, crc FROM listing WHERE kind = ? ORDER BY seq", (kind,)):
        checked(crc, kind, seq, text)
        yield text.split("\n")


def has_full_text(db) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE name = 'search_text'").fetchone() is not None


def documents(db, checked, words: list[tuple[str, ...]] | None):
    """Search's candidates, in the whole-knowledge order: those holding, for every word, one of its forms
    (each of three characters or more; FTS5), or every record (`words` None)."""
    columns = "SELECT d.kind, d.id, d.name, d.doc, d.crc FROM search_docs AS d"
    if words is None:
        cursor = db.execute(f"{columns} ORDER BY d.grp, d.seq")
    else:
        cursor = db.execute(f"{columns} JOIN search_text ON search_text.rowid = d.seq WHERE search_text MATCH ? "
                            "ORDER BY d.grp, d.seq", (" AND ".join("(" + " OR ".join(f'"{w}"' for w in alts) + ")" for alts in words),))
    out = []
    for kind, rid, name, doc, crc in cursor:
        checked(crc, kind, rid, name, doc)
        out.append((kind, rid, name, *marshal.loads(doc)))
    return out


def trial_columns(db, checked) -> list[str] | None:
    """The columns of `list trials` piped (the first item's, as render.table.listing_rows takes them)."""
    found = db.execute("SELECT trial, item, item_crc FROM summaries ORDER BY sort_name, rowid LIMIT 1").fetchone()
    if found is None:
        return None
    checked(found[2], *found[:2])
    return [column for column in json.loads(found[1]) if column != "origin"]
