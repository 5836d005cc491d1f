"""Tables of chat-ops and one-tap pages: who a chat user is in warroom, the ack links pages carry, and the
key that signs them (made once, so every replica signs and checks alike)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from warroom.store.base import Base

ID = BigInteger().with_variant(Integer, "sqlite")


class ChatIdentity(Base):
    """A Slack or Mattermost user id and the warroom user it acts as."""

    __tablename__ = "chat_identities"

    platform: Mapped[str] = mapped_column(String(20), primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_name: Mapped[str] = mapped_column(String(120), index=True)
    linked_by: Mapped[str] = mapped_column(String(120))
    linked_at: Mapped[datetime]


class AckLink(Base):
    """A page's one-tap acknowledgement: single use (`used_at`), expiring, as the paged person."""

    __tablename__ = "ack_links"

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(String(40), index=True)
    person: Mapped[str] = mapped_column(String(120))
    page_id: Mapped[int | None] = mapped_column(ID)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    outcome: Mapped[str] = mapped_column(String(300), default="")


class SigningKey(Base):
    """A secret made by the migration; WARROOM_SECRET_KEY, when set, is used instead."""

    __tablename__ = "signing_keys"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    secret: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
