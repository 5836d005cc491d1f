"""Intake settings from WARROOM_* variables (kept here so intake tuning does not touch the app's settings)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class IntakeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WARROOM_", extra="ignore")

    dead_letters_keep: int = Field(default=1000, ge=1, description="newest refused bodies kept for inspection")
    intake_batch_max: int = Field(default=5000, ge=1, description="alerts committed together at most (group commit)")
    storm_hold_seconds: float = Field(
        default=10.0,
        ge=0,
        description="with a storm rule: a new alert group opened while another just opened waits this long "
        "(or until the storm threshold) before it declares, so a storm's first alerts do not each page",
    )
    intake_process_max: int = Field(
        default=5000,
        ge=1,
        description="alerts applied per transaction behind the answer at most (dedup, grouping, triage); within it "
        "a pass takes about 40 ms of work (20 ms while webhooks keep coming) at the measured cost per alert",
    )
    intake_process_share: float = Field(
        default=0.2,
        gt=0,
        le=1,
        description="while webhooks keep arriving, the share of the writer's time that applying them takes with no "
        "backlog, growing with the backlog to all of it at intake_max_lag; the rest commits new requests",
    )
    intake_requests_keep_seconds: float = Field(
        default=3600.0, ge=0, description="how long a processed request's record stays for GET /api/v1/intake/requests"
    )
    intake_max_lag: float = Field(
        default=2.0,
        gt=0,
        description="seconds of applying the accepted-but-unapplied alerts may take at most; past it a new webhook "
        "is answered 503 with Retry-After, so a flood waits at its sender instead of in front of other outages",
    )
    intake_urgent_lag: float | None = Field(
        default=None,
        gt=0,
        description="seconds of backlog up to which a webhook that can page someone (a new group, a worse "
        "severity, a resolve) is still taken while the flood is pushed back; default five times intake_max_lag",
    )
    intake_auth_cache_seconds: float = Field(default=5.0, ge=0, description="how long a verified token is cached")


@lru_cache(maxsize=1)
def get_intake_settings() -> IntakeSettings:
    return IntakeSettings()
