"""The named facts about an incident that rules can test ("credential exposed", "data breach suspected")."""

from __future__ import annotations

KNOWN_FLAGS: dict[str, str] = {
    "production_down": "production is down for everyone",
    "data_loss_risk": "data may be lost",
    "auth_broken": "sign-in or authorisation is broken for at least one user",
    "billing_broken": "payment or billing is broken",
    "credential_exposed": "a credential or secret has been exposed",
    "security_breach": "a security breach is confirmed",
    "data_breach_suspected": "a data breach is suspected",
    "user_data_affected": "user data is affected",
    "health_endpoints_down": "health endpoints are not answering",
    "customer_facing": "customers can see the problem",
    "data_at_risk": "stored data is at risk",
    "impact_confirmed": "customer impact is confirmed (external posts allowed)",
    "investigation_required": "triage confidence was below the policy threshold",
    "unacknowledged": "every paging tier was tried and nobody acknowledged",
}
