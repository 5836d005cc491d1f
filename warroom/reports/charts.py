"""Server-side SVG charts (no JavaScript): built as XML elements, so every label is escaped.

Each chart is a standalone <svg> with a <title> for screen readers; colours follow the severity order.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence

from warroom.reports.schemas import ClockRow, WeekRow

NS = "http://www.w3.org/2000/svg"
PALETTE = ("#b71c1c", "#e65100", "#f9a825", "#2e7d32", "#1565c0", "#6a1b9a", "#455a64")
FIGURE_COLOURS = {"mtta": "#1565c0", "mttm": "#e65100", "mttr": "#2e7d32"}


def _svg(width: int, height: int, title: str, cls: str) -> ET.Element:
    root = ET.Element(
        "svg",
        {
            "xmlns": NS,
            "width": str(width),
            "height": str(height),
            "viewBox": f"0 0 {width} {height}",
            "class": cls,
            "role": "img",
        },
    )
    ET.SubElement(root, "title").text = title
    return root


def _text(parent: ET.Element, x: float, y: float, text: str, **attrs: str) -> None:
    el = ET.SubElement(
        parent, "text", {"x": f"{x:.1f}", "y": f"{y:.1f}", "font-size": "11", "font-family": "sans-serif", **attrs}
    )
    el.text = text


def _rect(parent: ET.Element, x: float, y: float, w: float, h: float, fill: str, **attrs: str) -> ET.Element:
    return ET.SubElement(
        parent,
        "rect",
        {
            "x": f"{x:.1f}",
            "y": f"{y:.1f}",
            "width": f"{max(w, 0):.1f}",
            "height": f"{max(h, 0):.1f}",
            "fill": fill,
            **attrs,
        },
    )


def _minutes(value: float, peak: float) -> str:
    """An axis label: whole minutes, or quarters of one on an axis that peaks under 4 (not 0, 0, 0, 1, 1)."""
    return f"{value:.0f}" if peak >= 4 else f"{value:.2f}".rstrip("0").rstrip(".")


def render(root: ET.Element) -> str:
    return ET.tostring(root, encoding="unicode")


def incidents_per_week(weeks: Sequence[WeekRow], severities: Sequence[str]) -> str:
    """Stacked bars: incidents declared each week, by severity."""
    width, height, left, bottom, top = 640, 240, 40, 40, 20
    root = _svg(width, height, "Incidents per week by severity", "chart weekly")
    peak = max([sum(w.by_severity.values()) for w in weeks] + [1])
    plot_h = height - bottom - top
    slot = (width - left - 10) / max(len(weeks), 1)
    for n in range(0, peak + 1, max(1, peak // 4)):
        y = top + plot_h - plot_h * n / peak
        ET.SubElement(
            root, "line", {"x1": str(left), "x2": str(width - 10), "y1": f"{y:.1f}", "y2": f"{y:.1f}", "stroke": "#ddd"}
        )
        _text(root, left - 6, y + 4, str(n), **{"text-anchor": "end"})
    for i, week in enumerate(weeks):
        x, y = left + i * slot + slot * 0.15, top + plot_h
        for s, sev in enumerate(severities):
            count = week.by_severity.get(sev, 0)
            if not count:
                continue
            h = plot_h * count / peak
            y -= h
            bar = _rect(root, x, y, slot * 0.7, h, PALETTE[s % len(PALETTE)], **{"class": "bar", "data-severity": sev})
            ET.SubElement(bar, "title").text = f"week of {week.week}: {count} {sev}"
        _text(root, x + slot * 0.35, height - bottom + 14, week.week[5:], **{"text-anchor": "middle"})
    for s, sev in enumerate(severities):
        _rect(root, left + s * 60, height - 16, 10, 10, PALETTE[s % len(PALETTE)])
        _text(root, left + s * 60 + 14, height - 7, sev)
    return render(root)


def trend(weeks: Sequence[WeekRow]) -> str:
    """MTTA, MTTM and MTTR (weekly means, minutes) as three lines."""
    width, height, left, bottom, top = 640, 240, 50, 40, 20
    root = _svg(width, height, "MTTA, MTTM and MTTR per week (mean, minutes)", "chart trend")
    values = [getattr(w, f) for w in weeks for f in FIGURE_COLOURS if getattr(w, f) is not None]
    peak = max([v / 60 for v in values] + [1.0])
    plot_h, plot_w = height - bottom - top, width - left - 10
    step = plot_w / max(len(weeks) - 1, 1)
    for n in range(5):
        y = top + plot_h - plot_h * n / 4
        ET.SubElement(
            root, "line", {"x1": str(left), "x2": str(width - 10), "y1": f"{y:.1f}", "y2": f"{y:.1f}", "stroke": "#ddd"}
        )
        _text(root, left - 6, y + 4, _minutes(peak * n / 4, peak), **{"text-anchor": "end"})
    for f, colour in FIGURE_COLOURS.items():
        points = [
            (left + i * step, top + plot_h - plot_h * (getattr(w, f) / 60) / peak)
            for i, w in enumerate(weeks)
            if getattr(w, f) is not None
        ]
        if points:
            ET.SubElement(
                root,
                "polyline",
                {
                    "points": " ".join(f"{x:.1f},{y:.1f}" for x, y in points),
                    "fill": "none",
                    "stroke": colour,
                    "stroke-width": "2",
                    "class": f"line {f}",
                },
            )
            for x, y in points:
                ET.SubElement(root, "circle", {"cx": f"{x:.1f}", "cy": f"{y:.1f}", "r": "3", "fill": colour})
    for i, w in enumerate(weeks):
        _text(root, left + i * step, height - bottom + 14, w.week[5:], **{"text-anchor": "middle"})
    for n, (f, colour) in enumerate(FIGURE_COLOURS.items()):
        _rect(root, left + n * 70, height - 16, 10, 10, colour)
        _text(root, left + n * 70 + 14, height - 7, f.upper())
    return render(root)


def compliance(rows: Sequence[ClockRow]) -> str:
    """Horizontal bars: the share of each severity's clocks met on time."""
    row_h, left, width = 22, 130, 640
    height = 30 + row_h * max(len(rows), 1)
    root = _svg(width, height, "SLA compliance per clock and severity", "chart compliance")
    plot_w = width - left - 60
    for i, r in enumerate(rows):
        y = 10 + i * row_h
        _text(root, left - 6, y + 14, f"{r.severity} {r.clock}", **{"text-anchor": "end"})
        _rect(root, left, y + 3, plot_w, row_h - 6, "#eee")
        share = r.compliance if r.compliance is not None else 0.0
        colour = "#2e7d32" if share >= 0.9 else "#f9a825" if share >= 0.7 else "#b71c1c"
        bar = _rect(root, left, y + 3, plot_w * share, row_h - 6, colour, **{"class": "bar"})
        ET.SubElement(bar, "title").text = f"{r.met} met, {r.met_late} late, {r.breached} breached"
        shown = "—" if r.compliance is None else f"{r.compliance:.0%}"
        _text(root, left + plot_w + 6, y + 14, shown)
    return render(root)


def bars(items: Sequence[tuple[str, int]], title: str, cls: str, colour: str = "#1565c0") -> str:
    """Horizontal bars of counts (services, runbooks, pages per person)."""
    row_h, left, width = 22, 160, 640
    height = 20 + row_h * max(len(items), 1)
    root = _svg(width, height, title, f"chart {cls}")
    peak = max([c for _, c in items] + [1])
    plot_w = width - left - 50
    for i, (name, count) in enumerate(items):
        y = 10 + i * row_h
        _text(root, left - 6, y + 14, name[:24], **{"text-anchor": "end"})
        _rect(root, left, y + 3, plot_w * count / peak, row_h - 6, colour, **{"class": "bar"})
        _text(root, left + plot_w * count / peak + 6, y + 14, str(count))
    return render(root)
