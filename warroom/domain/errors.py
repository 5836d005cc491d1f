"""Errors the use cases raise, as sentences for a human; each face maps them (HTTP status, CLI exit code 2)."""

from __future__ import annotations


class ServiceError(Exception):
    status = 400
    title = "Bad request"

    def __init__(self, detail: str, field: str | None = None) -> None:
        self.detail = detail
        self.field = field
        super().__init__(detail)


class NotFound(ServiceError):
    status = 404
    title = "Not found"


class Conflict(ServiceError):
    status = 409
    title = "Conflict"


class Invalid(ServiceError):
    status = 422
    title = "Invalid input"


class Unauthorized(ServiceError):
    status = 401
    title = "Unauthorized"


class Forbidden(ServiceError):
    status = 403
    title = "Forbidden"


class Throttled(ServiceError):
    status = 429
    title = "Too many requests"

    def __init__(self, detail: str, retry_after: int, field: str | None = None) -> None:
        super().__init__(detail, field)
        self.retry_after = retry_after


class PolicyError(ValueError):
    """A policy file that does not load: where it came from and each problem found in it."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems))
