"""Where a new alert goes: its group key, the open group it joins, or the group it opens (or holds).

A mixin of `batch.Batch`; the state it reads and writes is declared on `batch_state.BatchState`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from warroom.intake.batch_state import BatchState, Rec
from warroom.intake.decisions import signal
from warroom.intake.normal import Incoming
from warroom.policy import triage as tri
from warroom.store.intake_models import AlertGroup


def group_key(group_by: list[str], item: Incoming) -> str:
    """The key of the group an alert joins: its values of the policy's grouping labels (`service` first its own)."""
    if group_by == ["service"]:  # the default, and most alerts
        return f"service={item.service or item.labels.get('service') or ''}"[:400]
    parts = []
    for name in group_by:
        value = item.service if name == "service" else item.labels.get(name)
        if name == "service" and not value:
            value = item.labels.get("service")
        parts.append(f"{name}={value or ''}")
    return "|".join(parts)[:400]


class GroupingMixin(BatchState):
    """Alert groups: found by key (merged and stale ones seen through), opened, and added to."""

    def group_key(self, item: Incoming) -> str:
        return group_key(self.group_by, item)

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
        """An alert joins a group: the group's count, services and incident take it in (the hot path of a storm)."""
        gid = group.id
        if gid is None:
            self.session.flush()
            gid = group.id
        incident_id = group.incident_id
        rec.group_id, rec.incident_id = gid, incident_id
        if rec.item is None:
            rec.changes.update(group_id=gid, incident_id=incident_id)
        self.grouped.setdefault(gid, []).append(rec)
        st = self.stats.get(id(group))
        if st is None:
            self.stats[id(group)] = [group, 1, at]
        else:
            st[1] += 1
            if at > st[2]:
                st[2] = at
        service = item.service
        if service:
            known = self.known.get(id(group))
            if known is None:
                known = self.known[id(group)] = set(group.services)
            if service not in known:
                known.add(service)
                group.services = [*group.services, service]
        if incident_id:
            self._count(incident_id, service)
            if incident_id not in self.fired:
                self.fired[incident_id] = f"'{item.summary}' fired"
            self._joined(group, item)
        elif group.outcome in ("ticket", "none") and group.decided_by == "triage":
            self._maybe_upgrade(group, item)

    def _apply_stats(self) -> None:
        for group, added, latest in self.stats.values():
            group.alert_count += added
            if latest > group.last_alert_at:
                group.last_alert_at = latest
        self.stats.clear()

    def _new_group(self, key: str, storm: bool, at: datetime) -> AlertGroup:
        group = AlertGroup(
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
        self.opened.add(group)
        return group

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

    def _another_opened(self, at: datetime) -> bool:
        since = at - self.hold
        found = self.session.scalar(
            select(AlertGroup.id).where(AlertGroup.opened_at >= since, AlertGroup.storm.is_(False)).limit(1)
        )
        return found is not None
