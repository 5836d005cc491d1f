"""Who is asking, with which role, and the name their actions are recorded under."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from warroom.domain.errors import Invalid


class Role(StrEnum):
    VIEWER = "viewer"
    RESPONDER = "responder"
    ADMIN = "admin"


RANK = {Role.VIEWER: 1, Role.RESPONDER: 2, Role.ADMIN: 3}
ROLES = ", ".join(r.value for r in Role)


def parse_role(value: str) -> Role:
    try:
        return Role(value.strip().lower())
    except ValueError:
        raise Invalid(f"unknown role '{value}'; roles: {ROLES}", field="role") from None


@dataclass(frozen=True)
class Principal:
    """A signed-in user, a token, or a trusted local operator (`vouches`: the CLI on the database
    itself, or sign-in switched off), whose `by` is taken as given."""

    name: str
    role: Role
    via: str
    bot: bool = False
    vouches: bool = False
    acting_for: str | None = None

    def allows(self, needed: Role) -> bool:
        return RANK[self.role] >= RANK[needed]

    def actor(self, by: str | None = None) -> str:
        """The name the record carries. Never a face's name ("web", "api"): a person, a token's
        user, a bot on someone's behalf, or an admin acting for someone who is away."""
        who = (by or "").strip()
        if self.acting_for:
            return f"{self.name} on behalf of {self.acting_for}"
        if self.bot:
            return f"bot {self.name} on behalf of {who}" if who else f"bot {self.name}"
        if self.vouches:
            if not who:
                raise Invalid("say who acted (by)", field="by")
            return who
        return self.name
