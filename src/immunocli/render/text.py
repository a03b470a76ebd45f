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


def ci(bounds, decimals: int = 0) -> str:
    if not bounds:
        return ""
    lo, hi = bounds
    return f"{num(lo, decimals) if lo is not None else '?'}–{num(hi, decimals) if hi is not None else '?'}"


def median(fig: dict | None) -> str:
    if not fig or fig.get("median") is None:
        return ""
    text = num(fig["median"], 1)
    if fig.get("median_ci"):
        text += f" ({ci(fig['median_ci'], 1)})"
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
        p = str(hr["p"]).strip()
        text += ("\n" if compact else ", ") + f"p{p if p[0] in '<>≤≥=' else '=' + p}"
        text += " one-sided" if hr.get("p_sided") == 1 else ""
    if with_arms:
        text += f" — {hr['experimental_label']} vs {hr['control_label']}"
    return text


def landmarks(items: list[dict]) -> str:
    out = []
    for lm in items:
        exp, ctl = lm.get("experimental"), lm.get("control")
        label = f"{num(lm['months'])}-mo"
        if exp is not None and ctl is not None:
            out.append(f"{label}: {num(exp)}% vs {num(ctl)}%")
        elif exp is not None:
            out.append(f"{label}: {num(exp)}%")
    return "; ".join(out)


def source(src: dict | None) -> str:
    if not src:
        return ""
    ident = f"PMID {src['pmid']}" if src.get("pmid") else (f"doi:{src['doi']}" if src.get("doi") else src.get("url") or "")
    return f"{src['citation']} ({ident})" if ident else src["citation"]


def cut(c: dict) -> str:
    bits = [c.get("label") or f"{c['kind']} analysis", c.get("published") or ""]
    if c.get("follow_up"):
        bits.append(c["follow_up"])
    return " · ".join(b for b in bits if b)


COMPARISON_HEADERS = ["trial\nexperimental vs control", "disease\nsetting", "endpoint\npopulation", "experimental",
                      "control", "HR (95% CI)", "landmarks", "cut"]


def short(text: str, width: int = 34) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def comparison_cells(row: dict) -> list[str]:
    """A comparison row as the table's cells: arms named briefly, the full labels are in the card and JSON."""
    exp, ctl = row["experimental"], row["control"]
    return [
        row["trial"]["name"] + "\n" + short(exp["label"]) + (f" vs {short(ctl['label'], 24)}" if ctl else ""),
        f"{row['indication']['id']}\n{row['setting']}",
        f"{row['endpoint']['id']}\n{row['population']}",
        figure(exp), figure(ctl) if ctl else "—",
        hazard_ratio(row["hazard_ratio"], compact=True), landmarks(row["landmarks"]),
        row["cut"]["published"][:7],
    ]


COMPARISON_NOTE = ("Medians in months. HR: experimental vs control. Trials differ in population and era: compare "
                   "with care. Reference information from published sources, not medical advice.")


def pooled_summary(pooled: dict | None) -> list[str]:
    """The pooled HR, what was left out, and the warning, as lines."""
    if not pooled:
        return []
    lines = [f"Pooled HR {pooled['hazard_ratio']:.2f} (95% CI {pooled['ci'][0]:.2f}–{pooled['ci'][1]:.2f}); "
             f"I² {pooled['i2']}%, τ² {pooled['tau2']}, Q {pooled['q']}, k={pooled['k']} ({pooled['method']})"]
    if pooled["skipped"]:
        lines.append("Not pooled: " + "; ".join(pooled["skipped"]))
    if pooled["warning"]:
        lines.append("Warning: " + pooled["warning"] + ".")
    return lines
