"""A lean HTTP/1.1 keep-alive load generator on asyncio streams, the same for warroom and Alertmanager.

Why hand-written: httpx's per-request overhead would cap both servers at the client's speed on a
2-core machine; a raw keep-alive client measures the servers instead. Traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Result:
    requests: int = 0
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    elapsed: float = 0.0

    @property
    def rate(self) -> float:
        """Requests answered per second, whatever the answer."""
        return self.requests / self.elapsed if self.elapsed else 0.0

    @property
    def ok(self) -> int:
        return sum(n for status, n in self.statuses.items() if status < 300)

    @property
    def ok_rate(self) -> float:
        """Requests answered 2xx (accepted) per second: a 503 pushed back is answered, not accepted."""
        return self.ok / self.elapsed if self.elapsed else 0.0

    def pct(self, p: float) -> float:
        return percentile(self.latencies, p)


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank), NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def post(self, path: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        if self.writer is None or self.reader is None:
            await self.open()
        assert self.writer is not None and self.reader is not None
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n{extra}\r\n"
        ).encode()
        self.writer.write(head + body)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("server closed the connection")
        status = int(status_line.split()[1])
        length, chunked = 0, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            lname = name.strip().lower()
            if lname == "content-length":
                length = int(value.strip())
            elif lname == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
        if chunked:
            data = b""
            while True:
                size = int((await self.reader.readline()).strip(), 16)
                if size == 0:
                    await self.reader.readline()
                    break
                data += await self.reader.readexactly(size)
                await self.reader.readline()
            return status, data
        return status, await self.reader.readexactly(length) if length else b""

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


async def run(
    host: str,
    port: int | list[int],
    path: str,
    make_body: Callable[[int], bytes],
    *,
    total: int,
    connections: int = 16,
    headers: dict[str, str] | None = None,
    rate: float | None = None,
    seconds: float | None = None,
) -> Result:
    """Send `total` POSTs over `connections` keep-alive connections; `rate` caps requests per second, and
    `seconds` ends the run once that long has passed (with fewer than `total` sent).

    Given several ports (replicas behind no balancer), the connections are spread over them in turn."""
    ports = port if isinstance(port, list) else [port]
    result = Result()
    counter = iter(range(total))
    start = time.perf_counter()

    async def worker(n: int) -> None:
        conn = Connection(host, ports[n % len(ports)])
        try:
            for i in counter:
                if seconds is not None and time.perf_counter() - start >= seconds:
                    break
                if rate:
                    due = start + i / rate
                    delay = due - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                body = make_body(i)
                t0 = time.perf_counter()
                try:
                    status, _ = await conn.post(path, body, headers)
                except (ConnectionError, OSError, asyncio.IncompleteReadError):
                    result.errors += 1
                    conn.close()
                    continue
                result.latencies.append(time.perf_counter() - t0)
                result.requests += 1
                result.statuses[status] = result.statuses.get(status, 0) + 1
                if status >= 300:
                    result.errors += 1
        finally:
            conn.close()

    await asyncio.gather(*(worker(n) for n in range(connections)))
    result.elapsed = time.perf_counter() - start
    return result
