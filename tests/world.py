"""A small, hand-made province for engine tests: every fact a rule reads is set on purpose.

Province 示范省 → 示范市 → 东县 (urban school 东县实验中学, rural school 东县乡村小学,
pilot school 东县自主评审试点中学) and 西县 (西县一中), plus a city-direct school.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from states.clock import FrozenClock
from states.engine import CaseEngine, FireResult
from states.identity import make_id_number
from states.org import (
    CITY_OFFICER,
    COUNTY_OFFICER,
    PROVINCE_OFFICER,
    REVIEW_EXPERT,
    SCHOOL_OFFICER,
    Actor,
)
from states.process.visibility import CASE_RECORD
from states.processes.title_review import seed as title_review
from states.seed.builders import (
    Unit,
    add_officer,
    add_person,
    add_quota,
    add_teacher,
    add_unit,
    bind,
    close_window,
    fire_current,
    seated,
)
from states.store.models import AuditEvent, Case, EthicsRecord, Task, Teacher, table_of

YEAR = 2026
_ids = itertools.count(1)


@dataclass
class World:
    engine: Engine
    units: dict[str, Unit] = field(default_factory=dict)  # key -> (id, path)
    actors: dict[str, Actor] = field(default_factory=dict)
    seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def unit(self, key: str) -> int:
        return self.units[key][0]

    def add_unit(
        self, conn: Connection, key: str, tier: str, name: str, parent: str | None, **flags: Any
    ) -> int:
        unit = add_unit(
            conn,
            tier,
            f"U{key}",
            name,
            self.units[parent] if parent else None,
            rural=flags.get("is_rural", False),
            weak=flags.get("is_weak", False),
            pilot=flags.get("pilot", False),
            settings=flags.get("settings"),
        )
        self.units[key] = unit
        return unit.id

    def person(self, conn: Connection, name: str) -> int:
        return add_person(conn, name)

    def officer(self, key: str, role: str, unit: str) -> Actor:
        with self.engine.begin() as conn:
            actor = add_officer(conn, key, role, self.units[unit])
        self.actors[key] = actor
        return actor

    def teacher(
        self,
        key: str,
        school: str = "urban",
        *,
        title: str = "grade1",
        title_years: int = 6,
        education: str = "bachelor",
        rural_years: float = 2.0,
        subject: str = "数学",
        ethics: list[dt.date] | None = None,
        expert_at: str | None = None,
    ) -> Actor:
        n = next(self.seq)
        birth = dt.date(1985, 1, 1) + dt.timedelta(days=n)
        with self.engine.begin() as conn:
            pid = add_teacher(
                conn,
                key,
                self.unit(school),
                id_number=make_id_number("110101", birth, n, "F"),
                gender="F",
                birth_date=birth,
                subject=subject,
                school_level="junior",
                title=title,
                title_date=dt.date(YEAR - title_years, 3, 1),
                education=education,
                started_teaching_on=dt.date(2008, 9, 1),
                joined_school_on=dt.date(2012, 9, 1),
                rural_years=rural_years,
            )
            for d in ethics or []:
                conn.execute(
                    insert(table_of(EthicsRecord)).values(
                        person_id=pid, occurred_on=d, description="违规有偿补课"
                    )
                )
            bindings = []
            if expert_at:
                bindings.append(bind(conn, pid, REVIEW_EXPERT, self.units[expert_at], subject))
        actor = Actor(pid, key, tuple(bindings))
        self.actors[key] = actor
        return actor

    def quota(self, school: str, title: str, posts: int) -> None:
        with self.engine.begin() as conn:
            add_quota(conn, self.unit(school), YEAR, title, posts)

    def title_of(self, actor: Actor) -> tuple[str, dt.date | None]:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(Teacher.title, Teacher.title_date).where(
                    Teacher.person_id == actor.person_id
                )
            ).one()
        return row.title, row.title_date


def build_world(engine: Engine, *, experts: int = 10) -> World:
    w = World(engine)
    with engine.begin() as conn:
        w.add_unit(conn, "province", "province", "示范省", None)
        w.add_unit(conn, "city", "city", "示范市", "province")
        w.add_unit(conn, "east", "county", "东县", "city")
        w.add_unit(conn, "west", "county", "西县", "city")
        w.add_unit(conn, "urban", "school", "东县实验中学", "east")
        w.add_unit(conn, "rural", "school", "东县乡村小学", "east", is_rural=True)
        w.add_unit(conn, "pilot", "school", "东县自主评审试点中学", "east", pilot=True)
        w.add_unit(conn, "west1", "school", "西县一中", "west")
        w.add_unit(conn, "direct", "school", "示范市直属中学", "city")
    w.officer("school_officer", SCHOOL_OFFICER, "urban")
    w.officer("school_officer2", SCHOOL_OFFICER, "urban")
    w.officer("rural_officer", SCHOOL_OFFICER, "rural")
    w.officer("pilot_officer", SCHOOL_OFFICER, "pilot")
    w.officer("west_school_officer", SCHOOL_OFFICER, "west1")
    w.officer("direct_officer", SCHOOL_OFFICER, "direct")
    w.officer("county_officer", COUNTY_OFFICER, "east")
    w.officer("west_officer", COUNTY_OFFICER, "west")
    w.officer("city_officer", CITY_OFFICER, "city")
    w.officer("province_officer", PROVINCE_OFFICER, "province")
    # City experts in 数学: two teach at the urban school (recused for its applicants).
    for i in range(experts):
        school = "urban" if i < 2 else "west1"
        w.teacher(f"expert{i}", school, title="senior", expert_at="city")
    for i in range(7):
        w.teacher(f"pilot_expert{i}", "pilot", title="senior", expert_at="pilot")
    for school in ("urban", "rural", "pilot", "west1", "direct"):
        for title, posts in (("grade2", 3), ("grade1", 3), ("senior", 2), ("full_senior", 1)):
            w.quota(school, title, posts)
    with engine.begin() as conn:  # teachers declare all year unless a test says otherwise
        title_review.open_declarations(conn, w.unit("province"), YEAR)
    return w


DECLARE = {"target_title": "senior", "subject": "数学", "statement": "任教十八年，教学成绩突出。"}


class Driver:
    """Fires events with the case's current version, the way a client that just read it does."""

    def __init__(self, eng: CaseEngine, world: World, clock: FrozenClock) -> None:
        self.eng, self.world, self.clock = eng, world, clock

    def case(self, case_id: int) -> Any:
        with self.eng.db.connect() as conn:
            return conn.execute(select(table_of(Case)).where(Case.id == case_id)).one()

    def fire(
        self, case_id: int, event: str, actor: Actor | str, payload: dict | None = None
    ) -> FireResult:
        who = self.world.actors[actor] if isinstance(actor, str) else actor
        return fire_current(self.eng, case_id, event, who, payload)

    def declare(self, teacher: Actor, form: dict | None = None) -> int:
        return title_review.declare(self.eng, teacher, form or DECLARE)

    def through_school(self, case_id: int, officer: str = "school_officer") -> None:
        title_review.through_school(self.eng, self.clock, case_id, self.world.actors[officer])

    def close_window(self, case_id: int) -> None:
        close_window(self.eng, self.clock, case_id)

    def open_tasks(self, case_id: int) -> list:
        with self.eng.db.connect() as conn:
            return list(
                conn.execute(
                    select(table_of(Task))
                    .where(Task.case_id == case_id, Task.status == "open")
                    .order_by(Task.id)
                )
            )

    def panel(self, case_id: int) -> list[int]:
        return seated(self.eng.db, case_id)

    def experts(self, case_id: int) -> list[Actor]:
        drawn = set(self.panel(case_id))
        return [a for a in self.world.actors.values() if a.person_id in drawn]

    def vote_all(self, case_id: int, yes: int, no: int = 0) -> None:
        experts = self.experts(case_id)
        for i, expert in enumerate(experts[: yes + no]):
            self.fire(case_id, "vote", expert, {"choice": "yes" if i < yes else "no"})


def undeclared_keys(eng: CaseEngine) -> dict[str, set[str]]:
    """Keys of case data and audit payloads, per process, that no visibility declaration
    names (nor a form of the process): a field someone added without deciding who reads it."""
    found: dict[str, set[str]] = {}
    with eng.db.connect() as conn:
        for process, data in conn.execute(select(Case.process, Case.data)):
            found.setdefault(process, set()).update(data or {})
        for process, payload in conn.execute(
            select(Case.process, AuditEvent.payload).join(Case, Case.id == AuditEvent.case_id)
        ):
            found.setdefault(process, set()).update(json.loads(payload))
    out: dict[str, set[str]] = {}
    for process, keys in found.items():
        spec = eng.processes[process]
        forms = {f.name for f in spec.start_form.fields}
        for ev in spec.events.values():
            forms |= {f.name for f in ev.form.fields}
        missing = keys - spec.visibility.declared() - CASE_RECORD.declared() - forms
        if missing:
            out[process] = missing
    return out
