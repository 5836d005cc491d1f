"""Configuration from WARROOM_* environment variables."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WARROOM_", extra="ignore")

    database_url: str = "sqlite:///./warroom.db"
    policy: str = "nself"
    host: str = "127.0.0.1"
    port: int = 8080
    url: str | None = None
    engine_enabled: bool = True
    engine_interval: float = 0.5
    worker_id: str | None = None
    max_body_bytes: int = 1_048_576
    auth: bool = True
    """WARROOM_AUTH=off: no sign-in, every request may do anything (local experiments only; a banner says so)"""
    public_url: str | None = None
    """where people reach this server (https://... makes the session cookie Secure)"""
    session_hours: float = 12.0
    metrics_public: bool = False
    """WARROOM_METRICS_PUBLIC=1: /metrics answers without a token (a scraper on a private network)"""


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
