"""The postmortem record and action items for the CLI: the service functions on the local database, or
the same calls to the server at WARROOM_URL. Shared by `warroom postmortem`, `warroom actions` and
`warroom report` (it imports no verb module, so each of those may import it)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter

from warroom.cli.http import ApiClient
from warroom.cli.root import console
from warroom.postmortems.schemas import ActionItemView, DiffView, PostmortemView
from warroom.settings import get_settings

if TYPE_CHECKING:
    from warroom.store.unit import Context  # annotations only: remote mode never loads the database layer


def context() -> Context:
    from warroom.compose import build_context  # the local database only: remote mode never loads it

    return build_context(get_settings())


def remote() -> ApiClient | None:
    url = get_settings().url
    return ApiClient(url) if url else None


def record(
    incident_id: str, action: str, by: str, text: str = "", note: str = "", old: int = 0, new: int = 0
) -> PostmortemView | DiffView:
    """One postmortem use case: show, start, save, review, draft, publish or diff."""
    api = remote()
    path = f"/postmortems/{incident_id}"
    if api is not None:
        body: dict[str, Any] = {"by": by}
        match action:
            case "show":
                return PostmortemView.model_validate(api.call("GET", path))
            case "start":
                return PostmortemView.model_validate(api.call("POST", path, body))
            case "save":
                return PostmortemView.model_validate(
                    api.call("POST", path + "/versions", {**body, "text": text, "note": note})
                )
            case "review" | "draft":
                status = "in_review" if action == "review" else "draft"
                return PostmortemView.model_validate(api.call("POST", path + "/status", {**body, "status": status}))
            case "publish":
                return PostmortemView.model_validate(api.call("POST", path + "/publish", body))
            case "diff":
                return DiffView.model_validate(api.call("GET", path + "/diff", params={"old": old, "new": new}))
    from warroom.postmortems import service

    ctx = context()
    match action:
        case "show":
            return service.get(ctx, incident_id)
        case "start":
            return service.start(ctx, incident_id, by)
        case "save":
            return service.save(ctx, incident_id, text, by, note)
        case "review" | "draft":
            return service.set_status(ctx, incident_id, "in_review" if action == "review" else "draft", by)
        case "publish":
            return service.publish(ctx, incident_id, by)
        case "diff":
            return service.diff(ctx, incident_id, old, new)
    raise AssertionError(action)


def show(view: PostmortemView | DiffView) -> None:
    if isinstance(view, DiffView):
        console.print(view.diff or "(no difference)", markup=False, soft_wrap=True)
        return
    due = f"; due {view.due_at:%Y-%m-%d %H:%M} UTC" if view.due_at and view.status != "published" else ""
    console.print(
        f"{view.incident_id} postmortem: {view.status.replace('_', ' ')}, version {view.latest}{due}", markup=False
    )
    for w in view.warnings:
        console.print(f"  warning ({w.rule}) {w.where}: {w.text} — {w.why}", markup=False, soft_wrap=True)
    for a in view.action_items:
        console.print(
            f"  action {a.id} [{a.status}] {a.text} — {a.owner or 'no owner'}, {a.due_at:%Y-%m-%d}"
            if a.due_at
            else f"  action {a.id} [{a.status}] {a.text} — {a.owner or 'no owner'}, no due date",
            markup=False,
        )


def items(overdue: bool, owner: str | None, status: str | None, incident: str | None) -> list[ActionItemView]:
    api = remote()
    if api is not None:
        params = {"overdue": "true" if overdue else None, "owner": owner, "status": status, "incident": incident}
        return TypeAdapter(list[ActionItemView]).validate_python(api.call("GET", "/action-items", params=params))
    from warroom.postmortems import service

    return service.action_items(context(), overdue=overdue, owner=owner, status=status, incident_id=incident)


def add_item(
    incident_id: str, text: str, by: str, owner: str | None, due: datetime | None, link: str
) -> ActionItemView:
    api = remote()
    if api is not None:
        body = {"by": by, "text": text, "owner": owner, "due_at": due.isoformat() if due else None, "link": link}
        return ActionItemView.model_validate(api.call("POST", f"/postmortems/{incident_id}/action-items", body))
    from warroom.postmortems import service

    return service.add_action_item(context(), incident_id, text, by, owner, due, link)


def change_item(item_id: int, by: str, **changes: Any) -> ActionItemView:
    api = remote()
    if api is not None:
        body = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in changes.items() if v is not None}
        return ActionItemView.model_validate(api.call("POST", f"/action-items/{item_id}", {"by": by, **body}))
    from warroom.postmortems import service

    return service.change_action_item(context(), item_id, by, **changes)
