"""Each command's answer as page blocks: the same blocks are laid out for a terminal, a pipe or Markdown.

Trial cards open with the primary result; results name arms by their short id (the arms table gives
the full labels once); figures are kept whole (`page.keep`) so no layout parts them.
"""

from __future__ import annotations

from . import text as fmt
from .page import Fields, Line, Table, Title, keep

OUTCOME = {"met": "met", "not-met": "not met", "mixed": "mixed", "descriptive": "descriptive"}
LIST_TITLES = {"trial": "trial", "population": "population"}


def footer(payload: dict) -> Line:
    as_of = payload.get("knowledge_as_of")
    return Line((f"Knowledge as of {as_of}. " if as_of else "") + fmt.CAUTION, "dim")


def origin(value: str | None) -> str | None:
    """Where a record came from, as a user knows it: "bundled", or their own file's path."""
    if not value:
        return None
    return "bundled" if value.startswith("data/") else value


# --- results -----------------------------------------------------------------------------------------

def _is_itt(population: str) -> bool:
    return population.strip().upper().startswith("ITT") or population.strip().lower() in ("all randomised",
                                                                                          "all randomized")


def _where(result: dict) -> str:
    """Population, with the analysis when it is not the main one."""
    analysis = result.get("analysis") or "itt"
    shown = analysis not in ("itt", "primary") and analysis.lower() not in result["population"].lower()
    return result["population"] + (f" ({analysis})" if shown else "")


def _arm_name(result: dict, arm_id: str) -> str:
    return arm_id


def headline_parts(result: dict, cut_label: str | None = None) -> list[str]:
    """The figures that answer "what did it show?" for one result, each a part that is never split."""
    endpoint = result["endpoint"]["id"]
    parts = []
    arms = result["arms"]
    two = len(arms) == 2
    subject = endpoint + ("" if _is_itt(result["population"]) else f" ({_where(result)}):")
    for hr in result["hazard_ratios"]:
        # the estimate with its CI, the p value and the arms: each unbreakable, a line may end between them
        bits = [keep("HR " + fmt.hazard_ratio({k: v for k, v in hr.items() if k != "p"})) + ("," if hr.get("p") else "")]
        bits += [keep(fmt.p_value(hr))] if hr.get("p") else []
        if len(result["hazard_ratios"]) > 1 or not two:
            bits.append(keep(f"({hr['experimental']} vs {hr['control']})"))
        parts.append(" ".join(bits))
    for show, label, unit in ((fmt.median, "median ", " mo"), (fmt.rate, "", "")):
        values = [show(a) for a in arms]
        if two and all(values):  # "median 16.5 vs 11.2 mo"; otherwise each arm by its short name
            parts.append(keep(f"{label}{values[0]} vs {values[1]}{unit}"))
        else:
            parts += [keep(f"{a['arm']} {label}{v}{unit}") for a, v in zip(arms, values) if v]
    for lm in result["landmarks"]:
        values = [f"{fmt.num(a['rate'])}%" for a in lm["arms"] if a.get("rate") is not None]
        if values:
            parts.append(keep(f"{fmt.num(lm['months'])}-mo {' vs '.join(values)}"))
    if not parts:
        events = [fmt.events(a) for a in arms if fmt.events(a)]
        parts += [keep(e) for e in events]
    if parts:
        parts[0] = subject + " " + parts[0]
    else:
        parts.append(subject + " (no figure)")
    if cut_label:
        parts.append(cut_label)
    return parts


def _cut_label(cut: dict) -> str:
    return f"{cut.get('label') or cut['kind'] + ' analysis'}, {cut['published']}"


def headline_results(trial: dict) -> list[dict]:
    """The results the card opens with (the library's rule, shared with the drug and indication cards)."""
    return _headline(trial)[0]


def _headline(trial: dict) -> tuple[list[dict], bool]:
    from ..selection import headline

    return headline(trial["results"], lambda r: r["primary_endpoint"], lambda r: r.get("analysis"),
                    lambda r: r["cut"]["published"], key=lambda r: (r["endpoint"]["id"], r["population"]),
                    own=lambda r: r["indication"]["id"] == trial["indication"]["id"])


def _analysis_note(result: dict) -> str:
    analysis = result.get("analysis")
    return "" if analysis in ("itt", "primary", None) else f" ({analysis} analysis)"


def _headline_lines(trial: dict) -> list[Line]:
    found, primary = _headline(trial)
    if not found:
        return [Line("No results recorded.")]
    outcome = OUTCOME.get(trial.get("primary_outcome") or "")
    if not primary:  # the primary result is not recorded: say so before the latest one
        head = [Line(f"Primary ({outcome}): its figures are not recorded here", "bold")] \
            if outcome and outcome != "descriptive" else []
        return head + [Line(f"Latest{_analysis_note(r)}: " + " · ".join(headline_parts(r, _cut_label(r["cut"]))),
                            "bold") for r in found]
    rows = [" · ".join(headline_parts(r, _cut_label(r["cut"]))) for r in found]
    if len(rows) == 1:
        return [Line("Primary" + (f" ({outcome})" if outcome else "") + ": " + rows[0], "bold")]
    # several primary endpoints: the trial's outcome is said once, not beside each (one may have failed)
    head = [Line(f"Primary endpoints: trial outcome {outcome}", "bold")] if outcome else []
    return head + [Line("Primary: " + row, "bold") for row in rows]


def _hr_lines(result: dict) -> tuple[str, str]:
    two = len(result["arms"]) == 2
    hrs, ps = [], []
    for hr in result["hazard_ratios"]:
        text = fmt.hazard_ratio({k: v for k, v in hr.items() if k != "p"}, compact=True)
        if len(result["hazard_ratios"]) > 1 or not two:
            text += f" {hr['experimental']} vs {hr['control']}"
        hrs.append(text)
        ps.append(fmt.p_value(hr))
    return "\n".join(hrs), "\n".join(ps) if any(ps) else ""


def _arm_marks(result: dict, arm_id: str) -> list[str]:
    return [f"{fmt.num(lm['months'])}-mo {fmt.num(a['rate'])}%" + (f" [{fmt.ci(a['rate_ci'])}]" if a.get("rate_ci") else "")
            for lm in result["landmarks"] for a in lm["arms"] if a["arm"] == arm_id and a.get("rate") is not None]


def _arm_ids(result: dict) -> list[str]:
    ids = [a["arm"] for a in result["arms"]]
    for lm in result["landmarks"]:
        ids += [a["arm"] for a in lm["arms"] if a["arm"] not in ids]
    return ids


RESULT_HEADERS = ["endpoint", "population", "arm", "n, events", "median, mo (CI)", "rate", "HR (95% CI)", "p",
                  "landmarks"]


def results_table(title: str | None, results: list[dict]) -> Table:
    rows, stacked = [], []
    for r in results:
        name = r["endpoint"]["id"] + (" (primary)" if r["primary_endpoint"] else "")
        hrs, ps = _hr_lines(r)
        figs = {a["arm"]: a for a in r["arms"]}
        ids = _arm_ids(r) or ["—"]
        for i, arm_id in enumerate(ids):
            a = figs.get(arm_id, {})
            rows.append([name if i == 0 else "", _where(r) if i == 0 else "", arm_id, fmt.events(a), fmt.median(a),
                         fmt.rate(a), hrs if i == 0 else "", ps if i == 0 else "", "\n".join(_arm_marks(r, arm_id))])
        stacked.append(Line(f"{name} · {_where(r)}", "bold", 2))
        for hr in r["hazard_ratios"]:
            stacked.append(Line(keep(f"HR {fmt.hazard_ratio(hr)}") + (f" · {hr['experimental']} vs {hr['control']}"
                                if len(r["hazard_ratios"]) > 1 or len(r["arms"]) != 2 else ""), None, 4))
        for arm_id in _arm_ids(r):
            a = figs.get(arm_id, {})
            bits = [fmt.events(a), fmt.median(a) and "median " + fmt.median(a) + " mo", fmt.rate(a), *_arm_marks(r, arm_id)]
            bits = [keep(b) for b in bits if b]
            if bits:
                stacked.append(Line(f"{arm_id}: " + " · ".join(bits), None, 4))
    return Table(title, RESULT_HEADERS, rows, fixed={3, 4, 5, 6, 7, 8}, stacked=stacked)


# --- cards -------------------------------------------------------------------------------------------

def trial_card(payload: dict) -> list:
    t = payload["trial"]
    blocks: list = [Title(" · ".join(b for b in (t["name"], f"phase {t['phase']}", t.get("nct"),
                                                 f"{t['indication']['name']} ({t['indication']['id']})", t["setting"])
                                     if b))]
    blocks += _headline_lines(t)
    outcome = OUTCOME.get(t.get("primary_outcome") or "")
    blocks.append(Fields([
        ("Population", t["population"]), ("Biomarkers", t["biomarkers"]), ("Design", t.get("design")),
        ("Randomised", t.get("randomized")), ("Enrolled", t.get("enrolled")), ("Primary outcome", outcome),
        ("Also known as", t["aliases"]), ("From", origin(t.get("origin"))),
    ]))
    blocks.append(Line(""))
    blocks.append(Table("Arms", ["arm", "label", "role", "n", "drugs"],
                        [[a["id"], a["label"], a["role"], "" if a["n"] is None else str(a["n"]),
                          ", ".join(d["name"] for d in a["drugs"]) or "—"] for a in t["arms"]], fixed={0, 3}))
    for c in t["cuts"]:
        results = [r for r in t["results"] if r["cut"]["id"] == c["id"]]
        if not results:
            continue
        blocks.append(Line(""))
        blocks.append(results_table(fmt.cut(c), results))
        blocks.append(Line(f"Source: {fmt.source(c['source'])}", "dim", 2))
        for r in results:
            if r["source"] and r["source"] != c["source"]:
                blocks.append(Line(f"{r['endpoint']['id']} ({r['population']}): {fmt.source(r['source'])}", "dim", 2))
            if r.get("notes"):
                blocks.append(Line(f"Note ({r['endpoint']['id']}, {r['population']}): {r['notes']}", "dim", 2))
    if t.get("notes"):
        blocks += [Line(""), Line(f"Notes: {t['notes']}")]
    return blocks + [footer(payload)]


def _others(drugs: list[dict], own: str | None) -> str:
    return " + ".join(d["name"] for d in drugs if d["id"] != own)


def approvals_table(approvals: list[dict], title: str, own: str | None = None) -> Table:
    """One line per approval: date, disease, setting, biomarker, the other drugs, the trials."""
    rows = [[a["date"] + _withdrawn(a), a["indication"]["id"], a.get("setting") or "", a.get("biomarker") or "",
             _others(a["drugs"], own), ", ".join(a["trials"])] for a in approvals]
    stacked = [Line(" · ".join(c for c in [f"{r[0]} {r[1]}", r[2], r[3], r[4] and "with " + r[4], r[5]] if c), None, 2)
               for r in rows]
    return Table(title, ["date", "disease", "setting", "biomarker", "with", "trials"], rows, fixed={0, 1},
                 stacked=stacked)


def _withdrawn(approval: dict) -> str:
    """An indication no longer in force says so where its date is printed."""
    when = approval.get("withdrawn")
    return "" if not when else " (withdrawn)" if when is True else f" (withdrawn {when})"


def approval_texts(approvals: list[dict]) -> list:
    """Each approval's indication as its source words it: an FDA text's wording, or a report's, which says so."""
    from .text import SOURCE_KINDS

    def reported(a: dict) -> str:
        kind = (a.get("source") or {}).get("kind")
        return "" if kind in ("label", "journal") else f" [as worded in a {SOURCE_KINDS.get(kind, 'secondary report')}]"

    return [Line("As approved", "bold"),
            *(Line(f"{a['date']} {a['indication']['id']}: {a['text']}{reported(a)}", None, 2) for a in approvals)]


def _summary_headline(summary: dict) -> str:
    rows = summary.get("headline") or []
    if not rows:
        return ""
    return " · ".join(headline_parts(rows[0]))


def summary_cells(s: dict, extra: str | None = None) -> list[str]:
    """A trial's line in a drug or indication card (compiled beside its summary, so that a card of
    thousands of trials is laid out without decoding them); `extra`: the key of a fifth column's list."""
    cells = [s["name"], s["indication"]["id"], s["setting"], s["phase"], OUTCOME.get(s.get("primary_outcome") or "", ""),
             _summary_headline(s)]
    if extra:
        cells.insert(4, ", ".join(s.get(extra) or []))
    return cells


def trials_table(summaries, title: str, extra: tuple[str, str] | None = None) -> Table:
    """One line per trial with its headline result."""
    headers = ["trial", "disease", "setting", "phase", "primary", "headline result"]
    if extra:
        headers.insert(4, extra[0])
    compiled = getattr(summaries, "cells", None)
    rows = compiled if compiled is not None else [summary_cells(s, extra and extra[1]) for s in summaries]

    def stacked() -> list:  # made only for a terminal too narrow for the columns
        out = []
        for row in rows:
            outcome = f"primary {row[-2]}" if row[-2] else ""
            out.append(Line(" · ".join(c for c in [row[0], f"{row[1]} {row[2]}", f"phase {row[3]}", *row[4:-2], outcome]
                                       if c), "bold", 2))
            if row[-1]:
                out.append(Line(row[-1], None, 4))
        return out
    return Table(title, headers, rows, fixed={0, 3}, stacked=stacked)


def _bounded(items: list, limit: int | None, what: str) -> tuple[list, list]:
    """At most `limit` items, and a line saying how many more there are (a person reads a terminal; piped
    and JSON output stay whole)."""
    if limit is None or len(items) <= limit:
        return items, []
    return items[:limit], [Line(f"… and {len(items) - limit} more {what} (--all shows every one)", "dim")]


def drug_card(payload: dict, full: bool = False, approvals: bool = False, trials: bool = False,
              limit: int | None = None) -> list:
    d = payload["drug"]
    first = d.get("first_fda_approval")
    summary = [d.get("drug_class"), d["modality"], "targets " + ", ".join(d["targets"]) if d["targets"] else None,
               f"first FDA approval {first['date']}" if first else None,
               f"{len(d['approvals'])} FDA approval(s)" + (f" ({n} since withdrawn)" if (n := sum(
                   1 for a in d["approvals"] if a.get("withdrawn"))) else ""), f"{len(d['trials'])} trial(s)"]
    blocks: list = [Title(d["name"] + (f" · {' / '.join(d['brands'])}" if d["brands"] else "")),
                    Line(" · ".join(s for s in summary if s))]
    blocks.append(Fields([
        ("Codes", d["codes"]), ("Also known as", d["aliases"]), ("Maker", d.get("maker")), ("Status", d["status"]),
        ("First approval", f"{first['date']}" + (f" — {first['indication']}" if first.get("indication") else "")
         if first else None),
        ("From", origin(d.get("origin"))),
    ]))
    both = not (approvals or trials)
    if d["approvals"] and (both or approvals):
        shown, more = _bounded(d["approvals"][::-1], limit, "approvals")  # a person reads the newest first
        blocks += [Line(""), approvals_table(shown, f"FDA approvals ({len(d['approvals'])}), newest first", d["id"]),
                   *more]
        if full or approvals:
            blocks += approval_texts(shown)
    if d["trials"] and (both or trials):
        shown, more = _bounded(d["trials"], limit, "trials")
        blocks += [Line(""), trials_table(shown, f"Trials ({len(d['trials'])}), headline result at the newest cut"),
                   *more]
        if full or trials:
            rows = [row for t in shown for row in t["headline"]]
            blocks += [Line(""), comparison_table(rows, "Headline results in full")]
    if d.get("notes") and (full or both):
        blocks += [Line(""), Line(f"Notes: {d['notes']}")]
    if not (full or approvals or trials):
        blocks.append(Line("Approval texts and full headline results: --full.", "dim"))
    return blocks + [footer(payload)]


def endpoint_card(payload: dict) -> list:
    e = payload["endpoint"]
    return [Title(f"{e['id']} — {e['name']}"), Fields([
        ("Kind", e["kind"]), ("Better when", "higher" if e["higher_is_better"] else "lower"),
        ("Synonyms", e["synonyms"]), ("Definition", e["definition"]), ("Results", e["result_count"]),
        ("From", origin(e.get("origin"))),
    ]), footer(payload)]


def _context_source(src: dict) -> str:
    return "Source: " + (src.get("citation") or "") + (f" — {src['section']}" if src.get("section") else "")


def indication_card(payload: dict, limit: int | None = None) -> list:
    ind = payload["indication"]
    blocks: list = [Title(f"{ind['name']} ({ind['id']})" + (f" · OncoTree {ind['oncotree']}" if ind["oncotree"]
                                                           else " · no OncoTree code"))]
    if ind["includes"]:
        blocks.append(Line("Includes: " + ", ".join(ind["includes"])))
    for group in ind["settings"]:
        shown, more = _bounded(group["trials"], limit, "trials")
        blocks += [Line(""), trials_table(shown, f"{group['setting']} — {len(group['trials'])} trial(s)",
                                          ("immunotherapies", "immunotherapies")), *more]
    if ind["approvals"]:
        shown, more = _bounded(ind["approvals"][::-1], limit, "approvals")
        blocks += [Line(""), approvals_table(shown, f"FDA approvals ({len(ind['approvals'])}), newest first"), *more]
    return blocks + [footer(payload)]


def biomarker_card(payload: dict) -> list:
    b = payload["biomarker"]
    blocks: list = [Title(b["name"]), Fields([("What it is", b["what"]), ("Measured by", b.get("assay")),
                                              ("Cut-offs", b.get("cutoffs")), ("FDA", b.get("fda")),
                                              ("Caveats", b.get("caveats"))]),
                    Line(_context_source(b["source"]), "dim", 2)]
    if b["approvals"]:
        blocks += [Line(""), approvals_table(b["approvals"], f"Approvals that depend on it ({len(b['approvals'])})")]
    if b["trials"]:
        blocks += [Line(""), Table(f"Trials that selected or reported by it ({len(b['trials'])})",
                                   ["trial", "disease", "setting", "selected by", "populations reported"],
                                   [[t["name"], t["indication"], t["setting"], ", ".join(t["selected_by"]),
                                     "; ".join(t["populations"])] for t in b["trials"]], fixed={0})]
    return blocks + [footer(payload)]


def irae_card(payload: dict) -> list:
    e = payload["irae"]
    blocks: list = [Title(f"{e['name']} — {e['organ']}"), Fields([
        ("Management", e["management"]), ("Notes", e.get("notes")),
        ("Most associated with", ", ".join(d["name"] for d in e["drugs_most_associated"]) or None),
        ("By grade", e["grading"]["text"] if e.get("grading") else None),
    ])]
    blocks += [Line("Warning: " + w, "warn") for w in e["warnings"]]
    blocks.append(Line(_context_source(e["source"]), "dim", 2))
    if e["trial_rates"]:
        blocks += [Line(""), comparison_table(e["trial_rates"], f"Rates in the trials immuno knows ({len(e['trial_rates'])})")]
    return blocks + [footer(payload)]


# --- tables ------------------------------------------------------------------------------------------

COMPARISON_VIEW = ["trial · cut\nexperimental vs control", "disease, setting\nendpoint, population",
                   "experimental\nvs control", "HR (95% CI)\np", "landmarks"]


def _hr_view(hr: str, p: str) -> str:
    """The HR on its first line, a CI level other than 95% and p under it, so the column stays narrow."""
    value, _, rest = hr.partition(" (")
    lines = [hr]
    if "% CI " in rest:
        level, _, bounds = rest.partition(" CI ")
        lines = [f"{value} ({bounds}", f"{level} CI"]
    if p:
        lines.append(keep(p))  # "p<0.0001 one-sided" is one figure: never parted
    return "\n".join(line for line in lines if line)


def _when(published: str) -> str:
    """The cut's month, and which figures come from an earlier cut ("2023-04 (median: 2019-04)"): never
    cropped, or an earlier cut's figure would read as the newest's."""
    date, sep, earlier = published.partition(" (")
    return date[:7] + (" (" + earlier if sep else "")


def comparison_view_row(cells: list[str]) -> list[str]:
    """The terminal table's cells from the compiled fields (text.COMPARISON_COLUMNS)."""
    (trial, exp, ctl, disease, setting, endpoint, population, analysis, exp_fig, ctl_fig, hr, p, marks,
     published) = cells
    where = population + (f" ({analysis})" if analysis not in ("", "itt", "primary")
                          and analysis.lower() not in population.lower() else "")
    control = [("vs " + line) for line in (ctl_fig or "—").split("; ")] if ctl else []
    return [f"{trial} · {_when(published)}\n{exp}" + (f" vs {ctl}" if ctl else ""),
            f"{disease} {setting}\n{endpoint} · {where}", "\n".join([*exp_fig.split("; "), *control]),
            _hr_view(hr, p), marks.replace(": ", " ").replace("; ", "\n")]


def comparison_table(rows: list[dict], title: str | None) -> Table:
    return comparison_cells_table([fmt.comparison_cells(r) for r in rows], title)


def comparison_stacked(cells: list[str]) -> list:
    """One comparison row as a short block: who, where, the figures, the landmarks."""
    (trial, exp, ctl, disease, setting, endpoint, population, analysis, exp_fig, ctl_fig, hr, p, marks,
     published) = cells
    where = population + (f" ({analysis})" if analysis not in ("", "itt", "primary")
                          and analysis.lower() not in population.lower() else "")
    figures = [keep(exp_fig) + (" vs " + keep(ctl_fig) if ctl_fig else "")] if exp_fig or ctl_fig else []
    if hr:
        figures.append(keep("HR " + hr) + (", " + keep(p) if p else ""))
    blocks = [Line(f"{trial} · {_when(published)} · {exp}" + (f" vs {ctl}" if ctl else ""), "bold"),
              Line(f"{disease} {setting} · {endpoint} · {where}", None, 2)]
    if figures:
        blocks.append(Line(" · ".join(figures), None, 2))
    if marks:
        blocks.append(Line(" · ".join(keep(m) for m in marks.replace(": ", " ").split("; ")), None, 2))
    return blocks


def comparison_cells_table(cells, title: str | None) -> Table:
    cells = list(cells)
    return Table(title, COMPARISON_VIEW, [comparison_view_row(c) for c in cells], fixed={2, 3, 4},
                 stacked=[b for c in cells for b in comparison_stacked(c)], spaced=True)


def derived_table(rows: list[dict]) -> Table:
    """Each derived figure (its value never wrapped: an NNT's interval is one figure), stacked as a block
    of lines where the columns do not fit."""
    cells = [[r["trial"]["name"], r["population"], d["name"], fmt.derived_value(d), d["formula"],
              fmt.derived_note(d)] for r in rows for d in r["derived"]]
    stacked = [b for trial, population, name, value, formula, note in cells for b in (
        Line(f"{trial} · {population} · {name}: {keep(value)}", "bold"),
        Line(" · ".join(x for x in (formula, note) if x), None, 2))]
    return Table("Derived figures", ["trial", "population", "figure", "value", "formula", "note"], cells,
                 fixed={3}, stacked=stacked)


def listing_table(payload: dict) -> Table:
    items = payload["items"]
    columns = [c for c in (items[0] if items else {}) if c != "origin"]
    return Table(None, columns, [[_cell(item[c]) for c in columns] for item in items], fixed={0})


def hits_table(payload: dict) -> Table:
    return Table(None, ["kind", "id", "name", "match", "in", "text"],
                 [[h["kind"], h["id"], h["name"], h.get("match", ""), h["field"], h["text"]] for h in payload["hits"]],
                 fixed={0, 1, 3})


def _cell(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return "" if value is None else str(value)
