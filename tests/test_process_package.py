"""A new process is a package: the leave request of ``tests.leave_process`` runs on the
engine, the sweeps, the audit and the pages with nothing written for it in ``states/`` or
``api/``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from states.clock import FrozenClock, bureau_time
from states.engine import CaseEngine
from states.errors import NotFound, PermissionDenied, RuleRefused
from states.org import SCHOOL_OFFICER
from states.processes import installed
from states.seed.builders import fire_current
from states.store.audit_store import verify_trail
from states.store.models import Case, OutboxMessage, Task, table_of
from states.sweeps import checks_sweep, publicity_sweep, reminder_sweep
from tests import leave_process as leave
from tests.live import add_account, serve
from tests.world import World

PACKAGES = (*installed(), leave.PACKAGE)


@pytest.fixture
def eng(engine: Engine, clock: FrozenClock) -> CaseEngine:
    return CaseEngine(engine, PACKAGES, clock)


def _tasks(eng: CaseEngine, case_id: int) -> list:  # type: ignore[type-arg]
    with eng.db.connect() as conn:
        return list(
            conn.execute(
                select(table_of(Task)).where(Task.case_id == case_id, Task.status == "open")
            )
        )


def _notices(eng: CaseEngine, case_id: int, kind: str) -> list:  # type: ignore[type-arg]
    with eng.db.connect() as conn:
        return list(
            conn.execute(
                select(table_of(OutboxMessage)).where(
                    OutboxMessage.case_id == case_id, OutboxMessage.kind == kind
                )
            )
        )


def test_a_leave_request_runs_on_the_engine(
    eng: CaseEngine, world: World, clock: FrozenClock
) -> None:
    teacher = world.teacher("请假教师")
    school, county = world.actors["school_officer"], world.actors["county_officer"]
    started = eng.start(leave.NAME, teacher, leave.FORM, submit=True)
    case_id = started.case_id
    assert started.to_state == "school_review"
    [task] = _tasks(eng, case_id)
    # 2026-09-01 is a Tuesday: three working days → Friday 4 September
    assert (task.role, task.org_unit_id, task.due_on) == (
        SCHOOL_OFFICER,
        world.unit("urban"),
        dt.date(2026, 9, 4),
    )
    assert _notices(eng, case_id, "task_assigned")

    # Another county's officer does not see it; the county cannot take the school's step.
    with pytest.raises(NotFound):
        fire_current(eng, case_id, "school_ok", world.actors["west_school_officer"])
    with pytest.raises(PermissionDenied):
        fire_current(eng, case_id, "school_ok", county)
    back = fire_current(eng, case_id, "send_back", school, {"reason": "请补充请假证明"})
    assert back.to_state == "returned"
    assert [n.payload["to"] for n in _notices(eng, case_id, "case_update")] == ["returned"]
    [task] = _tasks(eng, case_id)
    assert task.assignee_id == teacher.person_id

    fire_current(eng, case_id, "refile", teacher)
    fire_current(eng, case_id, "school_ok", school)
    [task] = _tasks(eng, case_id)
    assert task.state == "county_review" and task.due_on == dt.date(2026, 9, 8)

    # The reminder sweep tells the county on the day the step is due.
    clock.set(bureau_time(2026, 9, 8, 8, 30))
    report = reminder_sweep(eng)
    assert report.counts.get("reminder_due_today") == 1
    [reminder] = _notices(eng, case_id, "reminder_due_today")
    assert reminder.recipient_role == task.role and reminder.recipient_unit_id == world.unit("east")

    fire_current(eng, case_id, "county_ok", county)
    [window] = _tasks(eng, case_id)
    assert window.kind == "window" and window.due_on == dt.date(2026, 9, 11)
    # The window closes by the state's own on_expiry event, once its last day is over.
    assert publicity_sweep(eng).counts == {}
    clock.set(bureau_time(2026, 9, 14, 8))
    report = publicity_sweep(eng)
    assert report.counts == {"end_posting:granted": 1}
    with eng.db.connect() as conn:
        case = conn.execute(select(table_of(Case)).where(Case.id == case_id)).one()
        assert case.state == "granted" and case.closed_at is not None
        assert case.data["approved_on"] == "2026-09-08"
        assert list(verify_trail(conn, case_id)) == []
    assert _tasks(eng, case_id) == []
    # the package's scheduled check runs with the sweeps
    assert checks_sweep(eng).counts == {"long_leave:long": 1}

    # The process's own rule reads its own fact: 3 days granted, 13 more is over 15.
    with pytest.raises(RuleRefused) as refused:
        eng.start(leave.NAME, teacher, {**leave.FORM, "days": 13}, submit=True)
    assert "已准假3天" in refused.value.message


def test_a_leave_request_has_its_pages(
    db_url: str, engine: Engine, world: World, tmp_path: Path
) -> None:
    clock = FrozenClock(bureau_time(2026, 9, 1))
    teacher = world.teacher("请假教师")
    with serve(db_url, clock, tmp_path / "files", PACKAGES) as live:
        eng = live.services.engine
        case_id = eng.start(leave.NAME, teacher, leave.FORM, submit=True).case_id
        add_account(live, "leave_officer", SCHOOL_OFFICER, world.unit("urban"))
        client = live.client("leave_officer")
        # the catalogue lists it, with who acts in words
        names = [p["name"] for p in client.get("/api/v1/processes").json()]
        assert leave.NAME in names
        detail = client.get(f"/api/v1/cases/{case_id}").json()
        assert detail["state_label"] == "学校审批" and set(detail["may"]) >= {"school_ok", "refuse"}
        # the case page, signed in through the login form
        page = live.client()
        login = page.post(
            "/login",
            data={"username": "leave_officer", "password": "renshi2026", "next": "/inbox"},
        )
        assert login.status_code == 303, login.text
        html = page.get(f"/cases/{case_id}").text
        assert "教师请假" in html and "学校审批" in html and "学校同意" in html
        # approved, then on the public board with its own line
        for event, who in (("school_ok", "school_officer"), ("county_ok", "county_officer")):
            fire_current(eng, case_id, event, world.actors[who])
        board = live.client().get("/api/v1/public/publicity").json()
        lines = [i["detail"] for i in board["items"] if i["case_id"] == case_id]
        assert lines == ["请假3天，自2026-09-14起"]
