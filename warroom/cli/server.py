"""`warroom serve` and `warroom db upgrade`."""

from __future__ import annotations

import typer

from warroom.cli.root import app, console
from warroom.settings import get_settings

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def upgrade() -> None:
    """Apply every migration to WARROOM_DATABASE_URL."""
    from warroom.store.migrate import current
    from warroom.store.migrate import upgrade as run_upgrade

    url = get_settings().database_url
    run_upgrade(url)
    console.print(f"database at revision {current(url)}")


@app.command()
def serve(
    host: str = typer.Option(None, help="bind address (default WARROOM_HOST or 127.0.0.1)"),
    port: int = typer.Option(None, help="port (default WARROOM_PORT or 8080)"),
    workers: int = typer.Option(1, min=1, help="HTTP worker processes"),
) -> None:
    """Run the HTTP API, web UI and the engine loop."""
    import uvicorn

    settings = get_settings()
    uvicorn.run(
        "warroom.app:serving_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_level="info",
        access_log=False,
    )
