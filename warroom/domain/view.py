"""The base of every view a face shows (API JSON, CLI tables, web pages): read from rows, times in UTC with Z."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, field_serializer

from warroom.domain.clock import iso_z


class View(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    @field_serializer("*", when_used="json", check_fields=False)
    def _utc(self, value: Any) -> Any:
        return iso_z(value) if isinstance(value, datetime) else value


WHO = (
    "who acted: ignored for a signed-in user or a personal token (the record names them); "
    "taken from an admin bot token's request, or where sign-in is off"
)
"""the description of every request's `by` field"""
