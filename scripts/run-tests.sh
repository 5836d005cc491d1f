#!/usr/bin/env bash
# Run every tier, in WARROOM_TEST_WORKERS processes (pytest-xdist; default 2, one a core here: most
# tests wait on a server, a browser or a database, so two at once take about half the time).
# pytest's "no tests collected" (exit 5) is a failure here, never a pass.
set -uo pipefail
.venv/bin/pytest -n "${WARROOM_TEST_WORKERS:-2}" --dist worksteal "$@"
rc=$?
if [ "$rc" = 5 ]; then
  echo "run-tests: pytest collected no tests; that is a failure" >&2
  exit 1
fi
exit "$rc"
