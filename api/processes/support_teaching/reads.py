"""The candidates as a teacher's page and a school's page list them: read from the cases
themselves (an application's data names its need, its dates and whom it puts forward), under
the reader's scope, one query a page."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from states.engine.scope import case_scope
from states.org import Actor
from states.processes.support_teaching.machine import APPLICATION, ApplicationMachine
from states.store.models import Case, Person, table_of

cases_t, people_t = table_of(Case), table_of(Person)


@dataclass(frozen=True)
class AppLine:
    case_id: int
    version: int
    state: str
    state_label: str
    need_id: int
    need: str  # 东县乡村小学初中数学
    school: str  # the receiving school
    teacher_id: int
    teacher: str
    starts_on: dt.date
    ends_on: dt.date
    nominated: bool
    term_id: int | None


QUERY = (
    select(
        cases_t.c.id, cases_t.c.version, cases_t.c.state, cases_t.c.data, cases_t.c.subject_id,
        people_t.c.name,
    )
    .join(people_t, people_t.c.id == cases_t.c.subject_id)
    .where(cases_t.c.process == APPLICATION, cases_t.c.state != "draft")
    .order_by(cases_t.c.id.desc())
)  # fmt: skip


def _line(r: Any) -> AppLine:
    data = r.data or {}
    return AppLine(
        case_id=int(r.id), version=int(r.version), state=str(r.state),
        state_label=str(getattr(ApplicationMachine, r.state).name),
        need_id=int(data.get("need_id") or 0), need=str(data.get("need") or ""),
        school=str(data.get("school") or ""), teacher_id=int(r.subject_id),
        teacher=str(r.name), starts_on=dt.date.fromisoformat(str(data["starts_on"])),
        ends_on=dt.date.fromisoformat(str(data["ends_on"])),
        nominated=bool(data.get("nominated")),
        term_id=int(data["term_id"]) if data.get("term_id") else None,
    )  # fmt: skip


def my_applications(conn: Connection, person_id: int) -> list[AppLine]:
    """The teacher's own applications and nominations, the newest first."""
    return [_line(r) for r in conn.execute(QUERY.where(cases_t.c.subject_id == person_id))]


def school_applications(conn: Connection, actor: Actor, school_id: int) -> list[AppLine]:
    """The candidates a sending school put forward or whose teachers volunteered (the case
    sits at the teacher's school), as far as the reader's scope goes."""
    query = QUERY.where(cases_t.c.org_unit_id == school_id, case_scope(actor))
    return [_line(r) for r in conn.execute(query)]
