"""Engines and units of work for SQLite (embedded, WAL) and PostgreSQL (scale-out)."""

from __future__ import annotations

import contextlib
import functools
import logging
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from typing import Any, TypeVar

import psycopg
from sqlalchemy import Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger("warroom.store")
T = TypeVar("T")
CHECKPOINT_SECONDS = 0.1
CONNECT_TIMEOUT_SECONDS = 5
SQLITE_UNAVAILABLE = (
    "database or disk is full",
    "disk i/o error",
    "unable to open database",
    "database is locked",
    "attempt to write a readonly database",
)
"""SQLite's words for a database that cannot serve right now (as opposed to a bug such as a missing table)"""


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def chunks(items: Sequence[T], size: int = 500) -> Iterator[Sequence[T]]:
    """`items` in slices of at most `size`: one statement's parameters (SQLite binds at most 32,766)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def sqlite_time(t: datetime) -> str:
    """A time as SQLAlchemy's DateTime stores it in SQLite (UTC, microseconds, no zone), for driver-level writes."""
    return t.astimezone(UTC).isoformat(" ", "microseconds")[:26]


def normalise_url(url: str) -> str:
    """Accept plain postgresql:// URLs and use psycopg 3 for them."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str, *, read_only: bool = False) -> Engine:
    """An engine; on SQLite, `read_only` makes its transactions plain (deferred) BEGINs that never lock."""
    url = normalise_url(url)
    if is_sqlite(url):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Autocommit at the driver so SQLAlchemy's BEGIN below is the only transaction start.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            # IMMEDIATE takes the write lock up front: concurrent writers queue instead of failing.
            # A reader's deferred BEGIN sees one snapshot (WAL) and never waits for a writer.
            conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

        return engine
    return create_engine(
        url,
        pool_size=10,
        max_overflow=20,
        pool_pre_ping=True,
        connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS},
    )


def unavailable(exc: BaseException | None) -> str | None:
    """Why the database cannot serve this request (down, unreachable, restarting, disk full), or None when
    `exc` is some other error: the faces answer the first with 503 and Retry-After, the second stays a bug."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
            return _first_line(exc.orig or exc)
        if isinstance(exc, sa_exc.TimeoutError):
            return "no database connection became free in time"
        if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
            return _first_line(exc)
        if isinstance(exc, sqlite3.OperationalError) and any(h in str(exc).lower() for h in SQLITE_UNAVAILABLE):
            return _first_line(exc)
        if isinstance(exc, sa_exc.DBAPIError) and exc.orig is not None:
            exc = exc.orig
            continue
        exc = exc.__cause__ or exc.__context__
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


class Database:
    """One engine and its session factory; `unit()` is a transaction that commits or rolls back whole.

    On SQLite one process's writers take turns on a lock before BEGIN IMMEDIATE: a writer waiting
    on SQLite's own busy handler sleeps in steps of milliseconds, which caps a busy process's
    commit rate; waiting on a lock wakes the next writer the moment the last one commits.
    `read()` is for use cases that only read: on SQLite it neither takes nor waits for the lock.
    """

    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        self.engine = make_engine(self.url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.readers = self.sessions
        self._reader_engine: Engine | None = None
        self._turn: threading.RLock | None = None
        self._checkpoints: threading.Event | None = None
        if is_sqlite(self.url):
            self._turn = threading.RLock()
            if ":memory:" not in self.url and "mode=memory" not in self.url:
                self._reader_engine = make_engine(self.url, read_only=True)
                self.readers = sessionmaker(self._reader_engine, expire_on_commit=False)

    def start_checkpoints(self, every: float = CHECKPOINT_SECONDS) -> None:
        """SQLite: copy the write-ahead log into the database from a thread of its own, every `every` seconds.

        Left to itself, SQLite checkpoints inside whichever commit crosses 1,000 log pages, and that
        commit waits tens of milliseconds for the copy and its fsync. A passive checkpoint waits for
        no reader or writer; done often it keeps the log short, so commits rarely meet one.
        """
        if self._turn is None or ":memory:" in self.url or "mode=memory" in self.url or self._checkpoints:
            return
        self._checkpoints = threading.Event()
        threading.Thread(target=self._checkpoint, args=(self._checkpoints, every), name="warroom-sqlite-checkpoint",
                         daemon=True).start()  # fmt: skip

    def _checkpoint(self, stop: threading.Event, every: float) -> None:
        conn = None
        while not stop.wait(every):
            try:
                conn = conn or self.engine.raw_connection()
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except Exception as exc:  # the next round tries again; a commit checkpoints by itself meanwhile
                log.warning("checkpointing the SQLite log failed: %s", exc)
                conn = None
        if conn is not None:
            conn.close()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def unit(self) -> Iterator[Session]:
        with self._turn or nullcontext():
            session = self.sessions()
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
            finally:
                session.close()

    @contextmanager
    def driver(self, held: list[Any]) -> Iterator[Any]:
        """A write transaction straight on a driver connection (a DB-API cursor), for one hot writer.

        Intake's group commit runs several times a millisecond; the pool, the ORM and even Core
        cost more than its two statements. `held` keeps the caller's own connection between calls
        (opened on first use, dropped after an error). SQLite writers still take their turn.
        """
        with self._turn or nullcontext():
            if not held:
                held.append(self.engine.raw_connection())
            conn = held[0]
            try:
                if self._turn is not None:
                    conn.execute("BEGIN IMMEDIATE")
                cursor = conn.cursor()
                yield cursor
                conn.commit()
            except BaseException:
                held.clear()
                with contextlib.suppress(Exception):
                    conn.rollback()
                with contextlib.suppress(Exception):
                    conn.close()
                raise

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only unit: one consistent snapshot, rolled back at the end (nothing it does is kept)."""
        session = self.readers()
        try:
            yield session
        finally:
            session.rollback()
            session.close()

    def dispose(self) -> None:
        if self._checkpoints is not None:
            self._checkpoints.set()
            self._checkpoints = None
        self.engine.dispose()
        if self._reader_engine is not None:
            self._reader_engine.dispose()


def insert_new(session: Session, model: Any, keys: tuple[str, ...], returning: str,
               values: dict[str, Any]) -> Any | None:  # fmt: skip
    """INSERT a row unless one with the same `keys` exists; returns its `returning` column, or None.

    The statement is built once per dialect and model; the values travel as parameters (building
    `insert().values(...)` per row costs more than running it).
    """
    stmt = _insert_ignoring(session.get_bind().dialect.name, model, keys, returning)
    row = session.execute(stmt, values).first()
    return None if row is None else row[0]


@functools.cache
def _insert_ignoring(dialect: str, model: Any, keys: tuple[str, ...], returning: str) -> Any:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        insert(model)
        .on_conflict_do_nothing(index_elements=[getattr(model, k) for k in keys])
        .returning(getattr(model, returning))
    )
