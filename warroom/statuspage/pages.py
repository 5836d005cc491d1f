"""The public HTML: rendered once per snapshot from templates/status/, never per request."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from warroom.statuspage import vocab
from warroom.statuspage.snapshot import Incident, Maintenance, Snapshot

TEMPLATES = Path(__file__).resolve().parent.parent / "web" / "templates" / "status"
STYLESHEET = Path(__file__).resolve().parent.parent / "web" / "static" / "status.css"


@cache
def env() -> Environment:
    e = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    e.globals["label"] = lambda s: vocab.LABEL.get(s, s.replace("_", " ").capitalize())
    e.filters["utc"] = lambda t: f"{t:%b %d, %Y %H:%M} UTC" if t else ""
    e.filters["iso"] = lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ") if t else ""
    e.filters["pct"] = _pct
    return e


def _pct(value: float) -> str:
    text = f"{value * 100:.2f}"
    if text == "100.00" and value < 1.0:
        text = "99.99"
    return text + "%"


def _common(s: Snapshot, name: str, url: str) -> dict[str, Any]:
    return {
        "name": name,
        "url": url,
        "s": s,
        "indicator": s.indicator,
        "description": s.description,
        "built": s.built_at,
    }


def index(s: Snapshot, name: str, url: str, history_days: int, webhooks: bool = False) -> bytes:
    by = s.by_code
    top = [c for c in s.components if not c.group_code or c.group_code not in by]
    today = s.built_at.replace(hour=0, minute=0, second=0, microsecond=0)
    history: list[tuple[datetime, list[Incident | Maintenance]]] = []
    for n in range(history_days):
        day = today - timedelta(days=n)
        end = day + timedelta(days=1)
        items: list[Incident | Maintenance] = [i for i in s.incidents if day <= i.created_at < end]
        items += [m for m in s.maintenances if m.status == "completed" and day <= m.scheduled_for < end]
        history.append((day, items))
    html = (
        env()
        .get_template("index.html")
        .render(
            **_common(s, name, url),
            top=top,
            by=by,
            unresolved=s.unresolved,
            upcoming=s.upcoming,
            active=s.active,
            history=history,
            webhooks=webhooks,
        )
    )
    return html.encode()


def story(s: Snapshot, name: str, url: str, item: Incident | Maintenance) -> bytes:
    by = s.by_code
    html = (
        env()
        .get_template("incident.html")
        .render(
            **_common(s, name, url),
            item=item,
            maintenance=isinstance(item, Maintenance),
            affected=[by[c] for c in item.components if c in by],
        )
    )
    return html.encode()


def message(name: str, heading: str, text: str, action: str | None = None, token: str = "", button: str = "") -> bytes:
    """A small public page: subscribed, confirm, unsubscribe."""
    html = (
        env()
        .get_template("message.html")
        .render(name=name, heading=heading, text=text, action=action, token=token, button=button, built=None)
    )
    return html.encode()
