"""The API's browsable docs at /docs (Swagger UI) and /redoc (ReDoc), their files served from the
fastapi-offline package: they work on a machine without internet, under the same Content-Security-Policy
as every page."""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(include_in_schema=False)
ASSETS = str(Path(fastapi_offline.__file__).parent / "static")
"""mounted at /docs/assets by the application"""

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>warroom API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/assets/favicon.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/static/docs.js"></script>
</body>
</html>
"""


REDOC = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>warroom API</title>
<link rel="icon" type="image/png" href="/docs/assets/favicon.png">
</head>
<body>
<div id="redoc"></div>
<script src="/docs/assets/redoc.standalone.js"></script>
<script src="/static/redoc.js"></script>
</body>
</html>
"""


@router.get("/docs", response_class=HTMLResponse)
def docs() -> HTMLResponse:
    return HTMLResponse(PAGE)


@router.get("/redoc", response_class=HTMLResponse)
def redoc() -> HTMLResponse:
    return HTMLResponse(REDOC)
