"""Composition below the faces: a unit-of-work context with the subscribers a running warroom has.

What reacts to a change is wired here, in order: the customer e-mail (its reminder comes before the
war room's resolved post, as the entries come), notification routing (pages, chat posts, e-mails into
the outbox), then the engine planner (timers). `warroom.app` (the server)
and the CLI's local mode build their context here; drills wire the planner alone (they deliver nothing).
"""

from __future__ import annotations

from warroom.domain.clock import Clock, SystemClock
from warroom.engine import planner
from warroom.engine.loop import HANDLERS
from warroom.notify import customer, routing
from warroom.policy import load_policy
from warroom.policy.model import Policy
from warroom.postmortems import records as postmortem_records
from warroom.settings import Settings
from warroom.statuspage import maintenance as status_maintenance
from warroom.statuspage import posts as status_posts
from warroom.statuspage import webhooks as status_webhooks
from warroom.store.db import Database
from warroom.store.unit import Context, Subscriber

SUBSCRIBERS: tuple[Subscriber, ...] = (
    postmortem_records.on_entries,  # first: a publication it refuses rolls back before anything is sent
    customer.on_entries,
    routing.on_entries,
    planner.on_entries,
    status_posts.on_entries,  # an external update becomes a post on the public status page
)
"""Everything that reacts, inside the transaction, to the timeline entries a use case wrote."""

HANDLERS[status_maintenance.TIMER] = status_maintenance.fire  # the engine starts and completes maintenance windows
status_webhooks.install()  # Apprise learns warroomhook://, through which status page webhook subscribers are sent


def context(db: Database, policy: Policy, clock: Clock) -> Context:
    return Context(db=db, policy=policy, clock=clock, subscribers=SUBSCRIBERS)


def build_context(settings: Settings) -> Context:
    return context(Database(settings.database_url), load_policy(settings.policy), SystemClock())
