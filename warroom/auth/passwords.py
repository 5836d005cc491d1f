"""Passwords, hashed with argon2 (argon2-cffi's defaults, which follow RFC 9106)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from warroom.domain.errors import Invalid

_hasher = PasswordHasher()
MIN_LENGTH = 10
_DUMMY = _hasher.hash("a password nobody has")


def hash_password(password: str) -> str:
    if len(password) < MIN_LENGTH:
        raise Invalid(f"a password needs at least {MIN_LENGTH} characters", field="password")
    return _hasher.hash(password)


def verify(stored: str | None, password: str) -> bool:
    """True when the password matches; an unknown user costs the same time as a wrong password."""
    try:
        return _hasher.verify(stored or _DUMMY, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False
