"""Atom and RSS of incidents and maintenance, at the paths Statuspage uses (history.atom, history.rss)."""

from __future__ import annotations

from html import escape

from feedgen.feed import FeedGenerator

from warroom.statuspage import vocab
from warroom.statuspage.snapshot import Post, Snapshot

ENTRIES = 50


def _content(posts: list[Post]) -> str:
    return "".join(
        f"<p><small>{p.at:%b %d, %H:%M} UTC</small><br><strong>{vocab.LABEL.get(p.status, p.status)}</strong> - "
        f"{escape(p.body)}</p>"
        for p in posts
    )


def build(s: Snapshot, name: str, url: str) -> tuple[bytes, bytes]:
    """(Atom, RSS): one entry per incident or maintenance window, newest first."""
    fg = FeedGenerator()
    fg.id(f"tag:warroom,2026:{s.page_id or 'status'}")
    fg.title(f"{name} status - incident history")
    fg.link(href=url, rel="alternate")
    fg.link(href=f"{url}/history.atom", rel="self")
    fg.description(f"Incidents and maintenance on {name}")
    fg.language("en")
    fg.updated(s.updated_at)
    items = [(i.updated_at, i.code, i.name, i.posts, i.created_at) for i in s.incidents[:ENTRIES]]
    items += [(m.updated_at, m.code, m.name, m.posts, m.created_at) for m in s.maintenances[:ENTRIES]]
    items.sort(key=lambda t: (t[0], t[1]))
    for updated, code, title, posts, created in items[-ENTRIES:]:
        fe = fg.add_entry()
        link = f"{url}/incidents/{code}"
        fe.id(link)
        fe.guid(link, permalink=True)
        fe.title(title)
        fe.link(href=link)
        fe.published(created)
        fe.updated(updated)
        fe.content(_content(posts), type="html")
        fe.description(_content(posts))
    return fg.atom_str(pretty=True), fg.rss_str(pretty=True)
