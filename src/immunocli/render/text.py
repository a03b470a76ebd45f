"""Figures as one line of text, the way a paper prints them ("16.5 mo (12.2–30.3)", "HR 0.60 (95% CI …)").

Shared by every human-facing view so the table, Markdown and CSV spell a figure the same way.
"""

from __future__ import annotations

from functools import lru_cache


def num(value, decimals: int = 0) -> str:
    """A figure with at least `decimals` places: YAML drops the trailing zero of "30.0" or "0.50"."""
    if value is None:
        return "–"
    if isinstance(value, str):
        return value
    if value == 0:  # 0.0 and -0.0 are one cache key but print differently
        return _number.__wrapped__(value, True, decimals)
    return _number(value, type(value) is float, decimals)  # the type in the key: 1 and 1.0 print differently


@lru_cache(maxsize=4096)  # compiling 100,000 trials formats the same few hundred figures again and again
def _number(value, _is_float: bool, decimals: int) -> str:
    if isinstance(value, float) and value.is_integer() and not decimals:
        return str(int(value))
    text = repr(float(value)) if isinstance(value, float) else str(value)
    places = len(text.split(".")[1]) if "." in text else 0
    return f"{value:.{max(places, decimals)}f}" if decimals or places else text


def ci(bounds, decimals: int = 0, not_reached=None) -> str:
    """"12.2–30.3"; a bound not reached prints NR, one not reported "?"."""
    if not bounds:
        return ""
    nr = not_reached or (False, False)
    lo, hi = (b if b is not None else ("NR" if flag else "?") for b, flag in zip(bounds, nr))
    return f"{num(lo, decimals)}–{num(hi, decimals)}"


def median(fig: dict | None) -> str:
    if not fig:
        return ""
    if fig.get("median") is None and not fig.get("median_not_reached"):
        return ""
    text = "NR" if fig.get("median") is None else num(fig["median"], 1)
    if fig.get("median_ci"):
        text += f" ({ci(fig['median_ci'], 1, fig.get('median_ci_not_reached'))})"
    return text


def rate(fig: dict | None) -> str:
    if not fig or fig.get("rate") is None:
        return ""
    text = f"{num(fig['rate'])}%"
    if fig.get("count") is not None and fig.get("n") is not None:
        text += f" ({fig['count']}/{fig['n']})"
    elif fig.get("n") is not None:
        text += f" (n={fig['n']})"
    if fig.get("rate_ci"):
        text += f" [{ci(fig['rate_ci'])}]"
    return text


def events(fig: dict | None) -> str:
    """The counts a rate does not already show: n, a count without a rate, events ("n=425 · 24 events")."""
    if not fig:
        return ""
    shown_by_rate = fig.get("rate") is not None
    bits = []
    if fig.get("count") is not None and not (shown_by_rate and fig.get("n") is not None):
        bits.append(f"{fig['count']}/{fig['n']}" if fig.get("n") is not None else f"count {fig['count']}")
    elif fig.get("n") is not None and not shown_by_rate:
        bits.append(f"n={fig['n']}")
    if fig.get("events") is not None:
        bits.append(f"{fig['events']} events")
    return " · ".join(bits)


def figure(fig: dict | None) -> str:
    """Median and/or rate, whichever the arm has."""
    parts = [p for p in (median(fig), rate(fig)) if p]
    return "; ".join(parts)


def hazard_ratio(hr: dict | None, with_arms: bool = False, compact: bool = False) -> str:
    """"0.62 (95% CI 0.48–0.81), p<0.001"; compact drops the usual 95% label and breaks before p."""
    if not hr:
        return ""
    level = hr.get("ci_level", 95)
    level_text = f"{num(level)}% CI"
    text = num(hr["value"], 2)
    if hr.get("ci"):
        label = "" if compact and level == 95 else level_text + " "
        text += f" ({label}{ci(hr['ci'], 2)})"
    if hr.get("p"):
        text += ("\n" if compact else ", ") + p_value(hr)
    if with_arms:
        text += f" — {hr['experimental_label']} vs {hr['control_label']}"
    return text


def p_value(hr: dict | None) -> str:
    """"p=0.053", "p<0.001", "p=0.0266 one-sided"."""
    if not hr or not hr.get("p"):
        return ""
    p = str(hr["p"]).strip()
    sign = p[0] if p[0] in "<>≤≥=" else "="
    value = p.lstrip("<>≤≥=").strip()
    if value.startswith("."):  # as printed in journal style (".0099"): shown as every other p is
        value = "0" + value
    return f"p{sign}{value}" + (" one-sided" if hr.get("p_sided") == 1 else "")


def landmarks(items: list[dict]) -> str:
    """A comparison row's landmark pairs ("24-mo: 50% vs 39%")."""
    out = []
    for lm in items:
        exp, ctl = lm.get("experimental"), lm.get("control")
        label = f"{num(lm['months'])}-mo"
        if exp is not None and ctl is not None:
            out.append(f"{label}: {num(exp)}% vs {num(ctl)}%")
        elif exp is not None:
            out.append(f"{label}: {num(exp)}%")
    return "; ".join(out)


# What a source is, said beside it when it is not a journal paper: a figure from a congress abstract or a
# sponsor's report is read differently from one in a paper.
SOURCE_KINDS = {"congress": "congress abstract", "label": "FDA text", "registry": "registry record",
                "press": "sponsor or news report"}


def source(src: dict | None) -> str:
    if not src:
        return ""
    ident = f"PMID {src['pmid']}" if src.get("pmid") else (f"doi:{src['doi']}" if src.get("doi") else src.get("url") or "")
    kind = SOURCE_KINDS.get(src.get("kind") or "")
    return (f"{src['citation']} ({ident})" if ident else src["citation"]) + (f" [{kind}]" if kind else "")


def cut(c: dict) -> str:
    bits = [c.get("label") or f"{c['kind']} analysis", c.get("published") or ""]
    if c.get("follow_up"):
        bits.append(c["follow_up"])
    return " · ".join(b for b in bits if b)


COMPARISON_COLUMNS = ["trial", "experimental", "control", "indication", "setting", "endpoint", "population",
                      "analysis", "experimental_result", "control_result", "hazard_ratio", "p", "landmarks", "published"]


def short(text: str, width: int = 34) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _hr_cell(hr: dict | None) -> str:
    if not hr:
        return ""
    level = hr.get("ci_level", 95)
    text = num(hr["value"], 2)
    if hr.get("ci"):
        text += f" ({'' if level == 95 else num(level) + '% CI '}{ci(hr['ci'], 2)})"
    return text


def comparison_cells(row: dict) -> list[str]:
    """A comparison row as whole, untruncated fields (COMPARISON_COLUMNS): the TSV line, and what the
    terminal table lays out; compiled once per row so that 100,000 rows print without parsing JSON."""
    exp, ctl = row["experimental"], row["control"]
    return [
        row["trial"]["name"], exp["label"], ctl["label"] if ctl else "",
        row["indication"]["id"], row["setting"], row["endpoint"]["id"], row["population"], row.get("analysis") or "",
        figure(exp), figure(ctl) if ctl else "", _hr_cell(row["hazard_ratio"]), p_value(row["hazard_ratio"]),
        landmarks(row.get("landmark_pairs", [])), row["cut"]["published"] + earlier_cuts(row),
    ]


_FIGURE_NAMES = {"hazard_ratio": "HR", "experimental.median": "median", "control.median": "median",
                 "experimental.rate": "rate", "control.rate": "rate"}


def _earlier(row: dict) -> dict[tuple[str, str], list[str]]:
    """The figures a row takes from earlier cuts, by (cut date, that cut's source identifier)."""
    taken: dict[tuple[str, str], list[str]] = {}
    for f in row.get("figures_from_earlier_cuts") or []:
        if f["figure"] == "hazard_ratio_with_ci":
            continue  # kept for pooling only; the row shows its own HR
        name = _FIGURE_NAMES.get(f["figure"], "landmarks" if f["figure"].startswith("landmark") else f["figure"])
        date = (f["cut"].get("published") or f["cut"].get("id") or "")[:7]
        src = f.get("source") or {}
        ident = f"PMID {src['pmid']}" if src.get("pmid") else f"doi:{src['doi']}" if src.get("doi") else ""
        names = taken.setdefault((date, ident), [])
        if name not in names:
            names.append(name)
    return taken


def earlier_cuts(row: dict) -> str:
    """Which figures of a row come from an earlier cut than its newest: " (HR: 2019-12)"."""
    by_date: dict[str, list[str]] = {}
    for (date, _ident), names in _earlier(row).items():
        by_date.setdefault(date, []).extend(n for n in names if n not in by_date.get(date, []))
    return "".join(f" ({', '.join(names)}: {date})" for date, names in by_date.items())


def earlier_cut_sources(row: dict) -> str:
    """The same with each earlier cut's paper, for exports that cite one source a row:
    "HR, median: 2019-12 (PMID 31790344)"."""
    return "; ".join(f"{', '.join(names)}: {date}" + (f" ({ident})" if ident else "")
                     for (date, ident), names in _earlier(row).items())


CAUTION = "Reference information from published sources, not medical advice."
COMPARISON_NOTE = ("Medians in months. HR: experimental vs control. Trials differ in population and era: compare "
                   "with care. " + CAUTION)


def _study_text(study) -> str:
    if not isinstance(study, dict):
        return str(study)
    name = study.get("trial") or study.get("name") or ""
    if isinstance(name, dict):
        name = name.get("name", "")
    cut = study.get("cut") if isinstance(study.get("cut"), dict) else {}
    # a multi-arm trial's comparisons differ only in their arms: name them, or two lines read alike
    arms = study.get("comparison") if "comparison" in (study.get("reason") or "") else None
    bits = [b for b in (arms, study.get("population"), (cut.get("published") or "")[:7] or study.get("year"))
            if b not in (None, "")]
    text = name + (f" ({', '.join(map(str, bits))})" if bits else "")
    if study.get("weight") is not None:
        text += f" {study['weight']:.1f}%"
    return text + (f": {study['reason']}" if study.get("reason") else "")


def p_text(p: float | None) -> str:
    """A computed p value as journals print it: "p<0.001", "p=0.012", "p=0.31"."""
    if p is None:
        return ""
    return "p<0.001" if p < 0.001 else f"p={p:.3f}" if p < 0.01 else f"p={p:.2f}"


def pooled_summary(pooled: dict | None) -> list[str]:
    """The pooled estimate, its heterogeneity, the studies, what was left out and the warnings, as lines."""
    if not pooled:
        return []
    proportion = pooled.get("measure") == "proportion"
    estimate = pooled.get("estimate", pooled.get("hazard_ratio"))
    level = pooled.get("ci_level", 95)
    unit = "%" if proportion else ""
    head = f"Pooled {'proportion' if proportion else 'HR'} {estimate:.{1 if proportion else 2}f}{unit}"
    if pooled.get("ci"):
        lo, hi = pooled["ci"]
        head += f" ({num(level)}% CI {lo:.{1 if proportion else 2}f}–{hi:.{1 if proportion else 2}f}{unit}"
        head += (f"; {p_text(pooled['p'])})" if pooled.get("p") is not None and not proportion else ")")
    head += f", {pooled.get('k')} trials; {pooled.get('method_text') or pooled.get('method')}"
    lines = [head]
    hetero = [f"I² {pooled['i2']}%"] if pooled.get("i2") is not None else []
    if pooled.get("tau2") is not None:
        hetero.append(f"τ² {pooled['tau2']}")
    if pooled.get("q") is not None:
        hetero.append(f"Q {pooled['q']}" + (f" (df {pooled['q_df']}, {p_text(pooled.get('q_p'))})"
                                            if pooled.get("q_df") is not None else ""))
    interval = pooled.get("prediction_interval")
    if interval:
        hetero.append(f"{num(level)}% prediction interval {interval[0]:.{1 if proportion else 2}f}–"
                      f"{interval[1]:.{1 if proportion else 2}f}{unit}")
    if hetero:
        lines.append("Heterogeneity: " + ", ".join(hetero))
    if pooled.get("studies"):
        lines.append("Pooled: " + "; ".join(_study_text(s) for s in pooled["studies"]))
    excluded = pooled.get("excluded", pooled.get("skipped"))
    if excluded:
        lines.append("Not pooled: " + "; ".join(_study_text(s) for s in excluded))
    warnings = pooled.get("warnings", [pooled["warning"]] if pooled.get("warning") else [])
    lines += ["Warning: " + w.rstrip(".") + "." for w in warnings]
    return lines


def derived_value(d: dict) -> str:
    """A derived figure as printed: an NNT always as Altman's words with its CI ("not significant: NNTB 143
    (95% CI NNTB 13 to ∞ to NNTH 14)"), never a bare point; others with their CI where one follows."""
    if d["name"].startswith("number needed") and d.get("note"):
        return d["note"]
    text = f"{num(d['value'])} {d['unit']}".replace(" %", "%")
    if d.get("ci"):
        text += f" (CI {num(d['ci'][0])} to {num(d['ci'][1])})"
    return text


def derived_note(d: dict) -> str:
    return "" if d["name"].startswith("number needed") else (d.get("note") or "")
