"""Property-based fuzzing of the whole OpenAPI document against a real server: whatever a
client sends, the answer is never a 5xx. Runs on both databases (PostgreSQL is strict about
what SQLite lets through: NUL bytes, 64-bit overflows)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings

from tests.live import Live

EXAMPLES = 25


def _fuzz(
    operation: Any, url: str, headers: dict[str, str], failures: list[str]
) -> Callable[[], None]:
    """A hypothesis test for one operation, collecting every 5xx it provokes."""

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def call(case: schemathesis.Case) -> None:
        response = case.call(base_url=url, headers=headers)
        if response.status_code >= 500:
            failures.append(
                f"{case.method} {case.formatted_path} -> {response.status_code}: "
                f"{case.body!r} {case.query!r} {response.text[:200]}"
            )

    return call  # type: ignore[no-any-return]


def test_no_server_errors(live: Live) -> None:
    token = live.client("county_officer").headers["Authorization"]
    schema = schemathesis.openapi.from_url(f"{live.url}/openapi.json")
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    for operation in operations:
        signed_in = operation.path != "/api/v1/auth/token"
        _fuzz(operation, live.url, {"Authorization": token} if signed_in else {}, failures)()
    assert not failures, "\n".join(failures[:20])
