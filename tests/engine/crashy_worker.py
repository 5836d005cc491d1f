"""`warroom worker`, except that after recording its first page it stops inside the transaction.

The crash test starts this, waits for the marker file, and kills it with SIGKILL: a worker dead
mid-escalation with a page written but not committed, its claims still leased.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from warroom.engine import firing

_page = firing.Firing.page


def _page_then_hang(self: firing.Firing, *args: Any, **kwargs: Any) -> Any:
    row = _page(self, *args, **kwargs)
    if row is not None:
        self.session.flush()
        marker = os.environ["CRASH_MARKER"]
        with open(marker + ".part", "w", encoding="utf-8") as part:  # the test sees the marker whole or not at all
            part.write(str(self.timer.id))
        os.replace(marker + ".part", marker)
        time.sleep(600)
    return row


firing.Firing.page = _page_then_hang  # type: ignore[method-assign]

if __name__ == "__main__":
    from warroom.cli import main

    sys.argv = ["warroom", "worker", *sys.argv[1:]]
    main()
