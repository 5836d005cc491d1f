"""From an escalation target in the policy to the person (or channel) it reaches at a moment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from warroom.oncall.rotation import OnCall
from warroom.oncall.service import on_call_in
from warroom.policy.model import Policy


@dataclass(frozen=True)
class Reached:
    target: str
    person: str | None
    channel: str | None
    via: str
    note: str = ""

    def describe(self) -> str:
        who = self.person or (self.channel and f"channel {self.channel}") or "nobody"
        return f"{self.target} ({who})" + (f"; {self.note}" if self.note else "")


class Directory:
    """Resolves targets through schedules, fixed people and channels; `fixed` pins targets (drills)."""

    def __init__(self, fixed: Mapping[str, str] | None = None, remember: bool = False) -> None:
        self.fixed = dict(fixed or {})
        self.remembered: dict[tuple[str, datetime], OnCall | None] | None = {} if remember else None
        """with `remember` (one transaction's directory): each schedule's on-call at a moment, read once"""

    def reach(self, session: Session, policy: Policy, target: str, at: datetime) -> Reached:
        spec = policy.targets.get(target)
        ref = (spec.ref if spec else None) or target
        for name in (target, ref):
            if name in self.fixed:
                return Reached(target, self.fixed[name], None, "fixed")
        if spec is None:
            return Reached(target, None, None, "unknown", f"the policy has no target '{target}'")
        if spec.via == "person":
            return Reached(target, ref, None, "person")
        if spec.via == "channel":
            return Reached(target, None, policy.channels.get(ref, ref), "channel")
        if self.remembered is None:
            found = on_call_in(session, ref, at)
        elif (ref, at) in self.remembered:
            found = self.remembered[ref, at]
        else:
            found = self.remembered[ref, at] = on_call_in(session, ref, at)
        if found is None:
            return Reached(target, None, None, "schedule", f"no on-call schedule named '{ref}'")
        if found.person is None:
            return Reached(target, None, None, "schedule", f"nobody is on call on '{ref}'")
        return Reached(target, found.person, None, "schedule")
