"""A teacher who also holds a post at the school (a school's personnel officer who teaches)
retires: the record says so in its history, and the work named to them goes back to the
school's other officers, with a reassignment on the case's audit trail — nothing stays
addressed to someone who can no longer do it."""

from __future__ import annotations

import json

from sqlalchemy import select

from states.org import SCHOOL_OFFICER
from states.registry import history, roster
from states.seed.builders import bind
from states.store.audit_store import verify_trail
from states.store.models import AuditEvent, Task, Teacher
from states.store.people import load_actor
from tests.world import Driver


def test_a_retiring_officer_teachers_named_work_goes_back_to_the_role(d: Driver) -> None:
    world = d.world
    colleague = world.teacher("officer_who_teaches", "urban")
    with world.engine.begin() as conn:
        bind(conn, colleague.person_id or 0, SCHOOL_OFFICER, world.units["urban"])
        colleague = load_actor(conn, person_id=colleague.person_id)
    applicant = world.teacher("applicant", "urban", title="grade1", title_years=6)
    case_id = d.declare(applicant)
    [task] = [t for t in d.open_tasks(case_id) if t.kind == "act"]
    d.eng.transfer(
        task.id, colleague.person_id or 0, world.actors["school_officer"],
        expected_version=d.case(case_id).version,
    )  # fmt: skip
    assert d.open_tasks(case_id)[0].assignee_id == colleague.person_id

    with world.engine.begin() as conn:
        version = conn.execute(
            select(Teacher.version).where(Teacher.person_id == colleague.person_id)
        ).scalar_one()
        roster.move_teacher(
            conn, world.actors["county_officer"], colleague.person_id or 0, "retire",
            on=d.clock.now().date(), expected_version=version, at=d.clock.now(),
            note="东人社〔2026〕12号",
        )  # fmt: skip

    [back] = [t for t in d.open_tasks(case_id) if t.kind == "act"]
    assert back.assignee_id is None and back.role == SCHOOL_OFFICER, "back to the school's role"
    with world.engine.connect() as conn:
        event = conn.execute(
            select(AuditEvent.payload).where(
                AuditEvent.case_id == case_id, AuditEvent.event == "reassign"
            )
        ).scalar_one()
        assert "已离开原岗位" in json.loads(event)["reason"]
        assert not list(verify_trail(conn, case_id)), "the case's chain still verifies"
        trail = history.entries_of(conn, history.TEACHER, colleague.person_id or 0)
        assert trail[-1].source == "move" and "东人社〔2026〕12号" in (trail[-1].source_ref or "")
        assert trail[-1].changes["status"][1] == "retired"
        assert conn.execute(select(Task.status).where(Task.id == task.id)).scalar_one() == "open"
