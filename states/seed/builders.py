"""Set-up every process needs, naming none: people bound to roles, units, quotas, a case
walked along its steps, a publicity window run out.

The seed, the demo, the tests and the benchmarks all prepare cases before doing what they
are about; written once here, a change to how a unit is added or how a client fires with
the version it just read reaches all of them. A process's own set-up (a declaration, a
round's plan) lives in its package's ``seed`` module, built on these.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import Connection, Engine, func, insert, select, update

from states.clock import FrozenClock, bureau_time
from states.org import SYSTEM_ACTOR, Actor, Binding, unit_path
from states.store.models import (
    Case,
    OrgUnit,
    PanelSeat,
    Person,
    Quota,
    RoleBinding,
    Task,
    Teacher,
    table_of,
)

if TYPE_CHECKING:
    from states.engine import CaseEngine, FireResult

units_t, people_t, bindings_t = table_of(OrgUnit), table_of(Person), table_of(RoleBinding)
teachers_t, quotas_t, cases_t = table_of(Teacher), table_of(Quota), table_of(Case)
tasks_t, seats_t = table_of(Task), table_of(PanelSeat)

# One step of a case: the event, who fires it, and its payload when it has one.
Step = tuple[str, Actor] | tuple[str, Actor, Mapping[str, Any] | None]


class Unit(NamedTuple):
    """A unit as the engine's bindings need it: its id and its materialised path."""

    id: int
    path: str


class County(NamedTuple):
    """A county with the first school under it: where a post or a case is placed when any
    school of the county will do."""

    id: int
    path: str
    school: int

    @property
    def unit(self) -> Unit:
        return Unit(self.id, self.path)


# --- the org tree and the people in it ------------------------------------------------------
def add_unit(
    conn: Connection,
    tier: str,
    code: str,
    name: str,
    parent: Unit | None = None,
    *,
    rural: bool = False,
    weak: bool = False,
    pilot: bool = False,
    settings: Mapping[str, Any] | None = None,
) -> Unit:
    """A unit under ``parent``; its path needs its own id, so it is written in two steps."""
    uid = conn.execute(
        insert(units_t)
        .values(
            parent_id=parent.id if parent else None,
            tier=tier,
            code=code,
            name=name,
            path="-",
            is_rural=rural,
            is_weak=weak,
            self_review_pilot=pilot,
            settings=settings,
        )
        .returning(units_t.c.id)
    ).scalar_one()
    path = unit_path(parent.path if parent else None, uid)
    conn.execute(update(units_t).where(units_t.c.id == uid).values(path=path))
    return Unit(int(uid), path)


def add_person(conn: Connection, name: str, **columns: Any) -> int:
    return int(
        conn.execute(
            insert(people_t).values(name=name, **columns).returning(people_t.c.id)
        ).scalar_one()
    )


def bind(
    conn: Connection, person_id: int, role: str, unit: Unit, subject: str | None = None
) -> Binding:
    """A role held at a unit, written, and the binding an actor carries for it."""
    conn.execute(
        insert(bindings_t).values(
            person_id=person_id, role=role, org_unit_id=unit.id, subject=subject
        )
    )
    return Binding(role, unit.id, unit.path, subject)


def add_officer(conn: Connection, name: str, role: str, unit: Unit, **person: Any) -> Actor:
    """A new person holding ``role`` at ``unit`` (an account when ``person`` carries a
    username and password hash), as the actor who signs in as them."""
    pid = add_person(conn, name, **person)
    return Actor(pid, name, (bind(conn, pid, role, unit),))


def stand_in(
    person_id: int | None, role: str, units: Iterable[Unit], label: str = "人事干部"
) -> Actor:
    """An actor holding ``role`` at every unit given, without writing a binding.

    The seed makes officers only for its demo units; set-up that needs an officer at each of
    a thousand schools lends the demo officer's person (or nobody) to all of them instead of
    writing a thousand accounts nobody signs in with."""
    return Actor(person_id, label, tuple(Binding(role, u.id, u.path) for u in units))


def add_teacher(conn: Connection, name: str, school_id: int, **record: Any) -> int:
    """A teacher: a person (``id_number``, when given, on the person) and their record."""
    person = {"id_number": record.pop("id_number")} if "id_number" in record else {}
    pid = add_person(conn, name, **person)
    conn.execute(insert(teachers_t).values(person_id=pid, school_id=school_id, **record))
    return pid


def add_quota(conn: Connection, unit_id: int, year: int, title: str, posts: int) -> None:
    conn.execute(insert(quotas_t).values(org_unit_id=unit_id, year=year, title=title, posts=posts))


def unit_paths(conn: Connection) -> dict[int, str]:
    """Every unit's path by id, for building bindings by hand."""
    return {r.id: r.path for r in conn.execute(select(units_t.c.id, units_t.c.path))}


def units(conn: Connection, tier: str) -> list[Unit]:
    """Every unit of a tier, in id order."""
    rows = conn.execute(
        select(units_t.c.id, units_t.c.path).where(units_t.c.tier == tier).order_by(units_t.c.id)
    )
    return [Unit(int(r.id), r.path) for r in rows]


def counties(conn: Connection) -> list[County]:
    """Every county that has a school, in id order, with its first school."""
    school = units_t.alias("school")
    rows = conn.execute(
        select(units_t.c.id, units_t.c.path, func.min(school.c.id))
        .join(school, school.c.parent_id == units_t.c.id)
        .where(units_t.c.tier == "county", school.c.tier == "school")
        .group_by(units_t.c.id, units_t.c.path)
        .order_by(units_t.c.id)
    ).all()
    return [County(int(r[0]), r[1], int(r[2])) for r in rows]


def first_school(conn: Connection, unit_id: int) -> int:
    """The first school directly under a unit."""
    school = conn.execute(
        select(func.min(units_t.c.id)).where(
            units_t.c.parent_id == unit_id, units_t.c.tier == "school"
        )
    ).scalar_one()
    if school is None:
        raise ValueError(f"unit {unit_id} has no school under it")
    return int(school)


# --- moving cases ---------------------------------------------------------------------------
def version_of(db: Engine, case_id: int) -> int:
    with db.connect() as conn:
        return int(
            conn.execute(select(cases_t.c.version).where(cases_t.c.id == case_id)).scalar_one()
        )


def fire_current(
    eng: CaseEngine,
    case_id: int,
    event: str,
    actor: Actor,
    payload: Mapping[str, Any] | None = None,
) -> FireResult:
    """Fire with the case's version as it stands, the way a client that just read the case
    does: set-up between two steps (a sweep, a bulk move) may have moved it on."""
    version = version_of(eng.db, case_id)
    return eng.fire(case_id, event, actor, payload, expected_version=version)


def walk(eng: CaseEngine, case_id: int, steps: Iterable[Step]) -> FireResult | None:
    """Fire each step in turn with the current version; the last result, if any step."""
    result = None
    for step in steps:
        event, actor, *rest = step
        result = fire_current(eng, case_id, event, actor, rest[0] if rest else None)
    return result


def window_due(db: Engine, case_id: int) -> dt.date:
    """The last day of the case's open publicity window."""
    with db.connect() as conn:
        due = conn.execute(
            select(tasks_t.c.due_on).where(
                tasks_t.c.case_id == case_id,
                tasks_t.c.status == "open",
                tasks_t.c.kind == "window",
            )
        ).scalar_one()
    if not isinstance(due, dt.date):
        raise ValueError(f"case {case_id}: its window has no due date (holidays not loaded)")
    return due


def close_window(eng: CaseEngine, clock: FrozenClock, case_id: int) -> FireResult:
    """Move the clock to the day after the window's last day and close it as the sweep
    would: the system firing the event the state declares for its time running out."""
    after = window_due(eng.db, case_id) + dt.timedelta(days=1)
    clock.set(bureau_time(after.year, after.month, after.day))
    with eng.db.connect() as conn:
        case = conn.execute(
            select(cases_t.c.process, cases_t.c.state).where(cases_t.c.id == case_id)
        ).one()
    closing = eng.processes[case.process].states[case.state].on_expiry
    if closing is None:
        raise ValueError(f"case {case_id}: {case.state} is not a window the system closes")
    return fire_current(eng, case_id, closing, SYSTEM_ACTOR)


def seated(db: Engine, case_id: int) -> list[int]:
    """The people drawn onto the case's panel."""
    with db.connect() as conn:
        return [
            int(p)
            for p in conn.execute(
                select(seats_t.c.expert_id)
                .where(seats_t.c.case_id == case_id)
                .order_by(seats_t.c.id)
            ).scalars()
        ]


__all__ = [
    "County",
    "Step",
    "Unit",
    "add_officer",
    "add_person",
    "add_quota",
    "add_teacher",
    "add_unit",
    "bind",
    "close_window",
    "counties",
    "fire_current",
    "first_school",
    "seated",
    "stand_in",
    "unit_paths",
    "units",
    "version_of",
    "walk",
    "window_due",
]
