"""Which pending requests are applied first: work that can page someone goes before more of a flood.

A request is routine when every alert in it fires into a group that already has an open incident and
its sender rates none of them worse than that incident; anything else (a new group, a worse severity,
a resolve, an acknowledgement, a body that no longer parses) can change who is paged, so it goes first.
Two requests that share an alert key or a group keep their order, so the reordering never changes
what applying them does, only when.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from warroom.intake.batch_state import OPEN
from warroom.intake.grouping import GroupingMixin
from warroom.intake.normal import Incoming
from warroom.policy import triage as tri
from warroom.policy.model import Policy
from warroom.store.intake_models import AlertGroup
from warroom.store.models import Incident

LIMIT = 100_000
"""requests remembered at most; past it the memory starts afresh (order falls back to arrival order)"""


@dataclass(frozen=True, slots=True)
class Shape:
    """What decides whether a request is routine: the same for every request of a flood."""

    plain: bool
    """every alert in it fires (no resolve, no acknowledgement, and its body parsed)"""
    groups: frozenset[str]
    hints: frozenset[str]


@dataclass(slots=True)
class Bucket:
    rids: list[int] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)


def shape_of(policy: Policy, items: list[Incoming] | None) -> tuple[Shape, set[str]]:
    """A request's shape and alert keys (None: its body no longer parses; it goes first, to fail)."""
    if items is None:
        return Shape(False, frozenset(), frozenset()), set()
    keyer = cast(Any, SimpleNamespace(group_by=policy.classification.grouping.by))
    plain = all(i.status == "firing" for i in items)
    groups = frozenset(GroupingMixin.group_key(keyer, i) for i in items)
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

    def __contains__(self, rid: int) -> bool:
        return rid in self.where

    def __len__(self) -> int:
        return len(self.where)

    def add(self, rid: int, alerts: int, shape: Shape, keys: set[str]) -> None:
        if len(self.where) >= LIMIT:
            self.__init__()  # type: ignore[misc]
        bucket = self.buckets.setdefault(shape, Bucket())
        if not bucket.rids or bucket.rids[-1] < rid:
            bucket.rids.append(rid)
        else:  # a request committed late by another replica, with a lower id
            bisect.insort(bucket.rids, rid)
        bucket.keys |= keys
        for k in (*keys, *shape.groups):
            self.sharing.setdefault(k, set()).add(shape)
        self.where[rid] = shape
        self.sizes[rid] = alerts
        self.frontier = max(self.frontier, rid)

    def forget(self, rids: list[int]) -> None:
        """Requests applied (here or by another replica): each bucket loses them."""
        gone: dict[Shape, set[int]] = {}
        for rid in rids:
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

    def order(self, routine: Callable[[Shape], bool]) -> Iterator[int]:
        """Request ids in the order to apply them: urgent first, each after the routine ones it must follow."""
        kind = {s: routine(s) for s in self.buckets}
        urgent = [b.rids for s, b in self.buckets.items() if not kind[s]]
        later = {s: b for s, b in self.buckets.items() if kind[s]}
        at = dict.fromkeys(later, 0)
        """per routine bucket: how many of its requests were already given"""
        conflicts: dict[Shape, list[Shape]] = {}
        for rid in heapq.merge(*urgent):
            shape = self.where[rid]
            if shape not in conflicts:
                near = {t for k in (*self.buckets[shape].keys, *shape.groups) for t in self.sharing.get(k, ())}
                conflicts[shape] = [t for t in near if t in later]
            for t in conflicts[shape]:
                rids = later[t].rids
                while at[t] < len(rids) and rids[at[t]] < rid:  # it came first and shares alerts: it goes first
                    yield rids[at[t]]
                    at[t] += 1
            yield rid
        yield from heapq.merge(*(b.rids[at[s] :] for s, b in later.items()))


def routine_test(session: Session, policy: Policy, shapes: list[Shape]) -> Callable[[Shape], bool]:
    """Whether a shape is more of what already has an open incident (one query for every group in the backlog)."""
    wanted = sorted({g for s in shapes if s.plain for g in s.groups})
    covered: dict[str, str] = {}
    """group key → the severity its open incident has"""
    for start in range(0, len(wanted), 500):
        rows = session.execute(
            select(AlertGroup.key, Incident.severity)
            .join(Incident, Incident.id == AlertGroup.incident_id)
            .where(
                AlertGroup.status == "open", AlertGroup.key.in_(wanted[start : start + 500]), Incident.status.in_(OPEN)
            )
        )
        for key, severity in rows:
            covered[key] = severity

    def routine(shape: Shape) -> bool:
        if not shape.plain or not all(g in covered for g in shape.groups):
            return False
        for hint in shape.hints:
            hinted = tri.hint_severity(policy, hint)
            if hinted is not None and any(tri.more_severe(policy, hinted[0], covered[g]) for g in shape.groups):
                return False
        return True

    return routine
