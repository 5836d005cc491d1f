"""Tables of identity: users, API tokens, web sessions, failed sign-ins, act-as grants and the audit log.

Secrets are never stored: passwords as argon2 hashes, tokens and session ids as SHA-256 of a
random value (they are long and random, so a fast hash is enough and lookups stay cheap).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from warroom.store.base import Base

ID = BigInteger().with_variant(Integer, "sqlite")


class User(Base):
    __tablename__ = "users"

    name: Mapped[str] = mapped_column(String(120), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), default="")
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(Text, default="")
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ApiToken(Base):
    """A bearer token: a user's own (acts as that user) or a bot's (`bot`: an admin token that may name
    whom it acts for)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    role: Mapped[str] = mapped_column(String(20))
    user_name: Mapped[str | None] = mapped_column(String(120))
    bot: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class WebSession(Base):
    __tablename__ = "web_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_name: Mapped[str] = mapped_column(String(120), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    address: Mapped[str] = mapped_column(String(64), default="")
    revoked_at: Mapped[datetime | None]


class LoginFailure(Base):
    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    user_name: Mapped[str] = mapped_column(String(120))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]


Index("ix_login_failures_user", LoginFailure.user_name, LoginFailure.at)
Index("ix_login_failures_address", LoginFailure.address, LoginFailure.at)


class ActAsGrant(Base):
    """An admin acting for someone who is away: a reason, an end, and both names on every record."""

    __tablename__ = "act_as_grants"

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    admin: Mapped[str] = mapped_column(String(120), index=True)
    user_name: Mapped[str] = mapped_column(String(120))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    until: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class AuditEntry(Base):
    """Append-only: who did what to which target, when, from where, and how it ended."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(120), index=True)
    on_behalf_of: Mapped[str | None] = mapped_column(String(120))
    via: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(200))
    target: Mapped[str] = mapped_column(String(300), default="")
    address: Mapped[str] = mapped_column(String(64), default="")
    result: Mapped[str] = mapped_column(String(200))
