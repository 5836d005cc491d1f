"""RFC 9457 problem details for every error the API returns."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from warroom.access.answers import PROBLEM, problem
from warroom.domain.errors import ServiceError
from warroom.domain.text import TextError


class Problem(BaseModel):
    """RFC 9457 problem details, as every 4xx and 5xx of the API is answered."""

    model_config = ConfigDict(extra="allow")
    type: str = "about:blank"
    title: str
    status: int
    detail: str = Field(description="what is wrong, as a sentence")
    field: str | None = Field(default=None, description="the input at fault (a dotted path into the body)")


ANSWERS: dict[int, str] = {
    400: "Not JSON, not UTF-8, nested too deep, or a key given twice; `field` names it",
    404: "No such resource; `field` names the id",
    409: "Not allowed in the current state",
    413: "Request body larger than WARROOM_MAX_BODY_BYTES",
    415: "The body is not JSON by its Content-Type",
    422: "Invalid input; `field` names it",
}
"""what every operation may answer with problem+json, besides what a route documents itself"""


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) or "body"


def document(schema: dict[str, Any]) -> dict[str, Any]:
    """Every operation's 4xx answers as application/problem+json with the Problem schema (in place)."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    ref = {"schema": {"$ref": "#/components/schemas/Problem"}}
    for path, item in schema.get("paths", {}).items():
        for op in item.values():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            answers = op["responses"]
            codes = {422}
            if "{" in path:
                codes.add(404)
            if "requestBody" in op:
                codes |= {400, 413, 415}
            for code in codes:
                answers.setdefault(str(code), {"description": ANSWERS[code]})
            for code, answer in answers.items():
                if code.startswith(("4", "5")):
                    answer["content"] = {PROBLEM: ref}
    return schema


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(
                get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.exception_handler(TextError)
    async def _text(_: Request, exc: TextError) -> JSONResponse:
        """Text a use case refused outside a unit of work (a read's filter): the same 422 as inside one."""
        return problem(422, "Invalid input", str(exc), field=exc.field)

    @app.exception_handler(ServiceError)
    async def _service(_: Request, exc: ServiceError) -> JSONResponse:
        return problem(exc.status, exc.title, exc.detail, field=exc.field)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": _field(e["loc"]), "message": e["msg"]} for e in exc.errors()]
        first = errors[0] if errors else {"field": "body", "message": "invalid"}
        detail = f"{first['field']}: {first['message']}"
        return problem(422, "Invalid input", detail, field=first["field"], errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(exc.status_code, str(exc.detail), str(exc.detail))
