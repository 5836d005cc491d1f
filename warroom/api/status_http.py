"""`warroom serve`'s HTTP protocol: uvicorn's httptools protocol, which answers the public status page's reads
from memory as soon as their headers are parsed (no ASGI task, scope, middleware or route), and hands every
other request to the application as uvicorn does.

A status page is read most when everything else is busy: an alert storm is being ingested in the same
process at that moment. Each request answered here costs a few microseconds of that process's one core
instead of the tens an ASGI request takes. What is answered, and how, is `status.Fast.raw`, the same
answers the ASGI path gives (`status.answer`); anything it declines (the copy must be checked against the
database first, a 404, a request that is not a public read) goes the ASGI way.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from warroom.api.status import Fast


class _Nothing:
    @staticmethod
    def set() -> None:
        return None


class _Answered:
    """Stands where uvicorn keeps a request's cycle, for a request answered here: complete, waiting for nothing."""

    response_complete = True
    disconnected = False
    keep_alive = True
    message_event = _Nothing()


ANSWERED: Any = _Answered()


def _reads(app: Any) -> Fast | None:
    """The application's public reads, through uvicorn's wrappers (proxy headers, and the like)."""
    for _ in range(8):
        reads = getattr(app, "status_reads", None)
        if isinstance(reads, Fast):
            return reads
        app = getattr(app, "app", None)
        if app is None:
            return None
    return None


class HttpProtocol(HttpToolsProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._status = _reads(self.app)
        self._defaults: list[tuple[bytes, bytes]] | None = None
        self._default_lines = b""

    def on_headers_complete(self) -> None:
        reads = self._status
        if reads is not None and (self.cycle is None or self.cycle.response_complete) and not self.pipeline:
            method = self.parser.get_method()
            if method in (b"GET", b"HEAD"):
                out = reads.raw(method == b"HEAD", self.url, self.headers)
                if out is not None:
                    self._answer(*out)
                    return
        super().on_headers_complete()

    def _answer(self, status: bytes, lines: bytes, body: bytes) -> None:
        keep = self.parser.get_http_version() != "1.0" and self.parser.should_keep_alive()
        defaults = self.server_state.default_headers  # the date and server lines, renewed every second
        if defaults is not self._defaults:
            self._defaults = defaults
            self._default_lines = b"".join(k + b": " + v + b"\r\n" for k, v in defaults)
        head = status + self._default_lines + lines + (b"\r\n" if keep else b"connection: close\r\n\r\n")
        self.cycle = ANSWERED
        if body:
            self.transport.writelines((head, body))
        else:
            self.transport.write(head)
        if keep:
            self.on_response_complete()
        else:
            self.server_state.total_requests += 1
            self.transport.close()
