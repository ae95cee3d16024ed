"""An idempotency key belongs to one request: who asked, which event, at which version, with
what. Looked at only once the case is loaded and the actor may see it; reused for anything
else it is refused naming the key; replayed, it returns the first result exactly."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from states.engine import CaseEngine
from states.errors import FormError, NotFound
from states.store.models import AuditEvent
from tests.live import Live, add_account
from tests.test_api import _ids, declare
from tests.world import DECLARE, Driver, World


def _trail(eng: CaseEngine, case_id: int) -> int:
    with eng.db.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.case_id == case_id)
            ).scalar_one()
        )


def test_a_key_is_checked_after_the_case_is_seen(d: Driver, world: World, eng: CaseEngine) -> None:
    """Someone who may not see the case learns nothing from a key: not found, as without."""
    case_id = d.declare(world.teacher("钱老师"))
    officer = world.actors["school_officer"]
    v = d.case(case_id).version
    first = eng.fire(case_id, "school_approve", officer, expected_version=v, idempotency_key="k")
    stranger = world.actors["west_school_officer"]
    with pytest.raises(NotFound):
        eng.fire(case_id, "school_approve", stranger, expected_version=v, idempotency_key="k")
    assert d.case(case_id).version == first.version


def test_a_key_reused_for_another_request_is_refused(
    d: Driver, world: World, eng: CaseEngine
) -> None:
    case_id = d.declare(world.teacher("孔老师"))
    officer, colleague = world.actors["school_officer"], world.actors["school_officer2"]
    v = d.case(case_id).version
    first = eng.fire(
        case_id, "school_approve", officer, {"comment": "同意"}, expected_version=v,
        idempotency_key="k",
    )  # fmt: skip
    written = _trail(eng, case_id)
    reused = {
        "another payload": (officer, {"comment": "不同意见"}, v),
        "another version": (officer, {"comment": "同意"}, v + 1),
        "another person": (colleague, {"comment": "同意"}, v),
    }
    for why, (who, payload, version) in reused.items():
        with pytest.raises(FormError) as refused:
            eng.fire(
                case_id, "school_approve", who, payload, expected_version=version,
                idempotency_key="k",
            )  # fmt: skip
        assert refused.value.field == "Idempotency-Key", why
        assert "幂等键" in refused.value.reason, why
    assert _trail(eng, case_id) == written and d.case(case_id).version == first.version


def test_a_replay_returns_the_first_result_exactly(
    d: Driver, world: World, eng: CaseEngine
) -> None:
    """A veto's replay included: the same event, states, version and reason."""
    teacher = world.teacher("严老师", ethics=[dt.date(2025, 3, 1)])
    case_id = eng.start("title_review", teacher, DECLARE).case_id
    first = eng.fire(case_id, "submit", teacher, expected_version=1, idempotency_key="s")
    assert first.event == "veto" and first.reason
    again = eng.fire(case_id, "submit", teacher, expected_version=1, idempotency_key="s")
    assert again.replayed
    assert (again.event, again.from_state, again.to_state, again.version, again.reason) == (
        first.event,
        first.from_state,
        first.to_state,
        first.version,
        first.reason,
    )


def test_a_reused_key_over_http_is_a_422_naming_it(live: Live) -> None:
    ids = _ids(live)
    teacher, officer = live.client("teacher"), live.client("school_officer")
    cid = declare(live, teacher, ids["subject"])["case_id"]
    version = officer.get(f"/api/v1/cases/{cid}").json()["version"]
    url, headers = f"/api/v1/cases/{cid}/events", {"Idempotency-Key": "approve-7"}
    body = {"event": "school_approve", "expected_version": version, "payload": {"comment": "好"}}
    first = officer.post(url, json=body, headers=headers)
    assert first.status_code == 200
    other = officer.post(url, json={**body, "payload": {"comment": "另一意见"}}, headers=headers)
    assert other.status_code == 422 and other.json()["field"] == "Idempotency-Key"
    again = officer.post(url, json=body, headers=headers)
    assert again.status_code == 200 and again.json() == {**first.json(), "replayed": True}
    # a colleague at the same school, who sees the case, cannot borrow the key either
    add_account(live, "officer_two", "school_officer", ids["school"])
    borrowed = live.client("officer_two").post(url, json=body, headers=headers)
    assert borrowed.status_code == 422 and borrowed.json()["field"] == "Idempotency-Key"
