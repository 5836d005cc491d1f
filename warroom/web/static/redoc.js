// ReDoc over this server's own OpenAPI document.
Redoc.init("/openapi.json", {}, document.getElementById("redoc"));
