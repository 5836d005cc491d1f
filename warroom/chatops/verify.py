"""Is this request from the chat platform? Slack signs each request with the app's signing secret;
Mattermost sends the slash command's own token. Anything else is 401 and nothing is done."""

from __future__ import annotations

from urllib.parse import parse_qs

from slack_sdk.signature import SignatureVerifier

from warroom.auth.secrets import same
from warroom.domain.errors import Invalid, Unauthorized
from warroom.settings import Settings

FIELD_LIMIT = 4000


def slack(settings: Settings, body: bytes, timestamp: str | None, signature: str | None) -> None:
    """v0= HMAC-SHA256 over `v0:{timestamp}:{body}`, the timestamp within five minutes, compared in constant time."""
    if not settings.slack_signing_secret:
        raise Unauthorized(
            "Slack commands are not set up here (WARROOM_SLACK_SIGNING_SECRET)", field="X-Slack-Signature"
        )
    if not timestamp or not signature:
        raise Unauthorized("X-Slack-Request-Timestamp and X-Slack-Signature are required", field="X-Slack-Signature")
    try:
        valid = SignatureVerifier(settings.slack_signing_secret).is_valid(body, timestamp, signature)
    except (UnicodeDecodeError, ValueError):  # a body that is not UTF-8 or a timestamp that is not a number
        valid = False
    if not valid:
        raise Unauthorized("the Slack signature is wrong or its timestamp is more than five minutes off",
                           field="X-Slack-Signature")  # fmt: skip


def mattermost(settings: Settings, given: str | None) -> None:
    """The token Mattermost shows for each slash command; several commands (teams) may be configured."""
    tokens = [t.strip() for t in (settings.mattermost_tokens or "").split(",") if t.strip()]
    if not tokens:
        raise Unauthorized("Mattermost commands are not set up here (WARROOM_MATTERMOST_TOKENS)", field="token")
    if not given or not any(same(given, t) for t in tokens):
        raise Unauthorized("the Mattermost command token is wrong", field="token")


def form(body: bytes) -> dict[str, str]:
    """The slash command's form fields (first value of each), refusing what is not UTF-8 form text."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Invalid(f"the body is not UTF-8 text (byte {exc.start})", field="body") from None
    try:
        pairs = parse_qs(text, keep_blank_values=True, strict_parsing=False, max_num_fields=100)
    except ValueError as exc:
        raise Invalid(f"the body is not a form: {exc}", field="body") from None
    fields = {k: v[0] for k, v in pairs.items() if v}
    for key, value in fields.items():
        if len(value) > FIELD_LIMIT:
            raise Invalid(f"{key[:40]} is longer than {FIELD_LIMIT} characters", field=key[:40])
    return fields


def header_token(authorization: str | None) -> str | None:
    """Mattermost also sends `Authorization: Token <token>`."""
    scheme, _, value = (authorization or "").partition(" ")
    return value.strip() or None if scheme.lower() == "token" else None
