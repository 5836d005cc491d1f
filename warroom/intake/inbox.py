"""The intake inbox: a webhook's body is committed on arrival and processed behind the answer.

A webhook is answered (202) once its request row is committed: group commit, one transaction for
every request that arrived meanwhile, and nothing else in it. The writer then works through the
pending rows in id order, a bounded chunk per transaction: it parses each body again, runs the
pipeline (dedup, silences, grouping, storms, triage), and marks the rows processed with their
alerts' outcomes, all in one transaction. A crash between the two leaves rows pending, never
half applied; whichever server process starts next picks them up.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import orjson
from sqlalchemy import Table, func, select, text
from sqlalchemy.orm import Session

from warroom.intake.batch import Submission
from warroom.intake.config import IntakeSettings
from warroom.intake.ingest import Refused, dead_letter, ingest
from warroom.intake.normal import Incoming, PayloadError
from warroom.intake.parsers import parse_body
from warroom.intake.priority import Backlog, cover, shape_of
from warroom.policy.model import Policy
from warroom.store.db import chunks, sqlite_time
from warroom.store.intake_models import IntakeCost, IntakeRequest
from warroom.store.unit import Context, recorded

PARSER_HEADERS = ("sentry-hook-resource",)
"""the only request headers a parser reads; they are kept with the body"""
PROCESS_LOCK = 0x5741524F + 1
"""PostgreSQL: one processor at a time across replicas, so requests apply in the order they were accepted"""
LOOKAHEAD = 2000
LOOKAHEAD_ALERTS = 10_000
"""newly committed requests (and alerts) read per pass for their priority (the rest are read by the next passes)"""
TABLE = cast(Table, IntakeRequest.__table__)
COLUMNS = "id, received_at, source, integration, alerts, headers, body"
ROW_COLUMNS = "id, source, integration, received_at, headers, outcomes"
"""what applying a request reads of its row besides the body (`_chosen`)"""


@dataclass(slots=True)
class Accepted:
    """A request that passed authentication and parsing: its body is about to be committed."""

    source: str
    integration: str
    received_at: datetime
    headers: dict[str, str]
    body: bytes
    alerts: int
    """how many alerts its parser takes from the body"""
    quick: bool = False
    """the body passed its source's quick check instead of being parsed on the way in"""


@dataclass(slots=True)
class Processed:
    """What one processing pass did."""

    requests: int
    alerts: int
    more: bool
    """pending rows were left for the next pass"""
    ids: list[int]
    """the requests this pass finished applying"""
    sliced: bool = False
    """a request larger than the pass had a slice applied and has more to go"""
    urgent: int = 0
    """requests left pending that can page someone (`priority`): the next pass should not wait long"""
    read: int = 0
    """alerts of requests not in this pass that it parsed ahead for their priority (kept for the passes to come)"""
    cut: bool = False
    """the pass stopped after the work that can page someone (it says little of what a full pass costs)"""


def kept_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {h: headers[h] for h in PARSER_HEADERS if h in headers}


def store(cursor: Any, postgresql: bool, jobs: list[Accepted]) -> list[int]:
    """Insert the requests' rows through a driver cursor in one statement; returns their ids in order."""
    if postgresql:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence('intake_requests', 'id')) FROM generate_series(1, %s)", (len(jobs),)
        )
        ids = [int(r[0]) for r in cursor.fetchall()]
        sql = f"INSERT INTO intake_requests ({COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s::json, %s)"
    else:  # BEGIN IMMEDIATE: this transaction is the only writer, and the newest row is never pruned
        cursor.execute("SELECT max(id) FROM intake_requests")
        top = int(cursor.fetchone()[0] or 0)
        ids = list(range(top + 1, top + 1 + len(jobs)))
        sql = f"INSERT INTO intake_requests ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"
    params = [
        (
            i,
            j.received_at if postgresql else sqlite_time(j.received_at),
            j.source,
            j.integration,
            j.alerts,
            orjson.dumps(j.headers).decode() if j.headers else "{}",
            j.body,
        )
        for i, j in zip(ids, jobs, strict=True)
    ]
    cursor.executemany(sql, params)
    return ids


def process(session: Session, ctx: Context, now: datetime, cfg: IntakeSettings, limit: int,
            only: int | None = None, parsed: dict[int, list[Incoming]] | None = None,
            seen: Backlog | None = None, urgent_only: bool = False) -> Processed | None:  # fmt: skip
    """Apply pending requests, oldest first, up to `limit` alerts; None if another replica is applying.

    A request of more than `limit` alerts is applied in slices of `limit`, one per pass: the outcomes
    so far wait in its row (`outcomes` while `processed_at` is empty), so a crash resumes after the
    last committed slice, and no transaction holds the write lock for long. `parsed` keeps such a
    request's alerts between its slices. `only` takes that one request alone (a pass that failed is
    redone a request at a time). With `seen` (the writer's memory of the backlog), work that can page
    someone goes first (`priority`) when more is pending than this pass takes; the alerts parsed to
    tell are kept there (up to `priority.KEEP_PARSED`) so a body is parsed once. `urgent_only` takes only
    that work (with the routine work it must follow), for a pass that runs ahead of the flood's turn.
    """
    if session.get_bind().dialect.name == "postgresql" and not session.scalar(
        text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": PROCESS_LOCK}
    ):
        return None
    stmt = select(TABLE.c.id, TABLE.c.alerts).where(TABLE.c.processed_at.is_(None)).order_by(TABLE.c.id)
    stmt = stmt.where(TABLE.c.id == only) if only is not None else stmt.limit(limit + 1)
    candidates: list[tuple[int, int]] = [(rid, count) for rid, count in session.execute(stmt)]
    urgent: set[int] = set()
    read: dict[int, int] = {}
    cut = False
    """the pass stops after the urgent work (`Processed.cut`)"""
    fits = len(candidates) <= limit and sum(count for _, count in candidates) <= limit
    """everything pending goes in this pass: the order among them changes nothing, so it is not read"""
    if seen is not None and only is None and candidates and not fits:
        candidates, ahead, urgent, read = _prioritised(session, ctx, seen, candidates, max(2 * limit, 2000))
        # The order puts urgent work first: a pass that has any takes it alone (with the routine work it must
        # follow), so the flood's share does not hold back its commit, and its page; the flood goes next pass.
        last = max((i for i, (rid, _) in enumerate(candidates) if rid in urgent), default=-1)
        cut = urgent_only or last >= 0
        if cut:
            candidates = candidates[: last + 1]
    else:
        ahead = len(candidates)
    chosen: list[int] = []
    total = 0
    for rid, count in candidates:
        if chosen and total + count > limit:
            break
        chosen.append(rid)
        total += count
    if not chosen:
        return Processed(0, 0, False, [], read=sum(read.values()))
    more = len(chosen) < ahead
    subs: list[Submission] = []
    refused: list[tuple[int, Refused]] = []
    order: list[tuple[int, Submission | None, list[dict[str, Any]], bool]] = []
    """per request: its slice, the outcomes of its earlier slices, and whether this slice is its last"""
    by_id = _chosen(session, chosen)
    if seen is not None and len(by_id) < len(chosen):  # applied meanwhile by another replica
        seen.forget([rid for rid in chosen if rid not in by_id])
    known: dict[int, list[Incoming]] = {}
    for rid in by_id:
        items = (parsed or {}).get(rid) or (seen.take(rid) if seen is not None else None)
        if items is not None:
            known[rid] = items
    bodies = _bodies(session, [rid for rid in by_id if rid not in known])
    applied = 0
    for row in (by_id[rid] for rid in chosen if rid in by_id):
        sub: Submission | None
        earlier: list[dict[str, Any]] = list(row.outcomes or [])
        last = True
        try:
            items = known.get(row.id)
            if items is None:
                items = parse_body(row.source, bodies[row.id], row.headers or {})
            if len(items) > limit or earlier:  # a large request: this pass applies its next slice
                if parsed is not None:
                    parsed[row.id] = items
                last = len(earlier) + limit >= len(items)
                items = items[len(earlier) : len(earlier) + limit]
                more = more or not last
            sub = Submission(row.integration, row.received_at, items)
            applied += len(items)
        except UNPARSABLE as exc:  # accepted by an older parser
            refused.append((row.id, _refusal(row.source, row.integration, row.received_at, bodies[row.id], exc)))
            sub = None
        order.append((row.id, sub, earlier, last))
        if sub is not None:
            subs.append(sub)
    results = ingest(session, ctx, now, list(subs), cfg)
    outcomes = iter(results)
    marks: list[tuple[int, list[Any] | None, str | None, int | None]] = []
    """per finished request: its id, its alerts' outcomes, or the error and dead letter that failed it"""
    partial: list[tuple[int, list[Any]]] = []
    finished: list[int] = []
    pg = session.get_bind().dialect.name == "postgresql"
    dead = {rid: (dead_letter(session, job, cfg.dead_letters_keep), job.error) for rid, job in refused}
    for rid, sub, earlier, last in order:
        if sub is None:
            letter, error = dead[rid]
            marks.append((rid, None, f"{error} (its body is dead letter {letter})", letter))
        elif not last:
            partial.append((rid, earlier + list(next(outcomes))))  # type: ignore[arg-type]
            continue
        else:
            done = next(outcomes)
            marks.append((rid, earlier + done if earlier else done, None, None))  # type: ignore[operator,arg-type]
        finished.append(rid)
        if parsed is not None:
            parsed.pop(rid, None)
    mark = "%s" if pg else "?"
    cast_json = "::json" if pg else ""
    if marks and pg:  # one statement over one JSON document: an executemany is still one UPDATE per request
        document = [{"id": rid, "outcomes": done, "error": error, "dead_letter": letter}
                    for rid, done, error, letter in marks]  # fmt: skip
        session.connection().exec_driver_sql(
            "UPDATE intake_requests AS r SET processed_at = %s, outcomes = m.outcomes, error = m.error, "
            "dead_letter = m.dead_letter FROM json_to_recordset(%s::json) "
            "AS m(id bigint, outcomes json, error text, dead_letter bigint) WHERE r.id = m.id",
            (now, orjson.dumps(document).decode()),
        )
    elif marks:
        when, dumps = sqlite_time(now), orjson.dumps
        session.connection().exec_driver_sql(
            "UPDATE intake_requests SET processed_at = ?, outcomes = ?, error = ?, dead_letter = ? WHERE id = ?",
            [(when, None if done is None else dumps(done).decode(), error, letter, rid)
             for rid, done, error, letter in marks],
        )  # fmt: skip
    for rid, so_far in partial:
        session.connection().exec_driver_sql(
            f"UPDATE intake_requests SET outcomes = {mark}{cast_json} WHERE id = {mark}",
            (orjson.dumps(so_far).decode(), rid),
        )
    if pg and not recorded(session):
        # Nothing for anyone's timeline (the flood's repeats): the commit need not wait for the disk. A crash
        # that loses it loses the requests' marks with it, and they are applied again; a later durable
        # commit flushes it, and a pass that declares, pages or writes a timeline entry is durable.
        session.execute(text("SET LOCAL synchronous_commit = off"))
    if seen is not None:
        seen.forget(finished)
    return Processed(len(order), applied, more, finished, sliced=bool(partial),
                     urgent=len(urgent - set(finished)),
                     read=sum(n for rid, n in read.items() if rid not in by_id), cut=cut)  # fmt: skip


@dataclass(slots=True)
class _Row:
    id: int
    source: str
    integration: str
    received_at: datetime
    headers: dict[str, str]
    outcomes: list[dict[str, Any]] | None


def _chosen(session: Session, ids: list[int]) -> dict[int, _Row]:
    """The chosen requests still pending, in id order, read at the driver: a pass of 2,000 single alerts spent a
    twentieth of its time in the ORM types' row processing (the same few times and empty documents over again)."""
    conn = session.connection()
    sql = f"SELECT {ROW_COLUMNS} FROM intake_requests WHERE processed_at IS NULL"
    out: dict[int, _Row] = {}
    if conn.dialect.name == "postgresql":  # psycopg hands back aware times and decoded JSON
        for r in conn.exec_driver_sql(f"{sql} AND id = ANY(%s) ORDER BY id", (ids,)):
            out[r[0]] = _Row(r[0], r[1], r[2], r[3].astimezone(UTC), r[4] or {}, r[5])
        return out
    times: dict[str, datetime] = {}
    for chunk in chunks(ids):
        for r in conn.exec_driver_sql(f"{sql} AND id IN ({', '.join('?' * len(chunk))}) ORDER BY id", tuple(chunk)):
            when = times.get(r[3])
            if when is None:
                when = times[r[3]] = datetime.fromisoformat(r[3]).replace(tzinfo=UTC)
            headers = {} if r[4] in (None, "{}") else orjson.loads(r[4])
            out[r[0]] = _Row(r[0], r[1], r[2], when, headers, None if r[5] is None else orjson.loads(r[5]))
    return out


def _bodies(session: Session, ids: list[int]) -> dict[int, bytes]:
    """The stored bodies of these requests (only those not parsed already are read), read at the driver as
    `_chosen` reads their rows: for single-alert requests the ORM's statement and rows were a twentieth of a pass."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        return dict(conn.exec_driver_sql("SELECT id, body FROM intake_requests WHERE id = ANY(%s)", (ids,)).all())
    out: dict[int, bytes] = {}
    for chunk in chunks(ids):
        sql = f"SELECT id, body FROM intake_requests WHERE id IN ({', '.join('?' * len(chunk))})"
        out.update(conn.exec_driver_sql(sql, tuple(chunk)).all())
    return out


def _prioritised(session: Session, ctx: Context, seen: Backlog, oldest: list[tuple[int, int]],
                 ahead: int) -> tuple[list[tuple[int, int]], int, set[int], dict[int, int]]:  # fmt: skip
    """The pending requests in the order to apply them, how many are known to be pending, the urgent ones, and
    the requests read here (id → alerts).

    This process reads the requests it commits for their shape as it commits them (`classify`).
    Pending requests it has not read (another replica committed them, or it forgot) are read here,
    up to LOOKAHEAD requests or `ahead` alerts (at most LOOKAHEAD_ALERTS) a pass beyond the last one
    looked at, and the oldest pending ones always. What they parse to is kept in `seen`, for applying.
    """
    ahead = min(ahead, LOOKAHEAD_ALERTS)
    seen.below(oldest[0][0])
    newer = session.execute(
        select(TABLE.c.id, TABLE.c.alerts).where(TABLE.c.processed_at.is_(None), TABLE.c.id > seen.frontier)
        .order_by(TABLE.c.id).limit(LOOKAHEAD)
    ).all()  # fmt: skip
    wanted: list[int] = []
    alerts = 0
    looked = seen.frontier
    for rid, count in newer:
        if rid not in seen:
            if wanted and alerts + count > ahead:
                break
            wanted.append(rid)
            alerts += count
        looked = rid
    read_all = looked == (newer[-1][0] if newer else looked) and len(newer) < LOOKAHEAD
    taken = set(wanted)
    wanted += [rid for rid, _ in oldest if rid not in seen and rid not in taken]
    cols = (TABLE.c.id, TABLE.c.alerts, TABLE.c.source, TABLE.c.headers, TABLE.c.body)
    read: dict[int, int] = {}
    for chunk in chunks(wanted, 1000):
        rows = session.execute(select(*cols).where(TABLE.c.processed_at.is_(None), TABLE.c.id.in_(chunk)))
        for row in rows:
            if row.id not in seen:
                classify(ctx.policy, seen, row.id, row.alerts, row.source, row.body, row.headers or {})
                read[row.id] = row.alerts
    seen.frontier = max(seen.frontier, looked)
    covered = seen.cover = cover(session, ctx.policy, list(seen.buckets), ctx.clock.now())
    seen.covered_at = time.monotonic()
    known = len(seen) + (0 if read_all else 1)
    out: list[tuple[int, int]] = []
    for rid in seen.order(covered):
        out.append((rid, seen.sizes[rid]))
        if len(out) > len(oldest):  # as many as a pass may take, and one more
            break
    return out, known, seen.urgent(covered), read


UNPARSABLE = (PayloadError, orjson.JSONDecodeError, KeyError)
"""what a stored body that its parser no longer takes raises (a parser changed under it)"""


def read_alerts(source: str, body: bytes, headers: Mapping[str, str]) -> list[Incoming] | None:
    """A request's alerts, or None when its body no longer parses (applying it dead-letters it)."""
    try:
        return parse_body(source, body, headers)
    except UNPARSABLE:
        return None


def classify(policy: Policy, seen: Backlog, rid: int, alerts: int, source: str, body: bytes,
             headers: Mapping[str, str]) -> bool:  # fmt: skip
    """Read a pending request for its priority (`priority.shape_of`) into `seen`, its alerts kept for applying.

    True when, as far as the last look at the open incidents tells (`Backlog.cover`), it can page someone.
    A request already held (a pass in a worker thread read it ahead meanwhile) is not parsed again.
    """
    shape = seen.where.get(rid)
    if shape is None:
        items = read_alerts(source, body, headers)
        shape, keys = shape_of(policy, items)
        seen.add(rid, alerts, shape, keys, items, advance=False)
    return seen.cover is not None and not seen.cover.routine(shape)


def _refusal(source: str, integration: str, received: datetime, body: bytes, exc: Exception) -> Refused:
    field = exc.field if isinstance(exc, PayloadError) else None
    return Refused(source, integration, received, 422, f"accepted, then refused: {exc}", field,
                   "application/json", body)  # fmt: skip


def fail(session: Session, now: datetime, cfg: IntakeSettings, rid: int, error: str) -> int | None:
    """A request the pipeline cannot apply: marked failed with its body kept as a dead letter."""
    row = session.execute(
        select(TABLE.c.source, TABLE.c.integration, TABLE.c.received_at, TABLE.c.body, TABLE.c.processed_at)
        .where(TABLE.c.id == rid)
        .with_for_update()
    ).first()
    if row is None or row.processed_at is not None:
        return None
    job = Refused(row.source, row.integration, row.received_at, 500, f"could not be applied: {error}"[:4000], None,
                  "application/json", row.body)  # fmt: skip
    dead = dead_letter(session, job, cfg.dead_letters_keep)
    session.execute(  # outcomes go: a request applied in part, then failed, is failed
        TABLE.update()
        .where(TABLE.c.id == rid)
        .values(processed_at=now, outcomes=None, error=job.error, dead_letter=dead)
    )
    return dead


def prune(session: Session, before: datetime) -> int:
    """Forget processed requests older than `before` (their alerts stay); the newest row always stays."""
    newest = session.scalar(select(TABLE.c.id).order_by(TABLE.c.id.desc()).limit(1))
    if newest is None:
        return 0
    done = session.execute(TABLE.delete().where(TABLE.c.processed_at < before, TABLE.c.id < newest))
    return int(done.rowcount or 0)  # type: ignore[attr-defined]


def backlog(session: Session) -> tuple[int, int]:
    """Requests, and their alerts, accepted but not applied yet."""
    row = session.execute(
        select(func.count(), func.coalesce(func.sum(TABLE.c.alerts), 0)).where(TABLE.c.processed_at.is_(None))
    ).one()
    return int(row[0]), int(row[1])


def record_costs(session: Session, worker: str, per_alert: float, per_request: float, now: datetime) -> None:
    """This replica's measured cost of applying, for the replicas that are not applying (`applying_costs`)."""
    session.merge(IntakeCost(worker=worker[:120], per_alert=per_alert, per_request=per_request, measured_at=now))


def applying_costs(session: Session, worker: str, since: datetime) -> tuple[float, float] | None:
    """The cost per alert and per request another replica measured most recently, after `since`."""
    row = session.execute(
        select(IntakeCost.per_alert, IntakeCost.per_request)
        .where(IntakeCost.worker != worker[:120], IntakeCost.measured_at > since)
        .order_by(IntakeCost.measured_at.desc())
        .limit(1)
    ).first()
    return None if row is None else (float(row[0]), float(row[1]))


def pending_ids(session: Session, limit: int) -> list[int]:
    return list(
        session.scalars(select(TABLE.c.id).where(TABLE.c.processed_at.is_(None)).order_by(TABLE.c.id).limit(limit))
    )
