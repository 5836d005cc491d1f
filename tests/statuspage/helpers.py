"""What the status page tests share: components, an incident full of internal detail, a built copy."""

from __future__ import annotations

from typing import Any

import orjson

from warroom.incidents import service
from warroom.incidents.schemas import DeclareRequest
from warroom.statuspage import components
from warroom.statuspage.cache import Built, build
from warroom.statuspage.schemas import ComponentRequest
from warroom.statuspage.settings import StatusSettings
from warroom.store.unit import Context

SECRETS = (
    "AKIAIOSFODNN7EXAMPLE",  # a secret-looking hypothesis
    "mallory-oncall",  # a person's name
    "alertname=PgReplicationLag",  # an alert
    "db-primary-7.internal",  # internal detail in the title's summary and notes
    "INC-",  # the internal id
)


def setup_components(ctx: Context) -> None:
    for name, group in (("API", None), ("Web app", None), ("Billing", "Payments"), ("Invoices", "Payments")):
        components.add_component(
            ctx, ComponentRequest(name=name, group=group, description=f"{name} for customers", by="alice")
        )


def secret_incident(ctx: Context, title: str = "Checkout errors") -> str:
    """An incident whose record holds everything that must never reach the public page."""
    inc = service.declare(
        ctx,
        DeclareRequest(
            severity="P1",
            title=title,
            service="billing",
            by="mallory-oncall",
            summary="db-primary-7.internal is failing over",
        ),
    )
    service.acknowledge(ctx, inc.id, "mallory-oncall")
    service.add_hypothesis(
        ctx, inc.id, "Leaked key AKIAIOSFODNN7EXAMPLE was rotated", "alertname=PgReplicationLag", 80, "mallory-oncall"
    )
    service.log(ctx, inc.id, "Paged db-primary-7.internal owner", "mallory-oncall")
    service.post_update(ctx, inc.id, "internal", "AKIAIOSFODNN7EXAMPLE in the logs", "mallory-oncall")
    return inc.id


def built(ctx: Context) -> Built:
    return build(ctx, StatusSettings(name="Acme", url="https://status.example.com"))


def summary(ctx: Context) -> dict[str, Any]:
    out: dict[str, Any] = orjson.loads(built(ctx).files["/status/api/v2/summary.json"].body)
    return out
