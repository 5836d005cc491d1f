"""The key that signs ack links: WARROOM_SECRET_KEY when set, else the one migration 0010 made in the
database, so every replica (and `warroom worker`) signs and checks alike without configuration."""

from __future__ import annotations

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import Session

from warroom.settings import get_settings
from warroom.store.chat_models import SigningKey

KEY_NAME = "ack-links"
SALT = "warroom.ack-link"


def secret(session: Session) -> str:
    configured = get_settings().secret_key
    if configured:
        return configured
    row = session.get(SigningKey, KEY_NAME)
    if row is None:
        raise RuntimeError(
            "no signing key: run `warroom db upgrade` (migration 0010 makes it) or set WARROOM_SECRET_KEY"
        )
    return row.secret


def sign(session: Session, link_id: int) -> str:
    return str(URLSafeSerializer(secret(session), salt=SALT).dumps(link_id))


def unsign(session: Session, token: str) -> int | None:
    """The link id a token names, or None for a token this warroom did not sign (or one altered)."""
    try:
        value = URLSafeSerializer(secret(session), salt=SALT).loads(token)
    except BadSignature:
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None
