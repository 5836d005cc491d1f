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
    access_log: bool = True
    """one line per request on standard error (WARROOM_ACCESS_LOG=off silences it)"""
    metrics_public: bool = False
    """WARROOM_METRICS_PUBLIC=1: /metrics answers without a token (a scraper on a private network)"""
    secret_key: str | None = None
    """signs one-tap ack links; every replica needs the same one (unset: a key made once into the database)"""
    ack_link_hours: float = 12.0
    """how long a page's one-tap ack link works"""
    slack_signing_secret: str | None = None
    """the Slack app's signing secret; unset, /api/v1/chatops/slack refuses every request"""
    mattermost_tokens: str | None = None
    """the token of each Mattermost slash command, comma-separated; unset, /api/v1/chatops/mattermost refuses"""
    mattermost_url: str | None = None
    """the Mattermost server (https://chat.example.com): the only host its response_url may name"""
    chatops_answer_seconds: float = 2.5
    """a chat command not done in this time is answered later through its response_url (Slack allows 3 s)"""
    chatops_response_hosts: str = ""
    """more hosts a response_url may name, comma-separated (the tests' receiver on 127.0.0.1)"""


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
