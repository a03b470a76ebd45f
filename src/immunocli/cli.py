"""The `immuno` command: parse, call the library, render. Nothing else lives here."""

import functools
import os
import sys
from enum import Enum
from typing import Annotated, Optional

import typer

from . import __version__
from .contract import envelope
from .errors import DataError, ExitCode, ImmunoError

def _typer() -> typer.Typer:
    return typer.Typer(name="immuno", no_args_is_help=True, context_settings={"help_option_names": ["-h", "--help"]},
                       rich_markup_mode=None, pretty_exceptions_enable=False)


app = _typer()


class Format(str, Enum):
    table = "table"
    json = "json"
    ndjson = "ndjson"
    csv = "csv"
    markdown = "markdown"


class CardFormat(str, Enum):
    table = "table"
    json = "json"


class What(str, Enum):
    drugs = "drugs"
    trials = "trials"
    endpoints = "endpoints"
    indications = "indications"
    approvals = "approvals"


JsonOpt = Annotated[bool, typer.Option("--json", help="JSON on stdout (the documented contract); same as --format json.")]
FormatOpt = Annotated[Optional[Format], typer.Option("--format", "-f", help="Output format.", case_sensitive=False)]
CardFormatOpt = Annotated[Optional[CardFormat], typer.Option("--format", "-f", help="Output format.", case_sensitive=False)]
PlotOpt = Annotated[bool, typer.Option("--plot", help="Draw a forest plot of the hazard ratios under the table.")]
PlotFileOpt = Annotated[Optional[str], typer.Option("--plot-file", metavar="FILE.svg|FILE.png",
                                                    help="Write the forest plot to an SVG (or PNG, with matplotlib).")]
DataDirOpt = Annotated[
    Optional[list[str]],
    typer.Option("--data-dir", "-d", metavar="DIR", help="Extra knowledge directory laid over the bundled data "
                 "(repeatable; also IMMUNO_DATA_DIR).", show_default=False),
]


class State:
    data_dirs: list[str] = []


def _version(value: bool) -> None:
    if value:
        print(f"immuno {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    data_dir: DataDirOpt = None,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    """What did that trial show? Cancer-immunotherapy trial results, offline, every figure sourced.

    Examples:

      immuno trial KEYNOTE-942

      immuno drug Keytruda --json | jq '.drug.approvals[].indication.name'

      immuno compare --endpoint OS --indication NSCLC --sort hr
    """
    State.data_dirs = list(data_dir or [])


# --- plumbing --------------------------------------------------------------------------------------

def _fail(message: str, code: int) -> None:
    sys.stderr.write(f"immuno: {message}\n")
    raise typer.Exit(code)


def handled(fn):
    """Turn library errors into one stderr line and an exit code; a closed pipe is a quiet success."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except DataError as exc:
            _fail(str(exc), ExitCode.BAD_INPUT)
        except ImmunoError as exc:
            _fail(str(exc), exc.exit_code)
        except BrokenPipeError:
            _quiet_stdout()
            raise typer.Exit(ExitCode.OK)
        except KeyboardInterrupt:
            _fail("interrupted", ExitCode.INTERRUPTED)

    return wrapper


def _quiet_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def compiled():
    """The compiled knowledge of the bundled data and the user's directories (built on a miss)."""
    from .cache import Compiled
    from .layout import data_dirs

    bar = _ProgressBar() if sys.stderr.isatty() else None
    try:
        return Compiled(data_dirs(State.data_dirs), progress=bar)
    finally:
        if bar:
            bar.stop()


def catalogue():
    return compiled().catalogue()


class _ProgressBar:
    """A first build over thousands of files shows its progress on stderr; the library only counts."""

    MIN_FILES = 2000

    def __init__(self):
        self.bar = None
        self.tasks: dict[str, int] = {}

    def __call__(self, phase: str, done: int, total: int) -> None:
        if self.bar is None:
            if total < self.MIN_FILES:
                return
            from rich.console import Console
            from rich.progress import Progress

            self.bar = Progress(console=Console(stderr=True), transient=True)
            self.bar.start()
        if phase not in self.tasks:
            self.tasks[phase] = self.bar.add_task(f"compiling knowledge: {phase}", total=total)
        self.bar.update(self.tasks[phase], completed=done)

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def _choose(json_flag: bool, format_: Enum | None) -> str:
    if json_flag and format_ and format_.value != "json":
        raise ImmunoError("--json and --format disagree; give one of them")
    return "json" if json_flag else (format_.value if format_ else "table")


def emit(payload: dict, fmt: str, table_view) -> None:
    if fmt == "table":
        table_view(payload)
        return
    if fmt == "json":
        from .contract import to_json

        out = to_json(payload)
    else:
        from .render import flat

        out = {"ndjson": flat.ndjson, "csv": flat.to_csv, "markdown": flat.to_markdown}[fmt](payload)
    sys.stdout.write(out)
    sys.stdout.flush()


def _plots(rows: list[dict], pooled: dict | None, plot: bool, plot_file: str | None, fmt: str, title: str) -> None:
    if not (plot or plot_file):
        return
    from .render import plot as forest

    items = forest.items_from_rows(rows, pooled)
    if plot:
        if fmt == "table":
            sys.stdout.write("\n" + forest.forest_text(items))
            sys.stdout.flush()
        else:
            sys.stderr.write("immuno: --plot draws under the table; use --plot-file with other formats\n")
    if plot_file:
        forest.write_file(items, plot_file, title)
        sys.stderr.write(f"immuno: wrote {plot_file} ({len(items)} hazard ratios)\n")


def _context_card(name: str, query: str, json_: bool, format_) -> None:
    """The indication, biomarker and irAE cards share one path: build from the catalogue, render."""
    from . import context

    emit(getattr(context, name)(catalogue(), query), _choose(json_, format_), _table(name))


RICH_MAX_ROWS = 500  # Rich lays out ~2 ms a row: beyond this, or off a terminal, long tables are plain text
_LONG_VIEWS = {"comparison": "rows", "listing": "items", "hits": "hits"}


def _rich(rows: int) -> bool:
    return rows <= RICH_MAX_ROWS and sys.stdout.isatty()


def _table(name: str):
    def view(payload):
        if name in _LONG_VIEWS and not _rich(len(payload[_LONG_VIEWS[name]])):
            from .render import plain as renderer
        else:
            from .render import table as renderer
        getattr(renderer, name)(payload)

    return view


# --- commands --------------------------------------------------------------------------------------

@app.command()
@handled
def drug(
    query: Annotated[str, typer.Argument(help="Generic, brand or code name, or a common abbreviation.")],
    json_: JsonOpt = False,
    format_: CardFormatOpt = None,
) -> None:
    """A drug card: class, targets, FDA approvals and its trials with their headline results.

    Examples:

      immuno drug pembrolizumab

      immuno drug Keytruda --json

      immuno drug axi-cel
    """
    emit(compiled().drug_card(query), _choose(json_, format_), _table("drug_card"))


@app.command()
@handled
def trial(
    query: Annotated[str, typer.Argument(help="Trial name, alias (KN-942, CM-067) or NCT id.")],
    plot: PlotOpt = False,
    plot_file: PlotFileOpt = None,
    json_: JsonOpt = False,
    format_: CardFormatOpt = None,
) -> None:
    """A trial card: design, arms, and every endpoint of every data cut, each with its source.

    Examples:

      immuno trial KEYNOTE-942

      immuno trial "keynote 24" --json | jq '.trial.results[] | select(.endpoint.id=="OS")'

      immuno trial NCT03897881
    """
    payload = compiled().trial_card(query)
    fmt = _choose(json_, format_)
    emit(payload, fmt, _table("trial_card"))
    rows = [{"trial": {"name": payload["trial"]["name"]}, "endpoint": r["endpoint"],
             "population": f"{r['population']} · {hr['experimental_label']} vs {hr['control_label']} · "
                           + next(c["published"] for c in payload["trial"]["cuts"] if c["id"] == r["cut"]),
             "hazard_ratio": hr} for r in payload["trial"]["results"] for hr in r["hazard_ratios"]]
    _plots(rows, None, plot, plot_file, fmt, f"{payload['trial']['name']}: hazard ratios")


@app.command()
@handled
def compare(
    endpoint: Annotated[Optional[str], typer.Option("--endpoint", "-e", help="OS, PFS, EFS, RFS, ORR, CR …")] = None,
    indication: Annotated[Optional[str], typer.Option("--indication", "-i", help="OncoTree code or name; includes sub-types.")] = None,
    drug: Annotated[Optional[str], typer.Option("--drug", help="A drug in the experimental arm.")] = None,
    target: Annotated[Optional[str], typer.Option("--target", help="A target of an experimental drug (PD-1, CD19 …).")] = None,
    modality: Annotated[Optional[str], typer.Option("--modality", help="checkpoint-inhibitor, car-t, bispecific, til …")] = None,
    setting: Annotated[Optional[str], typer.Option("--setting", help="adjuvant, first-line, second-line …")] = None,
    phase: Annotated[Optional[str], typer.Option("--phase", help="1, 2, 3 …")] = None,
    population: Annotated[Optional[str], typer.Option("--population", help="Text in the population, e.g. ITT.")] = None,
    year: Annotated[Optional[int], typer.Option("--year", help="Year of the trial's first publication.")] = None,
    cut: Annotated[str, typer.Option("--cut", help="latest, primary or all data cuts.")] = "latest",
    sort: Annotated[str, typer.Option("--sort", help="trial, hr, gain (median), year or indication.")] = "trial",
    pool: Annotated[bool, typer.Option("--pool", help="Random-effects (DerSimonian–Laird) pooled HR of the rows shown.")] = False,
    explain: Annotated[bool, typer.Option("--explain", help="Show derived figures (1 − HR, median gain, NNT) with formulas.")] = False,
    plot: PlotOpt = False,
    plot_file: PlotFileOpt = None,
    json_: JsonOpt = False,
    format_: FormatOpt = None,
) -> None:
    """One row per trial result: arms, medians, HR (CI), landmark rates, source.

    Examples:

      immuno compare --endpoint OS --indication NSCLC --sort hr

      immuno compare -e ORR --modality car-t --format csv > orr.csv

      immuno compare -e PFS --cut all --json | jq '.rows[] | [.trial.name, .hazard_ratio.value]'

      immuno compare -e OS --target PD-1 --indication NSCLC --pool --plot --plot-file forest.svg
    """
    fmt = _choose(json_, format_)
    found = compiled().comparison(endpoint, indication=indication, drug=drug, target=target, modality=modality,
                                  setting=setting, phase=phase, population=population, year=year, cut=cut, sort=sort)
    if fmt in ("json", "ndjson") and not (pool or plot or plot_file):  # streamed: 100,000 rows never held
        from .contract import json_chunks

        head = envelope("comparison", filters=found.filters, rows=[], explain=explain)
        texts = found.texts()
        sys.stdout.writelines(json_chunks(head, texts) if fmt == "json" else (t + "\n" for t in texts))
        sys.stdout.flush()
    elif fmt == "table" and not (explain or pool or plot or plot_file or _rich(len(found))):
        from .render import plain

        plain.comparison({"filters": found.filters}, cells=found.cells(), count=len(found))
    else:
        from .queries import pool as pool_rows
        from .serialize import pooled

        rows = list(found.payloads())
        payload = envelope("comparison", filters=found.filters, rows=rows)
        if pool and rows:
            payload["pooled"] = pooled(pool_rows(rows))
        payload["explain"] = explain
        emit(payload, fmt, _table("comparison"))
        _plots(rows, payload.get("pooled"), plot, plot_file, fmt,
               f"{found.filters.get('endpoint') or 'All endpoints'}: hazard ratios")
    if not len(found):
        sys.stderr.write("immuno: no result matches these filters\n")
        raise typer.Exit(ExitCode.NOT_FOUND)


@app.command()
@handled
def endpoint(
    query: Annotated[str, typer.Argument(help="Endpoint id or name: OS, 'progression-free survival' …")],
    json_: JsonOpt = False,
    format_: CardFormatOpt = None,
) -> None:
    """What an endpoint means, its synonyms, and whether higher is better.

    Examples:

      immuno endpoint OS

      immuno endpoint "duration of response" --json
    """
    from . import serialize

    cat = catalogue()
    e = cat.endpoint(query)
    count = sum(1 for t in cat.knowledge.trials.values() for r in t.results if r.endpoint == e.id)
    payload = serialize.envelope("endpoint", endpoint={
        "id": e.id, "name": e.name, "kind": e.kind, "higher_is_better": e.higher_is_better,
        "synonyms": e.synonyms, "definition": e.definition, "result_count": count, "origin": e.origin})
    emit(payload, _choose(json_, format_), _table("endpoint_card"))


@app.command()
@handled
def indication(
    query: Annotated[str, typer.Argument(help="OncoTree code or disease name: NSCLC, 'lung cancer', melanoma …")],
    json_: JsonOpt = False,
    format_: CardFormatOpt = None,
) -> None:
    """The immunotherapies with trials in a disease, by setting, with pivotal trials and approvals.

    Examples:

      immuno indication NSCLC

      immuno indication "multiple myeloma" --json
    """
    _context_card("indication_card", query, json_, format_)


@app.command()
@handled
def biomarker(
    query: Annotated[str, typer.Argument(help="MSI-H, dMMR, PD-L1, TMB-H …")],
    json_: JsonOpt = False,
    format_: CardFormatOpt = None,
) -> None:
    """A biomarker: what it is, how it is measured, the approvals and trials that depend on it.

    Examples:

      immuno biomarker MSI-H

      immuno biomarker "PD-L1" --json
    """
    _context_card("biomarker_card", query, json_, format_)


@app.command()
@handled
def irae(
    query: Annotated[str, typer.Argument(help="colitis, diarrhea, thyroid, myocarditis, CRS, ICANS, an organ …")],
    json_: JsonOpt = False,
    format_: CardFormatOpt = None,
) -> None:
    """An immune-related adverse event: management, warnings, drugs most associated, trial rates.

    Examples:

      immuno irae colitis

      immuno irae CRS --json | jq '.irae.trial_rates[] | [.trial.name, .experimental.rate]'
    """
    _context_card("irae_card", query, json_, format_)


@app.command()
@handled
def search(
    text: Annotated[str, typer.Argument(help="Words to look for in names, aliases, populations, notes …")],
    json_: JsonOpt = False,
    format_: FormatOpt = None,
) -> None:
    """Search everything: drugs, trials, endpoints, indications, approvals.

    Examples:

      immuno search "uveal"

      immuno search BCMA --json
    """
    from . import serialize

    cat = catalogue()
    found = cat.search(text)
    payload = serialize.envelope("search", query=text, hits=[serialize.hit(h) for h in found])
    emit(payload, _choose(json_, format_), _table("hits"))
    if not found:
        sys.stderr.write(f"immuno: nothing matches {text!r}\n")
        raise typer.Exit(ExitCode.NOT_FOUND)


@app.command("list")
@handled
def list_(
    what: Annotated[What, typer.Argument(help="drugs, trials, endpoints, indications or approvals.", case_sensitive=False)],
    json_: JsonOpt = False,
    format_: FormatOpt = None,
) -> None:
    """List what immuno knows.

    Examples:

      immuno list trials

      immuno list drugs --format csv
    """
    from . import serialize
    from .listing import items

    cat = catalogue()
    emit(serialize.envelope("list", what=what.value, items=items(cat.knowledge, what.value)),
         _choose(json_, format_), _table("listing"))


@app.command()
@handled
def validate(
    dirs: Annotated[Optional[list[str]], typer.Argument(help="Knowledge directories to check on top of the bundled data.",
                                                        show_default=False)] = None,
    json_: JsonOpt = False,
) -> None:
    """Check the knowledge: schema, references, and impossible figures. Exit 0 clean, 2 problems.

    Examples:

      immuno validate

      immuno validate ~/my-trials --json
    """
    from .loader import build, data_dirs

    _knowledge, problems = build(data_dirs([*State.data_dirs, *(dirs or [])]))
    payload = {**envelope("validation"), "ok": not problems, "count": len(problems),
               "problems": [p.to_dict() for p in problems]}
    if json_:
        emit(payload, "json", None)
    else:
        for p in problems:
            sys.stdout.write(f"{p}\n")
        sys.stdout.flush()
        sys.stderr.write(f"{len(problems)} problem(s)\n" if problems else "ok: no problems\n")
    if problems:
        raise typer.Exit(ExitCode.BAD_INPUT)


@app.command()
@handled
def schema() -> None:
    """Print the JSON Schema of the knowledge files (for editors and CI).

    Examples:

      immuno schema > immuno-knowledge.schema.json
    """
    from .schema import json_schema

    emit(json_schema(), "json", None)


def _lean(argv: list[str]) -> typer.Typer:
    """The app with only the command being run: Typer converts every command's parameters on each start
    (~12 ms for all of them); help, completion and anything unusual get the whole app."""
    names = {c.name or c.callback.__name__.replace("_", "-") for c in app.registered_commands}
    args = iter(argv)
    for arg in args:
        if arg in ("--data-dir", "-d"):
            next(args, None)
        elif arg.startswith("--data-dir="):
            continue
        elif arg in names:
            lean = _typer()
            lean.registered_callback = app.registered_callback
            lean.registered_commands = [c for c in app.registered_commands
                                        if (c.name or c.callback.__name__.replace("_", "-")) == arg]
            return lean
        else:
            break
    return app


def main() -> None:
    try:
        _lean(sys.argv[1:])()
    except KeyboardInterrupt:
        sys.stderr.write("immuno: interrupted\n")
        sys.exit(ExitCode.INTERRUPTED)
