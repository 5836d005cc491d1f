"""Triage: from the evidence in alerts to a severity, a confidence and the reasons, by the policy's rules.

Pure: no I/O and no clock. Each piece of evidence (a policy rule, the sender's own severity, a
metric far over its threshold, a keyword that sets a floor flag) backs one severity with a
confidence; the pieces backing the same severity combine as independent witnesses
(1 - Π(1 - c)), the best-backed severity wins, disagreement lowers the confidence, then the
policy's uncertain rule and floor rules have the last word.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from warroom.policy.floors import apply_floors
from warroom.policy.model import Policy, RunbookRoute, TriageRule

Outcome = Literal["incident", "ticket", "none"]

HINT_CONFIDENCE = 60
"""The sender's own severity word: good evidence, not proof (SO1 wants more than 70% to act alone)."""
NAMED_LEVEL_CONFIDENCE = 80
"""The sender used one of the policy's own level names (P1, SEV2): someone already triaged it."""
DEFAULT_CONFIDENCE = 30
FLAG_CONFIDENCE = 70

_BUCKETS: dict[str, tuple[str, ...]] = {
    "critical": ("critical", "crit", "fatal", "emergency", "emerg", "disaster", "page", "urgent"),
    "error": ("error", "err", "high", "major", "severe"),
    "warning": ("warning", "warn", "medium", "average", "minor", "moderate"),
    "info": ("info", "informational", "information", "low", "notice", "debug", "ok", "success", "none"),
}
_BUCKET_OF = {word: bucket for bucket, words in _BUCKETS.items() for word in words}
_BUCKET_RANK = {"critical": 1, "error": 2, "warning": 3}
"""Where a severity word lands in the policy's list (0 is the most severe, kept for floors and humans)."""

_FAILING = r"(fail\w*|error\w*|broken|down|unavailable|unreachable|timing out|timeout\w*|5\d\d|refused|outage)"
_AUTH = r"(auth\w*|log ?in|sign[- ]?in|sso|oauth)"
_BILLING = r"(billing|payments?|stripe|checkout|invoic\w*)"
_SECRET = r"(secret|credential|api[ _-]?key|password|token|private key)s?"
_EXPOSED = r"(expos\w*|leak\w*|committed|public)"
_HEALTH = r"(health ?checks?|health endpoints?|healthz|/health|liveness|readiness)"


def _either(thing: str, state: str) -> str:
    """The thing and its state in either order within one alert text."""
    return rf"\b{thing}\b.*\b{state}\b|\b{state}\b.*\b{thing}\b"


FLAG_PATTERNS: dict[str, str] = {
    "auth_broken": _either(_AUTH, _FAILING),
    "billing_broken": _either(_BILLING, _FAILING),
    "credential_exposed": _either(_SECRET, _EXPOSED),
    "health_endpoints_down": _either(_HEALTH, _FAILING),
    "production_down": r"\b(complete outage|total outage|production (is )?down|site (is )?down|all services)\b",
    "data_loss_risk": r"\b(data loss|data corruption|lost writes|corrupt\w* data)\b",
    "security_breach": r"\b(security breach|breach detected|unauthori[sz]ed access|intrusion detected|exfiltration)\b",
}
"""Phrases that state a floor flag's fact. Only flags the policy has a floor for are ever inferred."""
_FLAG_RE = {flag: re.compile(pattern) for flag, pattern in FLAG_PATTERNS.items()}
_NUMBER = re.compile(r"^\s*(<=|>=|<|>|=)?\s*(-?\d+(?:\.\d+)?)\s*(%|ms|s|m)?\s*$")


@dataclass(frozen=True)
class Signal:
    """What triage may look at in one alert."""

    summary: str
    description: str = ""
    service: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    severity_hint: str | None = None
    metric: str | None = None
    value: float | None = None
    threshold: str | None = None
    users: int | None = None

    def text(self) -> str:
        parts = [self.summary, self.description, self.service or "", self.metric or "", *self.labels.values()]
        return " ".join(p for p in parts if p).lower()


@dataclass(frozen=True)
class Reason:
    kind: str
    """rule | label | hint | metric | keyword | users | default | agreement | uncertain | floor | threshold | storm"""
    detail: str
    severity: str | None = None
    confidence: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "detail": self.detail, "severity": self.severity, "confidence": self.confidence}


@dataclass(frozen=True)
class Triage:
    severity: str
    confidence: int
    outcome: Outcome
    reasons: tuple[Reason, ...]
    flags: Mapping[str, bool]
    below_threshold: bool
    threshold: int
    escalate_to: tuple[str, ...]
    runbook: RunbookRoute | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "confidence": self.confidence,
            "outcome": self.outcome,
            "reasons": [r.as_dict() for r in self.reasons],
            "flags": dict(self.flags),
            "below_threshold": self.below_threshold,
            "threshold": self.threshold,
            "escalate_to": list(self.escalate_to),
            "runbook": self.runbook.model_dump() if self.runbook else None,
        }


@dataclass(frozen=True)
class _Evidence:
    severity: str
    confidence: int
    reason: Reason


# --- pieces -------------------------------------------------------------------------------------


def hint_bucket(hint: str | None) -> str | None:
    """critical | error | warning | info for a sender's severity word, or None if it is not one."""
    if not hint:
        return None
    return _BUCKET_OF.get(hint.strip().lower())


def hint_severity(policy: Policy, hint: str | None) -> tuple[str, int] | None:
    """The policy level a sender's severity word points at, with how far to trust it."""
    if not hint:
        return None
    word = hint.strip()
    named = policy.severity_ranks.get(word.upper())
    if named is not None:
        return policy.severities[named].name, NAMED_LEVEL_CONFIDENCE
    bucket = hint_bucket(word)
    if bucket is None:
        return None
    last = len(policy.severities) - 1
    index = last if bucket == "info" else min(_BUCKET_RANK[bucket], last)
    return policy.severities[index].name, HINT_CONFIDENCE


def parse_number(text: str | None) -> tuple[str, float] | None:
    """'< 1%' → ('<', 1.0); '12%' → ('', 12.0); anything else → None."""
    if text is None:
        return None
    m = _NUMBER.match(text)
    if not m:
        return None
    return m.group(1) or "", float(m.group(2))


def excess(value: float | None, threshold: str | None) -> float | None:
    """How many times the value is past its threshold (>1 means breached), or None if unknown.

    A threshold written as '< 1%' states the healthy range, so 12% is 12x past it; '> 99%' the
    same the other way. A bare number is taken as a ceiling.
    """
    parsed = parse_number(threshold)
    if value is None or parsed is None:
        return None
    op, limit = parsed
    if op in (">", ">="):
        return limit / value if value > 0 else None
    if limit <= 0:
        return None
    return value / limit


def rule_matches(rule: TriageRule, signal: Signal, text: str) -> list[str] | None:
    """What of the rule matched this alert, or None when any part of it does not."""
    m = rule.match
    said: list[str] = []
    for name, wanted in m.labels.items():
        have = signal.service if name == "service" and name not in signal.labels else signal.labels.get(name)
        if have is None or have.lower() != wanted.lower():
            return None
        said.append(f"{name}={wanted}")
    if m.service is not None:
        if (signal.service or "").lower() != m.service.lower():
            return None
        said.append(f"service {m.service}")
    if m.keywords:
        hits = [k for k in m.keywords if k.lower() in text]
        if not hits:
            return None
        said.append("keyword " + ", ".join(f"'{k}'" for k in hits))
    if m.metric is not None:
        if (signal.metric or "").lower() != m.metric.lower():
            return None
        said.append(f"metric {m.metric}")
    if m.value_over is not None:
        if signal.value is None or signal.value <= m.value_over:
            return None
        said.append(f"value {signal.value:g} over {m.value_over:g}")
    if m.users_over is not None:
        if signal.users is None or signal.users <= m.users_over:
            return None
        said.append(f"{signal.users} users affected, over {m.users_over}")
    return said


def infer_flags(policy: Policy, text: str) -> dict[str, str]:
    """Floor flags the alert's words state, limited to the flags this policy has floors for."""
    wanted = {f.flag for f in policy.classification.floors}
    found: dict[str, str] = {}
    for flag in wanted:
        pattern = _FLAG_RE.get(flag)
        if pattern is None:
            continue
        m = pattern.search(text)
        if m:
            found[flag] = m.group(0).strip()
    return found


def match_runbook(policy: Policy, texts: Iterable[str]) -> RunbookRoute | None:
    """The symptom-table row whose keywords the alerts mention most (ties: the first row)."""
    joined = " ".join(texts)
    best: RunbookRoute | None = None
    best_hits = 0
    for route in policy.runbooks:
        hits = sum(1 for k in route.keywords if k.lower() in joined)
        if hits > best_hits:
            best, best_hits = route, hits
    return best


def _combined(confidences: Iterable[int]) -> float:
    miss = 1.0
    for c in confidences:
        miss *= 1 - min(max(c, 0), 100) / 100
    return 1 - miss


# --- the classifier -----------------------------------------------------------------------------


def classify(policy: Policy, signals: Sequence[Signal], *, storm: str | None = None) -> Triage:
    """Classify a group of alerts (usually one) to a severity with a confidence and its reasons."""
    if not signals:
        raise ValueError("triage needs at least one alert")
    cls = policy.classification
    evidence: list[_Evidence] = []
    reasons: list[Reason] = []
    flags: dict[str, int] = {}
    seen: set[tuple[str, str, str]] = set()
    hint_votes: dict[str, int] = {}

    def add(sev: str, confidence: int, kind: str, detail: str) -> None:
        key = (kind, sev, detail)
        if key in seen:
            return
        seen.add(key)
        reason = Reason(kind, detail, sev, confidence)
        evidence.append(_Evidence(sev, confidence, reason))
        reasons.append(reason)

    texts = []
    for sig in signals:
        text = sig.text()
        texts.append(text)
        ruled: tuple[int, str] | None = None
        for rule in cls.rules:
            said = rule_matches(rule, sig, text)
            if said is None:
                continue
            sev = policy.severity(rule.severity).name
            detail = f"rule '{rule.id}': " + ("; ".join(said) or "matches every alert")
            if rule.reason:
                detail += f" ({rule.reason})"
            kind = "users" if rule.match.users_over is not None else "rule"
            add(sev, rule.confidence, kind, detail)
            if ruled is None or rule.confidence > ruled[0]:
                ruled = (rule.confidence, sev)
            for flag in rule.sets_flags:
                flags[flag] = max(flags.get(flag, 0), rule.confidence)
        hinted = hint_severity(policy, sig.severity_hint)
        if hinted is not None:
            sev, conf = hinted
            hint_votes[sev] = hint_votes.get(sev, 0) + 1
            kind = "label" if "severity" in sig.labels else "hint"
            add(sev, conf, kind, f"the sender rates it '{sig.severity_hint}'")
        ratio = excess(sig.value, sig.threshold)
        if ratio is not None and ratio > 1:
            # The metric backs what the sender or the policy's rules said of this alert.
            target = hinted[0] if hinted else ruled[1] if ruled else _fallback(policy)
            conf = 40 if ratio >= 10 else 30 if ratio >= 2 else 15
            what = sig.metric or "the metric"
            add(target, conf, "metric", f"{what} at {sig.value:g} is {ratio:.1f}x past its threshold {sig.threshold}")
        if sig.users is not None and not any(r.match.users_over is not None for r in cls.rules):
            reasons.append(Reason("users", f"estimate: {sig.users} users affected (no policy rule weighs it)"))
        for flag, phrase in infer_flags(policy, text).items():
            if flag not in flags:
                reasons.append(Reason("keyword", f"'{phrase}' states {flag}", None, FLAG_CONFIDENCE))
            flags[flag] = max(flags.get(flag, 0), FLAG_CONFIDENCE)
    for sev, votes in hint_votes.items():
        if votes > 1:
            add(sev, min(20, 4 * (votes - 1)), "agreement", f"{votes} alerts agree on {sev}")
    if not evidence:
        sev = _fallback(policy)
        why = "the policy's default severity" if cls.default_severity else "no severity evidence in the alert"
        add(sev, DEFAULT_CONFIDENCE, "default", why)

    scores: dict[str, float] = {}
    for sev in {e.severity for e in evidence}:
        scores[sev] = _combined(e.confidence for e in evidence if e.severity == sev)
    ranked = sorted(scores, key=lambda s: (-round(scores[s], 6), policy.rank(s)))
    best = ranked[0]
    second = ranked[1] if len(ranked) > 1 else None
    confidence = scores[best] * (1 - scores[second] / 2) if second else scores[best]
    severity = best
    if cls.uncertain and second is not None:
        between = {policy.severity(s).name for s in cls.uncertain.between}
        if {best, second} == between:
            severity = policy.severity(cls.uncertain.pick).name
            reasons.append(
                Reason(
                    "uncertain",
                    f"evidence split between {best} ({round(scores[best] * 100)}%) and {second} "
                    f"({round(scores[second] * 100)}%): the policy picks {severity} and downgrades after triage",
                    severity,
                )
            )
    set_flags = {f: True for f in flags}
    floor = apply_floors(policy, severity, set_flags)
    if floor.floor is not None:
        reasons.append(
            Reason("floor", f"floor '{floor.floor.id}': {floor.floor.reason}", floor.severity, flags[floor.floor.flag])
        )
        confidence = max(confidence, flags[floor.floor.flag] / 100)
        severity = floor.severity
    if storm:
        reasons.append(Reason("storm", storm))
    percent = min(99, round(confidence * 100))
    outcome: Outcome = policy.severity(severity).triage_outcome
    threshold = cls.confidence_threshold
    below = outcome == "incident" and threshold > 0 and percent < threshold
    if below:
        who = ", ".join(cls.below_threshold_escalate_to) or "nobody named"
        reasons.append(
            Reason(
                "threshold", f"confidence {percent}% is below {threshold}%: investigation required; escalate to {who}"
            )
        )
        set_flags["investigation_required"] = True
    return Triage(
        severity=severity,
        confidence=percent,
        outcome=outcome,
        reasons=tuple(reasons),
        flags=set_flags,
        below_threshold=below,
        threshold=threshold,
        escalate_to=tuple(cls.below_threshold_escalate_to) if below else (),
        runbook=match_runbook(policy, texts),
    )


def _fallback(policy: Policy) -> str:
    """The policy's default level, else the middle one: an unknown alert is neither ignored nor an outage."""
    default = policy.classification.default_severity
    if default:
        return policy.severity(default).name
    return policy.severities[len(policy.severities) // 2].name


def more_severe(policy: Policy, a: str, b: str) -> bool:
    """Whether level a is strictly more severe than level b."""
    return policy.rank(a) < policy.rank(b)
