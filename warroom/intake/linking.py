"""Alerts and incidents: a new group joins its service's open incident, a group's alerts point at an incident.

A mixin of `batch.Batch`, and `count_alerts`, the alert count and services an incident shows.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select, update

from warroom.incidents import service as incidents
from warroom.incidents.record import TITLE_LIMIT
from warroom.intake.batch_state import OPEN, BatchState, Rec
from warroom.intake.decisions import plain
from warroom.intake.normal import Incoming
from warroom.store.intake_models import Alert, AlertGroup
from warroom.store.models import Incident


class LinkingMixin(BatchState):
    """Which incident a group's alerts belong to, and what each incident counts of them."""

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
            self.actor,
            "alerts_joined",
            plain(f"Alert joined: {item.summary}", TITLE_LIMIT),
            f"alert group {group.id} ({item.source}) for service {item.service}; it pages no one again",
            {"group_id": group.id, "source": item.source, "fingerprint": item.fingerprint},
        )
        return group

    def _link(self, group: AlertGroup, incident_id: str) -> None:
        """Point a group's firing alerts (stored and in this batch) at an incident."""
        stored = 0
        if group not in self.opened:
            result = self.session.execute(
                update(Alert)
                .where(Alert.group_id == group.id, Alert.status == "firing", Alert.incident_id.is_(None))
                .values(incident_id=incident_id)
                .execution_options(synchronize_session=False)
            )
            stored = result.rowcount or 0  # type: ignore[attr-defined]
        for r in self.grouped.get(group.id, ()):
            if r.group_id == group.id and r.incident_id is None and r.status == "firing":
                r.incident_id = incident_id
                self._set(r, incident_id=incident_id)
                if r.item is not None:
                    stored += 1
        self.counts[incident_id] = self.counts.get(incident_id, 0) + stored
        self.services.setdefault(incident_id, set()).update(group.services)

    def _count(self, incident_id: str, service: str | None) -> None:
        self.counts[incident_id] = self.counts.get(incident_id, 0) + 1
        if service:
            self.services.setdefault(incident_id, set()).add(service)

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
