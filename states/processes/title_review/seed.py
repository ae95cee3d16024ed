"""Title-review set-up over a seeded province: which teachers may declare for 高级, their
declarations, and a case brought through the school's steps.

The benchmarks, the demo and the tests need the same few things of a province (a thousand
eligible teachers, one the ethics veto stops, one whose title is too recent); choosing them
by the rules' own conditions, once, keeps every caller's cases from failing a rule it did
not mean to test.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Connection, Row, insert, select

from states.clock import FrozenClock
from states.engine import CaseEngine
from states.org import Actor
from states.processes.title_review.tables import TitleReviewYear
from states.seed.builders import close_window, fire_current
from states.store.models import EthicsRecord, OrgUnit, Person, Teacher, table_of
from states.store.people import load_actor

PROCESS = "title_review"
STATEMENT = "任教以来认真履职。"

units_t, teachers_t, ethics_t = table_of(OrgUnit), table_of(Teacher), table_of(EthicsRecord)


def open_declarations(
    conn: Connection,
    province_id: int,
    year: int,
    opens_on: dt.date | None = None,
    closes_on: dt.date | None = None,
) -> None:
    """The province's title-review year open (all year unless dates are given), as set-up
    for what comes after a declaration; the province's office opens it with ``years``."""
    conn.execute(
        insert(TitleReviewYear).values(
            province_id=province_id,
            year=year,
            opens_on=opens_on or dt.date(year, 1, 1),
            closes_on=closes_on or dt.date(year, 12, 31),
        )
    )


def declaration(
    subject: str, *, title: str = "senior", statement: str = STATEMENT
) -> dict[str, str]:
    """The declaration form, for ``title`` in ``subject``."""
    return {"target_title": title, "subject": subject, "statement": statement}


def eligible(conn: Connection, limit: int, *, ordinary_road: bool = False) -> list[Row[Any]]:
    """Up to ``limit`` teachers (``person_id``, ``subject``, ``path`` of their school) who
    pass every rule of a declaration for 高级 in 2026: 一级 for five years, a bachelor's
    degree, rural or weak-school service, no ethics record; in person order.

    ``ordinary_road`` keeps to cases that walk the usual road end to end: no pilot school
    (it holds its own committee), no city-direct school (its county step is the city's), no
    thirty-year rural teacher (the quota passes them by)."""
    parent = units_t.alias("parent")
    query = (
        select(teachers_t.c.person_id, teachers_t.c.subject, units_t.c.path)
        .outerjoin(ethics_t, ethics_t.c.person_id == teachers_t.c.person_id)
        .join(units_t, units_t.c.id == teachers_t.c.school_id)
        .where(
            teachers_t.c.title == "grade1",
            teachers_t.c.title_date <= dt.date(2021, 1, 1),
            teachers_t.c.education.in_(("bachelor", "master", "doctor")),
            (teachers_t.c.rural_years >= 1) | units_t.c.is_rural | units_t.c.is_weak,
            ethics_t.c.id.is_(None),
        )
        .order_by(teachers_t.c.person_id)
        .limit(limit)
    )
    if ordinary_road:
        query = query.join(parent, parent.c.id == units_t.c.parent_id).where(
            teachers_t.c.rural_years < 30,
            units_t.c.self_review_pilot.is_(False),
            parent.c.tier == "county",
        )
    return list(conn.execute(query).all())


def vetoed(conn: Connection) -> Row[Any] | None:
    """A teacher below 高级 with an ethics record (``id``, ``subject``, ``title``): the
    veto's example."""
    return conn.execute(
        select(Person.id, Teacher.subject, Teacher.title)
        .join(Teacher, Teacher.person_id == Person.id)
        .join(EthicsRecord, EthicsRecord.person_id == Person.id)
        .where(Teacher.title.in_(("grade2", "grade1")))
        .limit(1)
    ).first()


def too_recent(conn: Connection) -> Row[Any] | None:
    """A 一级 teacher (``id``, ``subject``) who has not held the title the five years 高级
    asks."""
    return conn.execute(
        select(Person.id, Teacher.subject)
        .join(Teacher, Teacher.person_id == Person.id)
        .where(Teacher.title == "grade1", Teacher.title_date > dt.date(2023, 1, 1))
        .limit(1)
    ).first()


def appointment(on: dt.date, number: int = 1, issuer: str = "示范市人社") -> dict[str, str]:
    """The 发文认定 form: the appointing document's number (文号) and its date ``on``."""
    return {"doc_number": f"{issuer}〔{on.year}〕{number}号", "doc_date": on.isoformat()}


def declare(eng: CaseEngine, teacher: Actor, form: Mapping[str, Any]) -> int:
    """A declaration saved as a draft, then submitted: two transactions, as a teacher who
    fills in the form one day and sends it the next leaves them."""
    started = eng.start(PROCESS, teacher, form)
    eng.fire(started.case_id, "submit", teacher, expected_version=started.version)
    return started.case_id


def declare_for(
    eng: CaseEngine, teachers: Iterable[Row[Any]], *, statement: str = STATEMENT
) -> list[int]:
    """A declaration for 高级 in their own subject by each teacher (``person_id``,
    ``subject``), waiting for their school."""
    ids = []
    for t in teachers:
        with eng.db.connect() as conn:
            actor = load_actor(conn, person_id=t.person_id)
        ids.append(declare(eng, actor, declaration(t.subject, statement=statement)))
    return ids


def through_school(
    eng: CaseEngine,
    clock: FrozenClock,
    case_id: int,
    officer: Actor,
    comment: str = "材料齐全，同意",
) -> None:
    """From 学校审核 to 县级审核: approved, the school's window run out, recommended."""
    fire_current(eng, case_id, "school_approve", officer, {"comment": comment})
    close_window(eng, clock, case_id)
    fire_current(eng, case_id, "recommend", officer)
