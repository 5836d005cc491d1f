"""The slow path: a command not done within the platform's answer time is answered later, by a POST to
the request's response_url; only to the platform's own host (and the hosts an operator adds)."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import httpx

from warroom.chatops.replies import Reply, payload
from warroom.settings import Settings

log = logging.getLogger("warroom.chatops")
SLACK_HOST = "hooks.slack.com"
TIMEOUT = httpx.Timeout(5.0, connect=3.0)


def allowed(settings: Settings, platform: str, url: str) -> bool:
    """Slack's hooks host over https; Mattermost's own server (WARROOM_MATTERMOST_URL) over https; or a host
    of WARROOM_CHATOPS_RESPONSE_HOSTS. Anything else is never called, whatever the request says."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return False
    extra = {h.strip().lower() for h in settings.chatops_response_hosts.split(",") if h.strip()}
    if host and host in extra:
        return parts.scheme in ("http", "https")
    if parts.scheme != "https" or parts.username or parts.password:
        return False
    if platform == "slack":
        return host == SLACK_HOST
    own = urlsplit(settings.mattermost_url or "").hostname
    return bool(own) and host == (own or "").lower()


async def send(settings: Settings, platform: str, url: str, reply: Reply) -> bool:
    """POST the answer; True once the platform took it (no redirects followed, no proxy from the environment)."""
    if not allowed(settings, platform, url):
        log.warning("not answering through response_url %r: not a %s host", url[:200], platform)
        return False
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False, trust_env=False) as client:
            answer = await client.post(url, json=payload(platform, reply))
    except httpx.HTTPError as exc:
        log.warning("answering through response_url failed: %s", exc)
        return False
    if answer.status_code >= 300:
        log.warning("response_url answered %s", answer.status_code)
        return False
    return True
