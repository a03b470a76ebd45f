"""Row formats for scripts and documents: NDJSON, CSV and Markdown of the same dicts as the JSON.

A comparison row is flattened into fixed, documented columns (numbers stay numbers in CSV so a
spreadsheet can sort them); lists and search hits are flat already.
"""

from __future__ import annotations

import csv
import io
import re

from ..contract import LIST_KEYS, compact
from . import text as fmt

COMPARISON_COLUMNS = [
    "trial", "trial_id", "nct", "phase", "indication", "setting", "endpoint", "population", "analysis",
    "primary_endpoint", "cut", "published",
    "experimental", "exp_median", "exp_median_not_reached", "exp_median_ci_low", "exp_median_ci_high", "exp_rate",
    "exp_rate_ci_low", "exp_rate_ci_high", "exp_count", "exp_n", "exp_events",
    "control", "ctl_median", "ctl_median_not_reached", "ctl_median_ci_low", "ctl_median_ci_high", "ctl_rate",
    "ctl_rate_ci_low", "ctl_rate_ci_high", "ctl_count", "ctl_n", "ctl_events",
    "hr", "hr_ci_low", "hr_ci_high", "hr_ci_level", "p", "p_sided", "median_gain_months", "landmarks", "citation",
    "pmid", "doi", "from_earlier_cuts",
]


def _yes(value) -> str | None:
    return None if value is None else ("yes" if value else "no")


def comparison_record(row: dict) -> dict:
    """One comparison row as flat columns."""
    out = {
        "trial": row["trial"]["name"], "trial_id": row["trial"]["id"], "nct": row["trial"].get("nct"),
        "phase": row["trial"]["phase"], "indication": row["indication"]["id"], "setting": row["setting"],
        "endpoint": row["endpoint"]["id"], "population": row["population"], "analysis": row.get("analysis"),
        "primary_endpoint": _yes(row.get("primary_endpoint")), "cut": row["cut"]["id"],
        "published": row["cut"]["published"],
    }
    for prefix, side in (("exp", row["experimental"]), ("ctl", row["control"])):
        side = side or {}
        ci = side.get("median_ci") or [None, None]
        rate_ci = side.get("rate_ci") or [None, None]
        out["experimental" if prefix == "exp" else "control"] = side.get("label")
        out.update({f"{prefix}_median": side.get("median"),
                    f"{prefix}_median_not_reached": _yes(side.get("median_not_reached")) if side else None,
                    f"{prefix}_median_ci_low": ci[0], f"{prefix}_median_ci_high": ci[1],
                    f"{prefix}_rate": side.get("rate"), f"{prefix}_rate_ci_low": rate_ci[0],
                    f"{prefix}_rate_ci_high": rate_ci[1], f"{prefix}_count": side.get("count"),
                    f"{prefix}_n": side.get("n"), f"{prefix}_events": side.get("events")})
    hr = row.get("hazard_ratio") or {}
    hr_ci = hr.get("ci") or [None, None]
    src = row.get("source") or {}
    out.update({"hr": hr.get("value"), "hr_ci_low": hr_ci[0], "hr_ci_high": hr_ci[1],
                "hr_ci_level": hr.get("ci_level"), "p": hr.get("p"), "p_sided": hr.get("p_sided") if hr else None,
                "median_gain_months": row.get("median_gain_months"),
                "landmarks": fmt.landmarks(row.get("landmark_pairs", [])), "citation": src.get("citation"),
                "pmid": src.get("pmid"), "doi": src.get("doi"),
                # figures the newest cut lacks, taken from an earlier cut: which, and from which paper
                "from_earlier_cuts": fmt.earlier_cut_sources(row) or None})
    return out


def records(payload: dict) -> tuple[list[str], list[dict]]:
    """The flat records of any listing payload, with their column order."""
    if payload["kind"] == "comparison":
        return COMPARISON_COLUMNS, [comparison_record(r) for r in payload["rows"]]
    items = payload.get("items") if "items" in payload else payload.get("hits", [])
    flat = [{k: (", ".join(map(str, v)) if isinstance(v, list) else _yes(v) if isinstance(v, bool) else v)
             for k, v in item.items()} for item in items]
    columns = list(flat[0]) if flat else []
    return columns, flat


def ndjson(payload: dict) -> str:
    key = LIST_KEYS[payload["kind"]]
    return "".join(compact(item) + "\n" for item in payload.get(key, []))


def to_csv(payload: dict, headers: bool = True) -> str:
    columns, rows = records(payload)
    return write_csv(columns, rows, headers)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_value(value):
    """A text cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, CR first) gets a leading
    `'` (OWASP's advice for CSV injection); numbers stay numbers, so a spreadsheet still sorts them."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def write_csv(columns: list[str], rows: list[dict], headers: bool = True) -> str:
    """CSV of flat records, every text cell made safe to open in a spreadsheet."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    if headers:
        writer.writerow({c: csv_value(c) for c in columns})
    writer.writerows({k: csv_value(v) for k, v in row.items()} for row in rows)
    return buffer.getvalue()


_MD_SPECIAL = re.compile(r"([\\\[\]|])")


def markdown_text(value) -> str:
    """Text for a Markdown table cell that stays text: HTML is escaped (no tag, no `<javascript:…>`
    autolink) and brackets too (no `[text](javascript:…)` link or image), so the only links a renderer
    makes are the bare http(s) URLs of the sources."""
    if value is None:
        return ""
    text = str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text).replace("\r", " ").replace("\n", " ")



def to_markdown(payload: dict) -> str:
    if payload["kind"] == "comparison":
        columns = ["Trial", "Indication", "Setting", "Endpoint", "Population", "Experimental", "Control",
                   "HR (CI), p", "Landmarks", "Cut", "Source"]
        rows = [[r["trial"]["name"], r["indication"]["id"], r["setting"], r["endpoint"]["id"], r["population"],
                 f"{r['experimental']['label']}: {fmt.figure(r['experimental'])}" if r["experimental"] else "",
                 f"{r['control']['label']}: {fmt.figure(r['control'])}" if r["control"] else "—",
                 fmt.hazard_ratio(r["hazard_ratio"]), fmt.landmarks(r.get("landmark_pairs", [])),
                 r["cut"]["published"] + fmt.earlier_cuts(r),
                 fmt.source(r["source"]) + (f"; from earlier cuts: {e}" if (e := fmt.earlier_cut_sources(r)) else "")]
                for r in payload["rows"]]
    else:
        columns, flat = records(payload)
        rows = [[row[c] for c in columns] for row in flat]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(markdown_text(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"
