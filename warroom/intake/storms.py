"""Alert storms: many alerts within the storm window become one storm group, one incident and one page.

A mixin of `batch.Batch`: detecting a storm, its group, and the held groups it takes in.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from warroom.incidents import service as incidents
from warroom.intake.batch_state import OPEN, BatchState, Rec
from warroom.intake.decisions import signal
from warroom.intake.normal import Incoming
from warroom.policy import triage as tri
from warroom.store.intake_models import Alert, AlertGroup
from warroom.store.models import Incident

STORM_KEY = "storm"


class StormMixin(BatchState):
    """The open storm group, the recent-alert count that starts one, and what starting one does."""

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
                    self.actor,
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
            self.known.pop(id(storm), None)
            if storm.incident_id:
                self._link(g, storm.incident_id)
