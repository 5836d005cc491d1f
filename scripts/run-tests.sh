#!/usr/bin/env bash
# Run every tier. pytest's "no tests collected" (exit 5) is a failure here, never a pass.
set -uo pipefail
.venv/bin/pytest "$@"
rc=$?
if [ "$rc" = 5 ]; then
  echo "run-tests: pytest collected no tests; that is a failure" >&2
  exit 1
fi
exit "$rc"
