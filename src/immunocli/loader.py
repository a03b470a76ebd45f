"""Read the knowledge directories into a `Knowledge`, reporting every problem with file and line.

The bundled `data/` comes first; each user directory is laid over it, and a record whose id matches a
bundled one replaces it (its `origin` says which file it came from).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .errors import DataError, Problem
from .model import (
    Approval, Arm, ArmFigures, Cut, Drug, Endpoint, FirstApproval, HazardRatio, Indication, Knowledge,
    Landmark, Result, Source, Trial,
)

ENV_DATA_DIR = "IMMUNO_DATA_DIR"
RECORD_DIRS = {"trials": "trial", "drugs": "drug", "approvals": "approval"}
LIST_FILES = {"endpoints.yaml": "endpoints", "indications.yaml": "indications", "clinical-context.yaml": "context"}


@dataclass(slots=True)
class RawFile:
    kind: str
    path: Path
    display: str  # the path as shown in messages
    origin: str  # "bundled" or the user directory
    data: object


def bundled_dir() -> Path:
    # The wheel puts data/ inside the package. For an installed package this is what
    # importlib.resources.files() returns, without the 15 ms its import costs on every look-up.
    packaged = Path(__file__).resolve().parent / "data"
    if packaged.is_dir():
        return packaged
    # Running from a source checkout (editable install or PYTHONPATH=src): the repository's data/.
    return Path(__file__).resolve().parents[2] / "data"


def data_dirs(extra: list[str] | None = None) -> list[tuple[Path, str]]:
    """The directories to load, bundled first, as (path, origin label)."""
    dirs = [(bundled_dir(), "bundled")]
    env = os.environ.get(ENV_DATA_DIR)
    for entry in ([p for p in env.split(os.pathsep) if p] if env else []) + list(extra or []):
        path = Path(entry).expanduser()
        dirs.append((path, str(path)))
    return dirs


def knowledge_files(dirs: list[tuple[Path, str]]) -> tuple[list[tuple[str, Path, str, str]], list[Problem]]:
    """Every knowledge file as (kind, path, display, origin), in load order."""
    found, problems = [], []
    for root, origin in dirs:
        if not root.is_dir():
            problems.append(Problem(str(root), None, "knowledge directory does not exist or is not a directory"))
            continue
        for name, kind in LIST_FILES.items():
            path = root / name
            if path.is_file():
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
            for name in names:
                if name.endswith((".yaml", ".yml")) and not name.startswith("."):
                    path = folder / name
                    found.append((kind, path, _display(path, root, origin), origin))
    return found, problems


def _display(path: Path, root: Path, origin: str) -> str:
    rel = path.relative_to(root).as_posix()
    return f"data/{rel}" if origin == "bundled" else str(path)


def read_all(dirs: list[tuple[Path, str]]) -> tuple[list[RawFile], list[Problem]]:
    from . import schema, validate, yamlfile  # only a cache miss parses and checks

    files, problems = knowledge_files(dirs)
    raws = []
    for kind, path, display, origin in files:
        data, problem = yamlfile.read(path, display)
        if problem:
            problems.append(problem)
            continue
        raw = RawFile(kind, path, display, origin, data)
        file_problems = [Problem(display, validate.line_at(data, p), m)
                         for p, m in schema.errors(data, schema.FILE_KINDS[kind])]
        if kind in RECORD_DIRS.values() and isinstance(data, dict) and not file_problems:
            stem = path.name.rsplit(".", 1)[0]
            if data.get("id") != stem:
                file_problems.append(Problem(display, validate.line_at(data, ("id",)),
                                             f"id {data.get('id')!r} does not match the file name {path.name!r}"))
        problems.extend(file_problems)
        if not file_problems:
            raws.append(raw)
    return raws, problems


def load(extra_dirs: list[str] | None = None, *, strict: bool = True) -> Knowledge:
    """Load and check the knowledge. With strict (the default) any problem raises DataError."""
    knowledge, problems = load_with_problems(extra_dirs)
    if problems and strict:
        raise DataError(problems)
    return knowledge


def load_with_problems(extra_dirs: list[str] | None = None) -> tuple[Knowledge, list[Problem]]:
    dirs = data_dirs(extra_dirs)
    from . import cache

    cached = cache.read(dirs)
    if cached is not None:
        return cached, []
    knowledge, problems = build(dirs)
    if not problems:
        cache.write(dirs, knowledge)
    return knowledge, problems


def build(dirs: list[tuple[Path, str]]) -> tuple[Knowledge, list[Problem]]:
    from . import validate

    raws, problems = read_all(dirs)
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
    known = validate.Known(
        drugs=set(records["drug"]), trials=set(records["trial"]), endpoints=endpoints,
        indications=set(indications),
    )
    for raw, entry in entries["indications"].values():
        if entry.get("parent") and entry["parent"] not in indications:
            problems.append(Problem(raw.display, entry.line_of("parent"), f"unknown parent indication {entry['parent']!r}"))

    drugs, trials, approvals = {}, {}, {}
    for raw in records["drug"].values():
        file_problems = list(validate.check_drug(raw.data, raw.display))
        problems.extend(file_problems)
        if not file_problems:
            drugs[raw.data["id"]] = _drug(raw)
    for raw in records["trial"].values():
        file_problems = list(validate.check_trial(raw.data, raw.display, known))
        problems.extend(file_problems)
        if not file_problems:
            trials[raw.data["id"]] = _trial(raw)
    for raw in records["approval"].values():
        file_problems = list(validate.check_approval(raw.data, raw.display, known))
        problems.extend(file_problems)
        if not file_problems:
            approvals[raw.data["id"]] = _approval(raw)

    context_raw = next((r for r in reversed(raws) if r.kind == "context"), None)
    if context_raw is not None:
        problems.extend(validate.check_context(context, context_raw.display, known))
    knowledge = Knowledge(drugs=drugs, trials=trials, approvals=approvals, endpoints=endpoints,
                          indications=indications, directories=[str(p) for p, _ in dirs], context=plain(context))
    return knowledge, problems


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
                  url=data.get("url"), verified_in=list(data.get("verified_in", [])))


def _ci(value) -> tuple | None:
    return tuple(value) if value is not None else None


def figures(data: dict) -> ArmFigures:
    return ArmFigures(median=data.get("median"), median_ci=_ci(data.get("median_ci")), rate=data.get("rate"),
                      rate_ci=_ci(data.get("rate_ci")), count=data.get("count"), n=data.get("n"),
                      events=data.get("events"))


def _trial(raw: RawFile) -> Trial:
    d = raw.data
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
            notes=r.get("notes"),
        ))
    return Trial(
        id=d["id"], name=d["name"], phase=d["phase"], indication=d["indication"], setting=d["setting"],
        population=d["population"],
        arms=[Arm(id=a["id"], label=a["label"], drugs=list(a["drugs"]), role=a["role"], n=a.get("n"))
              for a in d["arms"]],
        sources=sources,
        cuts=sorted(cuts.values(), key=lambda c: c.published, reverse=True),
        results=results, origin=raw.display, aliases=list(d.get("aliases", [])), nct=d.get("nct"),
        design=d.get("design"), randomized=d.get("randomized"), biomarkers=list(d.get("biomarkers", [])),
        enrolled=d.get("enrolled"), notes=d.get("notes"),
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
                    type=d.get("type"), notes=d.get("notes"))


def _endpoint(e: dict, raw: RawFile) -> Endpoint:
    return Endpoint(id=e["id"], name=e["name"], kind=e["kind"], higher_is_better=e["higher_is_better"],
                    definition=e["definition"], origin=raw.display, synonyms=list(e.get("synonyms", [])))


def _indication(e: dict, raw: RawFile) -> Indication:
    return Indication(id=e["id"], name=e["name"], origin=raw.display, oncotree=e.get("oncotree"),
                      parent=e.get("parent"), synonyms=list(e.get("synonyms", [])), notes=e.get("notes"))
