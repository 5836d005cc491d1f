"""The postmortem use cases, one function each: API, web and CLI call these and nothing else."""

from warroom.postmortems.actions import add as add_action_item
from warroom.postmortems.actions import change as change_action_item
from warroom.postmortems.actions import search as action_items
from warroom.postmortems.actions import to_csv, to_json
from warroom.postmortems.records import diff, get, on_entries, publish, save, set_status, start

__all__ = [
    "action_items",
    "add_action_item",
    "change_action_item",
    "diff",
    "get",
    "on_entries",
    "publish",
    "save",
    "set_status",
    "start",
    "to_csv",
    "to_json",
]
