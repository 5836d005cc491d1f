#!/usr/bin/env bash
# Run every tier in WARROOM_TEST_WORKERS processes (pytest-xdist, work stealing; default 2, a core each
# here; 0 runs them in this one). Most tests wait on a server, a browser or a database at some point.
# pytest's "no tests collected" (exit 5) is a failure here, never a pass.
set -uo pipefail
.venv/bin/pytest -n "${WARROOM_TEST_WORKERS:-2}" --dist worksteal "$@"
rc=$?
if [ "$rc" = 5 ]; then
  echo "run-tests: pytest collected no tests; that is a failure" >&2
  exit 1
fi
exit "$rc"
