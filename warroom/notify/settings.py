"""Delivery defaults from WARROOM_NOTIFY_* (a destination's own settings override them)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    interval: float = Field(1.0, gt=0, description="longest sleep of the delivery loop, seconds")
    public_url: str | None = Field(None, description="where responders open warroom; links in pages")
    contacts: str | None = Field(
        None,
        validation_alias=AliasChoices("WARROOM_CONTACTS", "WARROOM_NOTIFY_CONTACTS"),
        description="YAML file of people and channels, loaded when a delivery loop starts",
    )


@lru_cache(maxsize=1)
def current() -> NotifySettings:
    """The settings of this process (read once); tests pass their own NotifySettings instead."""
    return NotifySettings()
