"""Forest plots the way journals print them, in one layout for the terminal, SVG and PNG.

Columns: the study (trial · population · cut, and the comparison where a trial has several), the hazard
ratio with its CI (its level shown where it is not 95%), and the weight in the pool. Squares are sized by
weight (area ∝ weight); the diamond spans the pooled CI; the prediction interval is drawn under it; rows
left out of the pool are set apart and marked. A log axis with plain ticks (0.25, 0.5, 1, 2, 4) and the
favours-labels. SVG needs nothing; PNG uses matplotlib (the optional `plot` extra), imported only then.
"""

from __future__ import annotations

import math
from html import escape

from . import text as fmt

TICKS = (0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8)


def _numeric_ci(hr: dict | None) -> bool:
    ci = (hr or {}).get("ci")
    return bool(ci and all(isinstance(b, (int, float)) and b > 0 for b in ci) and ci[0] < ci[1])


def _label(row: dict, multi: bool) -> str:
    hr = row.get("hazard_ratio") or {}
    cut = row.get("cut") or {}
    if hr.get("from_cut"):  # the HR comes from an earlier cut than the row's newest: label it by that cut
        cut = next((f["cut"] for f in row.get("figures_from_earlier_cuts", []) if f["cut"].get("id") == hr["from_cut"]),
                   cut)
    published = cut.get("published") if isinstance(cut, dict) else None
    parts = [row["trial"]["name"], row.get("population") or ""]
    if published:
        parts.append(str(published)[:7])
    if multi and hr.get("experimental"):  # which comparison, by the arms' short ids, before anything is cut
        parts.insert(1, f"{hr['experimental']} vs {hr['control']}")
    return " · ".join(p for p in parts if p)


def items_from_rows(rows: list[dict], pooled: dict | None = None) -> list[dict]:
    """Plot items: each row with an HR and a numeric CI; with a pool, its studies (with weights) first, then
    the rows left out (marked), then the pooled diamond and its prediction interval."""
    from ..pooling import hazard_ratio

    usable = [{**r, "hazard_ratio": hazard_ratio(r)} for r in rows if _numeric_ci(hazard_ratio(r))]
    per_trial: dict[str, int] = {}
    for r in usable:
        per_trial[r["trial"]["id"]] = per_trial.get(r["trial"]["id"], 0) + 1
    items = []
    weights = {}
    if pooled and pooled.get("measure", "hazard_ratio") == "hazard_ratio":
        for s in pooled.get("studies", []):
            weights[(s["trial"]["id"], s.get("population"), (s.get("cut") or {}).get("id"), s.get("hazard_ratio"))] = \
                s.get("weight")
    for r in usable:
        hr = r["hazard_ratio"]
        key = (r["trial"]["id"], r.get("population"), hr.get("from_cut") or (r.get("cut") or {}).get("id"), hr["value"])
        items.append({"label": _label(r, per_trial[r["trial"]["id"]] > 1), "value": hr["value"], "lo": hr["ci"][0],
                      "hi": hr["ci"][1], "level": hr.get("ci_level") or 95, "weight": weights.get(key),
                      "kind": "study" if (not pooled or key in weights) else "excluded"})
    items = _unique([i for i in items if i["kind"] == "study"] + [i for i in items if i["kind"] == "excluded"])
    if pooled and pooled.get("measure", "hazard_ratio") == "hazard_ratio":
        items.append({"label": f"Pooled (k={pooled['k']})",
                      "value": pooled["estimate"] if "estimate" in pooled else pooled["hazard_ratio"],
                      "lo": pooled["ci"][0], "hi": pooled["ci"][1], "level": pooled.get("ci_level", 95),
                      "kind": "pooled", "weight": 100.0})
        if pooled.get("prediction_interval"):
            lo, hi = pooled["prediction_interval"]
            items.append({"label": "Prediction interval", "value": None, "lo": lo, "hi": hi,
                          "level": pooled.get("ci_level", 95), "kind": "prediction"})
    return items


def _unique(items: list[dict]) -> list[dict]:
    """Two rows of one trial, population and cut (two comparisons, two doses) never share a label."""
    seen: dict[str, int] = {}
    for item in items:
        seen[item["label"]] = seen.get(item["label"], 0) + 1
    count: dict[str, int] = {}
    for item in items:
        if seen[item["label"]] > 1:
            count[item["label"]] = count.get(item["label"], 0) + 1
            item["label"] = f"{item['label']} ({count[item['label']]})"
    return items


def figure_text(item: dict) -> str:
    if item["kind"] == "prediction":
        return f"PI {item['lo']:.2f}–{item['hi']:.2f}"
    level = "" if item["level"] == 95 else f"{fmt.num(item['level'])}% CI "
    if item["kind"] == "pooled":  # computed, not printed by a source: two decimals, as journals give it
        return f"{item['value']:.2f} ({level}{item['lo']:.2f}–{item['hi']:.2f})"
    return f"{fmt.num(item['value'], 2)} ({level}{fmt.num(item['lo'], 2)}–{fmt.num(item['hi'], 2)})"


def weight_text(item: dict) -> str:
    if item["kind"] == "excluded":
        return "not pooled"
    return f"{item['weight']:.1f}%" if item.get("weight") is not None else ""


def axis(items: list[dict]) -> tuple[float, float]:
    """The log-scale range: every CI, the line of no effect, and a margin."""
    lo = min([i["lo"] for i in items] + [0.5])
    hi = max([i["hi"] for i in items] + [2.0])
    return math.log(lo) - 0.05, math.log(hi) + 0.05


def ticks(lo_axis: float, hi_axis: float) -> list[float]:
    return [t for t in TICKS if lo_axis <= math.log(t) <= hi_axis]


def _mark(weight: float | None) -> str:
    if weight is None:
        return "■"
    return "▪" if weight < 5 else "■" if weight < 15 else "█"


def forest_text(items: list[dict], width: int | None = None) -> str:
    """The plot for a terminal of `width` columns (default: this terminal's): labels give way, figures never."""
    if not items:
        return "no hazard ratio with a CI to plot\n"
    if width is None:
        import shutil

        width = shutil.get_terminal_size((100, 24)).columns
    figures = [figure_text(i) for i in items]
    weights = [weight_text(i) for i in items]
    fig_w = max(len(f) for f in figures)
    weight_w = max([len(w) for w in weights] + [6])
    plot_w = max(21, min(50, (width - fig_w - weight_w - 4) // 2))
    label_w = width - plot_w - fig_w - weight_w - 4
    two_lines = label_w < 24  # narrow: each study's label on a line of its own, its plot and figures under it
    if two_lines:
        plot_w = max(11, min(50, width - fig_w - weight_w - 5))
        label_w = 1
    lo_axis, hi_axis = axis(items)

    def col(x: float) -> int:
        return max(0, min(plot_w - 1, round((math.log(x) - lo_axis) / (hi_axis - lo_axis) * (plot_w - 1))))

    one = col(1.0)
    lines = [f"{'study':<{label_w}} {'':<{plot_w}} {'HR (CI)':<{fig_w}} {'weight':>{weight_w}}".rstrip()]
    if two_lines:
        lines = ["study / HR (CI) / weight"]
    set_apart = False
    for item, figure, weight in zip(items, figures, weights):
        if item["kind"] == "excluded" and not set_apart:  # the rows left out of the pool come after a heading
            set_apart = True
            lines.append("Not pooled (see the pooled block for why):")
        if item["kind"] == "pooled":
            lines.append("")
        cells = [" "] * plot_w
        cells[one] = "│"
        left, right = col(item["lo"]), col(item["hi"])
        if item["kind"] == "pooled":
            for c in range(left, right + 1):
                cells[c] = "◆"
        elif item["kind"] == "prediction":
            for c in range(left, right + 1):
                cells[c] = "┄"
        else:
            for c in range(left, right + 1):
                cells[c] = "─"
            cells[left], cells[right] = "├", "┤"
            cells[col(item["value"])] = "○" if item["kind"] == "excluded" else _mark(item.get("weight"))
        if two_lines:
            lines.append(item["label"] if len(item["label"]) <= width else item["label"][: width - 1] + "…")
            lines.append(f"{'':<{label_w}} {''.join(cells)} {figure:<{fig_w}} {weight:>{weight_w}}".rstrip())
            continue
        label = item["label"] if len(item["label"]) <= label_w else item["label"][: label_w - 1] + "…"
        lines.append(f"{label:<{label_w}} {''.join(cells)} {figure:<{fig_w}} {weight:>{weight_w}}".rstrip())
    axis_cells = [" "] * (plot_w + 6)
    for t in ticks(lo_axis, hi_axis):
        mark = f"{t:g}"
        start = max(0, col(t) - len(mark) // 2)
        axis_cells[start:start + len(mark)] = list(mark)
    lines.append(f"{'':<{label_w}} {''.join(axis_cells).rstrip()}")
    # the divider sits on the line of no effect: the left words shorten until they fit before it
    left_label = next((w for w in ("← favours experimental", "← favours exp.", "← exp.", "←") if len(w) <= one - 1),
                      "")
    right_label = next(w for w in ("favours control →", "control →", "→") if len(w) <= max(1, width - label_w - one - 4)
                       or w == "→")
    favours = " " * (one - 1 - len(left_label)) + left_label + " │ " + right_label if one >= 1 else "│ " + right_label
    lines.append(f"{'' if two_lines else 'HR, log scale':<{label_w}} {favours}".rstrip())
    return "\n".join(lines) + "\n"


def forest_svg(items: list[dict], title: str = "Hazard ratios") -> str:
    """The same layout as SVG: label, plot, HR (CI), weight; square area ∝ weight; diamond = pooled CI."""
    row_h, pad = 24, 10
    label_w = min(560, 7 * max([len(i["label"]) for i in items] + [20]))
    plot_w, fig_w, weight_w = 320, 190, 70
    left = pad + label_w
    height = 90 + row_h * (len(items) + 2)
    lo_axis, hi_axis = axis(items) if items else (math.log(0.5), math.log(2))

    def x(v: float) -> float:
        return left + (math.log(v) - lo_axis) / (hi_axis - lo_axis) * plot_w

    biggest = max([i.get("weight") or 0 for i in items if i["kind"] == "study"] + [1])
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + plot_w + fig_w + weight_w + pad}" '
           f'height="{height}" font-family="Helvetica, Arial, sans-serif" font-size="12">',
           f'<title>{escape(title)}</title>',
           f'<text x="{pad}" y="20" font-size="14" font-weight="bold">{escape(title)}</text>',
           f'<text x="{pad}" y="42" font-weight="bold">Study</text>',
           f'<text x="{left + plot_w + 10}" y="42" font-weight="bold">HR (CI)</text>',
           f'<text x="{left + plot_w + fig_w + weight_w - 4}" y="42" font-weight="bold" text-anchor="end">Weight</text>',
           f'<line class="no-effect" x1="{x(1):.2f}" y1="50" x2="{x(1):.2f}" y2="{height - 45}" stroke="#555" '
           'stroke-dasharray="4 3"/>']
    y = 60
    set_apart = False
    for item in items:
        if item["kind"] == "excluded" and not set_apart:
            set_apart = True
            y += 6
            out.append(f'<text x="{pad}" y="{y + 4}" font-style="italic" fill="#555">Not pooled</text>')
            y += row_h
        if item["kind"] == "pooled":
            y += 6
        colour = {"pooled": "#b22222", "excluded": "#888888", "prediction": "#b22222"}.get(item["kind"], "#1f4e79")
        bold = ' font-weight="bold"' if item["kind"] == "pooled" else ""
        out.append(f'<text x="{pad}" y="{y + 4}"{bold}>{escape(item["label"])}</text>')
        lo, hi = x(item["lo"]), x(item["hi"])
        if item["kind"] == "pooled":
            cx = x(item["value"])
            out.append(f'<polygon class="diamond" points="{lo:.2f},{y} {cx:.2f},{y - 7} {hi:.2f},{y} {cx:.2f},{y + 7}" '
                       f'fill="{colour}"/>')
        elif item["kind"] == "prediction":
            out.append(f'<line class="prediction" x1="{lo:.2f}" y1="{y}" x2="{hi:.2f}" y2="{y}" stroke="{colour}" '
                       'stroke-width="2" stroke-dasharray="6 3"/>')
        else:
            out.append(f'<line class="ci" x1="{lo:.2f}" y1="{y}" x2="{hi:.2f}" y2="{y}" stroke="{colour}" '
                       'stroke-width="1.5"/>')
            weight = item.get("weight")
            side = 14 * math.sqrt(weight / biggest) if weight else 7  # area ∝ weight
            cls = "square" if item["kind"] == "study" else "excluded"
            out.append(f'<rect class="{cls}" x="{x(item["value"]) - side / 2:.3f}" y="{y - side / 2:.3f}" '
                       f'width="{side:.3f}" height="{side:.3f}" fill="{colour}"'
                       + (f' data-weight="{weight}"' if weight else "") + "/>")
        out.append(f'<text x="{left + plot_w + 10}" y="{y + 4}">{escape(figure_text(item))}</text>')
        out.append(f'<text x="{left + plot_w + fig_w + weight_w - 4}" y="{y + 4}" text-anchor="end">'
                   f'{escape(weight_text(item))}</text>')
        y += row_h
    base = y + 4
    out.append(f'<line x1="{left}" y1="{base}" x2="{left + plot_w}" y2="{base}" stroke="#000"/>')
    for t in ticks(lo_axis, hi_axis):
        out.append(f'<line x1="{x(t):.2f}" y1="{base}" x2="{x(t):.2f}" y2="{base + 5}" stroke="#000"/>')
        out.append(f'<text x="{x(t):.2f}" y="{base + 18}" text-anchor="middle">{t:g}</text>')
    out.append(f'<text x="{x(1) - 6:.2f}" y="{base + 34}" text-anchor="end" fill="#555">← favours experimental</text>')
    out.append(f'<text x="{x(1) + 6:.2f}" y="{base + 34}" fill="#555">favours control →</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def write_png(items: list[dict], path: str, title: str = "Hazard ratios") -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.patches import Polygon
        from matplotlib.ticker import FixedLocator, NullLocator
    except ImportError as exc:
        from ..errors import UsageError

        raise UsageError("a PNG needs matplotlib: pip install matplotlib, or immuno's plot extra (an .svg needs nothing)") from exc
    rows = len(items)
    fig = plt.figure(figsize=(12, 0.36 * rows + 1.6))
    grid = fig.add_gridspec(1, 3, width_ratios=[5, 4, 3.6], wspace=0.02)
    labels, ax, figures = fig.add_subplot(grid[0]), fig.add_subplot(grid[1]), fig.add_subplot(grid[2])
    biggest = max([i.get("weight") or 0 for i in items if i["kind"] == "study"] + [1])
    for n, item in enumerate(items):
        yy = rows - 1 - n
        colour = {"pooled": "#b22222", "excluded": "#888888", "prediction": "#b22222"}.get(item["kind"], "#1f4e79")
        if item["kind"] == "pooled":
            ax.add_patch(Polygon([(item["lo"], yy), (item["value"], yy + 0.3), (item["hi"], yy),
                                  (item["value"], yy - 0.3)], closed=True, color=colour))
        elif item["kind"] == "prediction":
            ax.plot([item["lo"], item["hi"]], [yy, yy], color=colour, lw=2, ls="--")
        else:
            ax.plot([item["lo"], item["hi"]], [yy, yy], color=colour, lw=1.2)
            size = 10 * math.sqrt((item.get("weight") or biggest / 4) / biggest)
            ax.plot([item["value"]], [yy], marker="s", color=colour, markersize=size,
                    fillstyle="none" if item["kind"] == "excluded" else "full")
        labels.text(0, yy, item["label"], va="center", fontsize=8,
                    fontweight="bold" if item["kind"] == "pooled" else "normal")
        figures.text(0.02, yy, figure_text(item), va="center", fontsize=8)
        figures.text(0.98, yy, weight_text(item), va="center", ha="right", fontsize=8)
    lo_axis, hi_axis = axis(items)
    ax.set_xscale("log")
    ax.set_xlim(math.exp(lo_axis), math.exp(hi_axis))
    ax.xaxis.set_major_locator(FixedLocator(ticks(lo_axis, hi_axis)))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels([f"{t:g}" for t in ticks(lo_axis, hi_axis)])
    ax.axvline(1, color="#555", ls="--", lw=1)
    ax.set_xlabel("Hazard ratio (log scale): ← favours experimental · favours control →", fontsize=8)
    for panel in (labels, ax, figures):
        panel.set_ylim(-1, rows)
        panel.set_yticks([])
        for side in ("top", "right", "left"):
            panel.spines[side].set_visible(False)
    for panel in (labels, figures):
        panel.set_xticks([])
        panel.spines["bottom"].set_visible(False)
        panel.set_xlim(0, 1)
    labels.set_title(title, loc="left", fontsize=10)
    fig.savefig(path, dpi=150, bbox_inches="tight")
    plt.close(fig)


def write_file(items: list[dict], path: str, title: str) -> None:
    from ..errors import UsageError

    if not items:
        raise UsageError("nothing to draw: no hazard ratio with a CI among these rows")
    if path.lower().endswith(".svg"):  # an OSError (bad folder, disk full) is an output error: exit 74
        content = forest_svg(items, title)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(content)
    elif path.lower().endswith(".png"):
        write_png(items, path, title)
    else:
        raise UsageError(f"--plot-file must end in .svg or .png, not {path!r}")
