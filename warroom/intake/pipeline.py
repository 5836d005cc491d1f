"""One group-commit transaction over many requests' alerts: dedup, silences, grouping, storms, triage.

Everything here runs inside `incidents.service.run`, so an alert, the incident it declares and
the engine's first page timer commit together or not at all. Alert rows are written in bulk (one
INSERT and one UPDATE per batch); groups and incidents, which are few, through the ORM.
"""

from __future__ import annotations

import json
import time
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session, defer

from warroom.domain import triage as tri
from warroom.domain.flags import KNOWN_FLAGS
from warroom.domain.lifecycle import OPEN_STATUSES
from warroom.incidents import service as incidents
from warroom.incidents.schemas import DeclareRequest
from warroom.incidents.service import Context
from warroom.intake import silences as sil
from warroom.intake.config import IntakeSettings
from warroom.intake.normal import Incoming
from warroom.store.db import sqlite_time
from warroom.store.intake_models import Alert, AlertGroup, DeadLetter, Silence
from warroom.store.models import Incident

ACTOR = "warroom-intake"
COLUMNS = (
    "id", "key", "source", "integration", "fingerprint", "status", "service", "summary", "severity_hint", "labels",
    "details", "metric", "value", "threshold", "links", "starts_at", "ends_at", "received_at", "first_seen",
    "last_seen", "resolved_at", "count", "raw", "group_id", "incident_id", "silence_id",
)  # fmt: skip
JSON_COLUMNS = frozenset({"labels", "details", "links", "raw"})
TIME_COLUMNS = frozenset({"starts_at", "ends_at", "received_at", "first_seen", "last_seen", "resolved_at"})
OPEN = frozenset(s.value for s in OPEN_STATUSES)
LEAN_GROUP = (defer(AlertGroup.history), defer(AlertGroup.triage), defer(AlertGroup.runbook))
"""a group as a storm's batches read it: the decision's documents load only when a decision is made"""
STORM_KEY = "storm"
ESCALATION_SAMPLE = 16
Sample = dict[tuple[Any, ...], Incoming]
"""alerts kept for the escalation check, by what triage reads of them (`_signature`)"""


@dataclass
class Submission:
    """One accepted request's alerts, waiting for their batch's commit."""

    integration: str
    received_at: datetime
    items: list[Incoming]


@dataclass
class Refused:
    """A request refused after authentication: its raw body goes to the dead-letter table."""

    source: str
    integration: str
    received_at: datetime
    status: int
    error: str
    field: str | None
    content_type: str
    body: bytes


@dataclass(slots=True)
class Rec:
    """An alert row as this batch sees it: loaded (id set) or about to be inserted (id None)."""

    id: int | None
    key: str
    status: str
    count: int
    service: str | None
    summary: str
    group_id: int | None
    incident_id: str | None
    silence_id: int | None
    values: dict[str, Any] | None = None
    """the full row for a new alert"""
    changes: dict[str, Any] = field(default_factory=dict)
    """columns to update on a loaded alert"""


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


def signal(item: Incoming | Alert) -> tri.Signal:
    if isinstance(item, Incoming):
        return tri.Signal(
            summary=item.summary,
            description=item.description,
            service=item.service,
            labels=item.labels,
            severity_hint=item.severity_hint,
            metric=item.metric,
            value=item.value,
            threshold=item.threshold,
            users=item.users,
        )
    details = item.details or {}
    return tri.Signal(
        summary=item.summary,
        description=str(details.get("description", "")),
        service=item.service,
        labels=item.labels,
        severity_hint=item.severity_hint,
        metric=item.metric,
        value=item.value,
        threshold=item.threshold,
        users=details.get("users"),
    )


def plain(text: str, limit: int) -> str:
    """Text an incident accepts: no control characters, within the limit, never empty."""
    cleaned = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in text)
    cleaned = " ".join(cleaned.split())
    if len(cleaned) > limit:
        cleaned = cleaned[: limit - 1] + "…"
    return cleaned or "Alert"


class Batch:
    """The state of one transaction over a batch of submissions."""

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
        self.mark = "%s" if self.pg else "?"
        self.stats: dict[int, list[Any]] = {}
        """per group (by object id): [group, alerts added, latest alert time], applied in one go"""
        self.found: dict[str, AlertGroup] = {}
        """group key → the group its alerts join in this batch"""
        self.checked: set[int] = set()
        """groups found usable in this batch (a batch spans milliseconds: no need to look again)"""
        self.preloaded: set[str] = set()
        """group keys whose open group (if any) was loaded up front"""
        self.recs: dict[str, Rec] = {}
        self.rows: list[Rec] = []
        """every alert this batch loaded or created, in order (a key can have a resolved and a new row)"""
        self.storm_loaded = False
        self.groups: dict[str, AlertGroup] = {}
        self.incidents: dict[str, Incident] = {}
        self.storm: AlertGroup | None = None
        self.recent: int | None = None
        self.silences: list[sil.Active] = []
        self.fired: dict[str, str] = {}
        """incident id → why (a new firing signal joined it in this batch)"""
        self.resolved: set[str] = set()
        self.counts: dict[str, int] = {}
        self.services: dict[str, set[str]] = {}
        self.serving: dict[str, str | None] = {}
        """service → its newest open incident's id (looked up once per batch)"""
        self.joined: dict[int, tuple[AlertGroup, Sample, Sample]] = {}
        """per group with an incident (by object id): distinct new alerts that joined it in this batch, and
        those beyond the sample that their sender rates worse (see `_joined`)"""

    # --- loading ----------------------------------------------------------------------------------

    def load(self, incoming: Iterable[Incoming]) -> None:
        items = list(incoming)
        keys = list({i.key for i in items})
        conn = self.session.connection()
        for chunk in _chunks(keys, 500):
            marks = ", ".join([self.mark] * len(chunk))
            rows = conn.exec_driver_sql(
                "SELECT id, key, count, service, summary, group_id, incident_id, silence_id FROM alerts "
                f"WHERE status = 'firing' AND key IN ({marks})",
                tuple(chunk),
            )
            for r in rows:
                rec = Rec(r[0], r[1], "firing", r[2], r[3], r[4], r[5], r[6], r[7])
                self.recs[rec.key] = rec
                self.rows.append(rec)
        gkeys = {self.group_key(i) for i in items if i.status == "firing"}
        if self.storm_rule is not None:
            gkeys.add(STORM_KEY)
        self.preloaded = set(gkeys)
        for chunk in _chunks(sorted(gkeys), 500):
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
        self.silences = active_silences(self.session, self.ctx, self.now)

    def incident(self, incident_id: str) -> Incident | None:
        inc = self.incidents.get(incident_id)
        if inc is None:
            inc = self.session.scalars(select(Incident).where(Incident.id == incident_id).with_for_update()).first()
            if inc is not None:
                self.incidents[incident_id] = inc
        return inc

    def is_open(self, incident_id: str | None) -> bool:
        if incident_id is None:
            return False
        inc = self.incident(incident_id)
        return inc is not None and inc.status in OPEN

    # --- one submission -----------------------------------------------------------------------------

    def submit(self, sub: Submission) -> list[Outcome]:
        return [self.one(item, sub) for item in sub.items]

    def one(self, item: Incoming, sub: Submission) -> Outcome:
        at = sub.received_at
        rec = self.recs.get(item.key)
        if rec is not None and rec.status == "firing":
            if item.status == "resolved":
                self._resolve(rec, item, at)
                return Outcome(rec, item.fingerprint, "resolved")
            if item.status == "acknowledged":
                self._touch(rec, at, count=False)
                return Outcome(rec, item.fingerprint, "acknowledged")
            self._touch(rec, at, count=True, item=item)
            if rec.group_id is None and rec.silence_id is not None and self._silenced(item, at) is None:
                rec.silence_id = None
                self._set(rec, silence_id=None)
                self._group(rec, item, at)
            elif rec.incident_id:
                self.fired.setdefault(rec.incident_id, f"'{item.summary}' is still firing")
            return Outcome(rec, item.fingerprint, "repeat")
        if item.status == "acknowledged":
            return Outcome(_ghost(item), item.fingerprint, "ignored: no open alert with this key")
        rec = self._new(item, sub)
        self.recs[item.key] = rec
        self.rows.append(rec)
        if item.status == "resolved":
            return Outcome(rec, item.fingerprint, "resolved")
        silence = self._silenced(item, at)
        if silence is not None:
            rec.silence_id = silence.id
            rec.values["silence_id"] = silence.id  # type: ignore[index]
            return Outcome(rec, item.fingerprint, "silenced")
        if self.storm_rule is not None and self._storm_group(at) is None:
            self.recent = self._recent() + 1
        self._group(rec, item, at)
        return Outcome(rec, item.fingerprint, "new")

    def _new(self, item: Incoming, sub: Submission) -> Rec:
        at = sub.received_at
        resolved = item.status == "resolved"
        values: dict[str, Any] = {
            "key": item.key,
            "source": item.source,
            "integration": sub.integration,
            "fingerprint": item.fingerprint,
            "status": "resolved" if resolved else "firing",
            "service": item.service,
            "summary": item.summary,
            "severity_hint": item.severity_hint[:40] if item.severity_hint else None,
            "labels": item.labels,
            "details": _details(item),
            "metric": item.metric,
            "value": item.value,
            "threshold": item.threshold[:100] if item.threshold else None,
            "links": item.links,
            "starts_at": item.starts_at,
            "ends_at": item.ends_at,
            "received_at": at,
            "first_seen": at,
            "last_seen": at,
            "resolved_at": at if resolved else None,
            "count": 1,
            "raw": item.raw,
            "group_id": None,
            "incident_id": None,
            "silence_id": None,
        }
        return Rec(None, item.key, values["status"], 1, item.service, item.summary, None, None, None, values)

    def _set(self, rec: Rec, **changes: Any) -> None:
        if rec.values is not None:
            rec.values.update(changes)
        else:
            rec.changes.update(changes)

    def _touch(self, rec: Rec, at: datetime, *, count: bool, item: Incoming | None = None) -> None:
        if count:
            rec.count += 1
            self._set(rec, count=rec.count)
        self._set(rec, last_seen=at)
        if item is not None and item.value is not None:
            self._set(rec, value=item.value)

    def _resolve(self, rec: Rec, item: Incoming, at: datetime) -> None:
        rec.status = "resolved"
        self._set(rec, status="resolved", resolved_at=at, last_seen=at, ends_at=item.ends_at or at)
        if rec.incident_id:
            self.resolved.add(rec.incident_id)

    def _silenced(self, item: Incoming, at: datetime) -> sil.Active | None:
        if not self.silences:
            return None
        labels = sil.match_labels(item.labels, item.service, item.source, item.severity_hint)
        for s in self.silences:
            if s.silences(labels, at):
                return s
        return None

    # --- grouping and storms ----------------------------------------------------------------------

    def group_key(self, item: Incoming) -> str:
        parts = []
        for name in self.group_by:
            value = item.service if name == "service" else item.labels.get(name)
            if name == "service" and not value:
                value = item.labels.get("service")
            parts.append(f"{name}={value or ''}")
        return "|".join(parts)[:400]

    def _find(self, key: str, at: datetime) -> AlertGroup | None:
        hit = self.found.get(key)
        if hit is not None:
            return hit
        group = self._lookup(key, at)
        if group is not None:
            self.found[key] = group
        return group

    def _lookup(self, key: str, at: datetime) -> AlertGroup | None:
        group = self.groups.get(key)
        if group is None and key not in self.preloaded:
            group = self.session.scalars(
                select(AlertGroup)
                .where(AlertGroup.key == key, AlertGroup.status == "open")
                .order_by(AlertGroup.id.desc())
                .limit(1)
            ).first()
        if group is None:
            return None
        if group.outcome == "merged" and group.merged_into is not None:
            target = self.session.get(AlertGroup, group.merged_into)
            if target is not None and self._usable(target, at):
                self.groups[key] = group
                return target
        if group.id in self.checked or self._usable(group, at):
            self.groups[key] = group
            self.checked.add(group.id)
            return group
        group.status, group.closed_at = "closed", self.now
        self.groups.pop(key, None)
        return None

    def _usable(self, group: AlertGroup, at: datetime) -> bool:
        if group.status != "open":
            return False
        if group.outcome == "pending" or self.is_open(group.incident_id):
            return True
        if group.incident_id is not None:
            return False
        return group.last_alert_at >= at - self.window

    def _storm_group(self, at: datetime) -> AlertGroup | None:
        if self.storm_rule is None:
            return None
        if self.storm is None and not self.storm_loaded:
            self.storm_loaded = True
            self.storm = self.session.scalars(
                select(AlertGroup)
                .where(AlertGroup.key == STORM_KEY, AlertGroup.status == "open")
                .order_by(AlertGroup.id.desc())
                .limit(1)
            ).first()
        storm = self.storm
        if storm is None or storm.id in self.checked:
            return storm
        window = self.storm_rule.window.as_timedelta()
        if storm.last_alert_at < at - window or (storm.incident_id and not self.is_open(storm.incident_id)):
            storm.status, storm.closed_at = "closed", self.now
            self.storm = None
            return None
        self.checked.add(storm.id)
        return storm

    def _recent(self) -> int:
        """Alerts (not silenced) first seen within the storm window, this batch's so far included."""
        if self.recent is None:
            assert self.storm_rule is not None
            since = self.now - self.storm_rule.window.as_timedelta()
            self.recent = int(
                self.session.scalar(
                    select(func.count(Alert.id)).where(Alert.first_seen >= since, Alert.silence_id.is_(None))
                )
                or 0
            )
        return self.recent

    def _group(self, rec: Rec, item: Incoming, at: datetime) -> None:
        key = self.group_key(item)
        group = self._find(key, at)
        storm = self._storm_group(at)
        if group is None and storm is not None:
            group = storm
        storming = self.storm_rule is not None and (self.recent or 0) >= self.storm_rule.threshold
        if group is None:
            if storming:
                group = self._start_storm(rec, item, at)
            else:
                group = self._open(key, rec, item, at)
                self.groups[key] = group
                self.found[key] = group
        else:
            self._attach(group, rec, item, at)
            if storming and storm is None and not group.storm:
                self._start_storm(None, item, at)

    def _attach(self, group: AlertGroup, rec: Rec, item: Incoming, at: datetime) -> None:
        if group.id is None:
            self.session.flush()
        rec.group_id = group.id
        rec.incident_id = group.incident_id
        self._set(rec, group_id=group.id, incident_id=group.incident_id)
        st = self.stats.get(id(group))
        if st is None:
            self.stats[id(group)] = [group, 1, at]
        else:
            st[1] += 1
            if at > st[2]:
                st[2] = at
        if item.service and item.service not in group.services:
            group.services = [*group.services, item.service]
        if group.incident_id:
            self._count(group.incident_id, item.service)
            self.fired.setdefault(group.incident_id, f"'{item.summary}' fired")
            self._joined(group, item)
        elif group.outcome in ("ticket", "none") and group.decided_by == "triage":
            self._maybe_upgrade(group, item)

    def _apply_stats(self) -> None:
        for group, added, latest in self.stats.values():
            group.alert_count += added
            if latest > group.last_alert_at:
                group.last_alert_at = latest
        self.stats.clear()

    def _count(self, incident_id: str, service: str | None) -> None:
        self.counts[incident_id] = self.counts.get(incident_id, 0) + 1
        if service:
            self.services.setdefault(incident_id, set()).add(service)

    def _new_group(self, key: str, storm: bool, at: datetime) -> AlertGroup:
        return AlertGroup(
            key=key,
            status="open",
            storm=storm,
            outcome="pending",
            opened_at=at,
            last_alert_at=at,
            alert_count=0,
            services=[],
            decided_by="triage",
            decided_at=self.now,
            history=[],
            triage={},
        )

    def _open(self, key: str, rec: Rec, item: Incoming, at: datetime) -> AlertGroup:
        group = self._new_group(key, False, at)
        inc = self._open_incident_for(item.service)
        if inc is not None:
            return self._join(group, inc, rec, item, at)
        held = self.hold > timedelta(0) and self._another_opened(at)
        self.session.add(group)
        self.session.flush()
        self._attach(group, rec, item, at)
        if held:
            group.hold_until = self.now + self.hold
            group.triage = {"held": f"another alert group opened within {self.cfg.storm_hold_seconds:g}s: "
                            "waiting to see whether a storm is starting"}  # fmt: skip
        else:
            self.decide(group, tri.classify(self.policy, [signal(item)]), [rec])
        return group

    def _open_incident_for(self, service: str | None) -> Incident | None:
        """The newest open incident for this service, declared by hand or by alerts, if any."""
        if not service:
            return None
        if service not in self.serving:
            self.serving[service] = self.session.scalar(
                select(Incident.id)
                .where(Incident.service == service, Incident.status.in_(OPEN))
                .order_by(Incident.declared_at.desc(), Incident.id.desc())
                .limit(1)
            )
        found = self.serving[service]
        return self.incident(found) if found else None

    def _join(self, group: AlertGroup, inc: Incident, rec: Rec, item: Incoming, at: datetime) -> AlertGroup:
        """A new alert group for a service that already has an open incident joins it: no second page."""
        group.incident_id, group.outcome, group.severity = inc.id, "incident", inc.severity
        group.triage = {"joined": f"{inc.id} is open for service {item.service}"}
        self.session.add(group)
        self.session.flush()
        self._attach(group, rec, item, at)
        incidents.entry(
            self.session,
            inc,
            self.now,
            ACTOR,
            "alerts_joined",
            plain(f"Alert joined: {item.summary}", incidents.TITLE_LIMIT),
            f"alert group {group.id} ({item.source}) for service {item.service}; it pages no one again",
            {"group_id": group.id, "source": item.source, "fingerprint": item.fingerprint},
        )
        return group

    def _another_opened(self, at: datetime) -> bool:
        since = at - self.hold
        found = self.session.scalar(
            select(AlertGroup.id).where(AlertGroup.opened_at >= since, AlertGroup.storm.is_(False)).limit(1)
        )
        return found is not None

    def _maybe_upgrade(self, group: AlertGroup, item: Incoming) -> None:
        """A ticket-only or informational group whose new alert triages to an incident declares one."""
        verdict = tri.classify(self.policy, [signal(item)])
        if verdict.outcome != "incident":
            return
        if group.severity and not tri.more_severe(self.policy, verdict.severity, group.severity):
            return
        recs = [r for r in self.rows if r.group_id == group.id and r.status == "firing"]
        self.decide(group, verdict, recs)

    def _start_storm(self, rec: Rec | None, item: Incoming, at: datetime) -> AlertGroup:
        assert self.storm_rule is not None
        window = self.storm_rule.window
        since = at - window.as_timedelta()
        storm = self._new_group(STORM_KEY, True, at)
        self.session.add(storm)
        self.session.flush()
        self.storm = storm
        self._apply_stats()
        self.session.flush()
        adopted = self.session.execute(
            select(AlertGroup.incident_id)
            .join(Incident, Incident.id == AlertGroup.incident_id)
            .where(
                AlertGroup.status == "open",
                AlertGroup.last_alert_at >= since,
                Incident.status.in_(OPEN),
                Incident.source == "alert",
            )
            .order_by(Incident.declared_at, Incident.id)
            .limit(1)
        ).scalar()
        note = (
            f"alert storm: {self.recent} alerts within {window} (threshold {self.storm_rule.threshold}): "
            "cascading failure suspected; correlated into one incident"
        )
        if rec is not None:
            self._attach(storm, rec, item, at)
        if adopted:
            storm.incident_id = adopted
            storm.outcome = "incident"
            inc = self.incident(adopted)
            storm.severity = inc.severity if inc else None
            storm.triage = {"storm": note, "adopted": adopted}
            if rec is not None:
                rec.incident_id = adopted
                self._set(rec, incident_id=adopted)
                self._count(adopted, item.service)
        else:
            verdict = tri.classify(self.policy, [signal(item)], storm=note)
            self.decide(storm, verdict, [rec] if rec else [])
        self._merge_held(storm)
        if storm.incident_id:
            inc = self.incident(storm.incident_id)
            if inc is not None:
                incidents.entry(
                    self.session,
                    inc,
                    self.now,
                    ACTOR,
                    "alert_storm",
                    f"Alert storm: {self.recent} alerts within {window}; correlated into {inc.id}",
                    "one incident and one page for the storm; later alerts attach without paging",
                    {"alerts": self.recent, "window": str(window), "storm_group": storm.id},
                )
        return storm

    def _merge_held(self, storm: AlertGroup) -> None:
        self._apply_stats()
        self.session.flush()
        held = list(self.session.scalars(select(AlertGroup).where(AlertGroup.outcome == "pending",
                                                                  AlertGroup.id != storm.id)))  # fmt: skip
        for g in held:
            g.outcome, g.merged_into, g.incident_id = "merged", storm.id, storm.incident_id
            g.hold_until = None
            g.triage = {**g.triage, "merged": f"merged into storm group {storm.id}"}
            storm.alert_count += g.alert_count
            storm.services = sorted(set(storm.services) | set(g.services))
            if storm.incident_id:
                self._link(g, storm.incident_id)

    def _link(self, group: AlertGroup, incident_id: str) -> None:
        """Point a group's firing alerts (stored and in this batch) at an incident."""
        result = self.session.execute(
            update(Alert)
            .where(Alert.group_id == group.id, Alert.status == "firing", Alert.incident_id.is_(None))
            .values(incident_id=incident_id)
            .execution_options(synchronize_session=False)
        )
        stored = result.rowcount or 0  # type: ignore[attr-defined]
        for r in self.rows:
            if r.group_id == group.id and r.incident_id is None and r.status == "firing":
                r.incident_id = incident_id
                self._set(r, incident_id=incident_id)
                if r.values is not None:
                    stored += 1
        self.counts[incident_id] = self.counts.get(incident_id, 0) + stored
        self.services.setdefault(incident_id, set()).update(group.services)

    # --- triage decisions ---------------------------------------------------------------------------

    def decide(self, group: AlertGroup, verdict: tri.Triage, recs: list[Rec], by: str = "triage") -> None:
        group.severity = verdict.severity
        group.confidence = verdict.confidence
        group.triage = verdict.as_dict() | {k: v for k, v in group.triage.items() if k in ("held", "storm")}
        group.runbook = verdict.runbook.model_dump() if verdict.runbook else None
        group.hold_until = None
        group.decided_by, group.decided_at = by, self.now
        if verdict.outcome != "incident":
            group.outcome = verdict.outcome
            return
        first = recs[0] if recs else None
        title = plain(first.summary if first else "Alert storm", incidents.TITLE_LIMIT)
        inc = self.declare(group, verdict, title, first.service if first else None, ACTOR if by == "triage" else by)
        self._link(group, inc.id)

    def declare(self, group: AlertGroup, verdict: tri.Triage, title: str, service: str | None, by: str) -> Incident:
        flags = {k: v for k, v in verdict.flags.items() if k in KNOWN_FLAGS}
        detail = "; ".join(r.detail for r in verdict.reasons)
        req = DeclareRequest(
            severity=verdict.severity,
            title=title,
            summary=plain(f"Declared from alert group {group.id}. Triage: {detail}", 5000),
            service=plain(service, 200) if service else None,
            by=by,
            flags=flags,
        )
        inc = incidents.declare_in(self.session, self.ctx, req, self.now, source="alert")
        self.incidents[inc.id] = inc
        if inc.service:
            self.serving[inc.service] = inc.id
        group.incident_id = inc.id
        group.outcome = "incident"
        record_triage(self.session, inc, self.now, verdict, group.id)
        return inc

    # --- after every submission -------------------------------------------------------------------

    def _joined(self, group: AlertGroup, item: Incoming) -> None:
        """Keep a new alert of a declared group for the escalation check, within a bound per batch.

        Triage costs tens of microseconds an alert; a storm batch of thousands would spend more on
        it than on storing them. So each batch keeps up to ESCALATION_SAMPLE distinct alerts per
        group, and as many again of those whose sender rates them worse than the group's verdict.
        """
        if group.severity and self.policy.rank(group.severity) == 0:
            return  # nothing is worse than the most severe level
        found = self.joined.setdefault(id(group), (group, {}, {}))
        sig = _signature(item)
        if sig in found[1] or sig in found[2]:
            return
        if len(found[1]) < ESCALATION_SAMPLE:
            found[1][sig] = item
            return
        if len(found[2]) < ESCALATION_SAMPLE and group.severity:
            hinted = tri.hint_severity(self.policy, item.severity_hint)
            if hinted is not None and tri.more_severe(self.policy, hinted[0], group.severity):
                found[2][sig] = item

    def _escalate(self, group: AlertGroup, items: list[Incoming]) -> None:
        """Alerts joining a declared group that triage more severe than the incident raise its severity.

        Triage says more than the group already did only when the verdict is more severe than both the
        incident and the group's last verdict: a human who lowered the incident is not overruled by
        more of the same alerts, only by a worse one.
        """
        inc = self.incident(group.incident_id) if group.incident_id else None
        if inc is None or inc.status not in OPEN or self.policy.rank(inc.severity) == 0:
            return
        verdict = tri.classify(self.policy, [signal(i) for i in items])
        if verdict.outcome != "incident" or not tri.more_severe(self.policy, verdict.severity, inc.severity):
            return
        if group.severity and not tri.more_severe(self.policy, verdict.severity, group.severity):
            return
        worst = next((r for r in verdict.reasons if r.severity == verdict.severity), None)
        why = plain(
            f"alert group {group.id}: a new alert triages to {verdict.severity} at {verdict.confidence}% confidence"
            + (f" ({worst.detail})" if worst else ""),
            incidents.TEXT_LIMIT,
        )
        group.severity, group.confidence = verdict.severity, verdict.confidence
        incidents.set_severity_in(self.session, self.policy, inc, verdict.severity, ACTOR, why, self.now)

    def finish(self) -> None:
        for group, first, worse in self.joined.values():
            self._escalate(group, [*first.values(), *worse.values()])
        self._apply_stats()
        new = [r for r in self.rows if r.values is not None]
        if new:
            # Ids are taken up front so the rows go in as one executemany (RETURNING would go row by row).
            for r, new_id in zip(new, self._ids(len(new)), strict=True):
                r.id = new_id
                r.values["id"] = new_id  # type: ignore[index]
            self._insert([r.values for r in new if r.values is not None])
        by_shape: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
        for r in self.rows:
            if r.values is None and r.changes:
                shape = tuple(sorted(r.changes))
                by_shape.setdefault(shape, []).append((*(self._db(c, r.changes[c]) for c in shape), r.id))
        conn = self.session.connection()
        for shape, params in by_shape.items():
            sets = ", ".join(f"{c} = {self.mark}" for c in shape)
            conn.exec_driver_sql(f"UPDATE alerts SET {sets} WHERE id = {self.mark}", params)
        for incident_id in sorted(set(self.counts) | self.resolved | set(self.fired)):
            inc = self.incident(incident_id)
            if inc is None:
                continue
            if incident_id in self.counts:
                count_alerts(inc, self.counts[incident_id], self.services.get(incident_id, set()))
            if inc.status not in OPEN:
                continue
            if incident_id in self.resolved and inc.source == "alert" and not self._still_firing(incident_id):
                # Only alerts that declared an incident may call it mitigated; a human declared the others.
                total = self.session.scalar(select(func.count(Alert.id)).where(Alert.incident_id == incident_id))
                incidents.signals_cleared(self.session, self.ctx, inc, self.now, ACTOR, f"all {total} alerts resolved")
            elif incident_id in self.fired and inc.status == "mitigated":
                incidents.restart_watch(self.session, inc, self.now, ACTOR, self.fired[incident_id])

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

    def _insert(self, rows: list[dict[str, Any]]) -> None:
        """One executemany at the driver: the ORM's per-row bookkeeping is most of a storm's cost."""
        marks = ", ".join(f"{self.mark}::json" if self.pg and c in JSON_COLUMNS else self.mark for c in COLUMNS)
        sql = f"INSERT INTO alerts ({', '.join(COLUMNS)}) VALUES ({marks})"
        json_at = [i for i, c in enumerate(COLUMNS) if c in JSON_COLUMNS]
        time_at = [] if self.pg else [i for i, c in enumerate(COLUMNS) if c in TIME_COLUMNS]
        stamps: dict[datetime, str] = {}
        params = []
        for row in rows:
            values = [row[c] for c in COLUMNS]
            for i in json_at:
                values[i] = self._db("raw", values[i])
            for i in time_at:
                t = values[i]
                if t is not None:
                    text_t = stamps.get(t)
                    if text_t is None:
                        text_t = stamps[t] = sqlite_time(t)
                    values[i] = text_t
            params.append(tuple(values))
        self.session.connection().exec_driver_sql(sql, params)

    def _ids(self, n: int) -> list[int]:
        """n new alert ids: from the sequence on PostgreSQL; on SQLite this transaction is the only writer."""
        if self.pg:
            rows = self.session.execute(
                text("SELECT nextval(pg_get_serial_sequence('alerts', 'id')) FROM generate_series(1, :n)"), {"n": n}
            )
            return [int(r[0]) for r in rows]
        top = int(self.session.connection().exec_driver_sql("SELECT max(id) FROM alerts").scalar() or 0)
        return list(range(top + 1, top + 1 + n))

    def _still_firing(self, incident_id: str) -> bool:
        found = self.session.scalar(
            select(Alert.id).where(Alert.incident_id == incident_id, Alert.status == "firing").limit(1)
        )
        return found is not None


def count_alerts(inc: Incident, added: int, services: Iterable[str]) -> None:
    """The alert count and distinct services an incident shows (`impact`), after alerts joined or left it."""
    impact = dict(inc.impact)
    impact["alert_count"] = max(0, int(impact.get("alert_count", 0)) + added)
    known = set(impact.get("services") or []) | set(services)
    if known:
        impact["services"] = sorted(known)
    inc.impact = impact


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


def record_triage(session: Session, inc: Incident, now: datetime, verdict: tri.Triage, group_id: int | None) -> None:
    """The triage report on the timeline: severity, confidence, reasons, escalation and runbook."""
    reasons = [r.detail for r in verdict.reasons]
    incidents.entry(
        session,
        inc,
        now,
        ACTOR,
        "triage",
        f"Triage: {verdict.severity} at {verdict.confidence}% confidence",
        "; ".join(reasons)[:4000],
        {"group_id": group_id, **verdict.as_dict()},
    )
    if verdict.below_threshold:
        who = ", ".join(verdict.escalate_to) or "nobody (the policy names no one)"
        incidents.entry(
            session,
            inc,
            now,
            ACTOR,
            "triage_escalation",
            f"Confidence {verdict.confidence}% is below {verdict.threshold}%: investigation required",
            f"escalate to {who}",
            {"escalate_to": list(verdict.escalate_to), "confidence": verdict.confidence,
             "threshold": verdict.threshold},
        )  # fmt: skip
    if verdict.runbook is not None:
        rb = verdict.runbook
        incidents.entry(
            session,
            inc,
            now,
            ACTOR,
            "runbook",
            f"Runbook: {rb.runbook} ({rb.symptom})",
            "; ".join(rb.checklist),
            {"runbook": rb.runbook, "symptom": rb.symptom, "checklist": list(rb.checklist)},
        )


INTAKE_LOCK = 0x5741524F  # "WARO"


def intake_lock(session: Session) -> None:
    """One intake transaction at a time across replicas (SQLite's BEGIN IMMEDIATE already is one).

    Alert groups have no unique key a database could enforce (a key may have closed groups), so two
    replicas opening the group for the same service at once would each declare an incident.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": INTAKE_LOCK})


def ingest(session: Session, ctx: Context, now: datetime, jobs: list[Submission | Refused],
           cfg: IntakeSettings) -> list[list[dict[str, Any]] | int]:  # fmt: skip
    """Apply a batch; per job: the alert outcomes (a submission) or the dead letter's id (a refusal)."""
    subs = [j for j in jobs if isinstance(j, Submission)]
    intake_lock(session)
    batch = Batch(session, ctx, now, cfg)
    with session.no_autoflush:
        batch.load(i for s in subs for i in s.items)
        per_sub = {id(s): batch.submit(s) for s in subs}
    batch.finish()
    results: list[list[dict[str, Any]] | int] = []
    for job in jobs:
        if isinstance(job, Submission):
            results.append([o.as_dict() for o in per_sub[id(job)]])
        else:
            results.append(dead_letter(session, job, cfg.dead_letters_keep))
    return results


def dead_letter(session: Session, job: Refused, keep: int) -> int:
    row = DeadLetter(
        received_at=job.received_at,
        source=job.source[:40],
        integration=job.integration,
        status=job.status,
        error=job.error[:4000],
        field=job.field[:300] if job.field else None,
        content_type=job.content_type[:200],
        size=len(job.body),
        body=job.body,
    )
    session.add(row)
    session.flush()
    newest = row.id
    session.execute(
        DeadLetter.__table__.delete().where(DeadLetter.id <= newest - keep)  # type: ignore[attr-defined]
    )
    return newest


def release_held(session: Session, ctx: Context, now: datetime, cfg: IntakeSettings) -> int:
    """Held groups whose wait is over (no storm came) are triaged and decided one by one."""
    intake_lock(session)
    stmt = select(AlertGroup).where(AlertGroup.outcome == "pending", AlertGroup.hold_until <= now,
                                    AlertGroup.storm.is_(False))  # fmt: skip
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    groups = list(session.scalars(stmt.limit(200)))
    batch = Batch(session, ctx, now, cfg)
    for group in groups:
        alerts = list(session.scalars(select(Alert).where(Alert.group_id == group.id).order_by(Alert.id)))
        firing = [a for a in alerts if a.status == "firing"] or alerts
        if not firing:
            group.outcome, group.hold_until = "none", None
            continue
        verdict = tri.classify(ctx.policy, [signal(a) for a in firing])
        group.triage = {**group.triage, "held": f"held until {now:%H:%M:%S} UTC; no storm followed"}
        recs = [Rec(a.id, a.key, a.status, a.count, a.service, a.summary, a.group_id, a.incident_id, a.silence_id)
                for a in firing]  # fmt: skip
        batch.decide(group, verdict, recs)
    batch.finish()
    return len(groups)


def close_stale(session: Session, ctx: Context, now: datetime) -> int:
    """Close groups nothing can join any more: past the window without an incident, or with a finished one."""
    window = ctx.policy.classification.grouping.window.as_timedelta()
    finished = select(Incident.id).where(Incident.status.not_in(OPEN))
    closed = session.execute(
        update(AlertGroup)
        .where(
            AlertGroup.status == "open",
            (
                (AlertGroup.incident_id.is_(None))
                & AlertGroup.outcome.in_(("ticket", "none", "dismissed"))
                & (AlertGroup.last_alert_at < now - window)
            )
            | AlertGroup.incident_id.in_(finished),
        )
        .values(status="closed", closed_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(closed.rowcount or 0)  # type: ignore[attr-defined]


def next_hold(session: Session) -> datetime | None:
    return session.scalar(select(func.min(AlertGroup.hold_until)).where(AlertGroup.outcome == "pending"))


def _details(item: Incoming) -> dict[str, Any]:
    details: dict[str, Any] = {}
    if item.description:
        details["description"] = item.description[:10_000]
    if item.users is not None:
        details["users"] = item.users
    return details


def _signature(item: Incoming) -> tuple[Any, ...]:
    """What triage reads of an alert: equal signatures triage alike, so a batch classifies each once."""
    return (item.summary, item.description, item.service, item.severity_hint, item.metric, item.value,
            item.threshold, item.users, tuple(sorted(item.labels.items())))  # fmt: skip


def _ghost(item: Incoming) -> Rec:
    return Rec(None, item.key, item.status, 0, item.service, item.summary, None, None, None)


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
