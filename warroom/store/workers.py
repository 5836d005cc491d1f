"""Who claims durable rows (timers, outbox messages): one name per process and loop."""

from __future__ import annotations

import os
import socket
import uuid


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
