"""Run a scenario on a simulated clock against a fresh throwaway SQLite database.

The drill calls the same incident use cases as the API and CLI and runs the same engine loop;
between events it jumps the clock from one due timer to the next, so 72 simulated hours take
a moment. Every timeline entry becomes an action in the output, in time order.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, event, select

from warroom.domain.clock import FakeClock, iso_z
from warroom.domain.errors import Invalid, ServiceError
from warroom.engine import planner
from warroom.engine.loop import EngineLoop
from warroom.incidents import service
from warroom.incidents.schemas import DeclareRequest, ImpactRequest
from warroom.intake import service as intake
from warroom.oncall import service as oncall
from warroom.oncall.directory import Directory
from warroom.oncall.schemas import LayerRequest
from warroom.policy.model import Policy
from warroom.postmortems import service as postmortems
from warroom.store.db import Database
from warroom.store.models import Incident, TimelineEntry
from warroom.store.postmortem_models import PostmortemVersion
from warroom.store.unit import Context

from .scenario import Event, LayerSpec, Scenario, ScenarioError, at_of


@dataclass
class Action:
    at: datetime
    kind: str
    incident: str | None
    fields: dict[str, Any] = field(default_factory=dict)
    text: str = ""

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"at": iso_z(self.at), "kind": self.kind, "incident": self.incident}
        out.update(self.fields)
        out["text"] = self.text
        return out


@dataclass
class DrillResult:
    policy: str
    start: datetime
    until: datetime
    actions: list[Action]
    incidents: list[str]
    refs: dict[str, str] = field(default_factory=dict)
    """names events gave incidents (a declare's or an alert's ref) → incident id"""
    postmortems: dict[str, str] = field(default_factory=dict)
    """incident id → the text of its stored postmortem's latest version, as the drill left it"""


# --- a migrated template database, copied per drill ------------------------------------------

_template_lock = threading.Lock()
_template: Path | None = None


def _template_db() -> Path:
    """A database migrated to head, built once per set of migrations and shared by later drills."""
    global _template
    with _template_lock:
        if _template is None or not _template.exists():
            from warroom.store.migrate import MIGRATIONS

            versions = sorted((MIGRATIONS / "versions").glob("*.py"))
            tag = hashlib.sha256(
                "".join(f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in versions).encode()
            ).hexdigest()[:16]
            path = Path(tempfile.gettempdir()) / f"warroom-drill-template-{os.getuid()}-{tag}.db"
            if not path.exists():
                from warroom.store.migrate import upgrade

                folder = Path(tempfile.mkdtemp(prefix="warroom-drill-template-"))
                fresh = folder / "template.db"
                upgrade(f"sqlite:///{fresh}")
                os.replace(fresh, path)  # atomic: a concurrent drill sees the old name or the whole file
                shutil.rmtree(folder, ignore_errors=True)
            _template = path
        return _template


def _fast(dbapi_conn: Any, _record: Any) -> None:
    # A drill database is thrown away afterwards: durability buys nothing here.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA synchronous=OFF")
    cur.close()


# --- mapping the timeline to actions ----------------------------------------------------------

# SQLite stores the engine's UTC times as ISO text, so the earliest one is the smallest string.
_NEXT_DUE_SQL = (
    "SELECT min(at) FROM (SELECT min(due_at) AS at FROM engine_timers WHERE state = 'pending' "
    "UNION ALL SELECT min(claimed_until) FROM engine_timers WHERE state = 'claimed')"
)
# Alert groups held back while a storm may be starting (the same rows `release_held` decides).
_NEXT_HOLD_SQL = (
    "SELECT min(hold_until) FROM alert_groups WHERE outcome = 'pending' AND storm = 0 AND hold_until IS NOT NULL"
)
_ALERT_INCIDENTS_SQL = "SELECT id FROM incidents WHERE source = 'alert' ORDER BY declared_at, rowid"
_TIMELINE = TimelineEntry.__table__
_NEW_ENTRIES = select(_TIMELINE).where(_TIMELINE.c.id > bindparam("seen")).order_by(_TIMELINE.c.id)

_FIELDS: dict[str, tuple[str, ...]] = {
    "page": ("target", "person", "tier", "channels", "round"),
    "reminder": ("audience", "overdue", "event"),
    "sla_breach": ("clock", "deadline"),
    "escalation": ("target", "person", "reason", "condition"),
    "postmortem_due": ("due_at",),
    "postmortem_reminder": ("due_at", "overdue", "remaining_seconds"),
    "postmortem_publish_due": ("due_at", "publish_by"),
    "phase_overrun": ("phase",),
    "watch_passed": ("since", "window"),
    "unacknowledged": ("policy",),
    "update": ("audience", "number"),
    "hypothesis": ("number", "confidence", "status"),
    "flag": ("flag", "value"),
    "severity_changed": ("from", "to"),
    "status": ("from", "to"),
    "role": ("role", "person"),
    "decision": ("path",),
    "impact": ("impact",),
    "triage": ("severity", "confidence", "outcome", "below_threshold"),
    "triage_escalation": ("escalate_to", "confidence", "threshold"),
    "runbook": ("runbook", "symptom"),
    "alert_storm": ("alerts", "window"),
    "alerts_joined": ("group_id", "source", "fingerprint"),
    "action_item": ("item", "owner", "status"),
    "action_item_reminder": ("item", "owner", "to", "due_at", "overdue_seconds", "repeat"),
    "postmortem_saved": ("version",),
    "postmortem_status": ("status", "version"),
}


def to_action(e: Any) -> Action | None:
    """A timeline entry (ORM row or plain row) as a drill action; None for entries another one covers."""
    data = e.data or {}
    kind = e.kind
    fields: dict[str, Any] = {}
    if kind == "declared":
        fields = {"severity": data.get("severity"), "by": e.actor}
    elif kind == "acknowledged":
        fields = {"by": e.actor}
    elif kind == "status" and data.get("to") in ("mitigated", "resolved"):
        return None  # the mitigation / resolution entry of the same change says it better
    elif kind == "mitigation":
        if data.get("worked"):
            kind, fields = "mitigated", {"by": e.actor, "strategy": data.get("strategy")}
        else:
            kind = "mitigation_failed"
            fields = {"by": e.actor, "strategy": data.get("strategy"), "failures": data.get("failures")}
    elif kind == "resolved":
        fields = {"by": e.actor, "forced": bool(data.get("forced"))}
    else:
        fields = {k: data[k] for k in _FIELDS.get(kind, ()) if k in data}
        if kind in ("update", "hypothesis", "status", "role", "decision", "severity_changed", "flag", "impact"):
            fields["by"] = e.actor
    text = e.what + (f" — {e.outcome}" if e.outcome else "")
    return Action(e.at, kind, e.incident_id, fields, text)


def auto_mitigated(e: Any) -> Action:
    """A move to mitigated without a mitigation entry: the incident's alerts all resolved."""
    fields = {"by": e.actor, "strategy": None, "auto": True}
    return Action(e.at, "mitigated", e.incident_id, fields, "Mitigated: " + (e.outcome or e.what))


# --- running ----------------------------------------------------------------------------------


class Drill:
    def __init__(self, scenario: Scenario, policy: Policy, folder: Path) -> None:
        self.scenario = scenario
        self.policy = policy
        path = folder / "drill.db"
        shutil.copyfile(_template_db(), path)
        self.db = Database(f"sqlite:///{path}")
        event.listen(self.db.engine, "connect", _fast)
        self.reader = sqlite3.connect(str(path), check_same_thread=False)
        self.clock = FakeClock(scenario.start)
        # Nothing is delivered in a drill: the planner hears of changes (no notification outbox), and the
        # postmortem record of its publication.
        self.ctx = Context(self.db, policy, self.clock, subscribers=(postmortems.on_entries, planner.on_entries))
        self.loop = EngineLoop(
            self.ctx,
            worker_id="drill",
            directory=Directory(expand_oncall(policy, scenario.oncall)),
            batch=500,
            lease=timedelta(days=3650),
            strict=True,
        )
        self.actions: list[Action] = []
        self.incidents: list[str] = []
        """every incident in declaration order, whether a declare event or an alert declared it"""
        self.declared: list[str] = []
        """the incidents declare events declared: unnamed events act on the last of these"""
        self.refs: dict[str, str] = {}
        self.seen = 0
        self.intake = False
        """an alert event ran: from then on held alert groups are released as the clock passes them"""
        self.waiting: dict[int, str] = {}
        """held alert group → the ref its alert event gave, bound once triage declares (or merges) it"""
        self.unbound: dict[str, str] = {}
        """refs alert events gave that no incident took yet → why, for a clear error"""

    def run(self) -> DrillResult:
        try:
            self._schedules()
            for ev in self.scenario.parsed_events():
                at = self.scenario.start + ev.offset
                self._advance(at)
                self._apply(ev, at)
                self._advance(at)
            self._advance(self.scenario.end())
            self._collect()
            spec = self.scenario
            return DrillResult(
                self.policy.name,
                spec.start,
                spec.end(),
                self.actions,
                self.incidents,
                dict(self.refs),
                self._postmortems(),
            )
        finally:
            self.reader.close()
            self.db.dispose()

    def _postmortems(self) -> dict[str, str]:
        with self.db.read() as session:
            rows = session.scalars(select(PostmortemVersion).order_by(PostmortemVersion.id))
            return {v.incident_id: v.text for v in rows}  # the latest version of each wins

    def _schedules(self) -> None:
        for name, spec in self.scenario.schedules.items():
            layers = spec if isinstance(spec, list) else [spec]
            for layer in layers:
                try:
                    oncall.set_layer(self.ctx, name, _layer_request(layer), position=layer.layer)
                except ServiceError as exc:
                    raise ScenarioError(f"schedules.{name}: {exc.detail}") from None

    def _next_due(self) -> datetime | None:
        """The engine's next due time, read on a plain connection: the drill asks after every step."""
        row = self.reader.execute(_NEXT_DUE_SQL).fetchone()
        if row is None or row[0] is None:
            return None
        return datetime.fromisoformat(row[0]).replace(tzinfo=UTC)

    def _next_hold(self) -> datetime | None:
        row = self.reader.execute(_NEXT_HOLD_SQL).fetchone()
        if row is None or row[0] is None:
            return None
        return datetime.fromisoformat(row[0]).replace(tzinfo=UTC)

    def _advance(self, until: datetime) -> None:
        """Fire every timer due up to `until`, one due time after another.

        Once alerts came in, a held alert group (a storm may be starting) is decided when the clock
        passes its hold, before the timers due at the same moment, as the server's writer thread would.
        """
        while True:
            due = self._next_due()
            hold = self._next_hold() if self.intake else None
            if hold is not None and hold <= until and (due is None or hold <= due):
                self.clock.set(max(hold, self.clock.now()))
                self._release()
                continue
            if due is None or due > until:
                break
            self.clock.set(max(due, self.clock.now()))
            self.loop.tick()
        self.clock.set(max(until, self.clock.now()))

    def _release(self) -> None:
        if not intake.release_held_groups(self.ctx):
            raise RuntimeError(f"alert groups held until {self._next_hold()} were not released")
        self._adopt()

    def _collect(self) -> None:
        """Turn new timeline entries into actions (entry ids grow with time, so order is kept)."""
        with self.db.engine.connect() as conn:
            rows = list(conn.execute(_NEW_ENTRIES, {"seen": self.seen}))
        mitigations: set[tuple[str, datetime]] = set()
        for row in rows:
            self.seen = max(self.seen, row.id)
            if row.kind == "mitigation":
                mitigations.add((row.incident_id, row.at))
            elif row.kind == "status" and (row.data or {}).get("to") == "mitigated":
                if (row.incident_id, row.at) not in mitigations:
                    # No responder's mitigation in the same change: every alert resolved (intake).
                    self.actions.append(auto_mitigated(row))
                continue
            action = to_action(row)
            if action is not None:
                self.actions.append(action)

    def _default(self) -> str | None:
        """The last incident a declare event declared; with none, the last one an alert declared.

        So an alert event added to a scenario never changes which incident its other events act on.
        """
        if self.declared:
            return self.declared[-1]
        return self.incidents[-1] if self.incidents else None

    def _incident(self, ev: Event) -> str:
        ref = ev.incident
        if ref is None:
            default = self._default()
            if default is None:
                raise ScenarioError(f"{ev.label()}: no incident has been declared yet")
            return default
        if isinstance(ref, int) and not isinstance(ref, bool):
            if not 1 <= ref <= len(self.incidents):
                so_far = len(self.incidents)
                raise ScenarioError(f"{ev.label()}: incident {ref} has not been declared (so far {so_far})")
            return self.incidents[ref - 1]
        key = str(ref)
        if key in self.refs:
            return self.refs[key]
        if key.upper() in self.incidents:
            return key.upper()
        if key in self.unbound:
            raise ScenarioError(f"{ev.label()}: no incident called '{key}': {self.unbound[key]}")
        raise ScenarioError(f"{ev.label()}: no incident called '{key}'")

    def _apply(self, ev: Event, at: datetime) -> None:
        a = dict(ev.args)
        by = str(a.pop("by", "drill"))
        try:
            if ev.action == "alert":
                self._alert(ev, at)
                return
            if ev.action == "declare":
                ref = a.pop("ref", None)
                view = service.declare(self.ctx, DeclareRequest(by=by, **a))
                self.incidents.append(view.id)
                self.declared.append(view.id)
                if ref is not None:
                    self.refs[str(ref)] = view.id
                return
            inc = self._incident(ev)
            self._act(ev, inc, by, a)
        except ServiceError as exc:
            self._collect()
            self._refused(ev, at, exc)
        except ScenarioError:
            raise
        except KeyError as exc:
            raise ScenarioError(f"{ev.label()}: missing field {exc}") from None
        except (TypeError, ValueError) as exc:
            raise ScenarioError(f"{ev.label()}: {exc}") from None

    def _alert(self, ev: Event, at: datetime) -> None:
        """Post a sender's payload through the intake pipeline, as its webhook would, and show each alert's fate."""
        a = ev.args
        self.intake = True
        self._collect()  # each alert's line comes before what it caused
        try:
            outcomes = intake.ingest_payload(self.ctx, a["source"], a["payload"], "drill", a.get("headers"))
        except Invalid as exc:
            raise ScenarioError(f"{ev.label()}: {a['source']} payload: {exc.detail}") from None
        ids = [o["id"] for o in outcomes if o["id"] is not None]
        rows = self.reader.execute(
            "SELECT a.id, a.summary, a.service, g.outcome FROM alerts a LEFT JOIN alert_groups g "
            f"ON g.id = a.group_id WHERE a.id IN ({', '.join('?' * len(ids))})",
            ids,
        ).fetchall()
        known = {r[0]: r[1:] for r in rows}
        for o in outcomes:
            summary, o["service"], o["triage"] = known.get(o["id"], (o["fingerprint"], None, None))
            fields = {"source": a["source"], "fingerprint": o["fingerprint"], "status": o["status"],
                      "outcome": o["outcome"], "service": o["service"], "group": o["group_id"],
                      "triage": o["triage"]}  # fmt: skip
            text = f"Alert {o['status']}: {summary} — {o['outcome']}"
            if o["incident_id"]:
                text += f", {o['incident_id']}"
            elif o["triage"] == "pending":
                text += ", held (a storm may be starting)"
            elif o["triage"]:
                text += f", triage: {o['triage']}"
            self.actions.append(Action(at, "alert", o["incident_id"], fields, text))
        self._adopt()
        if a.get("ref") is not None:
            self._name(str(a["ref"]), ev, outcomes)

    def _name(self, ref: str, ev: Event, outcomes: list[dict[str, Any]]) -> None:
        """Bind an alert event's ref to the incident its alerts declared or joined, now or after a hold."""
        self.refs.pop(ref, None)
        linked = next((o["incident_id"] for o in outcomes if o["incident_id"]), None)
        held = [o["group_id"] for o in outcomes if o["triage"] == "pending"]
        if linked is not None:
            self.refs[ref] = linked
            self.unbound.pop(ref, None)
        elif held:
            self.waiting[held[0]] = ref
            self.unbound[ref] = f"the alerts of {ev.label()} are held back, waiting to see whether a storm starts"
        else:
            why = sorted({f"triage: {o['triage']}" if o["triage"] else o["outcome"] for o in outcomes})
            self.unbound[ref] = f"the alerts of {ev.label()} declared no incident ({', '.join(why)})"

    def _adopt(self) -> None:
        """Incidents the intake declared join the drill's list, in declaration order; refs waiting on them bind."""
        have = set(self.incidents)
        for (inc,) in self.reader.execute(_ALERT_INCIDENTS_SQL):
            if inc not in have:
                self.incidents.append(inc)
        if self.waiting:
            marks = ", ".join("?" * len(self.waiting))
            rows = self.reader.execute(
                f"SELECT id, incident_id, outcome FROM alert_groups WHERE id IN ({marks})", list(self.waiting)
            ).fetchall()
            for group, inc, outcome in rows:
                if inc is not None:
                    ref = self.waiting.pop(group)
                    self.refs[ref] = inc
                    self.unbound.pop(ref, None)
                elif outcome != "pending":
                    ref = self.waiting.pop(group)
                    self.unbound[ref] = f"its alert group was held, then triaged as {outcome}"

    def _act(self, ev: Event, inc: str, by: str, a: dict[str, Any]) -> None:
        ctx = self.ctx
        match ev.action:
            case "ack":
                service.acknowledge(ctx, inc, by)
            case "update":
                service.post_update(ctx, inc, a.pop("audience", "internal"), a.pop("text"), by, a.pop("next", ""))
            case "hypothesis":
                service.add_hypothesis(ctx, inc, a.pop("text"), a.pop("evidence", ""), int(a.pop("confidence", 50)), by)
            case "hypothesis_status":
                service.set_hypothesis_status(ctx, inc, int(a.pop("number")), a.pop("status"), by, a.pop("note", ""))
            case "mitigate":
                service.mitigate(ctx, inc, a.pop("strategy"), bool(a.pop("worked", True)), by, a.pop("note", ""))
            case "resolve":
                service.resolve(ctx, inc, by, bool(a.pop("force", False)), a.pop("reason", ""))
            case "flag":
                flags = a.pop("flags", None) or {k: bool(a.pop(k)) for k in list(a)}
                service.set_flags(ctx, inc, flags, by)
            case "severity":
                service.change_severity(ctx, inc, str(a.pop("to")), by, a.pop("reason", ""))
            case "status":
                service.set_status(ctx, inc, a.pop("to"), by, a.pop("note", ""))
            case "impact":
                service.set_impact(ctx, inc, ImpactRequest(by=by, **a))
                a.clear()
            case "role":
                service.assign_role(ctx, inc, a.pop("role"), a.pop("person"), by)
            case "decide":
                service.decide(ctx, inc, a.pop("path"), a.pop("reason", ""), by)
            case "reopen":
                service.reopen(ctx, inc, by, a.pop("reason", ""))
            case "close":
                service.close(ctx, inc, by)
            case "note":
                service.log(ctx, inc, a.pop("text"), by, a.pop("outcome", ""))
            case "action_item":
                due = a.pop("due", None)
                due_at = at_of(self.scenario.start, due, f"{ev.label()}: due") if due is not None else None
                text, owner, link = a.pop("text"), a.pop("owner", None), a.pop("link", "")
                postmortems.add_action_item(ctx, inc, text, by, owner, due_at, link)
            case "action_item_change":
                self._change_item(ev, by, a)
            case "postmortem":
                step = a.pop("do", "start")
                if step == "start":
                    postmortems.start(ctx, inc, by)
                elif step == "save":
                    postmortems.save(ctx, inc, a.pop("text"), by, a.pop("note", ""))
                elif step in ("review", "draft"):
                    postmortems.set_status(ctx, inc, "in_review" if step == "review" else "draft", by)
                elif step == "publish":
                    postmortems.publish(ctx, inc, by)
                else:
                    raise ScenarioError(f"{ev.label()}: do must be start, save, review, draft or publish, not {step!r}")
        if a:
            raise ScenarioError(f"{ev.label()}: unknown field(s) {', '.join(sorted(a))}")

    def _change_item(self, ev: Event, by: str, a: dict[str, Any]) -> None:
        """Change an action item by its number (`Action item N` on the timeline: ids count from 1 in a drill)."""
        item = int(a.pop("item"))
        due = a.pop("due", None)
        due_at = at_of(self.scenario.start, due, f"{ev.label()}: due") if due is not None else None
        changes = {k: a.pop(k) for k in ("text", "owner", "status", "link") if k in a}
        postmortems.change_action_item(self.ctx, item, by, due_at=due_at, **changes)

    def _refused(self, ev: Event, at: datetime, exc: ServiceError) -> None:
        inc = self._default() if ev.incident is None else self._incident(ev)
        if ev.action == "resolve" and inc is not None:
            with self.db.unit() as session:
                row = session.get(Incident, inc)
                left = service.quiet_remaining(self.policy, row, at) if row is not None else 0
            if left:
                self.actions.append(
                    Action(at, "resolve_refused", inc, {"reason": exc.detail, "remaining": left}, exc.detail)
                )
                return
        self.actions.append(Action(at, "refused", inc, {"event": ev.action, "reason": exc.detail}, exc.detail))


def expand_oncall(policy: Policy, oncall: dict[str, str]) -> dict[str, str]:
    """Pin drill people to targets: by target name, by schedule ref, or by a word of either (`primary`)."""
    out: dict[str, str] = {}
    for key, person in oncall.items():
        matched = [t for t, spec in policy.targets.items() if key in (t, spec.ref)]
        if not matched:
            matched = [
                t
                for t, spec in policy.targets.items()
                if key in t.split("-") or (spec.via == "schedule" and spec.ref and key in spec.ref.split("-"))
            ]
        if not matched:
            known = ", ".join(policy.targets) or "none"
            raise ScenarioError(f"oncall: '{key}' matches no target of policy {policy.name} (targets: {known})")
        for target in matched:
            out.setdefault(target, str(person))
    for key, person in oncall.items():
        if key in policy.targets:
            out[key] = str(person)
    return out


def _layer_request(spec: LayerSpec) -> LayerRequest:
    return LayerRequest(
        members=spec.members,
        length=spec.length,
        handoff=spec.handoff,
        start=date.fromisoformat(spec.start) if spec.start else None,
        timezone=spec.timezone,
        days=spec.days,
        hours=spec.hours,
    )


def run(scenario: Scenario, policy: Policy) -> DrillResult:
    with tempfile.TemporaryDirectory(prefix="warroom-drill-") as folder:
        return Drill(scenario, policy, Path(folder)).run()
