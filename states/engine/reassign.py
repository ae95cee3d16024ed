"""Reassignment (转办): open work handed from one holder to another because the person it was
named to is away (委托/代理), has left (离职转办), was disabled or lost the role.

Who gets what is decided by ``states.registry.delegation``; this module only writes it, the
way 转交 (``annotate.transfer``) does for one task: the task's holder changes, the case's
version moves (whoever held it may not act on it any more), one audit event goes on the
case's chain saying who moved which task to whom and why, and the new holder is told through
the outbox. A person's work can span thousands of cases (a county's only officer leaving),
so it is set-based: the tasks and cases are read in chunks, and the case rows, audit events,
task rows and notices go out through the bulk writers' ``executemany``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from states.audit import canonical, event_hash
from states.audit_keys import sealer
from states.engine.outbox import send_many
from states.engine.statements import BULK_AUDIT, BULK_CASES, cases_t, tasks_t
from states.engine.tasks import assigned_notice
from states.errors import Conflict
from states.org import Actor
from states.store.models import Delegation, table_of

delegations_t = table_of(Delegation)
CHUNK = 500  # ids per IN list: inside every database's bound-parameter limit
EVENT = "reassign"
# Tasks a person holds as themselves rather than for a role: an applicant's own, a committee
# member's vote, the system's. Nobody else may take those over.
PERSONAL_ROLES = frozenset({"teacher", "review_expert", "system"})
HUMAN = ("act", "sign")

_MOVE_TASK = (
    update(tasks_t)
    .where(tasks_t.c.id == bindparam("t_id"))
    .values(assignee_id=bindparam("t_to"), delegated_from=bindparam("t_away"))
)
_ACTING = select(delegations_t.c.acting_id).where(
    delegations_t.c.person_id == bindparam("person_id"),
    delegations_t.c.starts_on <= bindparam("today"),
    delegations_t.c.ends_on >= bindparam("today"),
    delegations_t.c.cancelled_at.is_(None),
    delegations_t.c.ended_at.is_(None),
)


@dataclass(frozen=True)
class Handover:
    """One task to another holder: ``to`` a person, or None for the role at the task's unit;
    ``away`` the person it returns to when their delegation ends (None: it stays)."""

    task_id: int
    to: int | None
    away: int | None = None


def acting_holder(conn: Connection, person_id: int, today: dt.date) -> int | None:
    """Who acts for ``person_id`` today (委托/代理 in force), or None."""
    return conn.execute(_ACTING, {"person_id": person_id, "today": today}).scalar()


def reassign(
    conn: Connection,
    handovers: Sequence[Handover],
    actor: Actor,
    now: dt.datetime,
    reason: str,
    *,
    note: str = "",
) -> int:
    """Hand the open tasks over, in the caller's transaction: one ``reassign`` audit event
    per case touched (``tasks``: each task with its holder before and after; ``reason``), the
    case's version moved, a notice to each new holder carrying ``note``. Tasks already
    closed, or already where they are sent, are skipped. Returns the number of cases."""
    wanted = {h.task_id: h for h in handovers}
    tasks: list[Any] = []
    ids = sorted(wanted)
    for i in range(0, len(ids), CHUNK):
        tasks += conn.execute(
            select(tasks_t).where(
                tasks_t.c.id.in_(ids[i : i + CHUNK]), tasks_t.c.status.in_(("open", "waiting"))
            )
        ).all()
    moving = [
        t
        for t in tasks
        if (t.assignee_id, t.delegated_from) != (wanted[t.id].to, wanted[t.id].away)
    ]
    if not moving:
        return 0
    by_case: dict[int, list[Any]] = {}
    for t in sorted(moving, key=lambda t: t.id):
        by_case.setdefault(t.case_id, []).append(t)
    case_ids = sorted(by_case)
    cases: dict[int, Any] = {}
    for i in range(0, len(case_ids), CHUNK):
        for row in conn.execute(
            select(
                cases_t.c.id, cases_t.c.process, cases_t.c.state, cases_t.c.version,
                cases_t.c.seq, cases_t.c.audit_head, cases_t.c.closed_at,
            )
            .where(cases_t.c.id.in_(case_ids[i : i + CHUNK]))
            .with_for_update()
        ):  # fmt: skip
            cases[row.id] = row
    seal = sealer()
    updates: list[tuple[Any, ...]] = []
    audits: list[tuple[Any, ...]] = []
    for case_id in case_ids:
        case = cases[case_id]
        moved = [
            {"id": t.id, "from": t.assignee_id, "to": wanted[t.id].to} for t in by_case[case_id]
        ]
        payload = canonical({"tasks": moved, "reason": reason})
        seq, version = case.seq + 1, case.version + 1
        head = event_hash(
            seal, case.audit_head, case_id=case_id, seq=seq, version=version, at=now,
            actor_id=actor.person_id, actor_label=actor.label, event=EVENT,
            from_state=case.state, to_state=case.state, payload=payload, data=None,
        )  # fmt: skip
        updates.append((case_id, case.version, case.state, version, seq, head, now, case.closed_at))
        audits.append(
            (case_id, seq, version, now, actor.person_id, actor.label, EVENT, case.state,
             case.state, payload, None, case.audit_head, head, seal.key_id, None)
        )  # fmt: skip
    if BULK_CASES.run(conn, updates) != len(updates):
        raise Conflict("转办时有事项被他人同时更新，请稍后重试")
    BULK_AUDIT.run(conn, audits)
    conn.execute(
        _MOVE_TASK,
        [{"t_id": t.id, "t_to": wanted[t.id].to, "t_away": wanted[t.id].away} for t in moving],
    )
    more = {"note": note} if note else {}
    send_many(
        conn,
        [
            assigned_notice(
                {**t._mapping, "assignee_id": wanted[t.id].to}, cases[t.case_id].process, now,
                **more,
            )
            for t in moving
            if t.status == "open" and t.kind in HUMAN
        ],
    )  # fmt: skip
    return len(case_ids)
