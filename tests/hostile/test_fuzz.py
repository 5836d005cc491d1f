"""schemathesis against a live `warroom serve` on SQLite: every operation, a fixed seed, a bounded example count.

Valid and invalid requests generated from the OpenAPI document must never get a 5xx, and every
answer must be one the document names, with its content type and schema. A failure prints the
curl command that reproduces it. WARROOM_FUZZ_EXAMPLES raises the count for a longer local run.
(schemathesis's own pytest plugin does not run under pytest 9, so each operation gets its own
hypothesis test here, with schemathesis's strategies and checks.)
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.hostile.conftest import Hostile

EXAMPLES = int(os.environ.get("WARROOM_FUZZ_EXAMPLES", "30"))
STREAMS = {"/api/v1/events"}
"""answers that never end by design (Server-Sent Events): tests/e2e/test_web.py drives them in a browser"""
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_every_operation(mode: GenerationMode, hostile_sqlite: Hostile) -> None:
    base = hostile_sqlite.server.base
    auth_headers = hostile_sqlite.headers  # signed in as an admin: every operation is reached
    schema = schemathesis.openapi.from_url(base + "/openapi.json", headers=auth_headers, timeout=30)
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in STREAMS:
            continue
        operations += 1

        @seed(20261202)
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))  # fmt: skip
        @given(case=operation.as_strategy(generation_mode=mode))
        def one(case: Any) -> None:
            case.call_and_validate(base_url=base, headers=auth_headers, checks=CHECKS, timeout=30)

        try:
            one()
        except Unsatisfiable:  # nothing of it can be made invalid (no parameters, or only free text)
            continue
        except Exception as exc:  # every operation runs; the failures are reported together
            failures.append(f"{operation.method.upper()} {operation.path}\n{exc}")
    assert operations >= 70, f"only {operations} operations in the OpenAPI document"
    assert not failures, f"{len(failures)} of {operations} operations failed:\n\n" + "\n\n".join(failures)
