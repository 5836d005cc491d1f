"""`warroom statuspage export DIR`: a static copy of the page, its JSON and feeds, for any web server.

The layout mirrors the live paths (status/index.html, status/api/v2/summary.json, status/history.atom,
status/incidents/CODE/index.html, static/status.css), so the copy served at a site's root keeps its links.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from warroom.statuspage import pages
from warroom.statuspage.cache import build
from warroom.statuspage.settings import StatusSettings
from warroom.store.unit import Context


@dataclass
class Exported:
    files: int
    bytes: int
    version: int


def _target(root: Path, path: str) -> Path:
    rel = path.lstrip("/")
    if rel == "status" or not Path(rel).suffix:
        return root / rel / "index.html"
    return root / rel


def export(
    ctx: Context, directory: str | Path, settings: StatusSettings | None = None, base_url: str | None = None
) -> Exported:
    """Write every public file into `directory` (built beside it, then swapped in, so a reader never sees half)."""
    root = Path(directory).resolve()
    built = build(ctx, settings or StatusSettings(), base_url)
    root.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{root.name}-", dir=root.parent))
    count = size = 0

    def put(path: Path, body: bytes) -> None:
        nonlocal count, size
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
        count += 1
        size += len(body)

    for path, r in built.files.items():
        put(_target(work, path), r.body)
    codes = [i.code for i in built.snapshot.incidents] + [m.code for m in built.snapshot.maintenances]
    for code in codes:
        story = built.story(code)
        assert story is not None
        put(work / "status" / "incidents" / code / "index.html", story.body)
    put(work / "static" / "status.css", pages.STYLESHEET.read_bytes())
    os.chmod(work, 0o755)
    old = None
    if root.exists():
        old = root.with_name(f".{root.name}-old")
        shutil.rmtree(old, ignore_errors=True)
        root.rename(old)
    work.rename(root)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return Exported(count, size, built.snapshot.version)
