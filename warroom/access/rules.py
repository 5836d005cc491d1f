"""What each route needs: public, or a role. Every route is listed; one that is not is refused to
everyone (and the authorization matrix test fails), so a new route cannot be open by accident."""

from __future__ import annotations

from warroom.auth.principal import Role

PUBLIC = "public"
V, R, A = Role.VIEWER, Role.RESPONDER, Role.ADMIN

Need = Role | str

RULES: dict[tuple[str, str], Need] = {
    # Public: health, alert webhooks (each integration has its own secret), signing in.
    ("GET", "/healthz"): PUBLIC,
    ("POST", "/api/v1/alerts/{source}"): PUBLIC,
    ("GET", "/login"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/redoc"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    # Chat commands (each platform's own signature or token) and one-tap ack links (a signed single-use link).
    ("POST", "/api/v1/chatops/slack"): PUBLIC,
    ("POST", "/api/v1/chatops/mattermost"): PUBLIC,
    ("GET", "/ack/{token}"): PUBLIC,
    ("POST", "/ack/{token}"): PUBLIC,
    # Signed in.
    ("POST", "/logout"): V,
    ("GET", "/account/password"): V,
    ("POST", "/account/password"): V,
    ("GET", "/api/v1/auth/me"): V,
    ("GET", "/api/v1/events"): V,
    # Incidents.
    ("GET", "/api/v1/incidents"): V,
    ("POST", "/api/v1/incidents"): R,
    ("GET", "/api/v1/incidents/{incident_id}"): V,
    ("POST", "/api/v1/incidents/{incident_id}/ack"): R,
    ("POST", "/api/v1/incidents/{incident_id}/status"): R,
    ("POST", "/api/v1/incidents/{incident_id}/severity"): R,
    ("POST", "/api/v1/incidents/{incident_id}/decision"): R,
    ("POST", "/api/v1/incidents/{incident_id}/mitigations"): R,
    ("POST", "/api/v1/incidents/{incident_id}/resolve"): R,
    ("POST", "/api/v1/incidents/{incident_id}/reopen"): R,
    ("POST", "/api/v1/incidents/{incident_id}/close"): R,
    ("POST", "/api/v1/incidents/{incident_id}/flags"): R,
    ("POST", "/api/v1/incidents/{incident_id}/impact"): R,
    ("PUT", "/api/v1/incidents/{incident_id}/roles/{role}"): R,
    ("POST", "/api/v1/incidents/{incident_id}/hypotheses"): R,
    ("POST", "/api/v1/incidents/{incident_id}/hypotheses/{number}"): R,
    ("POST", "/api/v1/incidents/{incident_id}/updates"): R,
    ("GET", "/api/v1/incidents/{incident_id}/timeline"): V,
    ("POST", "/api/v1/incidents/{incident_id}/timeline"): R,
    ("GET", "/api/v1/incidents/{incident_id}/brief"): V,
    ("GET", "/api/v1/incidents/{incident_id}/drafts/{kind}"): V,
    ("POST", "/api/v1/incidents/{incident_id}/drafts/{kind}"): R,
    ("GET", "/api/v1/incidents/{incident_id}/postmortem"): V,
    ("POST", "/api/v1/incidents/{incident_id}/postmortem"): R,
    ("GET", "/api/v1/incidents/{incident_id}/alerts"): V,
    ("GET", "/api/v1/incidents/{incident_id}/engine"): V,
    ("POST", "/api/v1/incidents/{incident_id}/customer-email"): R,
    # Alerts, groups, silences, intake.
    ("GET", "/api/v1/alerts"): V,
    ("GET", "/api/v1/alerts/{alert_id}"): V,
    ("GET", "/api/v1/alert-groups"): V,
    ("GET", "/api/v1/alert-groups/{group_id}"): V,
    ("POST", "/api/v1/alert-groups/{group_id}/declare"): R,
    ("POST", "/api/v1/alert-groups/{group_id}/link"): R,
    ("POST", "/api/v1/alert-groups/{group_id}/ticket"): R,
    ("POST", "/api/v1/alert-groups/{group_id}/dismiss"): R,
    ("GET", "/api/v1/silences"): V,
    ("POST", "/api/v1/silences"): R,
    ("POST", "/api/v1/silences/{silence_id}/expire"): R,
    ("GET", "/api/v1/dead-letters"): R,
    ("GET", "/api/v1/dead-letters/{dead_id}"): R,
    ("GET", "/api/v1/intake"): V,
    ("GET", "/api/v1/intake/requests/{request_id}"): V,
    # On-call, engine, pages.
    ("GET", "/api/v1/oncall"): V,
    ("GET", "/api/v1/oncall/schedules"): V,
    ("GET", "/api/v1/oncall/schedules/{name}"): V,
    ("PUT", "/api/v1/oncall/schedules/{name}/layers/{layer}"): A,
    ("DELETE", "/api/v1/oncall/schedules/{name}"): A,
    ("POST", "/api/v1/oncall/schedules/{name}/overrides"): R,
    ("GET", "/api/v1/pages"): V,
    ("GET", "/api/v1/engine/timers"): V,
    ("GET", "/api/v1/engine/status"): V,
    # Notifications and where they go.
    ("GET", "/api/v1/notifications"): V,
    ("GET", "/api/v1/notifications/{notification_id}"): V,
    ("POST", "/api/v1/notifications/{notification_id}/retry"): R,
    ("GET", "/api/v1/contacts"): R,
    ("GET", "/api/v1/contacts/people/{name}"): R,
    ("PUT", "/api/v1/contacts/people/{name}"): A,
    ("DELETE", "/api/v1/contacts/people/{name}"): A,
    ("PUT", "/api/v1/contacts/people/{name}/methods/{method}"): A,
    ("DELETE", "/api/v1/contacts/people/{name}/methods/{method}"): A,
    ("PUT", "/api/v1/contacts/people/{name}/rules"): A,
    ("PUT", "/api/v1/contacts/channels/{name}"): A,
    ("DELETE", "/api/v1/contacts/channels/{name}"): A,
    # Users, tokens, acting for someone, the audit log.
    ("GET", "/api/v1/users"): A,
    ("POST", "/api/v1/users"): A,
    ("POST", "/api/v1/users/{name}/role"): A,
    ("POST", "/api/v1/users/{name}/disable"): A,
    ("GET", "/api/v1/tokens"): A,
    ("POST", "/api/v1/tokens"): A,
    ("DELETE", "/api/v1/tokens/{name}"): A,
    ("POST", "/api/v1/auth/act-as"): A,
    ("DELETE", "/api/v1/auth/act-as"): A,
    ("GET", "/api/v1/audit"): A,
    # The public status page (no sign-in, read-only but for subscribing) and its admin.
    ("GET", "/status"): PUBLIC,
    ("GET", "/status/incidents/{code}"): PUBLIC,
    ("GET", "/status/history.atom"): PUBLIC,
    ("GET", "/status/history.rss"): PUBLIC,
    ("GET", "/status/api/v2/summary.json"): PUBLIC,
    ("GET", "/status/api/v2/status.json"): PUBLIC,
    ("GET", "/status/api/v2/components.json"): PUBLIC,
    ("GET", "/status/api/v2/incidents.json"): PUBLIC,
    ("GET", "/status/api/v2/incidents/unresolved.json"): PUBLIC,
    ("GET", "/status/api/v2/scheduled-maintenances.json"): PUBLIC,
    ("GET", "/status/api/v2/scheduled-maintenances/upcoming.json"): PUBLIC,
    ("GET", "/status/api/v2/scheduled-maintenances/active.json"): PUBLIC,
    ("GET", "/api/v1/status/components"): V,
    ("POST", "/api/v1/status/components"): R,
    ("POST", "/api/v1/status/components/{code}"): R,
    ("POST", "/api/v1/status/incidents/{incident_id}/posts"): R,
    ("GET", "/api/v1/status/maintenances"): V,
    ("POST", "/api/v1/status/maintenances"): R,
    ("POST", "/api/v1/status/maintenances/{code}/status"): R,
    # The responders' pages.
    ("GET", "/"): V,
    ("POST", "/incidents"): R,
    ("GET", "/incidents/{incident_id}"): V,
    ("GET", "/incidents/{incident_id}/drafts/{kind}"): V,
    ("POST", "/incidents/{incident_id}/drafts/{kind}"): R,
    ("POST", "/incidents/{incident_id}/{action}"): R,
    # Postmortems, action items, reports, metrics.
    ("GET", "/api/v1/postmortems/{incident_id}"): V,
    ("POST", "/api/v1/postmortems/{incident_id}"): R,
    ("POST", "/api/v1/postmortems/{incident_id}/versions"): R,
    ("GET", "/api/v1/postmortems/{incident_id}/diff"): V,
    ("POST", "/api/v1/postmortems/{incident_id}/status"): R,
    ("POST", "/api/v1/postmortems/{incident_id}/publish"): R,
    ("GET", "/api/v1/postmortems/{incident_id}/timeline.svg"): V,
    ("POST", "/api/v1/postmortems/{incident_id}/action-items"): R,
    ("GET", "/api/v1/action-items"): V,
    ("POST", "/api/v1/action-items/{item_id}"): R,
    ("GET", "/api/v1/reports/summary"): V,
    ("GET", "/reports"): V,
    ("GET", "/incidents/{incident_id}/postmortem"): V,
    ("GET", "/metrics"): V,
}

PUBLIC_WHEN: dict[tuple[str, str], str] = {("GET", "/metrics"): "metrics_public"}
"""routes a setting opens to everyone (WARROOM_METRICS_PUBLIC=1 for /metrics)"""


def need(method: str, path: str) -> Need | None:
    """The rule for a route (HEAD follows GET), or None when the route has none."""
    return RULES.get(("GET" if method == "HEAD" else method, path))
