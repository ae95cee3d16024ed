"""Support teaching's facts, loaded inside the transition that reads them: the school that
declares a need, the need and the teacher behind an application, a term's check-ins."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, select

from states.engine.context import CaseContext
from states.org import path_ids
from states.processes.support_teaching.machine import APPLICATION
from states.processes.support_teaching.rules import (
    CORRECTED,
    LEVELS,
    ApplicationFacts,
    Busy,
    CheckinFacts,
    NeedFacts,
    month_of,
)
from states.processes.support_teaching.tables import (
    SupportCheckin,
    SupportNeed,
    SupportRegion,
    SupportTerm,
)
from states.store.models import Case, OrgUnit, Person, Teacher, table_of

needs_t, terms_t, checkins_t = (
    table_of(SupportNeed),
    table_of(SupportTerm),
    table_of(SupportCheckin),
)
regions_t, units_t, cases_t = table_of(SupportRegion), table_of(OrgUnit), table_of(Case)
teachers_t, people_t = table_of(Teacher), table_of(Person)
# A term that was never served (an objection upheld) keeps no one busy.
NOT_SERVED = ("removed",)
# An application selected and still open (its term in publicity) is busy through its term.
HELD_BY_TERM = ("selected",)


def region_of(conn: Connection, org_path: str) -> tuple[int, str] | None:
    """The paired region (unit id, name) a unit lies in, if any."""
    found = conn.execute(
        select(regions_t.c.unit_id, regions_t.c.name).where(
            regions_t.c.unit_id.in_(path_ids(org_path))
        )
    ).first()
    return (int(found.unit_id), str(found.name)) if found is not None else None


def need_facts(conn: Connection, ctx: CaseContext) -> NeedFacts:
    school = ctx.units["school"]
    name = conn.execute(select(units_t.c.name).where(units_t.c.id == school.id)).scalar_one()
    region = region_of(conn, school.path)
    return NeedFacts(
        school=str(name),
        is_rural=bool(school.is_rural),
        is_weak=bool(school.is_weak),
        region=region[1] if region else None,
    )


def need_label(school: str, level: str, subject: str) -> str:
    return f"{school}{LEVELS.get(level, level)}{subject}"


def busy(conn: Connection, teacher_id: int, *, leave_out: int | None = None) -> tuple[Busy, ...]:
    """The teacher's applications still being decided and terms not withdrawn by an upheld
    objection, with the dates each holds them (a term ended early: until it ended). A
    selected application is its term: named once, as the term."""
    out: list[Busy] = []
    for r in conn.execute(
        select(cases_t.c.id, cases_t.c.data).where(
            cases_t.c.process == APPLICATION,
            cases_t.c.applicant_id == teacher_id,
            cases_t.c.closed_at.is_(None),
            cases_t.c.state.not_in(HELD_BY_TERM),
        )
    ):
        if r.id == leave_out or not r.data.get("starts_on"):
            continue
        out.append(
            Busy(
                int(r.id),
                dt.date.fromisoformat(str(r.data["starts_on"])),
                dt.date.fromisoformat(str(r.data["ends_on"])),
            )
        )
    for r in conn.execute(
        select(terms_t.c.case_id, terms_t.c.starts_on, terms_t.c.ends_on, terms_t.c.ended_on)
        .join(cases_t, cases_t.c.id == terms_t.c.case_id)
        .where(terms_t.c.teacher_id == teacher_id, cases_t.c.state.not_in(NOT_SERVED))
    ):
        out.append(Busy(int(r.case_id), r.starts_on, r.ended_on or r.ends_on))
    return tuple(sorted(out, key=lambda b: b.case_id))


def application_facts(conn: Connection, ctx: CaseContext) -> ApplicationFacts:
    need_id = int(ctx.data.get("need_id", 0))
    need = conn.execute(
        select(needs_t, cases_t.c.state, units_t.c.name.label("school"))
        .join(cases_t, cases_t.c.id == needs_t.c.case_id)
        .join(units_t, units_t.c.id == needs_t.c.school_id)
        .where(needs_t.c.case_id == need_id)
    ).one_or_none()
    teacher_id = int(ctx.case.subject_id)
    teacher = conn.execute(
        select(teachers_t.c.status, teachers_t.c.school_id, units_t.c.path, people_t.c.name)
        .join(units_t, units_t.c.id == teachers_t.c.school_id)
        .join(people_t, people_t.c.id == teachers_t.c.person_id)
        .where(teachers_t.c.person_id == teacher_id)
    ).one_or_none()
    name = str(teacher.name) if teacher is not None else str(ctx.data.get("teacher", ""))
    busy_with = busy(conn, teacher_id, leave_out=ctx.case.id)
    if need is None:
        today = ctx.today
        return ApplicationFacts(
            need_id, "", None, today, today, 0, 0, 0, "", "/", name, None, None, "", busy_with
        )
    area_id = need.city_id if need.paired else need.county_id
    area = conn.execute(select(units_t.c.name, units_t.c.path).where(units_t.c.id == area_id)).one()
    return ApplicationFacts(
        need_id=need_id,
        need=need_label(need.school, need.level, need.subject),
        need_state=str(need.state),
        starts_on=need.starts_on,
        ends_on=need.ends_on,
        places=int(need.places),
        filled=int(need.filled),
        receiving_school_id=int(need.school_id),
        area=str(area.name),
        area_path=str(area.path),
        teacher=name,
        teacher_status=str(teacher.status) if teacher is not None else None,
        school_id=int(teacher.school_id) if teacher is not None else None,
        school_path=str(teacher.path) if teacher is not None else "",
        busy=busy_with,
    )


def checkin_facts(conn: Connection, ctx: CaseContext) -> CheckinFacts:
    term = conn.execute(
        select(
            terms_t.c.dispatched_on, terms_t.c.starts_on, terms_t.c.ends_on, terms_t.c.ended_on
        ).where(terms_t.c.case_id == ctx.case.id)
    ).one()
    rows = conn.execute(
        select(
            checkins_t.c.month, checkins_t.c.status, checkins_t.c.attendance_days,
            checkins_t.c.teaching_hours, checkins_t.c.assessment,
        ).where(checkins_t.c.term_case_id == ctx.case.id)
    ).all()  # fmt: skip
    return CheckinFacts(
        first=month_of(term.dispatched_on or term.starts_on),
        last=month_of(term.ended_on or term.ends_on),
        months={r.month: str(r.status) for r in rows},
        filed={
            r.month: {k: getattr(r, k) for k in CORRECTED} for r in rows if r.status == "submitted"
        },
    )
