"""Rich views for people. Data cells are `Text`, never markup, so "[95% CI …]" prints as written."""

from __future__ import annotations

import sys

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from . import text as fmt

CAUTION = "Reference information from published sources, not medical advice."


def console() -> Console:
    return Console(file=sys.stdout, highlight=False, soft_wrap=False)


def _t(value) -> Text:
    return Text("" if value is None else str(value))


def _table(title: str | None = None, **kw) -> Table:
    # Titles carry data (cut labels, trial names): Text, so "[ASCO 2024]" is not read as markup.
    return Table(title=Text(title) if title else None, box=box.SIMPLE_HEAD, title_justify="left",
                 show_lines=False, **kw)


def _fields(rows: list[tuple[str, object]]) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    for label, value in rows:
        if value not in (None, "", []):
            grid.add_row(label, _t(", ".join(value) if isinstance(value, list) else value))
    return grid


def trial_card(payload: dict) -> None:
    out = console()
    t = payload["trial"]
    out.print(Text(t["name"], style="bold"), Text(f"  phase {t['phase']}  {t.get('nct') or ''}"))
    out.print(_fields([
        ("Indication", f"{t['indication']['name']} ({t['indication']['id']})"),
        ("Setting", t["setting"]), ("Population", t["population"]), ("Biomarkers", t["biomarkers"]),
        ("Design", t.get("design")), ("Enrolled", t.get("enrolled")), ("Also known as", t["aliases"]),
        ("From", t["origin"]),
    ]))
    arms = _table("Arms")
    for col in ("arm", "role", "n", "drugs"):
        arms.add_column(col)
    for a in t["arms"]:
        arms.add_row(_t(a["label"]), _t(a["role"]), _t(a["n"]), _t(", ".join(d["name"] for d in a["drugs"]) or "—"))
    out.print(arms)
    for c in t["cuts"]:
        results = [r for r in t["results"] if r["cut"] == c["id"]]
        if not results:
            continue
        table = _table(fmt.cut(c))
        table.add_column("endpoint", no_wrap=True)
        table.add_column("population", overflow="fold", ratio=2)
        table.add_column("arm", overflow="fold", ratio=3, min_width=14)
        table.add_column("median, mo (CI)", overflow="fold", ratio=2, min_width=11)
        table.add_column("rate", overflow="fold", ratio=2)
        table.add_column("HR", overflow="fold", ratio=3, min_width=12)
        table.add_column("landmarks", overflow="fold", ratio=2)
        for r in results:
            name = r["endpoint"]["id"] + (" (primary)" if r["primary_endpoint"] else "")
            hrs = "; ".join(fmt.hazard_ratio(h, with_arms=len(r["arms"]) != 2 or len(r["hazard_ratios"]) > 1)
                            for h in r["hazard_ratios"])
            if not r["arms"]:  # a result reported only as a hazard ratio
                table.add_row(_t(name), _t(r["population"]), _t("—"), _t(""), _t(""), _t(hrs), _t(""))
            for i, arm in enumerate(r["arms"]):
                marks = "; ".join(f"{fmt.num(lm['months'])}-mo {fmt.num(a['rate'])}%"
                                  for lm in r["landmarks"] for a in lm["arms"] if a["arm"] == arm["arm"])
                table.add_row(_t(name if i == 0 else ""), _t(r["population"] if i == 0 else ""), _t(arm["label"]),
                              _t(fmt.median(arm)), _t(fmt.rate(arm)), _t(hrs if i == 0 else ""), _t(marks))
        out.print(table)
        out.print(Text(f"  Source: {fmt.source(c['source'])}", style="dim"))
        for r in results:
            if r["source"] != c["source"]:
                out.print(Text(f"  {r['endpoint']['id']} ({r['population']}): {fmt.source(r['source'])}", style="dim"))
            if r.get("notes"):
                out.print(Text(f"  Note ({r['endpoint']['id']}, {r['population']}): {r['notes']}", style="dim"))
    if t.get("notes"):
        out.print(Text(f"Notes: {t['notes']}"))
    out.print(Text(CAUTION, style="dim italic"))


def _approvals_table(approvals: list[dict], title: str) -> Table:
    table = _table(title)
    for col in ("date", "drugs", "indication", "as approved", "trials"):
        table.add_column(col, overflow="fold")
    for a in approvals:
        table.add_row(_t(a["date"]), _t(" + ".join(d["name"] for d in a["drugs"])), _t(a["indication"]["id"]),
                      _t(a["text"]), _t(", ".join(a["trials"])))
    return table


def drug_card(payload: dict) -> None:
    out = console()
    d = payload["drug"]
    out.print(Text(d["name"], style="bold"), Text(f"  {' / '.join(d['brands'])}" if d["brands"] else ""))
    first = d.get("first_fda_approval")
    out.print(_fields([
        ("Class", d.get("drug_class")), ("Modality", d["modality"]), ("Targets", d["targets"]),
        ("Codes", d["codes"]), ("Also known as", d["aliases"]), ("Maker", d.get("maker")), ("Status", d["status"]),
        ("First FDA approval", f"{first['date']}" + (f" — {first['indication']}" if first.get("indication") else "")
         if first else None),
        ("From", d["origin"]),
    ]))
    if d["approvals"]:
        out.print(_approvals_table(d["approvals"], "FDA approvals"))
    if d["trials"]:
        out.print(_comparison_table(
            [row for t in d["trials"] for row in t["headline"]] or [], "Trials (headline result, newest cut)",
            extra_trials=[t for t in d["trials"] if not t["headline"]]))
    if d.get("notes"):
        out.print(Text(f"Notes: {d['notes']}"))
    out.print(Text(CAUTION, style="dim italic"))


def _comparison_table(rows: list[dict], title: str | None, extra_trials: list[dict] | None = None) -> Table:
    table = _table(title)
    for header, ratio in zip(fmt.COMPARISON_HEADERS, (3, 1, 2, 2, 2, 2, 2, 1)):
        table.add_column(header, overflow="fold", ratio=ratio)
    for row in rows:
        cells = fmt.comparison_cells(row)
        name, _, arms = cells[0].partition("\n")
        who = Text(name, style="bold")
        who.append("\n" + arms, style="dim")
        table.add_row(who, *map(_t, cells[1:]))
    for t in extra_trials or []:
        table.add_row(_t(t["name"]), _t(f"{t['indication']['id']}\n{t['setting']}"), *[_t("")] * 6)
    return table


def comparison(payload: dict) -> None:
    out = console()
    rows = payload["rows"]
    title = f"{len(rows)} result(s)" + (f" for {payload['filters']['endpoint']}" if payload["filters"].get("endpoint") else "")
    out.print(_comparison_table(rows, title))
    if payload.get("explain"):
        table = _table("Derived figures")
        for col in ("trial", "population", "figure", "value", "formula"):
            table.add_column(col, overflow="fold")
        for row in rows:
            for d in row["derived"]:
                table.add_row(_t(row["trial"]["name"]), _t(row["population"]), _t(d["name"]),
                              _t(f"{fmt.num(d['value'])} {d['unit']}"), _t(d["formula"]))
        out.print(table)
    for line in fmt.pooled_summary(payload.get("pooled")):
        out.print(Text(line, style="yellow" if line.startswith("Warning") else
                       "dim" if line.startswith("Not pooled") else "bold"))
    out.print(Text(fmt.COMPARISON_NOTE, style="dim italic"))


def listing(payload: dict) -> None:
    out = console()
    items = payload["items"]
    if not items:
        out.print(Text(f"no {payload['what']}"))
        return
    table = _table(f"{len(items)} {payload['what']}")
    columns = [c for c in items[0] if c not in ("origin",)]
    for col in columns:
        table.add_column(col, overflow="fold")
    for item in items:
        table.add_row(*[_t(", ".join(map(str, v)) if isinstance(v, list) else v) for v in (item[c] for c in columns)])
    out.print(table)


def hits(payload: dict) -> None:
    out = console()
    table = _table(f"{len(payload['hits'])} match(es) for {payload['query']!r}")
    for col in ("kind", "id", "name", "matched", "text"):
        table.add_column(col, overflow="fold")
    for h in payload["hits"]:
        table.add_row(_t(h["kind"]), _t(h["id"]), _t(h["name"]), _t(h["field"]), _t(h["text"]))
    out.print(table)


def endpoint_card(payload: dict) -> None:
    out = console()
    e = payload["endpoint"]
    out.print(Text(f"{e['id']} — {e['name']}", style="bold"))
    out.print(_fields([
        ("Kind", e["kind"]), ("Better when", "higher" if e["higher_is_better"] else "lower"),
        ("Synonyms", e["synonyms"]), ("Definition", e["definition"]), ("Results", e["result_count"]),
    ]))


def problems(payload: dict) -> None:
    out = Console(file=sys.stdout, highlight=False)
    for p in payload["problems"]:
        where = f"{p['file']}:{p['line']}" if p.get("line") else p["file"]
        out.print(Text(f"{where}: {p['message']}"))


def _caution(out: Console, payload_card: dict) -> None:
    out.print(Text(payload_card.get("caution") or CAUTION, style="dim italic"))


def _context_source(src: dict) -> str:
    return "Source: " + src["citation"] + (f" — {src['section']}" if src.get("section") else "")


def indication_card(payload: dict) -> None:
    out = console()
    ind = payload["indication"]
    out.print(Text(f"{ind['name']} ({ind['id']})", style="bold"),
              Text(f"  OncoTree {ind['oncotree']}" if ind["oncotree"] else "  no OncoTree code"))
    if ind["includes"]:
        out.print(Text("Includes: " + ", ".join(ind["includes"])))
    for group in ind["settings"]:
        rows = [row for t in group["trials"] for row in t["headline"]]
        out.print(_comparison_table(rows, f"{group['setting']} — {len(group['trials'])} trial(s)",
                                    extra_trials=[t for t in group["trials"] if not t["headline"]]))
    if ind["approvals"]:
        out.print(_approvals_table(ind["approvals"], "FDA approvals"))
    _caution(out, ind)


def biomarker_card(payload: dict) -> None:
    out = console()
    b = payload["biomarker"]
    out.print(Text(b["name"], style="bold"))
    out.print(_fields([("What it is", b["what"]), ("Measured by", b.get("assay")), ("Cut-offs", b.get("cutoffs")),
                       ("FDA", b.get("fda")), ("Caveats", b.get("caveats"))]))
    out.print(Text("  " + _context_source(b["source"]), style="dim"))
    if b["approvals"]:
        out.print(_approvals_table(b["approvals"], f"Approvals that depend on it ({len(b['approvals'])})"))
    if b["trials"]:
        table = _table(f"Trials that selected or reported by it ({len(b['trials'])})")
        for col in ("trial", "indication", "setting", "selected by", "populations reported"):
            table.add_column(col, overflow="fold")
        for t in b["trials"]:
            table.add_row(_t(t["name"]), _t(t["indication"]), _t(t["setting"]), _t(", ".join(t["selected_by"])),
                          _t("; ".join(t["populations"])))
        out.print(table)
    _caution(out, b)


def irae_card(payload: dict) -> None:
    out = console()
    e = payload["irae"]
    out.print(Text(f"{e['name']} — {e['organ']}", style="bold"))
    out.print(_fields([
        ("Management", e["management"]), ("Notes", e.get("notes")),
        ("Most associated with", ", ".join(d["name"] for d in e["drugs_most_associated"]) or None),
        ("By grade", e["grading"]["text"] if e.get("grading") else None),
    ]))
    for warning in e["warnings"]:
        out.print(Text("Warning: " + warning, style="bold yellow"))
    out.print(Text("  " + _context_source(e["source"]), style="dim"))
    if e["trial_rates"]:
        out.print(_comparison_table(e["trial_rates"], f"Rates in the trials immuno knows ({len(e['trial_rates'])})"))
    _caution(out, e)
