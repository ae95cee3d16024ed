"""Property-based fuzzing of the whole OpenAPI document against a real server: whatever a
client sends, the answer is never a 5xx. Runs on both databases (PostgreSQL is strict about
what SQLite lets through: NUL bytes, 64-bit overflows).

Schemathesis already generates NUL (``allow_x00``) but never a lone surrogate: its string
alphabet leaves out the surrogate category, since a surrogate cannot be encoded for the wire.
In a JSON body it can — as the escape ``\\ud800``, which ``json.dumps`` writes — so each
generated case is also sent with an invisible or broken character appended to every string
of its body (and, where it encodes, of its query): such a request must be refused, never a
5xx and never a 2xx."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.transport.requests import ManagedCookiesSession

from tests.live import Live

EXAMPLES = 25
# None: the case as generated; otherwise the character appended to its strings.
POISON = st.sampled_from([None, "\ud800", "\x00", "\x1b", "\x7f", "\x85"])


def _poisoned(value: Any, bad: str) -> Any:
    """``value`` with ``bad`` appended to every string in it, at any depth."""
    if isinstance(value, str):
        return value + bad
    if isinstance(value, dict):
        return {key: _poisoned(item, bad) for key, item in value.items()}
    if isinstance(value, list):
        return [_poisoned(item, bad) for item in value]
    return value


def _has_text(value: Any) -> bool:
    if isinstance(value, str):
        return True
    if isinstance(value, dict):
        return any(_has_text(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_text(item) for item in value)
    return False


def _check(
    case: schemathesis.Case, status: int, body: bytes, poisoned: bool, failures: list[str]
) -> None:
    if status >= 500 or (poisoned and status < 400):
        failures.append(
            f"{case.method} {case.formatted_path} -> {status}{' (poisoned)' if poisoned else ''}: "
            f"{case.body!r} {case.query!r} {body[:200].decode('utf-8', 'replace')}"
        )


def _fuzz(
    operation: Any,
    url: str,
    headers: dict[str, str],
    failures: list[str],
    clients: tuple[ManagedCookiesSession, httpx.Client],
) -> Callable[[], None]:
    """A hypothesis test for one operation, collecting every 5xx it provokes.

    ``clients`` are kept open across the run and forget the cookies of each answer: a new
    client per request spent a third of the run loading TLS certificates for plain HTTP."""
    session, client = clients

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(), bad=POISON)
    def call(case: schemathesis.Case, bad: str | None) -> None:
        response = case.call(base_url=url, session=session, headers=headers)
        _check(case, response.status_code, response.content, False, failures)
        if bad is None:
            return
        # sent by hand: schemathesis checks a body against the schema before sending, and
        # cannot encode a lone surrogate for that
        json_body = "json" in (case.media_type or "") and _has_text(case.body)
        query = bad != "\ud800" and _has_text(case.query)  # a query is UTF-8 on the wire
        if not (json_body or query):
            return
        client.cookies.clear()
        poisoned = client.request(
            case.method,
            url + case.formatted_path,
            params=_poisoned(case.query, bad) if query else case.query,
            content=json.dumps(_poisoned(case.body, bad) if json_body else case.body)
            if "json" in (case.media_type or "")
            else None,
            headers={**headers, "Content-Type": "application/json"},
        )
        _check(case, poisoned.status_code, poisoned.content, True, failures)

    return call  # type: ignore[no-any-return]


def test_no_server_errors(live: Live) -> None:
    token = live.client("county_officer").headers["Authorization"]
    # Signing out ends every token of its person: fuzzed with an account of its own, so that
    # the operations after it are still tried signed in.
    leaving = live.client("teacher").headers["Authorization"]
    schema = schemathesis.openapi.from_url(f"{live.url}/openapi.json")
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    with ManagedCookiesSession() as session, httpx.Client(timeout=30) as client:
        for operation in operations:
            signed_in = operation.path != "/api/v1/auth/token"
            own = leaving if operation.path == "/api/v1/auth/logout" else token
            headers = {"Authorization": own} if signed_in else {}
            _fuzz(operation, live.url, headers, failures, (session, client))()
    assert not failures, "\n".join(failures[:20])
