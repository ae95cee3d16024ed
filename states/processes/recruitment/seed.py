"""Recruitment set-up: a round open for registration, a county's posts approved, the sheets
officers import, qualification case by case.

Registration refuses everything until a round exists and a plan for its posts is approved,
so every test and benchmark of the later steps starts with the same few moves; they are
these.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from states.engine import CaseEngine, Move
from states.org import SYSTEM_ACTOR, Actor, path_ids
from states.processes.recruitment.machine import PLAN
from states.processes.recruitment.sheets import APPLICANTS, SCHEMAS
from states.processes.recruitment.steps import declare_plan, open_round
from states.processes.recruitment.tables import Applicant
from states.seed.builders import first_school, walk
from states.sheets import write_xlsx
from states.store.models import Case

# A plan's road to approval: the county sends it, the city passes it, the province approves.
PLAN_ROAD = ("submit", "city_pass", "approve")


@dataclass(frozen=True)
class Dates:
    """When a round's registration runs, and until when a dropout may be replaced."""

    opens: dt.date
    closes: dt.date
    replacement_deadline: dt.date | None = None


# A round walked from its plan to confirmation, the clock starting on 2 March.
SPRING = Dates(dt.date(2026, 3, 1), dt.date(2026, 3, 10), dt.date(2026, 8, 31))
# A round open on 1 September 2026, where the live server's and the benchmarks' clocks stand.
SEPTEMBER = Dates(dt.date(2026, 8, 25), dt.date(2026, 9, 10))

# The columns of an applicant import, under the headers the import reads first.
SHEET_COLUMNS = tuple(
    (name, APPLICANTS.column(name).label)
    for name in ("id_number", "name", "phone", "education", "cert_level", "post_code")
)
SCORE_SHEETS = {"written": "笔试", "interview": "面试"}


def new_round(conn: Connection, province_id: int, name: str, dates: Dates) -> int:
    """A round of the year registration opens in, with the default policy."""
    return open_round(
        conn,
        province_id=province_id,
        year=dates.opens.year,
        name=name,
        registration_opens=dates.opens,
        registration_closes=dates.closes,
        replacement_deadline=dates.replacement_deadline,
    )


def post(
    code: str,
    seats: Mapping[int, int],
    *,
    subject: str,
    level: str,
    min_education: str = "bachelor",
) -> dict[str, Any]:
    """A post of a plan with its seats per school (school id → seats); it recruits as
    many as its seats."""
    return {
        "code": code,
        "subject": subject,
        "school_level": level,
        "count": sum(seats.values()),
        "min_education": min_education,
        "seats": [{"school_id": school, "seats": n} for school, n in seats.items()],
    }


def approve_plan(eng: CaseEngine, plan: int, *, submitted_by: Actor | None = None) -> None:
    """The plan sent (by the county officer when given) and approved by the system in
    bulk: set-up for what comes after approval, where who approved does not matter."""
    road: Sequence[str] = PLAN_ROAD
    if submitted_by is not None:
        walk(eng, plan, [(road[0], submitted_by)])
        road = road[1:]
    for event in road:
        eng.fire_many(PLAN, [Move(plan, event)], SYSTEM_ACTOR)


def round_with_post(
    eng: CaseEngine,
    county: Actor,
    *,
    name: str,
    code: str,
    seats: int,
    subject: str = "语文",
    level: str = "primary",
    dates: Dates = SEPTEMBER,
    officers: Sequence[Actor] | None = None,
) -> int:
    """A round in the county's province with one post, all its seats at the county's first
    school, declared by ``county`` and approved: along ``officers`` (county, city, province)
    each firing their step, or by the system. Returns the round's id."""
    home = county.bindings[0]
    with eng.db.begin() as conn:
        round_id = new_round(conn, path_ids(home.unit_path)[0], name, dates)
        school = first_school(conn, home.unit_id)
    plan = declare_plan(
        eng,
        county,
        round_id,
        home.unit_id,
        [post(code, {school: seats}, subject=subject, level=level)],
    )
    if officers is None:
        approve_plan(eng, plan)
    else:
        walk(eng, plan, zip(PLAN_ROAD, officers, strict=True))
    return round_id


def qualify_each(eng: CaseEngine, officer: Actor) -> None:
    """资格审查 the way a county does it on each case's page: one case, one transition."""
    with eng.db.connect() as conn:
        cases = conn.execute(
            select(Applicant.case_id, Case.version)
            .join(Case, Case.id == Applicant.case_id)
            .order_by(Applicant.case_id)
        ).all()
    for case_id, version in cases:
        eng.fire(case_id, "qualify", officer, expected_version=version)


def applicant_sheet(rows: Iterable[Mapping[str, Any]]) -> bytes:
    """An applicant import as an officer uploads it (nothing masked)."""
    return write_xlsx(SHEET_COLUMNS, rows, title="报名", mask=())


def score_sheet(kind: str, scores: Iterable[tuple[str, Any]]) -> bytes:
    """A score import of ``kind`` (written, interview): ID number and score."""
    columns = [("id_number", APPLICANTS.column("id_number").label)]
    columns.append(("score", SCHEMAS[kind].column("score").label))
    rows = [{"id_number": i, "score": s} for i, s in scores]
    return write_xlsx(columns, rows, title=SCORE_SHEETS[kind], mask=())
