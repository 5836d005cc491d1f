"""A parsed `/incident` command, carried out as the linked warroom user through the one use case of each
verb (the same functions the API, web pages and CLI call), and said back in a sentence."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial

from pydantic import ValidationError

from warroom.auth.principal import RANK, Role
from warroom.chat import identities
from warroom.chat.channels import incident_of_channel
from warroom.chat.identities import ChatUser
from warroom.chatops.replies import Reply, bold
from warroom.commands.grammar import Command, parse, role_key, usage
from warroom.domain.clock import hhmm_utc
from warroom.domain.errors import Forbidden, Invalid, ServiceError
from warroom.incidents import service
from warroom.incidents.schemas import DeclareRequest, IncidentView
from warroom.store.unit import Context

log = logging.getLogger("warroom.chatops")
Bold = Callable[[str], str]
UNNAMED = "unnamed"
"""the strategy of `/incident status mitigated`, which says it worked but not how"""


def refusal(detail: str) -> Reply:
    return Reply(f":warning: {detail}", public=False, refused=detail)


def run_line(ctx: Context, platform: str, line: str, user: ChatUser, channel: str) -> Reply:
    """Parse and carry out one command line; every refusal is a sentence only the asker sees."""
    try:
        return _carry_out(ctx, platform, parse(line), user, channel)
    except ServiceError as exc:
        return refusal(exc.detail)
    except ValidationError as exc:
        first = exc.errors()[0]
        return refusal(f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}")
    except Exception:
        log.exception("chat command %r by %s failed", line[:200], user.name)
        return refusal("warroom could not do that (an internal error, logged on the server); nothing was changed")


def _which(ctx: Context, cmd: Command, channel: str) -> str:
    found = cmd.incident or incident_of_channel(ctx, channel)
    if found is None:
        raise Invalid("say which incident, such as `/incident ack INC-20260507-0001` (in an incident's own "
                      "channel the id may be left out)", field="incident")  # fmt: skip
    return found


def _person(ctx: Context, platform: str, cmd: Command) -> str:
    if not cmd.mention:
        return cmd.person
    linked = identities.resolve(ctx, platform, cmd.mention)
    if linked is None:
        raise Invalid(f"{cmd.person or cmd.mention} is not linked to a warroom user "
                      f"(warroom user link NAME --{platform} {cmd.mention})", field="person")  # fmt: skip
    return linked.name


def _carry_out(ctx: Context, platform: str, cmd: Command, user: ChatUser, channel: str) -> Reply:
    if cmd.changes and RANK[Role(user.role)] < RANK[Role.RESPONDER]:
        raise Forbidden(f"{cmd.verb} needs the responder role; {user.name} is a {user.role}", field="role")
    b: Bold = partial(bold, platform)
    if cmd.verb == "help":
        return Reply("Commands:\n" + usage())
    if cmd.verb == "list":
        rows = service.search(ctx)
        if not rows:
            return Reply("No open incidents.")
        lines = [f"{b(r.id)} {r.severity} {r.status}: {r.title}" + (f" (IC {r.commander})" if r.commander else "")
                 for r in rows[:20]]  # fmt: skip
        more = f"\n…and {len(rows) - 20} more" if len(rows) > 20 else ""
        return Reply("\n".join(lines) + more)
    if cmd.verb == "declare":
        inc = service.declare(ctx, DeclareRequest(severity=cmd.severity, title=cmd.text, by=user.name))
        return Reply(f"{user.name} declared {b(inc.id)} {inc.severity}: {inc.title}\nWar room: {inc.channel}", True)
    incident_id = _which(ctx, cmd, channel)
    if cmd.verb == "show":
        return Reply(_show(service.get(ctx, incident_id), b))
    if cmd.verb == "ack":
        inc = service.acknowledge(ctx, incident_id, user.name)
        when = hhmm_utc(inc.acknowledged_at or inc.declared_at)
        return Reply(f"{b(inc.id)} acknowledged by {inc.acknowledged_by} at {when}; paging stopped", True)
    if cmd.verb == "update":
        up = service.post_update(ctx, incident_id, "internal", cmd.text, user.name)
        return Reply(f"{b(incident_id)} internal update #{up.number} by {user.name}: {up.text}", True)
    if cmd.verb == "status":
        return _status(ctx, cmd, incident_id, user, b)
    if cmd.verb == "role":
        key = role_key(ctx.policy.roles, cmd.role)
        if key is None:
            raise Invalid(f"unknown role '{cmd.role}'; this policy has {', '.join(ctx.policy.roles)}", field="role")
        person = _person(ctx, platform, cmd)
        inc = service.assign_role(ctx, incident_id, key, person, user.name)
        return Reply(f"{b(inc.id)} {ctx.policy.roles[key].title}: {person} (by {user.name})", True)
    if cmd.verb == "hypothesis":
        inc = service.add_hypothesis(ctx, incident_id, cmd.text, "", cmd.confidence, user.name)
        h = inc.hypotheses[-1]
        return Reply(f"{b(inc.id)} H{h.number} ({h.confidence}%) by {user.name}: {h.text}", True)
    if cmd.verb == "mitigate":
        inc = service.mitigate(ctx, incident_id, cmd.strategy, cmd.worked, user.name)
        how = "worked" if cmd.worked else "failed"
        return Reply(f"{b(inc.id)} mitigation {cmd.strategy} {how} ({user.name}); it is {inc.status}", True)
    inc = service.resolve(ctx, incident_id, user.name)  # resolve
    return Reply(f"{b(inc.id)} resolved by {user.name} at {hhmm_utc(inc.resolved_at or inc.declared_at)}", True)


def _status(ctx: Context, cmd: Command, incident_id: str, user: ChatUser, b: Bold) -> Reply:
    if not cmd.status:
        inc = service.get(ctx, incident_id)
        return Reply(f"{b(inc.id)} is {inc.status}")
    if cmd.status == "mitigated":
        inc = service.mitigate(ctx, incident_id, UNNAMED, True, user.name, note="marked mitigated from chat")
    else:
        inc = service.set_status(ctx, incident_id, cmd.status, user.name)
    return Reply(f"{b(inc.id)} is {inc.status} ({user.name})", True)


def _show(inc: IncidentView, b: Bold) -> str:
    lines = [f"{b(inc.id)} {inc.severity} {inc.severity_label} — {inc.status}", inc.title]
    if inc.service:
        lines.append(f"service: {inc.service}")
    lines.append(f"war room: {inc.channel}; declared {hhmm_utc(inc.declared_at)} by {inc.declared_by}")
    for c in inc.clocks:
        lines.append(f"{c.name}: {c.display}")
    roles = [f"{r.title}: {r.person}" for r in inc.roles if r.person]
    if roles:
        lines.append("; ".join(roles))
    if inc.missing_roles:
        lines.append("missing roles: " + ", ".join(inc.missing_roles))
    for h in inc.hypotheses:
        lines.append(f"H{h.number} [{h.status}] {h.text} ({h.confidence}%)")
    return "\n".join(lines)
