"""``fire()`` against the same statements issued raw through SQLAlchemy Core, in one run.

Both sides move title-review cases from 学校审核 to 校内公示 on the same SQLite file, one
transaction per case, in interleaved rounds so that the machine's noise falls on both alike.
The raw side issues exactly the statements the engine issues for that event (reads of the
case, its units, tasks and teacher record; the version-checked update; audit, task and
outbox writes) with precomputed values: what is left between the two is the engine's own
work (authorization, rules, the state machine, hashing, due dates).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import Engine, func, select

from benchmarks.common import fresh_db
from states.clock import FrozenClock, bureau_time
from states.engine import (
    CLOSE_TASKS,
    INSERT_AUDIT,
    INSERT_OUTBOX,
    INSERT_TASKS,
    LOAD_CASE,
    LOAD_OPEN_TASKS,
    LOAD_TEACHER,
    LOAD_UNITS,
    WRITE_CASE,
    CaseEngine,
    unit_params,
)
from states.org import SCHOOL_OFFICER, Actor, Binding
from states.seed import seed
from states.store.models import (
    AuditEvent,
    Case,
    EthicsRecord,
    OrgUnit,
    OutboxMessage,
    Person,
    Task,
    Teacher,
    table_of,
)
from states.store.people import load_actor

cases_t, tasks_t, audit_t = table_of(Case), table_of(Task), table_of(AuditEvent)
outbox_t, units_t, teachers_t = table_of(OutboxMessage), table_of(OrgUnit), table_of(Teacher)
people_t, ethics_t = table_of(Person), table_of(EthicsRecord)

DECLARE = {"statement": "任教以来认真履职。", "target_title": "senior"}


def prepare(path: Path, teachers: int, cases: int) -> tuple[Engine, CaseEngine, list[int]]:
    """A seeded province with ``cases`` title-review cases waiting for their school."""
    return declare(fresh_db(path), teachers, cases)


def declare(db: Engine, teachers: int, cases: int) -> tuple[Engine, CaseEngine, list[int]]:
    """``prepare`` on an empty, migrated database of either kind (the PostgreSQL benchmark's)."""
    seed(db, teachers)
    clock = FrozenClock(bureau_time(2026, 9, 1))
    eng = CaseEngine(db, clock)
    with db.connect() as conn:
        eligible = conn.execute(
            select(teachers_t.c.person_id, teachers_t.c.subject)
            .outerjoin(ethics_t, ethics_t.c.person_id == teachers_t.c.person_id)
            .join(units_t, units_t.c.id == teachers_t.c.school_id)
            .where(
                teachers_t.c.title == "grade1",
                teachers_t.c.title_date <= dt.date(2021, 1, 1),
                teachers_t.c.education.in_(("bachelor", "master", "doctor")),
                (teachers_t.c.rural_years >= 1) | units_t.c.is_rural | units_t.c.is_weak,
                ethics_t.c.id.is_(None),
            )
            .limit(cases)
        ).all()
    if len(eligible) < cases:
        raise SystemExit(f"only {len(eligible)} eligible teachers for {cases} cases")
    ids = []
    for person_id, subject in eligible:
        with db.connect() as conn:
            actor = load_actor(conn, person_id=person_id)
        case_id = eng.start("title_review", actor, {**DECLARE, "subject": subject}).case_id
        eng.fire(case_id, "submit", actor, expected_version=1)
        ids.append(case_id)
    return db, eng, ids


def _officers(db: Engine, case_ids: Sequence[int]) -> dict[int, Actor]:
    """A school officer for each case's school: the seed names officers only for its demo
    school, so every other school's officer is the demo officer's person bound there."""
    with db.connect() as conn:
        officer = conn.execute(
            select(people_t.c.id).where(people_t.c.username == "school_officer")
        ).scalar_one()
        rows = conn.execute(
            select(cases_t.c.id, cases_t.c.org_unit_id, cases_t.c.org_path).where(
                cases_t.c.id.in_(case_ids)
            )
        ).all()
    return {
        r.id: Actor(officer, "人事干部", (Binding(SCHOOL_OFFICER, r.org_unit_id, r.org_path),))
        for r in rows
    }


def raw_transition(db: Engine, case_id: int, now: dt.datetime, due: dt.date) -> None:
    """The statements ``fire(case, 'school_approve')`` issues (the engine's own prebuilt ones),
    with the engine's work (scope, rules, machine, hashing, due dates) already done."""
    with db.begin() as conn:
        case = conn.execute(LOAD_CASE, {"case_id": case_id}).one()
        conn.execute(LOAD_UNITS, unit_params(case.org_path)).all()
        conn.execute(LOAD_OPEN_TASKS, {"case_id": case_id}).all()
        conn.execute(LOAD_TEACHER, {"person_id": case.subject_id}).all()
        version, seq = case.version + 1, case.seq + 1
        conn.execute(
            WRITE_CASE,
            {
                "p_id": case_id,
                "p_seq": case.seq,
                "p_state": "school_publicity",
                "p_data": {**case.data, "decisions": 1},
                "p_version": version,
                "p_new_seq": seq,
                "p_head": "f" * 64,
                "p_now": now,
                "p_closed": None,
                "p_quota": case.quota_key,
            },
        )
        conn.execute(
            INSERT_AUDIT,
            {
                "case_id": case_id,
                "seq": seq,
                "version": version,
                "at": now,
                "actor_id": 1,
                "actor_label": "人事干部",
                "event": "school_approve",
                "from_state": case.state,
                "to_state": "school_publicity",
                "payload": "{}",
                "idempotency_key": None,
                "prev_hash": case.audit_head,
                "hash": "f" * 64,
            },
        )
        conn.execute(CLOSE_TASKS, {"p_case": case_id, "p_now": now, "p_by": 1})
        conn.execute(
            INSERT_TASKS,
            [
                {
                    "case_id": case_id,
                    "state": "school_publicity",
                    "kind": "window",
                    "opened_on": now.date(),
                    "due_on": due,
                    "due_flag": None,
                    "status": "open",
                    "opened_at": now,
                    "remind_level": 0,
                    "role": "system",
                    "org_unit_id": None,
                    "assignee_id": None,
                }
            ],
        )
        conn.execute(
            INSERT_OUTBOX,
            {
                "case_id": case_id,
                "kind": "case_update",
                "recipient_id": case.applicant_id,
                "recipient_role": None,
                "recipient_unit_id": None,
                "payload": {"case_id": case_id, "event": "school_approve"},
                "created_at": now,
                "status": "pending",
            },
        )


def run(path: Path, *, teachers: int, cases: int, rounds: int = 4) -> dict[str, float]:
    db, eng, ids = prepare(path, teachers, cases)
    officers = _officers(db, ids)
    now = eng.clock.now()
    due = dt.date(2026, 9, 8)
    half = len(ids) // 2
    engine_ids, raw_ids = ids[:half], ids[half:]
    per_round = max(1, half // rounds)
    t_fire = t_raw = 0.0
    n_fire = n_raw = 0
    for r in range(rounds):
        batch = engine_ids[r * per_round : (r + 1) * per_round]
        t0 = time.perf_counter()
        for case_id in batch:
            eng.fire(case_id, "school_approve", officers[case_id], expected_version=2)
        t_fire += time.perf_counter() - t0
        n_fire += len(batch)
        batch = raw_ids[r * per_round : (r + 1) * per_round]
        t0 = time.perf_counter()
        for case_id in batch:
            raw_transition(db, case_id, now, due)
        t_raw += time.perf_counter() - t0
        n_raw += len(batch)
    with db.connect() as conn:
        moved = conn.execute(
            select(func.count()).select_from(cases_t).where(cases_t.c.state == "school_publicity")
        ).scalar_one()
    assert moved == n_fire + n_raw, (moved, n_fire, n_raw)
    db.dispose()
    fire_per_s, raw_per_s = n_fire / t_fire, n_raw / t_raw
    return {
        "fire_per_s": round(fire_per_s, 1),
        "raw_per_s": round(raw_per_s, 1),
        "fire_vs_raw": round(fire_per_s / raw_per_s, 3),
    }
