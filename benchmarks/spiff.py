"""The whole title-review chain in our engine against the same chain in SpiffWorkflow, in one run.

One chain is every event of one case from the declaration to 已认定聘任: declare, school
review, in-school publicity closed, school recommends, county check (the panel is drawn),
seven votes, the sitting closed, result publicity closed, appointed. Both sides run it on the
same SQLite file with the same connection settings, one transaction per event, in
interleaved rounds (order alternating) so the machine's noise falls on both alike.

Ours: ``CaseEngine.start(..., submit=True)`` and ``fire()``, with everything the engine does
(authorization, rules, the state machine, the panel draw, hashing, due dates).

SpiffWorkflow (title_review.bpmn, parsed once as a deployment would): each workflow is a row
of ``spiff_workflows(id INTEGER PRIMARY KEY, serialized TEXT)`` in the same database. Every
event, in one transaction: load the row, deserialize, complete the ready user task with the
event's data (actor, decision, comment or vote), run the engine steps, serialize, save, and
write the rows our engine writes for that event with our own statements into our own tables:
the hash-chained audit row, task rows closed and opened (with the same working-day due dates),
outbox rows, the teacher's new title on appointment; the panel is drawn from the same expert
pool query. The serialized form leaves out the process spec (it is kept by name, as
spiff-arena keeps its specs apart), which is the smaller and faster choice for Spiff. Spiff
does no authorization and checks no rule, and its connection does not check foreign keys
(its rows carry workflow ids where ours carry case ids): every difference left falls on our
side, so ``spiff_speedup`` understates us.

Bytes per case: after the timed run the database is copied twice (``VACUUM INTO``); each copy
keeps one side's rows only and is vacuumed again, then SQLite's ``dbstat`` gives the pages of
that side's tables and their indexes, divided by the cases that side finished. Ours counts
``cases``, ``audit_events``, ``tasks``, ``outbox`` and ``panel_seats``; Spiff counts
``spiff_workflows`` plus the same ``audit_events``, ``tasks`` and ``outbox`` rows. Ours gets
case ids 1 to n; Spiff's workflow ids follow from n + 1, numbers of the same size, so both pay
the same bytes for them and the rows of the two sides are told apart by id.
``state_bytes_per_case`` and ``spiff_state_bytes_per_case`` are the same measure without the
rows both write alike (ours: ``cases`` and ``panel_seats``; Spiff: ``spiff_workflows``).

``cases`` is per side: each side finishes ``cases`` + 1 chains (the first one untimed, to warm
both up). Every school's senior posts are raised in set-up so that no chain stops at the quota.
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow  # type: ignore[import-untyped]
from SpiffWorkflow.bpmn.parser import BpmnParser  # type: ignore[import-untyped]
from SpiffWorkflow.bpmn.serializer import (  # type: ignore[import-untyped]
    DEFAULT_CONFIG,
    BpmnWorkflowSerializer,
)
from SpiffWorkflow.bpmn.serializer.default.workflow import (  # type: ignore[import-untyped]
    BpmnWorkflowConverter,
    WorkflowConverter,
)
from SpiffWorkflow.util.task import TaskState  # type: ignore[import-untyped]
from sqlalchemy import Connection, Engine, event, select, text, update

from benchmarks.common import fresh_db
from states.audit import GENESIS, canonical, event_hash
from states.audit_keys import sealer
from states.blocks.panel.store import CLOSE_SEAT_TASK, POOL
from states.calendar import WorkingCalendar
from states.clock import FrozenClock, bureau_time, local_date
from states.engine import CaseEngine
from states.engine.statements import CLOSE_TASKS, INSERT_AUDIT, INSERT_OUTBOX, INSERT_TASKS
from states.org import (
    CITY_OFFICER,
    COUNTY_OFFICER,
    REVIEW_EXPERT,
    SCHOOL_OFFICER,
    SYSTEM,
    SYSTEM_ACTOR,
    TEACHER,
    Actor,
    path_ids,
)
from states.processes import installed
from states.processes.title_review import seed as title_review
from states.seed import seed
from states.seed.builders import Unit, stand_in, unit_paths
from states.store.db import make_engine
from states.store.models import PanelSeat, Quota, Teacher, table_of
from states.store.people import load_actor

BPMN = Path(__file__).with_name("title_review.bpmn")
PROCESS = "title_review"
PANEL_SIZE = 7
SHARED_TABLES = ("audit_events", "tasks", "outbox")
OURS_STATE = ("cases", "panel_seats")  # where ours keeps a case's state besides the trail
SPIFF_STATE = ("spiff_workflows",)

teachers_t, quotas_t, seats_t = table_of(Teacher), table_of(Quota), table_of(PanelSeat)

DECLARE = {"statement": "任教以来认真履职，教学成绩突出。", "target_title": "senior"}
COMMENTS = {
    "school_approve": "材料齐全，同意",
    "recommend": "同意推荐",
    "qualify": "资格审查通过",
    "close_sitting": "评审结束",
    "appoint": "同意认定",
}

# The BPMN user tasks: the state of ours each stands for, and the event that completes it.
STATE_OF = {
    "declare": "draft",
    "school_review": "school_review",
    "school_publicity": "school_publicity",
    "school_recommend": "school_recommend",
    "county_check": "county_check",
    "vote": "committee",
    "close_sitting": "committee",
    "result_publicity": "result_publicity",
    "appointment": "appointment",
}
EVENT_OF = {
    "declare": "submit",
    "school_review": "school_approve",
    "school_publicity": "close_publicity",
    "school_recommend": "recommend",
    "county_check": "qualify",
    "vote": "vote",
    "close_sitting": "close_sitting",
    "result_publicity": "close_publicity",
    "appointment": "appoint",
}
# The task row each state opens, as ours opens it: who acts (role, at which tier), the kind
# of task and its working days.
OPENS: Mapping[str, tuple[str, str | None, str, int | None]] = {
    "draft": (TEACHER, "school", "act", None),
    "school_review": (SCHOOL_OFFICER, "school", "act", 5),
    "school_publicity": (SYSTEM, None, "window", 5),
    "school_recommend": (SCHOOL_OFFICER, "school", "act", 3),
    "county_check": (COUNTY_OFFICER, "county", "act", 10),
    "committee": (CITY_OFFICER, "city", "act", 15),
    "result_publicity": (SYSTEM, None, "window", 5),
    "appointment": (CITY_OFFICER, "city", "act", 10),
}
LOAD_WORKFLOW = text("SELECT serialized FROM spiff_workflows WHERE id = :id")
SAVE_WORKFLOW = text("UPDATE spiff_workflows SET serialized = :s WHERE id = :id")
NEW_WORKFLOW = text("INSERT INTO spiff_workflows (id, serialized) VALUES (:id, :s)")


@dataclass(frozen=True)
class Chain:
    """One applicant and the officers of their school, county and city."""

    applicant: Actor
    subject: str
    units: Mapping[str, int]  # tier -> unit id
    school: Actor
    county: Actor
    city: Actor


@dataclass(frozen=True)
class Times:
    """Declaration day, the day after the school window, the day after the result window."""

    declare: dt.datetime
    school_window_over: dt.datetime
    result_window_over: dt.datetime


# --- set-up ---------------------------------------------------------------------------------
def prepare(path: Path, teachers: int, chains: int) -> tuple[Engine, list[Chain]]:
    """A seeded province with ``chains`` eligible applicants under a county, senior posts to
    spare, and the ``spiff_workflows`` table."""
    db = fresh_db(path)
    seed(db, teachers)
    with db.begin() as conn:
        conn.execute(update(quotas_t).where(quotas_t.c.title == "senior").values(posts=10**6))
        conn.execute(text("CREATE TABLE spiff_workflows (id INTEGER PRIMARY KEY, serialized TEXT)"))
    with db.connect() as conn:
        rows = title_review.eligible(conn, chains, ordinary_road=True)
        if len(rows) < chains:
            raise SystemExit(f"only {len(rows)} eligible teachers for {chains} chains")
        officers = {
            username: load_actor(conn, username=username).person_id
            for username in ("school_officer", "county_officer", "city_officer")
        }
        paths = unit_paths(conn)

        def officer(username: str, role: str, unit: int) -> Actor:
            return stand_in(officers[username], role, [Unit(unit, paths[unit])])

        out = []
        for r in rows:
            _, city, county, school = path_ids(r.path)
            out.append(
                Chain(
                    applicant=load_actor(conn, person_id=r.person_id),
                    subject=r.subject,
                    units={"city": city, "county": county, "school": school},
                    school=officer("school_officer", SCHOOL_OFFICER, school),
                    county=officer("county_officer", COUNTY_OFFICER, county),
                    city=officer("city_officer", CITY_OFFICER, city),
                )
            )
    return db, out


def chain_times(calendar: WorkingCalendar) -> Times:
    """The instants each chain's events happen at: both windows closed the day after they end."""
    start = bureau_time(2026, 9, 1)
    first = calendar.add_working_days(start.date(), 5) + dt.timedelta(days=1)
    second = calendar.add_working_days(first, 5) + dt.timedelta(days=1)
    return Times(
        start,
        bureau_time(first.year, first.month, first.day),
        bureau_time(second.year, second.month, second.day),
    )


# --- ours -----------------------------------------------------------------------------------
def run_ours(eng: CaseEngine, clock: FrozenClock, times: Times, c: Chain) -> int:
    """One whole chain through the engine, each event with the version the previous returned."""
    clock.set(times.declare)
    result = eng.start(PROCESS, c.applicant, {**DECLARE, "subject": c.subject}, submit=True)
    case_id, version = result.case_id, result.version

    def fire(event: str, actor: Actor, payload: Mapping[str, Any] | None = None) -> str:
        nonlocal version
        if payload is None and event in COMMENTS:
            payload = {"comment": COMMENTS[event]}
        res = eng.fire(case_id, event, actor, payload, expected_version=version)
        version = res.version
        return res.to_state

    fire("school_approve", c.school)
    clock.set(times.school_window_over)
    fire("close_publicity", SYSTEM_ACTOR)
    fire("recommend", c.school)
    fire("qualify", c.county)
    with eng.db.connect() as conn:
        panel = conn.execute(select(seats_t.c.expert_id).where(seats_t.c.case_id == case_id))
        experts = [Actor(p, "评委") for p in panel.scalars()]
    for expert in experts:
        fire("vote", expert, {"choice": "yes"})
    fire("close_sitting", c.city)
    clock.set(times.result_window_over)
    fire("close_publicity", SYSTEM_ACTOR)
    # 发文认定 names its document (文号 and date) besides the officer's comment
    document = title_review.appointment(local_date(clock.now()))
    if fire("appoint", c.city, {**document, "comment": COMMENTS["appoint"]}) != "appointed":
        raise AssertionError(f"case {case_id} did not end appointed")
    return case_id


# --- SpiffWorkflow --------------------------------------------------------------------------
class _InstanceConverter(BpmnWorkflowConverter):  # type: ignore[misc]
    """Writes a workflow's instance state without its spec, and restores it onto the spec
    parsed at start-up: the spec is the same for every case, so storing it in every row would
    only make Spiff look bigger and slower than a deployment is."""

    specs: Mapping[str, Any] = {}

    def to_dict(self, workflow: Any) -> dict[str, Any]:
        dct: dict[str, Any] = WorkflowConverter.to_dict(self, workflow)
        dct["spec"] = workflow.spec.name
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any]) -> Any:
        workflow = self.target_class(self.specs[dct.pop("spec")], {}, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def spiff_engine(path: Path) -> Engine:
    """Our engine's settings for the file, without foreign-key checks: Spiff's audit, task and
    outbox rows name workflows, which are not in ``cases``."""
    db = make_engine(f"sqlite:///{path}")

    @event.listens_for(db, "connect")
    def _no_foreign_keys(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.execute("PRAGMA foreign_keys=OFF")

    return db


class SpiffSide:
    """The title review as a SpiffWorkflow deployment would run it on our database."""

    def __init__(
        self, db: Engine, calendar: WorkingCalendar, clock: FrozenClock, first_id: int
    ) -> None:
        self.db, self.calendar, self.clock = db, calendar, clock
        parser = BpmnParser()
        parser.add_bpmn_file(str(BPMN))
        self.spec = parser.get_spec(PROCESS)

        def converter(target: type, registry: Any) -> _InstanceConverter:
            conv = _InstanceConverter(target, registry)
            conv.specs = {self.spec.name: self.spec}
            return conv

        registry = BpmnWorkflowSerializer.configure({**DEFAULT_CONFIG, BpmnWorkflow: converter})
        self.serializer = BpmnWorkflowSerializer(registry)
        self.next_id = first_id - 1

    def run(self, times: Times, c: Chain) -> int:
        """One whole chain, each event in its own transaction."""
        self.clock.set(times.declare)
        wf_id = self.declare(c)
        self.step(wf_id, c, "school_approve", c.school, {"decision": "approve"})
        self.clock.set(times.school_window_over)
        self.step(wf_id, c, "close_publicity", SYSTEM_ACTOR, {})
        self.step(wf_id, c, "recommend", c.school, {"decision": "approve"})
        panel = self.step(wf_id, c, "qualify", c.county, {"decision": "approve"})
        for expert in panel:
            self.step(wf_id, c, "vote", Actor(expert, "评委"), {"choice": "yes"})
        self.step(wf_id, c, "close_sitting", c.city, {})
        self.clock.set(times.result_window_over)
        self.step(wf_id, c, "close_publicity", SYSTEM_ACTOR, {})
        self.step(wf_id, c, "appoint", c.city, {"decision": "approve"})
        return wf_id

    def declare(self, c: Chain) -> int:
        """Create the workflow and complete the declaration, as ``start(submit=True)`` does."""
        self.next_id += 1
        wf_id = self.next_id
        form = {**DECLARE, "subject": c.subject}
        with self.db.begin() as conn:
            wf = BpmnWorkflow(self.spec)
            wf.do_engine_steps()
            wf.data.update(seq=0, head=GENESIS)
            self._audit(conn, wf, wf_id, c.applicant, "create", None, "draft", {"form": form})
            self._open(conn, wf_id, c, "draft", c.applicant, [])
            [task] = wf.get_tasks(state=TaskState.READY, manual=True)
            task.data.update(form=form, actor=c.applicant.person_id)
            task.run()
            wf.do_engine_steps()
            target = self._state(wf)
            self._audit(conn, wf, wf_id, c.applicant, "submit", "draft", target, {})
            conn.execute(NEW_WORKFLOW, {"id": wf_id, "s": self.serializer.serialize_json(wf)})
            self._move(conn, wf_id, c, "submit", "draft", target, c.applicant)
        return wf_id

    def step(
        self, wf_id: int, c: Chain, event_name: str, actor: Actor, data: Mapping[str, Any]
    ) -> list[int]:
        """One event: load, complete the ready task, run, save, and write our rows for it.
        Returns the experts drawn, when the event draws a panel."""
        now = self.clock.now()
        with self.db.begin() as conn:
            wf = self.serializer.deserialize_json(
                conn.execute(LOAD_WORKFLOW, {"id": wf_id}).one()[0]
            )
            task = self._ready(wf, event_name, actor)
            source = STATE_OF[task.task_spec.bpmn_id]
            record: dict[str, Any] = {}
            if event_name in COMMENTS:
                record["comment"] = COMMENTS[event_name]
            task.data.update(data, actor=actor.person_id, **record)
            panel: list[int] = []
            if event_name == "qualify":
                panel, record["panel"] = self._draw(conn, c)
                task.data["panel"] = {str(p): p for p in panel}
            task.run()
            wf.do_engine_steps()
            target = self._state(wf)
            if event_name == "close_sitting":
                record["votes"] = dict(task.data["votes"])
            self._audit(conn, wf, wf_id, actor, event_name, source, target, record)
            conn.execute(SAVE_WORKFLOW, {"id": wf_id, "s": self.serializer.serialize_json(wf)})
            if event_name == "vote":
                conn.execute(
                    CLOSE_SEAT_TASK,
                    {
                        "v_case": wf_id,
                        "v_now": now,
                        "v_person": actor.person_id,
                        "v_role": REVIEW_EXPERT,
                    },
                )
            elif event_name == "appoint":
                conn.execute(
                    update(teachers_t)
                    .where(teachers_t.c.person_id == c.applicant.person_id)
                    .values(title=DECLARE["target_title"], title_date=now.date())
                )
            if target != source:
                self._move(conn, wf_id, c, event_name, source, target, actor, panel)
        return panel

    @staticmethod
    def _ready(wf: Any, event_name: str, actor: Actor) -> Any:
        """The ready user task this event completes (a vote: the actor's own)."""
        for task in wf.get_tasks(state=TaskState.READY, manual=True):
            if EVENT_OF[task.task_spec.bpmn_id] != event_name:
                continue
            if event_name != "vote" or task.data.get("expert") == actor.person_id:
                return task
        raise AssertionError(f"no ready task for {event_name} by {actor.person_id}")

    @staticmethod
    def _state(wf: Any) -> str:
        """The state the workflow is in, in our terms: its ready user task, or the end reached."""
        if wf.is_completed():
            ends = {t.task_spec.bpmn_id for t in wf.get_tasks(state=TaskState.COMPLETED)}
            return "appointed" if "appointed" in ends else "rejected"
        ready = wf.get_tasks(state=TaskState.READY, manual=True)
        return STATE_OF[ready[0].task_spec.bpmn_id]

    def _draw(self, conn: Connection, c: Chain) -> tuple[list[int], dict[str, Any]]:
        """The panel, drawn from the same pool with the same recusal as ours."""
        rows = conn.execute(
            POOL, {"unit": c.units["city"], "subject": c.subject, "role": REVIEW_EXPERT}
        ).all()
        pool = sorted(
            {
                r.person_id
                for r in rows
                if r.person_id != c.applicant.person_id and r.school_id != c.units["school"]
            }
        )
        rng_seed = secrets.randbits(63)
        chosen = sorted(random.Random(rng_seed).sample(pool, PANEL_SIZE))
        recused = len({r.person_id for r in rows}) - len(pool)
        return chosen, {"pool": pool, "seed": rng_seed, "seated": chosen, "recused": recused}

    def _audit(
        self,
        conn: Connection,
        wf: Any,
        wf_id: int,
        actor: Actor,
        event_name: str,
        source: str | None,
        target: str,
        record: Mapping[str, Any],
    ) -> None:
        """Append to the workflow's hash chain; its head and sequence live in the workflow."""
        now = self.clock.now()
        seq, prev = int(wf.data["seq"]) + 1, str(wf.data["head"])
        payload = canonical(record)
        seal = sealer()
        head = event_hash(
            seal,
            prev,
            case_id=wf_id,
            seq=seq,
            version=seq,
            data=None,
            at=now,
            actor_id=actor.person_id,
            actor_label=actor.label,
            event=event_name,
            from_state=source,
            to_state=target,
            payload=payload,
        )
        conn.execute(
            INSERT_AUDIT,
            {
                "case_id": wf_id,
                "seq": seq,
                "version": seq,
                "at": now,
                "actor_id": actor.person_id,
                "actor_label": actor.label,
                "event": event_name,
                "from_state": source,
                "to_state": target,
                "payload": payload,
                "idempotency_key": None,
                "prev_hash": prev,
                "hash": head,
                "key_id": seal.key_id,
            },
        )
        wf.data.update(seq=seq, head=head)

    def _move(
        self,
        conn: Connection,
        wf_id: int,
        c: Chain,
        event_name: str,
        source: str,
        target: str,
        actor: Actor,
        panel: list[int] | None = None,
    ) -> None:
        """Leaving a state: its tasks done, the next state's opened, the applicant told."""
        now = self.clock.now()
        conn.execute(CLOSE_TASKS, {"p_case": wf_id, "p_now": now, "p_by": actor.person_id})
        self._open(conn, wf_id, c, target, actor, panel or [])
        if c.applicant.person_id != actor.person_id:
            body = {"case_id": wf_id, "process": PROCESS, "event": event_name}
            body.update({"from": source, "to": target})
            self._notify(conn, wf_id, "case_update", c.applicant.person_id, None, None, body)

    def _open(
        self, conn: Connection, wf_id: int, c: Chain, state: str, actor: Actor, panel: list[int]
    ) -> None:
        if state not in OPENS:
            return
        now = self.clock.now()
        today = now.date()
        role, tier, kind, days = OPENS[state]
        due = self.calendar.add_working_days(today, days) if days is not None else None
        base: dict[str, Any] = {
            "case_id": wf_id,
            "state": state,
            "kind": kind,
            "opened_on": today,
            "due_on": due,
            "due_flag": None,
            "status": "open",
            "opened_at": now,
            "remind_level": 0,
        }
        unit = c.units[tier] if tier else None
        assignee = c.applicant.person_id if role == TEACHER else None
        rows = [{**base, "role": role, "org_unit_id": unit, "assignee_id": assignee}]
        rows += [
            {**base, "role": REVIEW_EXPERT, "org_unit_id": c.units["city"], "assignee_id": p}
            for p in panel
        ]
        conn.execute(INSERT_TASKS, rows)
        for r in rows:
            own = r["assignee_id"] is not None and r["assignee_id"] == actor.person_id
            if r["kind"] == "act" and not own:
                body = {
                    "case_id": wf_id,
                    "process": PROCESS,
                    "state": state,
                    "due_on": due.isoformat() if due else None,
                }
                unit_id = None if r["assignee_id"] else r["org_unit_id"]
                self._notify(
                    conn, wf_id, "task_assigned", r["assignee_id"], r["role"], unit_id, body
                )

    def _notify(
        self,
        conn: Connection,
        wf_id: int,
        kind: str,
        person_id: int | None,
        role: str | None,
        unit_id: int | None,
        payload: Mapping[str, Any],
    ) -> None:
        conn.execute(
            INSERT_OUTBOX,
            {
                "case_id": wf_id,
                "kind": kind,
                "recipient_id": person_id,
                "recipient_role": None if person_id else role,
                "recipient_unit_id": unit_id,
                "payload": dict(payload),
                "created_at": self.clock.now(),
                "status": "pending",
            },
        )


# --- bytes ---------------------------------------------------------------------------------
def side_bytes(path: Path, first_spiff: int, ours: bool) -> dict[str, int]:
    """The bytes of each table (its indexes included) in a vacuumed copy of the database that
    holds one side's rows only."""
    copy = path.with_name(f"{path.stem}-{'ours' if ours else 'spiff'}.db")
    copy.unlink(missing_ok=True)
    with closing(sqlite3.connect(path)) as src:
        src.execute("VACUUM INTO ?", (str(copy),))
    try:
        with closing(sqlite3.connect(copy, isolation_level=None)) as db:
            other = "case_id >= ?" if ours else "case_id < ?"
            for table in SHARED_TABLES:
                db.execute(f"DELETE FROM {table} WHERE {other}", (first_spiff,))
            db.execute("VACUUM")
            owner = dict(db.execute("SELECT name, tbl_name FROM sqlite_schema").fetchall())
            out: dict[str, int] = {}
            for name, size in db.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"):
                table = owner.get(name, name)
                out[table] = out.get(table, 0) + int(size)
            return out
    finally:
        copy.unlink(missing_ok=True)


# --- the run --------------------------------------------------------------------------------
def _rounds(items: list[Chain], rounds: int) -> Iterator[list[Chain]]:
    size = -(-len(items) // rounds)
    for r in range(rounds):
        yield items[r * size : (r + 1) * size]


def run(path: Path, *, cases: int, rounds: int = 5, teachers: int = 0) -> dict[str, float]:
    """Whole chains per second on each side, and the bytes one finished case takes."""
    teachers = teachers or max(5_000, cases * 40)
    db, chains = prepare(path, teachers, 2 * (cases + 1))
    clock = FrozenClock(bureau_time(2026, 9, 1))
    eng = CaseEngine(db, installed(), clock)
    calendar = eng.calendar()
    times = chain_times(calendar)
    spiff_db = spiff_engine(path)
    ours_chains, spiff_chains = chains[0::2], chains[1::2]
    first_spiff = len(ours_chains) + 1  # ours will number its cases 1 .. len(ours_chains)
    spiff = SpiffSide(spiff_db, calendar, clock, first_spiff)
    run_ours(eng, clock, times, ours_chains[0])  # warm-up, untimed
    spiff.run(times, spiff_chains[0])
    sides: list[tuple[str, Callable[[Chain], int]]] = [
        ("ours", lambda c: run_ours(eng, clock, times, c)),
        ("spiff", lambda c: spiff.run(times, c)),
    ]
    batches = {
        "ours": list(_rounds(ours_chains[1:], rounds)),
        "spiff": list(_rounds(spiff_chains[1:], rounds)),
    }
    elapsed = {"ours": 0.0, "spiff": 0.0}
    done = {"ours": 1, "spiff": 1}
    for r in range(rounds):
        for name, chain in sides if r % 2 == 0 else sides[::-1]:
            batch = batches[name][r]
            t0 = time.perf_counter()
            for c in batch:
                chain(c)
            elapsed[name] += time.perf_counter() - t0
            done[name] += len(batch)
    with db.connect() as conn:
        appointed, last_case = conn.execute(
            text("SELECT COUNT(*), MAX(id) FROM cases WHERE state = 'appointed'")
        ).one()
        finished = conn.execute(
            text("SELECT COUNT(DISTINCT case_id) FROM audit_events WHERE event = 'appoint'")
        ).scalar_one()
    if (appointed, last_case, finished) != (done["ours"], done["ours"], sum(done.values())):
        raise AssertionError(f"finished {appointed} ours, {finished} in all; expected {done}")
    spiff_db.dispose()
    db.dispose()
    ours_b = side_bytes(path, first_spiff, ours=True)
    spiff_b = side_bytes(path, first_spiff, ours=False)
    trail_ours = sum(ours_b[t] for t in SHARED_TABLES)
    trail_spiff = sum(spiff_b[t] for t in SHARED_TABLES)
    state_ours = sum(ours_b[t] for t in OURS_STATE)
    state_spiff = sum(spiff_b[t] for t in SPIFF_STATE)
    chain_per_s = (done["ours"] - 1) / elapsed["ours"]
    spiff_per_s = (done["spiff"] - 1) / elapsed["spiff"]
    return {
        "chain_per_s": round(chain_per_s, 1),
        "spiff_per_s": round(spiff_per_s, 1),
        "spiff_speedup": round(chain_per_s / spiff_per_s, 2),
        "bytes_per_case": round((trail_ours + state_ours) / done["ours"]),
        "spiff_bytes_per_case": round((trail_spiff + state_spiff) / done["spiff"]),
        "state_bytes_per_case": round(state_ours / done["ours"]),
        "spiff_state_bytes_per_case": round(state_spiff / done["spiff"]),
    }
