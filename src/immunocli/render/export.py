"""Cards as CSV: a trial's results one row per arm (long format), a card's trials as comparison rows.

Keeps what the issue asked CSV to keep: p and its sidedness, rate CIs, events, not-reached flags, NCT.
"""

from __future__ import annotations

from . import flat
from . import text as fmt

RESULT_COLUMNS = [
    "trial", "trial_id", "nct", "phase", "indication", "setting", "cut", "cut_label", "published", "endpoint",
    "population", "analysis", "primary_endpoint", "arm", "arm_label", "role", "median", "median_not_reached",
    "median_ci_low", "median_ci_high", "rate", "rate_ci_low", "rate_ci_high", "count", "n", "events",
    "hr", "hr_ci_low", "hr_ci_high", "hr_ci_level", "p", "p_sided", "hr_versus", "landmarks", "citation", "pmid",
    "doi", "url",
]


def _pair(values) -> list:
    return list(values) if values else [None, None]


def trial_records(payload: dict) -> list[dict]:
    t = payload["trial"]
    out = []
    for r in t["results"]:
        src = r.get("source") or {}
        figures = {a["arm"]: a for a in r["arms"]}
        arm_ids = list(figures) or [None]
        for arm_id in arm_ids:
            a = figures.get(arm_id, {})
            hr = next((h for h in r["hazard_ratios"] if h["experimental"] == arm_id), None)
            if arm_id is None and r["hazard_ratios"]:
                hr = r["hazard_ratios"][0]
            median_ci, rate_ci, hr_ci = _pair(a.get("median_ci")), _pair(a.get("rate_ci")), _pair((hr or {}).get("ci"))
            out.append({
                "trial": t["name"], "trial_id": t["id"], "nct": t.get("nct"), "phase": t["phase"],
                "indication": r["indication"]["id"], "setting": t["setting"], "cut": r["cut"]["id"],
                "cut_label": r["cut"].get("label"), "published": r["cut"]["published"], "endpoint": r["endpoint"]["id"],
                "population": r["population"], "analysis": r.get("analysis"),
                "primary_endpoint": "yes" if r["primary_endpoint"] else "no",
                "arm": arm_id, "arm_label": a.get("label"), "role": a.get("role"), "median": a.get("median"),
                "median_not_reached": "yes" if a.get("median_not_reached") else ("no" if a else None),
                "median_ci_low": median_ci[0], "median_ci_high": median_ci[1], "rate": a.get("rate"),
                "rate_ci_low": rate_ci[0], "rate_ci_high": rate_ci[1], "count": a.get("count"), "n": a.get("n"),
                "events": a.get("events"), "hr": (hr or {}).get("value"), "hr_ci_low": hr_ci[0],
                "hr_ci_high": hr_ci[1], "hr_ci_level": (hr or {}).get("ci_level"), "p": (hr or {}).get("p"),
                "p_sided": (hr or {}).get("p_sided") if hr else None, "hr_versus": (hr or {}).get("control"),
                "landmarks": "; ".join(f"{fmt.num(lm['months'])}-mo {fmt.num(x['rate'])}%"
                                       + (f" [{fmt.ci(x['rate_ci'])}]" if x.get("rate_ci") else "")
                                       for lm in r["landmarks"] for x in lm["arms"] if x["arm"] == arm_id),
                "citation": src.get("citation"), "pmid": src.get("pmid"), "doi": src.get("doi"), "url": src.get("url"),
            })
    return out


def _write(columns: list[str], records: list[dict], headers: bool) -> str:
    return flat.write_csv(columns, records, headers)  # every text cell safe in a spreadsheet (no formulas)


def card_rows(name: str, payload: dict) -> tuple[list[dict], str | None]:
    """The comparison rows a card holds, and what the CSV leaves out (said on stderr)."""
    if name == "drug_card":
        d = payload["drug"]
        return ([r for t in d["trials"] for r in t["headline"]],
                f"{len(d['approvals'])} approval(s) are not in the CSV (use --format markdown or --json)"
                if d["approvals"] else None)
    if name == "indication_card":
        ind = payload["indication"]
        return ([r for g in ind["settings"] for t in g["trials"] for r in t["headline"]],
                f"{len(ind['approvals'])} approval(s) are not in the CSV (use --format markdown or --json)"
                if ind["approvals"] else None)
    if name == "irae_card":
        return payload["irae"]["trial_rates"], "the management text is not in the CSV (use --format markdown or --json)"
    return [], None


def card_csv(name: str, payload: dict, headers: bool = True) -> tuple[str, str | None]:
    """A card as CSV text, and a note of what it could not carry."""
    if name == "trial_card":
        return _write(RESULT_COLUMNS, trial_records(payload), headers), \
            "the design, arms' drugs and notes are not in the CSV (use --format markdown or --json)"
    if name in ("drug_card", "indication_card", "irae_card"):
        rows, left_out = card_rows(name, payload)
        return _write(flat.COMPARISON_COLUMNS, [flat.comparison_record(r) for r in rows], headers), left_out
    if name == "biomarker_card":
        b = payload["biomarker"]
        records = [{"trial": t["name"], "trial_id": t["id"], "indication": t["indication"], "setting": t["setting"],
                    "selected_by": "; ".join(t["selected_by"]), "populations": "; ".join(t["populations"])}
                   for t in b["trials"]]
        return _write(["trial", "trial_id", "indication", "setting", "selected_by", "populations"], records, headers), \
            "the biomarker's description and approvals are not in the CSV (use --format markdown or --json)"
    e = payload["endpoint"]
    return _write(["id", "name", "kind", "higher_is_better", "synonyms", "definition", "result_count"],
                  [{**e, "higher_is_better": "yes" if e["higher_is_better"] else "no",
                    "synonyms": "; ".join(e["synonyms"])}], headers), None
