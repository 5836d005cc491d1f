"""Cursor paging for the API's lists: the body stays the list it always was, the next page is a Link.

`Link: </api/v1/incidents?status=all&limit=50&cursor=...>; rel="next"` (RFC 8288) is sent when there is
a next page; clients that only read the body keep working, and the first page is what it was before.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request, Response

from warroom.domain import cursor as cursors

Cursor = Annotated[
    str | None,
    Query(max_length=cursors.MAX_LENGTH, description="where the previous page ended: the `cursor` of its Link: next"),
]


def link_next(request: Request, response: Response, cursor: str | None) -> None:
    """Point at the next page (the same query, its cursor replaced), if there is one."""
    if cursor:
        url = request.url.include_query_params(cursor=cursor)
        response.headers["Link"] = f'<{url.path}?{url.query}>; rel="next"'


PAGED: dict[int | str, dict[str, object]] = {
    422: {"description": "Invalid input, such as a cursor this list did not give out; `field` names it (problem+json)"}
}
