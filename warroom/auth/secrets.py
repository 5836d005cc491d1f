"""Random secrets handed out once (tokens, session ids, passwords) and the digests stored instead."""

from __future__ import annotations

import hashlib
import hmac
import secrets

TOKEN_PREFIX = "wr_"


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_password() -> str:
    return secrets.token_urlsafe(15)


def digest(secret: str) -> str:
    """SHA-256: enough for long random values, and cheap enough to look up on every request."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass"))
