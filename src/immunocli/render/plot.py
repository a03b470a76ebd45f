"""Forest plots of hazard ratios on a log scale with the line of no effect: text for the terminal,
SVG with no dependency, PNG through matplotlib (the optional `plot` extra), imported only when asked."""

from __future__ import annotations

import math
from html import escape

from . import text as fmt


def items_from_rows(rows: list[dict], pooled: dict | None = None) -> list[dict]:
    """One plot item per row that has an HR with a numeric CI (the JSON rows are the input)."""
    items = []
    for row in rows:
        hr = row.get("hazard_ratio")
        if not hr or not hr.get("ci") or not all(isinstance(b, (int, float)) and b > 0 for b in hr["ci"]):
            continue
        items.append({"label": f"{row['trial']['name']} · {row['endpoint']['id']} · {row['population']}",
                      "value": hr["value"], "lo": hr["ci"][0], "hi": hr["ci"][1], "level": hr.get("ci_level", 95)})
    if pooled:
        items.append({"label": f"Pooled (random effects, k={pooled['k']}, I²={pooled['i2']}%)",
                      "value": round(pooled["hazard_ratio"], 2), "lo": round(pooled["ci"][0], 2),
                      "hi": round(pooled["ci"][1], 2), "level": 95,
                      "pooled": True})
    return items


def _axis(items: list[dict]) -> tuple[float, float]:
    lo = min([i["lo"] for i in items] + [0.5])
    hi = max([i["hi"] for i in items] + [2.0])
    return math.log(lo) - 0.05, math.log(hi) + 0.05


def forest_text(items: list[dict], width: int = 44, label_width: int = 46) -> str:
    if not items:
        return "no hazard ratio with a CI to plot\n"
    lo_axis, hi_axis = _axis(items)

    def col(x: float) -> int:
        return max(0, min(width - 1, round((math.log(x) - lo_axis) / (hi_axis - lo_axis) * (width - 1))))

    one = col(1.0)
    lines = []
    for item in items:
        cells = [" "] * width
        cells[one] = "│"
        for c in range(col(item["lo"]), col(item["hi"]) + 1):
            cells[c] = "─"
        cells[col(item["lo"])], cells[col(item["hi"])] = "├", "┤"
        cells[col(item["value"])] = "◆" if item.get("pooled") else "■"
        label = item["label"] if len(item["label"]) <= label_width else item["label"][: label_width - 1] + "…"
        figure = f"{fmt.num(item['value'], 2)} ({fmt.num(item['lo'], 2)}–{fmt.num(item['hi'], 2)})"
        lines.append(f"{label:<{label_width}} {''.join(cells)} {figure}")
    ticks = [t for t in (0.1, 0.2, 0.5, 1, 2, 5) if lo_axis <= math.log(t) <= hi_axis]
    axis = [" "] * (width + 6)
    for t in ticks:
        mark = f"{t:g}"
        start = col(t)
        axis[start:start + len(mark)] = list(mark)
    lines.append(f"{'':<{label_width}} {''.join(axis).rstrip()}")
    lines.append(f"{'':<{label_width}} {'← favours experimental':<{one}}{'favours control →':>{max(1, width - one)}}")
    return "\n".join(lines) + "\n"


def forest_svg(items: list[dict], title: str = "Hazard ratios") -> str:
    row_h, left, plot_w, right = 24, 420, 360, 170
    height = 70 + row_h * (len(items) + 1)
    lo_axis, hi_axis = _axis(items) if items else (math.log(0.5), math.log(2))

    def x(v: float) -> float:
        return left + (math.log(v) - lo_axis) / (hi_axis - lo_axis) * plot_w

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + plot_w + right}" height="{height}" '
           f'font-family="Helvetica, Arial, sans-serif" font-size="12">',
           f'<title>{escape(title)}</title>',
           f'<text x="10" y="20" font-size="14" font-weight="bold">{escape(title)}</text>',
           f'<line x1="{x(1):.1f}" y1="30" x2="{x(1):.1f}" y2="{height - 40}" stroke="#555" stroke-dasharray="4 3"/>']
    for n, item in enumerate(items):
        y = 45 + n * row_h
        colour = "#b22222" if item.get("pooled") else "#1f4e79"
        out.append(f'<text x="10" y="{y + 4}">{escape(item["label"])}</text>')
        out.append(f'<line x1="{x(item["lo"]):.1f}" y1="{y}" x2="{x(item["hi"]):.1f}" y2="{y}" stroke="{colour}" stroke-width="2"/>')
        if item.get("pooled"):
            cx = x(item["value"])
            out.append(f'<polygon points="{cx - 7:.1f},{y} {cx:.1f},{y - 6} {cx + 7:.1f},{y} {cx:.1f},{y + 6}" fill="{colour}"/>')
        else:
            out.append(f'<rect x="{x(item["value"]) - 4:.1f}" y="{y - 4}" width="8" height="8" fill="{colour}"/>')
        figure = f"{fmt.num(item['value'], 2)} ({fmt.num(item['lo'], 2)}–{fmt.num(item['hi'], 2)})"
        out.append(f'<text x="{left + plot_w + 10}" y="{y + 4}">{escape(figure)}</text>')
    base = height - 35
    out.append(f'<line x1="{left}" y1="{base}" x2="{left + plot_w}" y2="{base}" stroke="#000"/>')
    for t in (0.1, 0.2, 0.5, 1, 2, 5):
        if lo_axis <= math.log(t) <= hi_axis:
            out.append(f'<line x1="{x(t):.1f}" y1="{base}" x2="{x(t):.1f}" y2="{base + 5}" stroke="#000"/>')
            out.append(f'<text x="{x(t):.1f}" y="{base + 18}" text-anchor="middle">{t:g}</text>')
    out.append(f'<text x="{left}" y="{height - 4}" fill="#555">← favours experimental · HR (log scale) · '
               f'favours control →</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def write_png(items: list[dict], path: str, title: str = "Hazard ratios") -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        from ..errors import UsageError

        raise UsageError("a PNG needs matplotlib: pip install 'immunocli[plot]' (an .svg needs nothing)") from exc
    fig, ax = plt.subplots(figsize=(6 + 0.06 * max(len(i["label"]) for i in items), 0.45 * len(items) + 1.2))
    for n, item in enumerate(reversed(items)):
        colour = "#b22222" if item.get("pooled") else "#1f4e79"
        ax.plot([item["lo"], item["hi"]], [n, n], color=colour, lw=2)
        ax.plot([item["value"]], [n], marker="D" if item.get("pooled") else "s", color=colour)
    ax.axvline(1, color="#555", ls="--", lw=1)
    ax.set_xscale("log")
    ax.set_yticks(range(len(items)), [i["label"] for i in reversed(items)])
    ax.set_xlabel("Hazard ratio (log scale): ← favours experimental · favours control →")
    ax.set_title(title)
    fig.savefig(path, dpi=150, bbox_inches="tight")
    plt.close(fig)


def write_file(items: list[dict], path: str, title: str) -> None:
    from ..errors import UsageError

    if path.lower().endswith(".svg"):
        content = forest_svg(items, title)
        try:
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(content)
        except OSError as exc:
            raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from exc
    elif path.lower().endswith(".png"):
        write_png(items, path, title)
    else:
        raise UsageError(f"--plot-file must end in .svg or .png, not {path!r}")
