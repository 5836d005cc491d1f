"""The incident use cases, one function each: API, web, CLI and chatops call these and nothing else.

Each is written once, in the module of its concern; this is the one name the faces import.
"""

from warroom.incidents.lifecycle import (
    acknowledge,
    change_severity,
    close,
    complete_postmortem,
    declare,
    declare_in,
    quiet_remaining,
    reopen,
    resolve,
    restart_watch,
    set_flags,
    set_severity_in,
    set_status,
    signals_cleared,
)
from warroom.incidents.queries import (
    brief,
    changes_since,
    get,
    search,
    search_page,
    timeline,
    timeline_page,
    timeline_starting,
    timeline_tail,
)
from warroom.incidents.record import entry, get_for_update
from warroom.incidents.roles import assign_role
from warroom.incidents.updates import log, post_update
from warroom.incidents.views import build_view, compute_clocks
from warroom.incidents.work import add_hypothesis, decide, mitigate, set_hypothesis_status, set_impact

__all__ = [
    "acknowledge",
    "add_hypothesis",
    "assign_role",
    "brief",
    "build_view",
    "change_severity",
    "changes_since",
    "close",
    "complete_postmortem",
    "compute_clocks",
    "decide",
    "declare",
    "declare_in",
    "entry",
    "get",
    "get_for_update",
    "log",
    "mitigate",
    "post_update",
    "quiet_remaining",
    "reopen",
    "resolve",
    "restart_watch",
    "search",
    "search_page",
    "set_flags",
    "set_hypothesis_status",
    "set_impact",
    "set_severity_in",
    "set_status",
    "signals_cleared",
    "timeline",
    "timeline_page",
    "timeline_starting",
    "timeline_tail",
]
