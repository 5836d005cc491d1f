"""Which pending requests are applied first: work that can page someone goes before more of a flood.

A request is routine when every alert in it fires into a group that already has an open incident and
its sender rates none of them worse than that incident; anything else (a new group, a worse severity,
a resolve, an acknowledgement, a body that no longer parses) can change who is paged, so it goes first.
Two requests that share an alert key, a group or the incident their alerts join keep their order,
so the reordering never changes what applying them does, only when.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from warroom.intake.batch_state import OPEN
from warroom.intake.grouping import group_key
from warroom.intake.normal import Incoming
from warroom.intake.storms import STORM_KEY
from warroom.policy import triage as tri
from warroom.policy.model import Policy
from warroom.store.db import chunks
from warroom.store.intake_models import AlertGroup
from warroom.store.models import Incident

LIMIT = 100_000
"""requests remembered at most; past it the memory starts afresh (order falls back to arrival order)"""
KEEP_PARSED = 50_000
"""alerts parsed for their priority kept until they are applied, at most (the rest are parsed again then)"""


@dataclass(frozen=True, slots=True)
class Shape:
    """What decides whether a request is routine: the same for every request of a flood."""

    plain: bool
    """every alert in it fires (no resolve, no acknowledgement, and its body parsed)"""
    groups: frozenset[str]
    hints: frozenset[str]


@dataclass(slots=True)
class Bucket:
    shape: Shape
    """the one instance of its shape that the backlog keeps (a flood's requests each make an equal one)"""
    rids: list[int] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)


def shape_of(policy: Policy, items: list[Incoming] | None) -> tuple[Shape, set[str]]:
    """A request's shape and alert keys (None: its body no longer parses; it goes first, to fail)."""
    if items is None:
        return Shape(False, frozenset(), frozenset()), set()
    by = policy.classification.grouping.by
    plain = all(i.status == "firing" for i in items)
    groups = frozenset(group_key(by, i) for i in items)
    hints = frozenset(i.severity_hint for i in items if i.severity_hint)
    return Shape(plain and bool(items), groups, hints), {i.key for i in items}


class Backlog:
    """The pending requests this process has read, bucketed by shape, each bucket in id order."""

    def __init__(self) -> None:
        self.buckets: dict[Shape, Bucket] = {}
        self.where: dict[int, Shape] = {}
        self.sizes: dict[int, int] = {}
        self.frontier = 0
        """the highest request id read so far"""
        self.sharing: dict[str, set[Shape]] = {}
        """alert key or group key → the shapes of requests that carry it"""
        self.parsed: dict[int, list[Incoming]] = {}
        """the alerts of requests read for their priority, until they are applied (bounded by KEEP_PARSED)"""
        self.kept = 0
        self.cover: Cover | None = None
        """the open incidents' cover as the last pass found it"""
        self.covered_at = 0.0
        """when (monotonic) the last pass found it"""

    def __contains__(self, rid: int) -> bool:
        return rid in self.where

    def __len__(self) -> int:
        return len(self.where)

    def add(self, rid: int, alerts: int, shape: Shape, keys: set[str], items: list[Incoming] | None = None,
            advance: bool = True) -> None:  # fmt: skip
        """A pending request read; `advance` moves the frontier (a request read as it was committed does not:
        another replica's may lie below it, unread). One already held stays as it is: held twice, forgetting
        it would leave it in a bucket with no size, and the next pass that orders the backlog would fail."""
        if rid in self.where:
            return
        if len(self.where) >= LIMIT:
            self.__init__()  # type: ignore[misc]
        if items is not None and self.kept + len(items) <= KEEP_PARSED:
            self.parsed[rid] = items
            self.kept += len(items)
        bucket = self.buckets.get(shape)
        if bucket is None:
            bucket = self.buckets[shape] = Bucket(shape)
        # The bucket's instance from here on: sets find it by identity instead of comparing its group keys.
        shape = bucket.shape
        if not bucket.rids or bucket.rids[-1] < rid:
            bucket.rids.append(rid)
        else:  # a request committed late by another replica, with a lower id
            bisect.insort(bucket.rids, rid)
        bucket.keys |= keys
        for k in (*keys, *shape.groups):
            self.sharing.setdefault(k, set()).add(shape)
        self.where[rid] = shape
        self.sizes[rid] = alerts
        if advance:
            self.frontier = max(self.frontier, rid)

    def take(self, rid: int) -> list[Incoming] | None:
        """A request's alerts as its priority read parsed them, if they were kept (they go from here)."""
        items = self.parsed.pop(rid, None)
        if items is not None:
            self.kept -= len(items)
        return items

    def forget(self, rids: list[int]) -> None:
        """Requests applied (here or by another replica): each bucket loses them."""
        gone: dict[Shape, set[int]] = {}
        for rid in rids:
            self.take(rid)
            shape = self.where.pop(rid, None)
            self.sizes.pop(rid, None)
            if shape is not None:
                gone.setdefault(shape, set()).add(rid)
        for shape, ids in gone.items():
            bucket = self.buckets[shape]
            n = len(ids)
            if set(bucket.rids[:n]) == ids:  # the usual case: a bucket is applied from its front
                del bucket.rids[:n]
            else:
                bucket.rids = [r for r in bucket.rids if r not in ids]
            if not bucket.rids:
                del self.buckets[shape]
                for k in (*bucket.keys, *shape.groups):
                    holders = self.sharing.get(k)
                    if holders is not None:
                        holders.discard(shape)
                        if not holders:
                            del self.sharing[k]

    def below(self, oldest: int) -> None:
        """Forget every request older than the oldest still pending: someone applied them."""
        stale = [r for b in self.buckets.values() for r in b.rids[: bisect.bisect_left(b.rids, oldest)]]
        if stale:
            self.forget(stale)

    def urgent(self, cover: Cover) -> set[int]:
        """The requests that can page someone or change an incident.

        Of a bucket whose alerts all fire (a new group's flood), only the first: it opens the group and declares,
        and the rest are more of the same once it is applied (`order` puts them with the routine work)."""
        return {rid for s, b in self.buckets.items() if not cover.routine(s) for rid in cover.heads(s, b)}

    def order(self, cover: Cover) -> Iterator[int]:
        """Request ids in the order to apply them: urgent first, each after the routine ones it must follow.

        An urgent request follows the routine ones before it that share an alert key, a group, or the
        incident their alerts join (a resolve must not mitigate an incident before a fire that joins it)."""
        kind = {s: cover.routine(s) for s in self.buckets}
        urgent: list[list[int]] = []
        later: dict[Shape, Bucket] = {}
        for s, b in self.buckets.items():
            if kind[s]:
                later[s] = b
                continue
            head = cover.heads(s, b)
            urgent.append(head)
            if len(head) < len(b.rids):  # the rest of a new group's flood follows its first as routine work
                later[s] = Bucket(s, b.rids[len(head) :], b.keys)
        at = dict.fromkeys(later, 0)
        """per routine bucket: how many of its requests were already given"""
        joining: dict[str, set[Shape]] = {}
        for s in later:
            for incident in cover.incidents(s):
                joining.setdefault(incident, set()).add(s)
        conflicts: dict[Shape, list[Shape]] = {}
        for rid in heapq.merge(*urgent):
            shape = self.where[rid]
            if shape not in conflicts:
                near = {t for k in (*self.buckets[shape].keys, *shape.groups) for t in self.sharing.get(k, ())}
                near.update(t for i in cover.incidents(shape) for t in joining.get(i, ()))
                conflicts[shape] = [t for t in near if t in later]
            first: list[int] = []
            for t in conflicts[shape]:
                rids = later[t].rids
                start = at[t]
                while at[t] < len(rids) and rids[at[t]] < rid:  # it came first and shares alerts: it goes first
                    at[t] += 1
                first += rids[start : at[t]]
            yield from sorted(first)
            yield rid
        yield from heapq.merge(*(b.rids[at[s] :] for s, b in later.items()))


@dataclass
class Cover:
    """Per group key in the backlog, the open incident its alerts would join now, and that incident's severity."""

    policy: Policy
    joins: dict[str, tuple[str, str]]
    """group key → (incident id, severity)"""
    opened: set[str] = field(default_factory=set)
    """group keys that have an open group (with an incident or not)"""

    def heads(self, shape: Shape, bucket: Bucket) -> list[int]:
        """A bucket's requests that go first when it is not routine: all of them, or only the first when every
        alert fires and one opens a new group (it declares; the rest fire into what it opened). A resolve, a body
        that failed, or more for a group that has no incident (a ticket: any of them may be the one that pages)
        each go first."""
        if shape.plain and not shape.groups <= self.opened:
            return bucket.rids[:1]
        return bucket.rids

    def incidents(self, shape: Shape) -> set[str]:
        return {self.joins[g][0] for g in shape.groups if g in self.joins}

    def routine(self, shape: Shape) -> bool:
        """Every alert fires into an open incident, and its sender rates none worse than that incident."""
        if not shape.plain or not all(g in self.joins for g in shape.groups):
            return False
        for hint in shape.hints:
            hinted = tri.hint_severity(self.policy, hint)
            if hinted is not None and any(tri.more_severe(self.policy, hinted[0], self.joins[g][1])
                                          for g in shape.groups):  # fmt: skip
                return False
        return True


def cover(session: Session, policy: Policy, shapes: list[Shape], now: datetime) -> Cover:
    """Which open incident each group key of the backlog joins (a query per 500 keys, and one for a storm).

    A group key with an open group of its own joins that group's incident, if it has one; a key
    without one joins an open storm's incident while the storm's window lasts (`grouping._group`).
    """
    wanted = sorted({g for s in shapes for g in s.groups})
    joins: dict[str, tuple[str, str]] = {}
    own: set[str] = set()
    for chunk in chunks(wanted):
        rows = session.execute(
            select(AlertGroup.key, Incident.id, Incident.severity, Incident.status)
            .outerjoin(Incident, Incident.id == AlertGroup.incident_id)
            .where(AlertGroup.status == "open", AlertGroup.key.in_(chunk))
        )
        for key, incident, severity, status in rows:
            own.add(key)
            if status in OPEN:
                joins[key] = (incident, severity)
    if policy.classification.storm is not None and len(own) < len(wanted):
        since = now - policy.classification.storm.window.as_timedelta()
        storm = session.execute(
            select(Incident.id, Incident.severity)
            .join(AlertGroup, AlertGroup.incident_id == Incident.id)
            .where(AlertGroup.key == STORM_KEY, AlertGroup.status == "open", AlertGroup.last_alert_at >= since,
                   Incident.status.in_(OPEN))
            .limit(1)
        ).first()  # fmt: skip
        if storm is not None:
            joins.update((key, (storm[0], storm[1])) for key in wanted if key not in own)
    return Cover(policy, joins, own)
