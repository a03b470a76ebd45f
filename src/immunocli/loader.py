"""Read the knowledge directories into a `Knowledge`, reporting every problem with file and line.

The bundled `data/` comes first; each user directory is laid over it, and a record whose id matches a
bundled one replaces it (its `origin` says which file it came from).
"""

from __future__ import annotations

import contextlib
import gc
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from .errors import DataError, Problem
from .sanitize import clean
from .layout import ENV_DATA_DIR, EXTENSIONS, LIST_FILES, RECORD_DIRS, bundled_dir, data_dirs  # noqa: F401 - re-exported
from .model import (
    Approval, Arm, ArmFigures, Cut, Drug, Endpoint, FirstApproval, HazardRatio, Indication, Knowledge,
    Landmark, Result, Source, Trial,
)

@dataclass(slots=True)
class RawFile:
    kind: str
    path: Path
    display: str  # the path as shown in messages
    origin: str  # "bundled" or the user directory
    data: object
    stamp: tuple[int, int, int]  # size, mtime_ns and ctime_ns, taken before reading: a later edit always looks newer



def knowledge_files(dirs: list[tuple[Path, str]]) -> tuple[list[tuple[str, Path, str, str]], list[Problem]]:
    """Every knowledge file as (kind, path, display, origin), in load order."""
    found, problems = [], []
    for root, origin in dirs:
        if not root.is_dir():
            problems.append(Problem(str(root), None, "knowledge directory does not exist or is not a directory"))
            continue
        for name, kind in LIST_FILES.items():
            path = root / name
            if os.path.lexists(path):  # not is_file(): a FIFO or device there is reported, not skipped
                found.append((kind, path, _display(path, root, origin), origin))
        for sub, kind in RECORD_DIRS.items():
            folder = root / sub
            if not folder.is_dir():
                continue
            try:
                names = sorted(os.listdir(folder))
            except OSError as exc:
                problems.append(Problem(str(folder), None, f"cannot list: {exc.strerror or exc}"))
                continue
            shown = f"data/{sub}/" if origin == "bundled" else f"{folder}{os.sep}"
            found.extend((kind, folder / name, clean(shown + name), origin) for name in names
                         if name.endswith(EXTENSIONS) and not name.startswith("."))
    return found, problems


def _display(path: Path, root: Path, origin: str) -> str:
    rel = path.relative_to(root).as_posix()
    return f"data/{rel}" if origin == "bundled" else clean(str(path))  # a file name may hold escape sequences


Progress = Callable[[str, int, int], None]  # (phase, done, total): a cache miss over many files reports


def shard_of(path: Path, shards: int) -> int:
    """Which of `shards` parallel builds reads this trial file: by name, so one id always meets itself."""
    import zlib

    return zlib.crc32(path.name.rsplit(".", 1)[0].encode()) % shards


def read_all(dirs: list[tuple[Path, str]], progress: Progress | None = None, shard: tuple[int, int] | None = None,
             listing: tuple[list, list[Problem]] | None = None) -> tuple[list[RawFile], list[Problem]]:
    from . import yamlfile  # only a cache miss parses and checks

    files, problems = listing or knowledge_files(dirs)
    problems = list(problems)
    if shard:
        files = [f for f in files if f[0] != "trial" or shard_of(f[1], shard[1]) == shard[0]]
    raws = []
    for done, (kind, path, display, origin) in enumerate(files, 1):
        if progress and done % 500 == 0:
            progress("reading", done, len(files))
        try:
            st = os.stat(path)
        except OSError as exc:
            problems.append(Problem(display, None, f"cannot read: {exc.strerror or exc}"))
            continue
        data, problem = yamlfile.read(path, display)
        if problem:
            problems.append(problem)
            continue
        raw = RawFile(kind, path, display, origin, data, (st.st_size, st.st_mtime_ns, st.st_ctime_ns))
        file_problems = located(raw, _file_problems)
        problems.extend(file_problems)
        if not file_problems:
            raws.append(raw)
    if progress:
        progress("reading", len(files), len(files))
    return raws, problems


def _file_problems(raw: RawFile) -> list[Problem]:
    from . import schema, validate

    found = [Problem(raw.display, validate.line_at(raw.data, p), m)
             for p, m in schema.problems(raw.data, schema.FILE_KINDS[raw.kind])]
    if raw.kind in RECORD_DIRS.values() and isinstance(raw.data, dict) and not found:
        stem = raw.path.name.rsplit(".", 1)[0]
        if raw.data.get("id") != stem:
            found.append(Problem(raw.display, validate.line_at(raw.data, ("id",)),
                                 f"id {raw.data.get('id')!r} does not match the file name {raw.path.name!r}"))
    return found


def located(raw: RawFile, check: Callable[[RawFile], Iterable[Problem]]) -> list[Problem]:
    """Run `check`; if a JSON file has problems, read it again as YAML so that each names its line."""
    found = list(check(raw))
    if found and raw.path.suffix == ".json":
        from . import yamlfile

        data, problem = yamlfile.read(raw.path, raw.display, as_yaml=True)
        if problem is None:
            found = list(check(RawFile(raw.kind, raw.path, raw.display, raw.origin, data, raw.stamp)))
    return found


def load(extra_dirs: list[str] | None = None, *, strict: bool = True) -> Knowledge:
    """Load and check the knowledge (from the compiled cache when fresh). With strict any problem raises."""
    knowledge, problems = load_with_problems(extra_dirs)
    if problems and strict:
        raise DataError(problems)
    return knowledge


def load_with_problems(extra_dirs: list[str] | None = None) -> tuple[Knowledge, list[Problem]]:
    from .cache import Compiled

    dirs = data_dirs(extra_dirs)
    try:
        return Compiled(dirs).knowledge(), []
    except DataError:
        return build(dirs)


def build(dirs: list[tuple[Path, str]], progress: Progress | None = None, files: list[RawFile] | None = None,
          shard: tuple[int, int] | None = None) -> tuple[Knowledge, list[Problem]]:
    """Parse, check and assemble; `files`, if given, receives every file read (the cache records them).

    With `shard` (k, n) only the k-th of n shares of the trial files is read, for a parallel build; the
    other files are read by every shard, and approvals may name trials of any share.
    """
    with no_gc():
        return _build(dirs, progress, files, shard)


@contextlib.contextmanager
def no_gc():
    """Suspend the cycle collector while millions of acyclic objects are made: a third of the time otherwise."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _build(dirs, progress, files, shard) -> tuple[Knowledge, list[Problem]]:
    from . import validate

    listing = knowledge_files(dirs)
    raws, problems = read_all(dirs, progress, shard, listing)
    if files is not None:
        files.extend(raws)
    records: dict[str, dict[str, RawFile]] = {"trial": {}, "drug": {}, "approval": {}}
    entries: dict[str, dict[str, tuple[RawFile, dict]]] = {"endpoints": {}, "indications": {}}
    context: dict = {}
    for raw in raws:
        if raw.kind == "context":
            context = merge_context(context, raw.data)
            continue
        if raw.kind in records:
            previous = records[raw.kind].get(raw.data["id"])
            if previous is not None and previous.origin == raw.origin:
                problems.append(Problem(raw.display, validate.line_at(raw.data, ("id",)),
                                        f"duplicate {raw.kind} id {raw.data['id']!r} (also in {previous.display})"))
                continue
            records[raw.kind][raw.data["id"]] = raw
        else:
            seen_here: set[str] = set()
            for entry in raw.data[raw.kind]:
                if entry["id"] in seen_here:
                    problems.append(Problem(raw.display, entry.line, f"duplicate id {entry['id']!r}"))
                seen_here.add(entry["id"])
                entries[raw.kind][entry["id"]] = (raw, entry)

    endpoints = {k: _endpoint(e, raw) for k, (raw, e) in entries["endpoints"].items()}
    indications = {k: _indication(e, raw) for k, (raw, e) in entries["indications"].items()}
    trial_ids = set(records["trial"])
    if shard:
        trial_ids |= {path.name.rsplit(".", 1)[0] for kind, path, _, _ in listing[0] if kind == "trial"}
    known = validate.Known(drugs=set(records["drug"]), trials=trial_ids, endpoints=endpoints,
                           indications=set(indications))
    for raw, entry in entries["indications"].values():
        if entry.get("parent") and entry["parent"] not in indications:
            problems.append(Problem(raw.display, entry.line_of("parent"), f"unknown parent indication {entry['parent']!r}"))

    drugs, trials, approvals = {}, {}, {}
    for raw in records["drug"].values():
        file_problems = located(raw, lambda r: validate.check_drug(r.data, r.display))
        problems.extend(file_problems)
        if not file_problems:
            drugs[raw.data["id"]] = _drug(raw)
    for raw in records["trial"].values():
        file_problems = located(raw, lambda r: validate.check_trial(r.data, r.display, known))
        problems.extend(file_problems)
        if not file_problems:
            trials[raw.data["id"]] = _trial(raw)
    problems.extend(_shared_trial_names(records["trial"], trials))
    for raw in records["approval"].values():
        file_problems = located(raw, lambda r: validate.check_approval(r.data, r.display, known))
        problems.extend(file_problems)
        if not file_problems:
            approvals[raw.data["id"]] = _approval(raw)

    context_raw = next((r for r in reversed(raws) if r.kind == "context"), None)
    if context_raw is not None:
        problems.extend(validate.check_context(context, context_raw.display, known))
    knowledge = Knowledge(drugs=drugs, trials=trials, approvals=approvals, endpoints=endpoints,
                          indications=indications, directories=[str(p) for p, _ in dirs], context=plain(context))
    return knowledge, problems


def _shared_trial_names(raws: dict[str, RawFile], trials: dict) -> list[Problem]:
    """A name or alias of two trials (as the resolver compares names) would be ambiguous for good.

    An NCT id may be shared: cohorts of one registered study are separate records (TRANSCEND-MCL).
    """
    from .index import normalise
    from .validate import line_at

    owner: dict[str, str] = {}
    found = []
    for trial in trials.values():
        raw = raws[trial.id]
        for place, name in ((("id",), trial.id), (("name",), trial.name),
                            *((("aliases", i), alias) for i, alias in enumerate(trial.aliases))):
            key = normalise(name)
            other = owner.setdefault(key, trial.id) if key else trial.id
            if other != trial.id:
                found.append(Problem(raw.display, line_at(raw.data, place),
                                     f"{name!r} also names trial {other!r} ({raws[other].display}); "
                                     "a name or alias must lead to one trial"))
    return found


def merge_context(base: dict, extra: dict) -> dict:
    """A user's clinical-context.yaml adds entries and replaces same-id ones, like every other file."""
    if not base:
        return extra
    out = dict(base)
    for key in ("biomarkers", "iraes"):
        merged = {e["id"]: e for e in base.get(key, [])}
        merged.update({e["id"]: e for e in extra.get(key, [])})
        out[key] = list(merged.values())
    for key in ("sources", "warnings"):
        out[key] = {**base.get(key, {}), **extra.get(key, {})}
    for key in ("grading", "caution"):
        if key in extra:
            out[key] = extra[key]
    return out


def plain(value):
    """Located mappings as ordinary dicts, so the cache holds nothing of the YAML layer."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


# --- building objects from checked mappings -------------------------------------------------------

def _text(value) -> str | None:
    return None if value is None else str(value)


def source(data: dict, key: str = "") -> Source:
    return Source(key=key, citation=data["citation"], pmid=_text(data.get("pmid")), doi=data.get("doi"),
                  url=data.get("url"), verified_in=list(data.get("verified_in", [])), kind=data.get("kind"))


def _ci(value) -> tuple | None:
    return tuple(value) if value is not None else None


def figures(data: dict) -> ArmFigures:
    return ArmFigures(median=data.get("median"), median_ci=_ci(data.get("median_ci")), rate=data.get("rate"),
                      rate_ci=_ci(data.get("rate_ci")), count=data.get("count"), n=data.get("n"),
                      events=data.get("events"))


def _trial(raw: RawFile) -> Trial:
    return trial_from_data(raw.data, raw.display)


def trial_from_data(d: dict, origin: str) -> Trial:
    """A Trial from its checked file data (also how the compiled cache stores a trial)."""
    sources = {k: source(v, k) for k, v in d["sources"].items()}
    cuts = {c["id"]: Cut(id=c["id"], kind=c["kind"], published=str(c["published"]), source=sources[c["source"]],
                         label=c.get("label"), data_cutoff=_text(c.get("data_cutoff")), follow_up=c.get("follow_up"))
            for c in d["cuts"]}
    results = []
    for r in d["results"]:
        hrs = r.get("hr") or []
        results.append(Result(
            endpoint=r["endpoint"], cut=cuts[r["cut"]], population=r["population"],
            arms={k: figures(v) for k, v in r["arms"].items()},
            source=sources[r["source"]] if r.get("source") else cuts[r["cut"]].source,
            primary_endpoint=r.get("primary_endpoint", False),
            hrs=[HazardRatio(value=hr["value"], experimental=hr["experimental"], control=hr["control"],
                             ci=_ci(hr.get("ci")), ci_level=hr.get("ci_level", 95), p=hr.get("p"),
                             p_sided=hr.get("p_sided", 2))
                 for hr in (hrs if isinstance(hrs, list) else [hrs])],
            landmarks=[Landmark(months=lm["months"], arms={k: figures(v) for k, v in lm["arms"].items()})
                       for lm in r.get("landmarks", [])],
            notes=r.get("notes"), analysis=r["analysis"], indication=r.get("indication"),
        ))
    return Trial(
        id=d["id"], name=d["name"], phase=d["phase"], indication=d["indication"], setting=d["setting"],
        population=d["population"],
        arms=[Arm(id=a["id"], label=a["label"], drugs=list(a["drugs"]), role=a["role"], n=a.get("n"))
              for a in d["arms"]],
        sources=sources,
        cuts=sorted(cuts.values(), key=lambda c: c.published, reverse=True),
        results=results, origin=origin, aliases=list(d.get("aliases", [])), nct=d.get("nct"),
        design=d.get("design"), randomized=d.get("randomized"), biomarkers=list(d.get("biomarkers", [])),
        enrolled=d.get("enrolled"), notes=d.get("notes"), primary_outcome=d.get("primary_outcome"),
    )


def _drug(raw: RawFile) -> Drug:
    d = raw.data
    first = d.get("first_fda_approval")
    return Drug(
        id=d["id"], name=d["name"], modality=d["modality"], status=d["status"], origin=raw.display,
        brands=list(d.get("brands", [])), codes=list(d.get("codes", [])), aliases=list(d.get("aliases", [])),
        drug_class=d.get("drug_class"), targets=list(d.get("targets", [])), maker=d.get("maker"),
        first_fda_approval=FirstApproval(date=str(first["date"]), source=source(first["source"]),
                                         indication=first.get("indication")) if first else None,
        notes=d.get("notes"),
    )


def _approval(raw: RawFile) -> Approval:
    d = raw.data
    return Approval(id=d["id"], drugs=list(d["drugs"]), indication=d["indication"], text=d["text"],
                    date=str(d["date"]), trials=list(d["trials"]), source=source(d["source"]),
                    origin=raw.display, setting=d.get("setting"), biomarker=d.get("biomarker"),
                    type=d.get("type"), notes=d.get("notes"),
                    withdrawn=d["withdrawn"] if d.get("withdrawn") is True else _text(d.get("withdrawn")))


def _endpoint(e: dict, raw: RawFile) -> Endpoint:
    return Endpoint(id=e["id"], name=e["name"], kind=e["kind"], higher_is_better=e["higher_is_better"],
                    definition=e["definition"], origin=raw.display, synonyms=list(e.get("synonyms", [])))


def _indication(e: dict, raw: RawFile) -> Indication:
    return Indication(id=e["id"], name=e["name"], origin=raw.display, oncotree=e.get("oncotree"),
                      parent=e.get("parent"), synonyms=list(e.get("synonyms", [])), notes=e.get("notes"))
