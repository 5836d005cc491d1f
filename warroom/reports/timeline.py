"""An incident's timeline as SVG: its phases as bands, SLA deadlines as marks, pages and updates as ticks."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from warroom.incidents.record import load
from warroom.incidents.views import compute_clocks
from warroom.policy.model import Policy
from warroom.reports.charts import _rect, _svg, _text, render
from warroom.store.engine_models import Page
from warroom.store.models import Incident, Update
from warroom.store.unit import Context

PHASE_COLOURS = {
    "triggered": "#ef9a9a",
    "acknowledged": "#ffcc80",
    "investigating": "#fff59d",
    "identified": "#c5e1a5",
    "mitigated": "#80cbc4",
    "resolved": "#90caf9",
}


def phases(inc: Incident, now: datetime) -> list[tuple[str, datetime, datetime]]:
    """Each phase the incident reached, from its first timestamp to the next phase's (or to now)."""
    starts = [
        ("triggered", inc.declared_at),
        ("acknowledged", inc.acknowledged_at),
        ("investigating", inc.investigating_at),
        ("identified", inc.identified_at),
        ("mitigated", inc.mitigated_at),
        ("resolved", inc.resolved_at),
    ]
    reached = sorted(((n, t) for n, t in starts if t is not None), key=lambda p: p[1])
    end = inc.closed_at or now
    return [(n, t, reached[i + 1][1] if i + 1 < len(reached) else end) for i, (n, t) in enumerate(reached)]


def chart(session: Session, policy: Policy, inc: Incident, now: datetime) -> str:
    width, height, left, right = 720, 150, 10, 10
    bands = phases(inc, now)
    clocks = [c for c in compute_clocks(policy, inc, now) if c.deadline is not None]
    pages = list(session.scalars(select(Page.created_at).where(Page.incident_id == inc.id)))
    updates = list(session.scalars(select(Update.at).where(Update.incident_id == inc.id)))
    start = inc.declared_at
    end = max([inc.closed_at or now, *(c.deadline for c in clocks if c.deadline)])
    span = max((end - start).total_seconds(), 1.0)
    plot_w = width - left - right

    def x(at: datetime) -> float:
        return left + plot_w * max(0.0, (at - start).total_seconds()) / span

    root = _svg(width, height, f"Timeline of {inc.id}", "chart timeline")
    group = ET.SubElement(root, "g", {"class": "phases"})
    for name, a, b in bands:
        band = _rect(
            group, x(a), 30, x(b) - x(a), 40, PHASE_COLOURS.get(name, "#ddd"), **{"class": "phase", "data-phase": name}
        )
        ET.SubElement(band, "title").text = f"{name} {a:%H:%M}–{b:%H:%M} UTC"
        if x(b) - x(a) >= 7 * len(name) or (name, a, b) == bands[-1]:  # a label only where it fits (and the latest)
            _text(group, x(a) + 2, 25, name)
    for c in clocks:
        assert c.deadline is not None
        cx = x(c.deadline)
        colour = "#b71c1c" if c.state in ("breached", "met_late") else "#37474f"
        mark = ET.SubElement(
            root,
            "line",
            {
                "x1": f"{cx:.1f}",
                "x2": f"{cx:.1f}",
                "y1": "20",
                "y2": "80",
                "stroke": colour,
                "stroke-dasharray": "4 2",
                "class": "deadline",
                "data-clock": c.name,
            },
        )
        ET.SubElement(mark, "title").text = f"{c.name} deadline {c.deadline:%H:%M} UTC ({c.state})"
        if cx + 2 + 7 * len(c.name) > width - right:  # near the right edge: the label ends at the mark
            _text(root, cx - 2, 92, c.name, fill=colour, **{"text-anchor": "end"})
        else:
            _text(root, cx + 2, 92, c.name, fill=colour)
    for cls, times, y, colour in (("page", pages, 100, "#6a1b9a"), ("update", updates, 118, "#1565c0")):
        for at in times:
            tick = ET.SubElement(
                root,
                "line",
                {
                    "x1": f"{x(at):.1f}",
                    "x2": f"{x(at):.1f}",
                    "y1": str(y),
                    "y2": str(y + 12),
                    "stroke": colour,
                    "stroke-width": "2",
                    "class": cls,
                },
            )
            ET.SubElement(tick, "title").text = f"{cls} {at:%H:%M} UTC"
        _text(root, width - right - 50, y + 10, f"{cls}s", fill=colour)
    _text(root, left, height - 4, f"{start:%Y-%m-%d %H:%M} UTC")
    _text(root, width - right, height - 4, f"{end:%H:%M} UTC", **{"text-anchor": "end"})
    return render(root)


def timeline_svg(ctx: Context, incident_id: str) -> str:
    with ctx.db.unit() as session:
        inc = load(session, incident_id)
        return chart(session, ctx.policy, inc, ctx.clock.now())
