"""Set-based steps: many cases per transaction (imports, registrations, scores, shortlists,
rankings), through the same rules as ``fire`` where they apply per case.

Everything that depends only on (state, event, unit) — target, authorization, the task the
move opens — is worked out once per kind of move, not once per case: a shortlist of 200,000
is two or three kinds per county. Then versioned updates, chained audit rows, task and
notice rows go out through the driver's ``executemany``, never a Python loop of single-row
round trips.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import Connection, select, update

from states.audit import GENESIS, StepHasher, canonical, case_digest, step_hasher
from states.audit_keys import sealer
from states.clock import local_date
from states.engine import authorize as authz
from states.engine import ledger
from states.engine.outbox import case_update, send_many
from states.engine.statements import (
    BULK_AUDIT,
    BULK_CASE_COLUMNS,
    BULK_CASES,
    BULK_HEADS,
    BULK_TASKS,
    OPEN_CASES,
    UNIT_PATHS,
    UNIT_TIERS,
    cases_t,
    tasks_t,
)
from states.engine.tasks import Deadlines, as_tuple, holder, task_kind, task_row
from states.errors import Conflict, FormError
from states.org import Actor, path_ids
from states.process.spec import ProcessSpec

if TYPE_CHECKING:
    from states.engine.core import CaseEngine


@dataclass(frozen=True)
class Move:
    """One case's part in a bulk step."""

    case_id: int
    event: str
    payload: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class BulkResult:
    moved: int = 0
    refused: dict[int, str] = field(default_factory=dict)  # case id -> why


class _Plan(NamedTuple):
    """One kind of bulk move — (state, event, unit) — worked out once."""

    target: str
    problem: str | None
    final: bool
    has_form: bool
    task: tuple[Any, ...] | None  # the task row it opens, without the case id


Tiers = Mapping[int, tuple[str, str]]


class _Tasks:
    """The task a bulk-moved case opens, the same for every case of one unit and state."""

    def __init__(self, conn: Connection, deadlines: Deadlines, today: dt.date, now: dt.datetime):
        self.conn, self.deadlines, self.today, self.now = conn, deadlines, today, now
        self._due: dict[int, tuple[dt.date | None, str | None]] = {}

    def template(
        self, spec: ProcessSpec, target: str, org_path: str, tiers: Tiers
    ) -> tuple[Any, ...] | None:
        state = spec.states[target]
        if state.actor is None or not (state.actor.officer or state.actor.system):
            return None
        who = holder(state, None, org_path=org_path, tiers=tiers)
        assert who is not None
        days = state.deadline_days
        due: tuple[dt.date | None, str | None] = (None, None)
        if days:
            if days not in self._due:
                self._due[days] = self.deadlines.due(self.conn, self.today, days)
            due = self._due[days]
        role, unit, _ = who
        row = task_row(
            None, target, kind=task_kind(state), role=role, unit_id=unit, assignee_id=None,
            opened_on=self.today, due=due, opened_at=self.now, days=days,
        )  # fmt: skip
        return as_tuple(row)[1:]


def _tiers(conn: Connection, paths: set[str]) -> dict[int, tuple[str, str]]:
    """Tier and path of every unit on the given paths: what authorization and task routing
    of a bulk step need, in one query."""
    unit_ids = {i for p in paths for i in path_ids(p)}
    return {u.id: (u.tier, u.path) for u in conn.execute(UNIT_TIERS, {"ids": list(unit_ids)})}


def open_many(
    engine: CaseEngine,
    process: str,
    items: Sequence[tuple[int, Mapping[str, Any]]],
    actor: Actor,
    *,
    conn: Connection,
    year: int | None = None,
    parent_id: int | None = None,
    people: Sequence[int | None] | None = None,
) -> list[int]:
    """Open many cases at once (an import, a registration, a parent's children): (unit id,
    data) each; the cases start in the initial state with their create event and first
    tasks. ``people``, one per item, names the person each case is about (its applicant
    and subject: they read it and hear of its moves), where there is one."""
    spec = engine.processes[process]
    if people is not None and len(people) != len(items):
        raise ValueError("one person per case, or none")
    whom = list(people) if people is not None else [None] * len(items)
    now = engine.clock.now()
    today = local_date(now)
    initial: str = spec.machine.initial_state.id
    units = list(conn.execute(UNIT_PATHS, {"ids": list({unit for unit, _ in items})}))
    closed = next((u for u in units if u.closed_on is not None), None)
    if closed is not None:
        # A closed (撤销 or 合并) unit takes no new case (states/registry/org_tree.py).
        raise Conflict(
            f"{closed.name}已于{closed.closed_on.isoformat()}撤销，不能在该单位发起新的事项"
        )
    paths = {u.id: u.path for u in units}
    rows = [
        {
            "process": process, "year": year or today.year, "state": initial,
            "org_unit_id": unit, "org_path": paths[unit], "applicant_id": person,
            "subject_id": person, "parent_id": parent_id, "data": dict(data), "slot_key": None,
            "version": 1, "seq": 1, "audit_head": GENESIS, "opened_at": now, "updated_at": now,
        }
        for (unit, data), person in zip(items, whom, strict=True)
    ]  # fmt: skip
    ids = list(conn.execute(OPEN_CASES, rows).scalars())
    body = canonical({})
    seal = sealer()
    hasher = step_hasher(
        seal, at=now, actor_id=actor.person_id, actor_label=actor.label, event="create",
        payload=body,
    )  # fmt: skip
    who, label, key_id = actor.person_id, actor.label, seal.key_id
    audits, heads = [], []
    for case_id, row in zip(ids, rows, strict=True):
        digest = case_digest(
            process=process, year=row["year"], org_unit_id=row["org_unit_id"],
            org_path=row["org_path"], applicant_id=row["applicant_id"],
            subject_id=row["subject_id"], parent_id=parent_id, slot_key=None, data=row["data"],
        )  # fmt: skip
        head = hasher(GENESIS, case_id, 1, None, initial, 1, digest)
        heads.append((case_id, head))
        audits.append(
            (case_id, 1, 1, now, who, label, "create", None, initial, body, None, GENESIS,
             head, key_id, digest)
        )  # fmt: skip
    BULK_AUDIT.run(conn, audits)
    BULK_HEADS.run(conn, heads)
    tiers = _tiers(conn, set(paths.values()))
    tasks = _Tasks(conn, engine.deadlines, today, now)
    templates = {unit: tasks.template(spec, initial, path, tiers) for unit, path in paths.items()}
    BULK_TASKS.run(
        conn,
        [
            (case_id, *template)
            for case_id, (unit, _) in zip(ids, items, strict=True)
            if (template := templates[unit]) is not None
        ],
    )
    # Last: the ledger's queue is held from here until the caller commits.
    ledger.append(conn, heads, now)
    return ids


def fire_many(
    engine: CaseEngine,
    process: str,
    moves: Sequence[Move],
    actor: Actor,
    *,
    conn: Connection,
    strict: bool = True,
    chunk: int = 5000,
    rules_checked: bool = False,
) -> BulkResult:
    """A step over many cases at once, set-based.

    The same rules as ``fire`` where they apply per case — the transition must exist from
    the case's state, the actor must hold the event's role over the case, the payload must
    fit the event's form — checked from the process's transition table rather than by
    running the machine per row. ``strict``: one bad move refuses them all (nothing
    written); otherwise the bad ones are reported and the rest move.

    An event with rules moves in bulk only when the caller has evaluated those rules
    set-wise itself (``rules_checked``): the engine does not run them row by row here.
    """
    spec = engine.processes[process]
    result = BulkResult()
    label, who, empty = actor.label, actor.person_id, canonical({})
    now = engine.clock.now()
    today = local_date(now)
    closed_at = {True: now, False: None}
    plans: dict[tuple[str, str, str], _Plan] = {}
    hashers: dict[tuple[str, str], StepHasher] = {}
    seal = sealer()
    tasks = _Tasks(conn, engine.deadlines, today, now)
    for start in range(0, len(moves), chunk):
        part = moves[start : start + chunk]
        rows = {
            r[0]: r
            for r in conn.execute(
                select(*BULK_CASE_COLUMNS)
                .where(cases_t.c.id.in_([m.case_id for m in part]))
                .with_for_update()
            ).all()
        }
        tiers = _tiers(conn, {r[6] for r in rows.values()})
        updates: list[tuple[Any, ...]] = []
        audits: list[tuple[Any, ...]] = []
        opened: list[tuple[Any, ...]] = []
        seen: set[int] = set()
        for m in part:
            row = rows.get(m.case_id)
            if row is None or row[1] != process or m.case_id in seen:
                problem: str | None = "事项不存在或重复"
                plan = None
            else:
                case_id, _, state, version, seq, prev, path = row
                key = (state, m.event, path)
                plan = plans.get(key)
                if plan is None:
                    plan = plans[key] = _plan(
                        spec, actor, state, m.event, path, tiers, rules_checked, tasks
                    )
                problem = plan.problem
            body = empty
            if problem is None and plan is not None and (m.payload or plan.has_form):
                try:
                    clean = spec.events[m.event].form.validate(m.payload)
                except FormError as exc:
                    problem = exc.message
                else:
                    body = canonical(clean) if clean else empty
            if problem is not None or plan is None:
                if strict:
                    raise FormError("moves", f"事项{m.case_id}：{problem}")
                result.refused[m.case_id] = problem or ""
                continue
            seen.add(case_id)
            hk = (m.event, body)
            hasher = hashers.get(hk)
            if hasher is None:
                hasher = hashers[hk] = step_hasher(
                    seal, at=now, actor_id=who, actor_label=label, event=m.event, payload=body
                )
            target = plan.target
            head = hasher(prev, case_id, seq + 1, state, target, version + 1)
            updates.append(
                (case_id, version, target, version + 1, seq + 1, head, now, closed_at[plan.final])
            )
            audits.append(
                (case_id, seq + 1, version + 1, now, who, label, m.event, state, target,
                 body, None, prev, head, seal.key_id, None)
            )  # fmt: skip
            if plan.task is not None:
                opened.append((case_id, *plan.task))
        if updates:
            if BULK_CASES.run(conn, updates) != len(updates):
                raise Conflict("批量办理时有事项被他人同时更新，请刷新后重试")
            BULK_AUDIT.run(conn, audits)
            conn.execute(
                update(tasks_t)
                .where(tasks_t.c.case_id.in_(list(seen)), tasks_t.c.status == "open")
                .values(status="done", closed_at=now, closed_by=actor.person_id)
            )
            BULK_TASKS.run(conn, opened)
            contacts = engine.processes.contacts.get(process)
            if contacts is not None:
                send_many(conn, _progress(conn, contacts, spec, audits, now))
        result.moved += len(updates)
    return result


def _progress(
    conn: Connection,
    contacts: Callable[[Any, Sequence[int]], Mapping[int, tuple[str, str]]],
    spec: ProcessSpec,
    audits: Sequence[tuple[Any, ...]],
    now: dt.datetime,
) -> list[dict[str, Any]]:
    """Progress notices to applicants without an account, one per case moved, as a single
    transition writes them."""
    found = contacts(conn, [a[0] for a in audits])
    rows = []
    for case_id, _, _, _, _, _, event, source, target, *_ in audits:
        contact = found.get(case_id)
        if contact is None or source == target:
            continue
        rows.append(case_update(case_id, spec.name, event, source, target, now, contact=contact))
    return rows


def _plan(
    spec: ProcessSpec,
    actor: Actor,
    state: str,
    event: str,
    org_path: str,
    tiers: Tiers,
    rules_checked: bool,
    tasks: _Tasks,
) -> _Plan:
    """What one kind of bulk move does: where it goes, whether it may, the task it opens."""
    target = spec.target(state, event)
    ev = spec.events.get(event)
    if ev is None or ev.internal or target is None:
        why = f"当前状态「{spec.state_label(state)}」不能批量执行{event}"
        return _Plan("", why, False, False, None)
    if ev.rules and not rules_checked:
        why = f"「{ev.label}」有须逐案判断的规则，不能直接批量执行"
        return _Plan("", why, False, False, None)
    by = authz.acting(spec.states[state].actor, ev)
    refusal = authz.bulk_refusal(actor, ev, by, org_path, tiers)
    if refusal is not None:
        return _Plan("", refusal, False, False, None)
    task = tasks.template(spec, target, org_path, tiers)
    return _Plan(target, None, spec.is_final(target), bool(ev.form.fields), task)
