"""One group-commit transaction over many requests' alerts: dedup by key, silences, then the parts' work.

Everything here runs inside `warroom.store.unit.run`, so an alert, the incident it declares and the
engine's first page timer commit together or not at all. Alert rows are written in bulk (one INSERT
and one UPDATE per batch); groups and incidents, which are few, through the ORM.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, defer
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from warroom.domain import actors
from warroom.incidents import service as incidents
from warroom.intake import silences as sil
from warroom.intake.batch_state import OPEN, Rec
from warroom.intake.config import IntakeSettings
from warroom.intake.decisions import DecisionMixin
from warroom.intake.grouping import GroupingMixin
from warroom.intake.linking import LinkingMixin, count_alerts
from warroom.intake.normal import Incoming
from warroom.intake.storms import STORM_KEY, StormMixin
from warroom.store.db import chunks, sqlite_time
from warroom.store.intake_models import Alert, AlertGroup, Silence
from warroom.store.models import Incident
from warroom.store.unit import Context

COLUMNS = (
    "id", "key", "source", "integration", "fingerprint", "status", "service", "summary", "severity_hint", "labels",
    "details", "metric", "value", "threshold", "links", "starts_at", "ends_at", "received_at", "first_seen",
    "last_seen", "resolved_at", "count", "raw", "group_id", "incident_id", "silence_id",
)  # fmt: skip
CHANGING = {
    "count": "integer", "last_seen": "timestamptz", "value": "double precision", "status": "text",
    "resolved_at": "timestamptz", "ends_at": "timestamptz", "group_id": "bigint", "incident_id": "text",
    "silence_id": "bigint", "id": "bigint",
}  # fmt: skip
"""the columns a batch changes on a stored alert, with their PostgreSQL types (for `json_to_recordset`)"""
JSON_COLUMNS = frozenset({"labels", "details", "links", "raw"})
TIME_COLUMNS = frozenset({"starts_at", "ends_at", "received_at", "first_seen", "last_seen", "resolved_at"})
LEAN_GROUP = (defer(AlertGroup.history), defer(AlertGroup.triage), defer(AlertGroup.runbook))
"""a group as a storm's batches read it: the decision's documents load only when a decision is made"""


@dataclass
class Submission:
    """One accepted request's alerts, waiting for their batch's commit."""

    integration: str
    received_at: datetime
    items: list[Incoming]


@dataclass(slots=True)
class Outcome:
    rec: Rec
    fingerprint: str
    outcome: str

    def as_dict(self) -> dict[str, Any]:
        r = self.rec
        return {
            "id": r.id,
            "fingerprint": self.fingerprint,
            "status": r.status,
            "outcome": self.outcome,
            "group_id": r.group_id,
            "incident_id": r.incident_id,
        }


class Batch(GroupingMixin, StormMixin, DecisionMixin, LinkingMixin):
    """The state of one transaction over a batch of submissions (declared on `BatchState`)."""

    def __init__(self, session: Session, ctx: Context, now: datetime, cfg: IntakeSettings) -> None:
        self.session = session
        self.ctx = ctx
        self.policy = ctx.policy
        self.now = now
        self.cfg = cfg
        cls = self.policy.classification
        self.group_by = cls.grouping.by
        self.window = cls.grouping.window.as_timedelta()
        self.storm_rule = cls.storm
        self.hold = timedelta(seconds=cfg.storm_hold_seconds) if cls.storm else timedelta(0)
        self.pg = session.get_bind().dialect.name == "postgresql"
        self.stats = {}
        self.found = {}
        self.checked = set()
        self.preloaded = set()
        self.recs = {}
        self.rows = []
        self.storm_loaded = False
        self.groups = {}
        self.incidents = {}
        self.storm = None
        self.recent = None
        self.silences = []
        self.fired = {}
        self.resolved = set()
        self.counts = {}
        self.services = {}
        self.serving = {}
        self.joined = {}
        self.opened = set()
        self.grouped = {}
        self.known = {}
        self.verdicts = {}
        self.ranks = {}
        self.hints = {}
        self.actor = actors.SYSTEM
        self.touched = {}
        self.live: dict[str, int] = {}
        """incident id → its firing alerts as this batch has got so far (counted from its first resolve)"""
        self.cleared: set[str] = set()
        """incidents whose every alert was resolved at some point of this batch (fired again later, maybe)"""

    # --- loading ----------------------------------------------------------------------------------

    def load(self, incoming: Iterable[Incoming]) -> None:
        items = list(incoming)
        keys = list({i.key for i in items})
        conn = self.session.connection()
        columns = "SELECT id, key, count, service, summary, group_id, incident_id, silence_id FROM alerts"
        found: Iterable[Any]
        if self.pg:  # one array parameter: a prepared `IN ($1, ..., $500)` got a generic plan that scanned the table
            found = [conn.exec_driver_sql(f"{columns} WHERE status = 'firing' AND key = ANY(%s)", (keys,))]
        else:
            found = (conn.exec_driver_sql(f"{columns} WHERE status = 'firing' AND key IN ({', '.join('?' * len(c))})",
                                          tuple(c)) for c in chunks(keys))  # fmt: skip
        for rows in found:
            for r in rows:
                rec = Rec(r[0], r[1], "firing", r[2], r[3], r[4], r[5], r[6], r[7])
                self.recs[rec.key] = rec
                self.rows.append(rec)
                if rec.group_id is not None:
                    self.grouped.setdefault(rec.group_id, []).append(rec)
        gkeys = {self.group_key(i) for i in items if i.status == "firing"}
        if self.storm_rule is not None:
            gkeys.add(STORM_KEY)
        self.preloaded = set(gkeys)
        for chunk in chunks(sorted(gkeys)):
            for g in self.session.scalars(
                select(AlertGroup)
                .where(AlertGroup.key.in_(chunk), AlertGroup.status == "open")
                .order_by(AlertGroup.id)
                .options(*LEAN_GROUP)
            ):
                if g.key == STORM_KEY:
                    self.storm, self.storm_loaded = g, True
                else:
                    self.groups[g.key] = g
        self.storm_loaded = self.storm_rule is not None
        groups = [*self.groups.values(), *([self.storm] if self.storm is not None else [])]
        merged = sorted({g.merged_into for g in groups if g.outcome == "merged" and g.merged_into is not None})
        for ids in chunks(merged):  # into the identity map: `_lookup` gets them without a query each
            groups += self.session.scalars(select(AlertGroup).where(AlertGroup.id.in_(ids)).options(*LEAN_GROUP))
        # The incidents these alerts may join or count on, locked in one statement (in id order) instead of
        # one query each as they are met.
        wanted = {g.incident_id for g in groups if g.incident_id} | {r.incident_id for r in self.rows if r.incident_id}
        for chunk in chunks(sorted(wanted)):
            for inc in self.session.scalars(
                select(Incident).where(Incident.id.in_(chunk)).order_by(Incident.id).with_for_update()
            ):
                self.incidents[inc.id] = inc
        self.silences = active_silences(self.session, self.ctx, self.now)

    # --- one submission -----------------------------------------------------------------------------

    def submit(self, sub: Submission) -> list[Outcome]:
        self.actor = actor = actors.integration(sub.integration)
        one, at, integration = self.one, sub.received_at, sub.integration
        outcomes = [one(item, at, integration) for item in sub.items]
        touched = self.touched
        for o in outcomes:
            if o.rec.incident_id is not None:
                touched[o.rec.incident_id] = actor
        return outcomes

    def one(self, item: Incoming, at: datetime, integration: str) -> Outcome:
        key = item.key
        rec = self.recs.get(key)
        if rec is not None and rec.status == "firing":
            if item.status == "resolved":
                self._resolve(rec, item, at)
                return Outcome(rec, item.fingerprint, "resolved")
            if item.status == "acknowledged":
                self._touch(rec, at, None, count=False)
                return Outcome(rec, item.fingerprint, "acknowledged")
            self._touch(rec, at, item.value, count=True)
            if rec.group_id is None and rec.silence_id is not None and self._silenced(item, at) is None:
                rec.silence_id = None
                self._set(rec, silence_id=None)
                self._group(rec, item, at)
            elif rec.incident_id and rec.incident_id not in self.fired:
                self.fired[rec.incident_id] = f"'{item.summary}' is still firing"
            return Outcome(rec, item.fingerprint, "repeat")
        if item.status == "acknowledged":
            return Outcome(_ghost(item), item.fingerprint, "ignored: no open alert with this key")
        resolved = item.status == "resolved"
        rec = Rec(None, key, "resolved" if resolved else "firing", 1, item.service, item.summary, None, None, None,
                  item, {}, integration, at, at, item.value, at if resolved else None, item.ends_at)  # fmt: skip
        self.recs[key] = rec
        self.rows.append(rec)
        if resolved:
            return Outcome(rec, item.fingerprint, "resolved")
        if self.silences:
            silence = self._silenced(item, at)
            if silence is not None:
                rec.silence_id = silence.id
                return Outcome(rec, item.fingerprint, "silenced")
        if self.storm_rule is not None and self._storm_group(at) is None:
            self.recent = self._recent() + 1
        self._group(rec, item, at)
        if rec.incident_id is not None and rec.incident_id in self.live:
            self.live[rec.incident_id] += 1
        return Outcome(rec, item.fingerprint, "new")

    def _touch(self, rec: Rec, at: datetime, value: float | None, *, count: bool) -> None:
        if rec.item is not None:  # new in this batch: its row is written once, at the end
            if count:
                rec.count += 1
            rec.last = at
            if value is not None:
                rec.value = value
            return
        changes = rec.changes
        if count:
            rec.count += 1
            changes["count"] = rec.count
        changes["last_seen"] = at
        if value is not None:
            changes["value"] = value

    def _resolve(self, rec: Rec, item: Incoming, at: datetime) -> None:
        rec.status = "resolved"
        if rec.item is not None:
            rec.resolved_at = rec.last = at
            rec.ends_at = item.ends_at or at
        else:
            rec.changes.update(status="resolved", resolved_at=at, last_seen=at, ends_at=item.ends_at or at)
        if rec.incident_id:
            self.resolved.add(rec.incident_id)
            firing = self._firing(rec.incident_id) - 1
            self.live[rec.incident_id] = firing
            if firing <= 0:
                self.cleared.add(rec.incident_id)

    def _firing(self, incident_id: str) -> int:
        """Firing alerts of an incident right now: as stored before this batch, with this batch's so far."""
        if incident_id in self.live:
            return self.live[incident_id]
        stored = self.session.scalar(
            select(func.count(Alert.id)).where(Alert.incident_id == incident_id, Alert.status == "firing")
        )
        before = sum(1 for r in self.rows if r.item is None and r.incident_id == incident_id
                     and r.status != "firing")  # loaded firing, resolved by this batch  # fmt: skip
        new = sum(1 for r in self.rows if r.item is not None and r.incident_id == incident_id
                  and r.status == "firing")  # fmt: skip
        return int(stored or 0) - before + new + 1  # + 1: the alert being resolved is counted as firing

    def _silenced(self, item: Incoming, at: datetime) -> sil.Active | None:
        if not self.silences:
            return None
        labels = sil.match_labels(item.labels, item.service, item.source, item.severity_hint)
        for s in self.silences:
            if s.silences(labels, at):
                return s
        return None

    # --- after every submission -------------------------------------------------------------------

    def finish(self) -> None:
        for group, first, worse in self.joined.values():
            self._escalate(group, [*first.values(), *worse.values()])
        self._apply_stats()
        # Stored alerts change before new ones go in: one resolved and fired again in this batch is a
        # new firing row, which the unique index on firing keys takes only once the old one is resolved.
        by_shape: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
        for r in self.rows:
            if r.item is None and r.changes:
                shape = tuple(sorted(r.changes))
                by_shape.setdefault(shape, []).append((*(self._db(c, r.changes[c]) for c in shape), r.id))
        conn = self.session.connection()
        for shape, params in by_shape.items():
            if self.pg:  # one statement over one JSON document: an executemany is still one UPDATE per row
                named = (*shape, "id")
                document = orjson.dumps([dict(zip(named, p, strict=True)) for p in params], option=orjson.OPT_NAIVE_UTC)
                sets = ", ".join(f"{c} = m.{c}" for c in shape)
                types = ", ".join(f"{c} {CHANGING[c]}" for c in named)
                conn.exec_driver_sql(
                    f"UPDATE alerts AS a SET {sets} FROM json_to_recordset(%s::json) AS m({types}) WHERE a.id = m.id",
                    (document.decode(),),
                )
            else:
                sets = ", ".join(f"{c} = ?" for c in shape)
                conn.exec_driver_sql(f"UPDATE alerts SET {sets} WHERE id = ?", params)
        new = [r for r in self.rows if r.item is not None]
        if new:
            # Ids are taken up front so the rows go in as one executemany (RETURNING would go row by row).
            for r, new_id in zip(new, self._ids(len(new)), strict=True):
                r.id = new_id
            self._insert(new)
        self._store_counts()
        for incident_id in sorted(set(self.counts) | self.resolved | set(self.fired)):
            inc = self.incident(incident_id)
            if inc is None:
                continue
            by = self.touched.get(incident_id, self.actor)
            if inc.status not in OPEN:
                continue
            if incident_id in self.resolved and inc.source == "alert" and not self._still_firing(incident_id):
                # Only alerts that declared an incident may call it mitigated; a human declared the others.
                total = self.session.scalar(select(func.count(Alert.id)).where(Alert.incident_id == incident_id))
                incidents.signals_cleared(self.session, self.ctx, inc, self.now, by, f"all {total} alerts resolved")
            elif incident_id in self.fired and inc.status == "mitigated":
                incidents.restart_watch(self.session, inc, self.now, by, self.fired[incident_id])
            elif incident_id in self.cleared and inc.source == "alert" and inc.status != "mitigated":
                # Every alert resolved, then one fired again, within this batch: as one by one would
                # have left it, mitigated with its quiet window started over.
                incidents.signals_cleared(self.session, self.ctx, inc, self.now, by, "all its alerts resolved")
                why = self.fired.get(incident_id, "an alert fired again after every alert had resolved")
                incidents.restart_watch(self.session, inc, self.now, by, why)

    def _store_counts(self) -> None:
        """Every incident's alert count and services (`count_alerts`), in one statement on PostgreSQL.

        Through the ORM each would be an UPDATE of its own: a pass of a flood's repeats for 20 services spent 20
        of its 35 round trips on them. The rows were read FOR UPDATE (`incident`), so nobody changed them since;
        the version still goes up, as an edit of the incident, and the session is told what the row now holds.
        """
        counted = [(inc, self.counts[i]) for i in sorted(self.counts) if (inc := self.incident(i)) is not None]
        if not counted:
            return
        self.session.flush()  # what the ORM still holds for these rows goes first, with its own version check
        rows = []
        for inc, added in counted:
            count_alerts(inc, added, self.services.get(inc.id, set()))
            rows.append({"id": inc.id, "impact": inc.impact, "version": inc.version})
            set_committed_value(inc, "impact", inc.impact)
        conn = self.session.connection()
        if self.pg:
            done = conn.exec_driver_sql(
                "UPDATE incidents AS i SET impact = m.impact, version = i.version + 1 FROM json_to_recordset(%s::json) "
                "AS m(id text, impact json, version integer) WHERE i.id = m.id AND i.version = m.version",
                (orjson.dumps(rows).decode(),),
            )
        else:
            done = conn.exec_driver_sql(
                "UPDATE incidents SET impact = ?, version = version + 1 WHERE id = ? AND version = ?",
                [(orjson.dumps(r["impact"]).decode(), r["id"], r["version"]) for r in rows],
            )
        if done.rowcount != len(rows):
            raise StaleDataError(f"incidents changed under a pass: {len(rows)} counted, {done.rowcount} updated")
        for inc, _ in counted:
            set_committed_value(inc, "version", inc.version + 1)

    def _db(self, column: str, value: Any) -> Any:
        """A value as the driver takes it, the way the ORM types would have stored it."""
        if value is None:
            return None
        if column in JSON_COLUMNS:
            try:
                return orjson.dumps(value).decode()
            except TypeError:
                return json.dumps(value, default=str)
        if column in TIME_COLUMNS and not self.pg:
            return sqlite_time(value)
        return value

    def _insert(self, rows: list[Rec]) -> None:
        """The rows in one statement at the driver (PostgreSQL: COPY; SQLite: one executemany), each row's
        values taken straight from its alert and record.

        Times go as text, each distinct one formatted once (a batch's alerts share a few): psycopg's COPY
        formatted every time of every row again, two thirds of its work."""
        stamp = _iso if self.pg else sqlite_time
        stamps: dict[datetime | None, str | None] = {None: None}

        def when(t: datetime | None) -> str | None:
            found = stamps.get(t, "")
            if found == "":
                assert t is not None
                found = stamps[t] = stamp(t)
            return found

        dumps, as_json = orjson.dumps, self._json
        params = []
        for r in rows:
            i = r.item
            assert i is not None
            hint, threshold, raw = i.severity_hint, i.threshold, i.raw
            first = when(r.first)  # received, first and (unless it repeated in this batch) last seen
            params.append((
                r.id, r.key, i.source, r.integration, i.fingerprint, r.status, i.service, i.summary,
                hint[:40] if hint else None, dumps(i.labels).decode(),
                as_json(_details(i)) if i.description or i.users is not None else "{}",
                i.metric, r.value, threshold[:100] if threshold else None,
                dumps(i.links).decode() if i.links else "[]",
                when(i.starts_at), when(r.ends_at), first, first, first if r.last is r.first else when(r.last),
                when(r.resolved_at),
                r.count, raw.decode() if isinstance(raw, bytes) else as_json(raw), r.group_id, r.incident_id,
                r.silence_id,
            ))  # fmt: skip
        if self.pg:  # one stream of rows, not a statement each (an executemany is still one INSERT per row)
            driver: Any = self.session.connection().connection.dbapi_connection  # psycopg's own connection
            with driver.cursor() as cursor, cursor.copy(f"COPY alerts ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for row in params:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" * len(COLUMNS))
            self.session.connection().exec_driver_sql(f"INSERT INTO alerts ({', '.join(COLUMNS)}) VALUES ({marks})",
                                                      params)  # fmt: skip

    @staticmethod
    def _json(value: Any) -> str:
        try:
            return orjson.dumps(value).decode()
        except TypeError:
            return json.dumps(value, default=str)

    def _ids(self, n: int) -> list[int]:
        """n new alert ids: from the sequence on PostgreSQL; on SQLite this transaction is the only writer."""
        if self.pg:
            rows = self.session.execute(
                text("SELECT nextval(pg_get_serial_sequence('alerts', 'id')) FROM generate_series(1, :n)"), {"n": n}
            )
            return [int(r[0]) for r in rows]
        top = int(self.session.connection().exec_driver_sql("SELECT max(id) FROM alerts").scalar() or 0)
        return list(range(top + 1, top + 1 + n))


_silences: dict[str, tuple[float, list[sil.Active]]] = {}
SILENCE_CACHE_SECONDS = 1.0


def active_silences(session: Session, ctx: Context, now: datetime) -> list[sil.Active]:
    """Silences not yet over, cached for a second: a storm does not re-read them per batch.

    Changes made through this process show at once (`forget_silences`); another process's, within a second.
    """
    key = ctx.db.url
    hit = _silences.get(key)
    if hit is not None and hit[0] > time.monotonic():
        return [s for s in hit[1] if s.ends_at > now]
    rows = session.scalars(select(Silence).where(Silence.ends_at > now))
    found = [sil.Active(r.id, tuple(sil.from_stored(r.matchers)), r.starts_at, r.ends_at) for r in rows]
    _silences[key] = (time.monotonic() + SILENCE_CACHE_SECONDS, found)
    return found


def forget_silences() -> None:
    _silences.clear()


def _iso(t: datetime) -> str:
    """A time as PostgreSQL reads a timestamptz in COPY's text format (a naive one taken as UTC, as stored)."""
    return (t if t.tzinfo is not None else t.replace(tzinfo=UTC)).isoformat()


def _details(item: Incoming) -> dict[str, Any]:
    details: dict[str, Any] = {}
    if item.description:
        details["description"] = item.description[:10_000]
    if item.users is not None:
        details["users"] = item.users
    return details


def _ghost(item: Incoming) -> Rec:
    return Rec(None, item.key, item.status, 0, item.service, item.summary, None, None, None)
