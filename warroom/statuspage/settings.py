"""The status page's own settings (`WARROOM_STATUS_*`), read apart so the page needs nothing else."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from warroom.settings import get_settings


class StatusSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WARROOM_STATUS_", extra="ignore")

    name: str = Field("Status", description="the page's name, as widgets show it")
    url: str = Field("", description="the page's public address (default WARROOM_PUBLIC_URL + /status)")
    poll_seconds: float = Field(1.0, description="how often a serving process checks the database's version")
    max_age: int = Field(10, description="Cache-Control max-age of the public answers, in seconds")
    history_days: int = Field(14, description="days of incident history the page lists")
    public_webhooks: bool = Field(
        True, description="whether anyone may subscribe a webhook from the public page (it is confirmed first)"
    )


def page_name_and_url() -> tuple[str, str]:
    """The page's name and public address, as every link in a mail and a feed names it."""
    settings = StatusSettings()
    if settings.url:
        return settings.name, settings.url.rstrip("/")
    return settings.name, (get_settings().public_url or "http://127.0.0.1:8080").rstrip("/") + "/status"
