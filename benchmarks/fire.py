"""``fire()`` against the same statements issued raw, in one run.

All sides move title-review cases from 学校审核 to 校内公示 on the same SQLite file, one
transaction per case, in interleaved rounds so that the machine's noise falls on all alike.
The raw side issues exactly the statements the engine issues for that event (reads of the
case, its units, tasks and teacher record; the version-checked update; audit, task and
outbox writes) with precomputed values through SQLAlchemy Core; the driver side issues the
same SQL, compiled once, straight on the DBAPI cursor — the floor under any engine on this
database. What is left between fire and the driver is the engine's own work
(authorization, rules, the state machine, hashing, due dates) and its per-call plumbing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Insert, func, select
from sqlalchemy.engine import Dialect

from benchmarks.common import fresh_db
from states import audit_keys
from states.audit import Sealer
from states.audit_keys import KeyRing
from states.clock import FrozenClock, bureau_time
from states.engine import CaseEngine
from states.engine.statements import (
    CLOSE_TASKS,
    INSERT_AUDIT,
    INSERT_OUTBOX,
    INSERT_TASKS,
    LOAD_CASE,
    LOAD_OPEN_TASKS,
    LOAD_TEACHER,
    LOAD_UNITS,
    WRITE_CASE,
    unit_params,
)
from states.org import SCHOOL_OFFICER, Actor
from states.processes import installed
from states.processes.title_review import seed as title_review
from states.seed import seed
from states.seed.builders import Unit, stand_in
from states.store.models import Case, table_of
from states.store.people import load_actor

cases_t = table_of(Case)
WARM = 40  # transitions run before the clock starts


class PlainSealer(Sealer):
    """The audit hash as it was before it was keyed: SHA-256 of the same text, no key. Only
    the benchmarks use it, to measure what the key costs in the same run."""

    def __init__(self) -> None:
        super().__init__(b"\0" * 32, "plain")

    def seal(self, message: bytes) -> str:
        return hashlib.sha256(message).hexdigest()


def sealers() -> dict[str, KeyRing]:
    """The two rings compared: the keyed seal the product uses, and the plain hash."""
    return {
        "keyed": KeyRing([(1, Sealer(secrets.token_bytes(32)))]),
        "plain": KeyRing([(1, PlainSealer())]),
    }


def prepare(path: Path, teachers: int, cases: int) -> tuple[Engine, CaseEngine, list[int]]:
    """A seeded province with ``cases`` title-review cases waiting for their school."""
    return declare(fresh_db(path), teachers, cases)


def declare(db: Engine, teachers: int, cases: int) -> tuple[Engine, CaseEngine, list[int]]:
    """``prepare`` on an empty, migrated database of either kind (the PostgreSQL benchmark's)."""
    seed(db, teachers)
    clock = FrozenClock(bureau_time(2026, 9, 1))
    eng = CaseEngine(db, installed(), clock)
    with db.connect() as conn:
        eligible = title_review.eligible(conn, cases)
    if len(eligible) < cases:
        raise SystemExit(f"only {len(eligible)} eligible teachers for {cases} cases")
    return db, eng, title_review.declare_for(eng, eligible)


def _officers(db: Engine, case_ids: Sequence[int]) -> dict[int, Actor]:
    """A school officer for each case's school: the demo officer's person, lent to them all."""
    with db.connect() as conn:
        officer = load_actor(conn, username="school_officer").person_id
        rows = conn.execute(
            select(cases_t.c.id, cases_t.c.org_unit_id, cases_t.c.org_path).where(
                cases_t.c.id.in_(case_ids)
            )
        ).all()
    return {
        r.id: stand_in(officer, SCHOOL_OFFICER, [Unit(r.org_unit_id, r.org_path)]) for r in rows
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
                "p_slot": case.slot_key,
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
                "key_id": "f" * 12,
                "data_digest": "f" * 64,
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
                    "due_days": 5,
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


class _Sql:
    """One of the engine's statements compiled once for the dialect, its parameters laid
    out in the driver's order with the column types' own conversions (timestamps, JSON)."""

    def __init__(self, statement: Any, dialect: Dialect, keys: Sequence[str] = ()) -> None:
        if isinstance(statement, Insert):
            compiled = statement.compile(dialect=dialect, column_keys=list(keys))
        else:
            compiled = statement.compile(dialect=dialect)
        self.sql = compiled.string
        # (name, conversion, the statement's own value for literals such as status='open')
        self.binds = [
            (
                name,
                compiled.binds[name].type._cached_bind_processor(dialect),
                compiled.binds[name].effective_value,
            )
            for name in compiled.positiontup or []
        ]

    def params(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        out = []
        for name, convert, literal in self.binds:
            value = values.get(name, literal)
            out.append(convert(value) if convert is not None and value is not None else value)
        return tuple(out)


TASK_KEYS = (
    "case_id", "state", "kind", "opened_on", "due_on", "due_flag", "status", "opened_at",
    "remind_level", "role", "org_unit_id", "assignee_id",
)  # fmt: skip
OUTBOX_KEYS = (
    "case_id", "kind", "recipient_id", "recipient_role", "recipient_unit_id", "payload",
    "created_at", "status",
)  # fmt: skip
AUDIT_KEYS = (
    "case_id", "seq", "version", "at", "actor_id", "actor_label", "event", "from_state",
    "to_state", "payload", "idempotency_key", "prev_hash", "hash", "key_id", "data_digest",
)  # fmt: skip


class DriverTransition:
    """``raw_transition``'s statements on the DBAPI connection itself (SQLite): no engine,
    no SQLAlchemy per call — the database's and the driver's own cost of the transition."""

    def __init__(self, db: Engine) -> None:
        d = db.dialect
        self.load_case, self.units = _Sql(LOAD_CASE, d), _Sql(LOAD_UNITS, d)
        self.tasks, self.teacher = _Sql(LOAD_OPEN_TASKS, d), _Sql(LOAD_TEACHER, d)
        self.write, self.close = _Sql(WRITE_CASE, d), _Sql(CLOSE_TASKS, d)
        self.audit = _Sql(INSERT_AUDIT, d, AUDIT_KEYS)
        self.task = _Sql(INSERT_TASKS, d, TASK_KEYS)
        self.outbox = _Sql(INSERT_OUTBOX, d, OUTBOX_KEYS)
        self.pooled = db.raw_connection()
        self.dbapi: Any = self.pooled.driver_connection

    def __call__(self, case_id: int, now: dt.datetime, due: dt.date) -> None:
        conn = self.dbapi
        conn.begin_write()  # BEGIN IMMEDIATE, as the engine's transactions do
        try:
            cur = conn.cursor()
            cur.execute(self.load_case.sql, self.load_case.params({"case_id": case_id}))
            names = [c[0] for c in cur.description]
            case = dict(zip(names, cur.fetchone(), strict=True))
            cur.execute(self.units.sql, self.units.params(unit_params(case["org_path"])))
            cur.fetchall()
            cur.execute(self.tasks.sql, self.tasks.params({"case_id": case_id}))
            cur.fetchall()
            cur.execute(self.teacher.sql, self.teacher.params({"person_id": case["subject_id"]}))
            cur.fetchall()
            version, seq = case["version"] + 1, case["seq"] + 1
            data = {**json.loads(case["data"]), "decisions": 1}
            cur.execute(
                self.write.sql,
                self.write.params(
                    {
                        "p_id": case_id, "p_seq": case["seq"], "p_state": "school_publicity",
                        "p_data": data, "p_version": version, "p_new_seq": seq,
                        "p_head": "f" * 64, "p_now": now, "p_closed": None,
                        "p_slot": case["slot_key"],
                    }
                ),
            )  # fmt: skip
            cur.execute(
                self.audit.sql,
                self.audit.params(
                    {
                        "case_id": case_id, "seq": seq, "version": version, "at": now,
                        "actor_id": 1, "actor_label": "人事干部", "event": "school_approve",
                        "from_state": case["state"], "to_state": "school_publicity",
                        "payload": "{}", "idempotency_key": None,
                        "prev_hash": case["audit_head"], "hash": "f" * 64,
                        "key_id": "f" * 12, "data_digest": "f" * 64,
                    }
                ),
            )  # fmt: skip
            cur.execute(self.close.sql, self.close.params({"p_case": case_id, "p_now": now,
                                                           "p_by": 1}))  # fmt: skip
            cur.execute(
                self.task.sql,
                self.task.params(
                    {
                        "case_id": case_id, "state": "school_publicity", "kind": "window",
                        "opened_on": now.date(), "due_on": due, "due_flag": None,
                        "due_days": 5, "status": "open", "opened_at": now, "remind_level": 0,
                        "role": "system", "org_unit_id": None, "assignee_id": None,
                    }
                ),
            )  # fmt: skip
            cur.execute(
                self.outbox.sql,
                self.outbox.params(
                    {
                        "case_id": case_id, "kind": "case_update",
                        "recipient_id": case["applicant_id"], "recipient_role": None,
                        "recipient_unit_id": None,
                        "payload": {"case_id": case_id, "event": "school_approve"},
                        "created_at": now, "status": "pending",
                    }
                ),
            )  # fmt: skip
            cur.close()
        except BaseException:
            conn.rollback()
            raise
        conn.commit()

    def close_connection(self) -> None:
        self.pooled.close()


def run(path: Path, *, teachers: int, cases: int, rounds: int = 24) -> dict[str, float]:
    """Four sides in interleaved rounds, the order turned each round, each side's cases
    striped over the ids: fire, the same fire with the old plain audit hash instead of the
    keyed seal, the raw statements, the driver.

    The keyed seal's cost is taken from this process's CPU time as well as the clock, as the
    median over the rounds of fire against fire_plain run back to back: fire on SQLite is
    CPU-bound, and a cost of a few per cent drowns in the clock's noise on a busy machine."""
    db, eng, ids = prepare(path, teachers, cases)
    officers = _officers(db, ids)
    now = eng.clock.now()
    due = dt.date(2026, 9, 8)
    warm, ids = ids[:WARM], ids[WARM:]
    names = ("fire", "fire_plain", "raw", "driver")
    sides = {name: ids[i :: len(names)] for i, name in enumerate(names)}
    per_round = max(1, min(len(v) for v in sides.values()) // rounds)
    driver = DriverTransition(db)
    plain = sealers()["plain"]
    fire: Callable[[int], object] = lambda c: eng.fire(  # noqa: E731
        c, "school_approve", officers[c], expected_version=2
    )
    steps: dict[str, Callable[[int], object]] = {
        "fire": fire,  # sealed with the ring of RENSHI_AUDIT_KEYS, as the product does
        "fire_plain": fire,  # the same, the plain hash pinned for the batch
        "raw": lambda c: raw_transition(db, c, now, due),
        "driver": lambda c: driver(c, now, due),
    }
    # Untimed first: statements compiled, caches filled, so no side pays for the others.
    for i, case_id in enumerate(warm):
        with audit_keys.pinned(plain) if i % 2 else nullcontext():
            fire(case_id)
    spent = dict.fromkeys(sides, 0.0)
    cpu = dict.fromkeys(sides, 0.0)
    done = dict.fromkeys(sides, 0)
    paired: list[tuple[float, float]] = []  # per round: keyed and plain, CPU and clock
    for r in range(rounds):
        took: dict[str, tuple[float, float]] = {}
        for side in names if r % 2 == 0 else reversed(names):
            batch = sides[side][r * per_round : (r + 1) * per_round]
            step = steps[side]
            with audit_keys.pinned(plain) if side == "fire_plain" else nullcontext():
                c0, t0 = time.process_time(), time.perf_counter()
                for case_id in batch:
                    step(case_id)
                took[side] = (time.process_time() - c0, time.perf_counter() - t0)
            spent[side] += took[side][1]
            cpu[side] += took[side][0]
            done[side] += len(batch)
        # fire and fire_plain run back to back in every round: their ratio there is free
        # of the machine's slow swings, and the median drops the rounds a burst hit
        keyed, bare = took["fire"], took["fire_plain"]
        paired.append((1 - bare[0] / keyed[0], 1 - bare[1] / keyed[1]))
    driver.close_connection()
    with db.connect() as conn:
        moved = conn.execute(
            select(func.count()).select_from(cases_t).where(cases_t.c.state == "school_publicity")
        ).scalar_one()
    assert moved == len(warm) + sum(done.values()), (moved, done)
    db.dispose()
    rate = {side: done[side] / spent[side] for side in sides}
    per_cpu_s = {side: done[side] / cpu[side] for side in sides}
    cost_cpu = statistics.median(c for c, _ in paired)
    cost_wall = statistics.median(w for _, w in paired)
    return {
        "fire_per_s": round(rate["fire"], 1),
        "raw_per_s": round(rate["raw"], 1),
        "fire_vs_raw": round(rate["fire"] / rate["raw"], 3),
        "driver_per_s": round(rate["driver"], 1),
        "fire_vs_driver": round(rate["fire"] / rate["driver"], 3),
        "fire_plain_hash_per_s": round(rate["fire_plain"], 1),
        "fire_per_cpu_s": round(per_cpu_s["fire"], 1),
        "fire_plain_hash_per_cpu_s": round(per_cpu_s["fire_plain"], 1),
        # what the keyed seal costs against the plain hash: the share of fire's throughput
        # it takes, per CPU second (median of the rounds); the clock's, noisier, beside it
        "keyed_hash_fire_cost": round(cost_cpu, 4),
        "keyed_hash_fire_cost_wall": round(cost_wall, 4),
        **seal_micro(),
    }


def seal_micro(n: int = 200_000) -> dict[str, float]:
    """One event's seal alone, keyed and plain, in microseconds: the cost the ratio above
    measures through the noise of a whole transition."""
    message = ("0" * 64 + '{"actor":1,"actor_label":"人事干部","at":"2026-09-01T01:00:00'
               '.000000+00:00","case":12345,"data":"' + "a" * 64 + '","event":"school_approve",'
               '"from":"school_review","payload":"{}","seq":3,"to":"school_publicity",'
               '"version":3}').encode()  # fmt: skip
    out = {}
    for name, ring in sealers().items():
        seal = ring.current
        assert seal is not None
        t0 = time.perf_counter()
        for _ in range(n):
            seal.seal(message)
        out[f"{name}_seal_us"] = round((time.perf_counter() - t0) / n * 1e6, 3)
    return out
