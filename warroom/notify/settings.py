"""Delivery defaults from WARROOM_NOTIFY_* (a destination's own settings override them)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

CONNECT_TIMEOUTS = {"page": 2.0, "push": 2.0, "sms": 3.0, "phone": 3.0, "chat": 3.0, "email": 5.0, "channel": 4.0}
"""a page's connect timeout is short: a destination that does not even accept the connection is down"""
TOTAL_TIMEOUTS = {"page": 8.0, "push": 8.0, "sms": 12.0, "phone": 20.0, "chat": 12.0, "email": 30.0, "channel": 12.0}


class NotifySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WARROOM_NOTIFY_", extra="ignore", populate_by_name=True)

    enabled: bool = Field(True, description="run a delivery loop in `warroom serve` and `warroom worker`")
    max_attempts: int = Field(5, ge=1, le=50, description="tries before a notification is dead")
    backoff_seconds: float = Field(30.0, gt=0, description="wait after the first failure; doubles each time")
    backoff_max_seconds: float = Field(900.0, gt=0, description="longest wait between two tries")
    lease_seconds: float = Field(
        90.0, gt=0, description="a worker's claim on a message; longer than any send (Apprise timeouts)"
    )
    rate_per_minute: int = Field(
        10, ge=1, description="messages per destination per minute; more are coalesced into one digest"
    )
    batch: int = Field(20, ge=1, le=500)
    concurrency: int = Field(16, ge=1, le=256, description="sends in flight at once per process (one per destination)")
    connect_timeouts: dict[str, float] = Field(
        default_factory=lambda: dict(CONNECT_TIMEOUTS),
        description="seconds to connect, per method (page, push, sms, phone, chat, email) or `channel`",
    )
    total_timeouts: dict[str, float] = Field(
        default_factory=lambda: dict(TOTAL_TIMEOUTS),
        description="seconds a send may take in all before it counts as timed out, per method or `channel`",
    )
    suspect_seconds: float = Field(
        300.0, ge=0, description="how long a destination that timed out is skipped for a new page with a fallback"
    )
    interval: float = Field(1.0, gt=0, description="longest sleep of the delivery loop, seconds")
    public_url: str | None = Field(None, description="where responders open warroom; links in pages")
    contacts: str | None = Field(
        None,
        validation_alias=AliasChoices("WARROOM_CONTACTS", "WARROOM_NOTIFY_CONTACTS"),
        description="YAML file of people and channels, loaded when a delivery loop starts",
    )

    def timeouts(self, method: str | None) -> tuple[float, float]:
        """(connect, total) seconds for a person's method, or for a channel (method None)."""
        key = method or "channel"
        connect = self.connect_timeouts.get(key, CONNECT_TIMEOUTS.get(key, CONNECT_TIMEOUTS["channel"]))
        total = self.total_timeouts.get(key, TOTAL_TIMEOUTS.get(key, TOTAL_TIMEOUTS["channel"]))
        return connect, max(total, connect)


@lru_cache(maxsize=1)
def current() -> NotifySettings:
    """The settings of this process (read once); tests pass their own NotifySettings instead."""
    return NotifySettings()
