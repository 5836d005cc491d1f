"""What the parts of a batch share: its alert rows (`Rec`), its state, and the calls they make on one another.

Grouping, storms, decisions and linking are mixins over `BatchState`; `batch.Batch` joins them into one.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from warroom.domain.lifecycle import OPEN_STATUSES
from warroom.intake import silences as sil
from warroom.intake.config import IntakeSettings
from warroom.intake.normal import Incoming
from warroom.policy import triage as tri
from warroom.policy.model import Policy, StormRule
from warroom.store.intake_models import AlertGroup
from warroom.store.models import Incident
from warroom.store.unit import Context

OPEN = frozenset(s.value for s in OPEN_STATUSES)
Sample = dict[tuple[Any, ...], Incoming]
"""alerts kept for the escalation check, by what triage reads of them (`decisions._signature`)"""


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
    item: Incoming | None = None
    """a new alert: what it is made from (None: a stored alert this batch loaded)"""
    changes: dict[str, Any] = field(default_factory=dict)
    """columns to update on a loaded alert"""
    integration: str = ""
    first: datetime | None = None
    """a new alert: when it was received (its first_seen)"""
    last: datetime | None = None
    value: float | None = None
    resolved_at: datetime | None = None
    ends_at: datetime | None = None


class BatchState(ABC):
    """The state of one transaction over a batch of submissions (set by `Batch.__init__`)."""

    session: Session
    ctx: Context
    policy: Policy
    now: datetime
    cfg: IntakeSettings
    group_by: list[str]
    window: timedelta
    storm_rule: StormRule | None
    hold: timedelta
    pg: bool
    stats: dict[int, list[Any]]
    """per group (by object id): [group, alerts added, latest alert time], applied in one go"""
    found: dict[str, AlertGroup]
    """group key → the group its alerts join in this batch"""
    checked: set[int]
    """groups found usable in this batch (a batch spans milliseconds: no need to look again)"""
    preloaded: set[str]
    """group keys whose open group (if any) was loaded up front"""
    recs: dict[str, Rec]
    rows: list[Rec]
    """every alert this batch loaded or created, in order (a key can have a resolved and a new row)"""
    storm_loaded: bool
    groups: dict[str, AlertGroup]
    incidents: dict[str, Incident]
    storm: AlertGroup | None
    recent: int | None
    actor: str
    """who what the batch does now is recorded as: the integration whose alert it is applying"""
    touched: dict[str, str]
    """incident id → the integration whose alert last fired into or resolved in it in this batch"""
    silences: list[sil.Active]
    fired: dict[str, str]
    """incident id → why (a new firing signal joined it in this batch)"""
    resolved: set[str]
    counts: dict[str, int]
    services: dict[str, set[str]]
    serving: dict[str, str | None]
    """service → its newest open incident's id (looked up once per batch)"""
    grouped: dict[int, list[Rec]]
    """group id → the alerts of this batch in it (loaded or attached), for pointing them at an incident"""
    known: dict[int, set[str]]
    """per group (by object id): its services as a set, so an alert's service is looked up, not searched"""
    verdicts: dict[tuple[Any, ...], tri.Triage]
    """one alert's triage by what triage reads of it (`decisions._signature`)"""
    ranks: dict[str, int]
    hints: dict[str | None, tuple[str, int] | None]
    """a sender's severity word → the policy level it points at (`triage.hint_severity`)"""
    opened: set[AlertGroup]
    """groups this batch created: no stored alert is in them yet (the batch's alerts go in when it finishes)"""
    joined: dict[int, tuple[AlertGroup, Sample, Sample]]
    """per group with an incident (by object id): distinct new alerts that joined it in this batch, and
    those beyond the sample that their sender rates worse (see `DecisionMixin._joined`)"""

    # --- shared helpers -----------------------------------------------------------------------------

    def _set(self, rec: Rec, **changes: Any) -> None:
        """Columns of a loaded alert to update (a new alert's row is written from its fields at the end)."""
        if rec.item is None:
            rec.changes.update(changes)

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

    # --- what one part calls on another (each defined by exactly one mixin) ----------------------------

    @abstractmethod
    def _new_group(self, key: str, storm: bool, at: datetime) -> AlertGroup:
        """grouping.py"""

    @abstractmethod
    def _attach(self, group: AlertGroup, rec: Rec, item: Incoming, at: datetime) -> None:
        """grouping.py"""

    @abstractmethod
    def _apply_stats(self) -> None:
        """grouping.py"""

    @abstractmethod
    def _storm_group(self, at: datetime) -> AlertGroup | None:
        """storms.py"""

    @abstractmethod
    def _start_storm(self, rec: Rec | None, item: Incoming, at: datetime) -> AlertGroup:
        """storms.py"""

    @abstractmethod
    def decide(self, group: AlertGroup, verdict: tri.Triage, recs: list[Rec], by: str = "triage") -> None:
        """decisions.py"""

    @abstractmethod
    def _maybe_upgrade(self, group: AlertGroup, item: Incoming) -> None:
        """decisions.py"""

    @abstractmethod
    def _joined(self, group: AlertGroup, item: Incoming) -> None:
        """decisions.py"""

    @abstractmethod
    def _open_incident_for(self, service: str | None) -> Incident | None:
        """linking.py"""

    @abstractmethod
    def _join(self, group: AlertGroup, inc: Incident, rec: Rec, item: Incoming, at: datetime) -> AlertGroup:
        """linking.py"""

    @abstractmethod
    def _link(self, group: AlertGroup, incident_id: str) -> None:
        """linking.py"""

    @abstractmethod
    def _count(self, incident_id: str, service: str | None) -> None:
        """linking.py"""
