"""Alembic environment: runs migrations on the URL the caller configured."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from warroom.store import (
    auth_models,
    chat_models,
    engine_models,
    intake_models,
    models,
    notify_models,
    postmortem_models,
    status_models,
)
from warroom.store.base import Base

TABLES = (models, engine_models, intake_models, notify_models, auth_models, postmortem_models, status_models,
          chat_models)  # fmt: skip
"""every table on Base.metadata, so Alembic compares against all of them"""

config = context.config
url = config.get_main_option("sqlalchemy.url") or ""
connectable = create_engine(url, poolclass=pool.NullPool)
with connectable.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
connectable.dispose()
