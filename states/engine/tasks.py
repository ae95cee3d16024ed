"""Human and system tasks: who holds the work of a state, and by when.

One row builder (``task_row``) serves every writer: a transition opening a state's tasks,
a bulk step, a panel drawn, a signer added, a late step escalated. Due dates count working
days on the official calendar; a deadline in a year whose schedule is not loaded is flagged
on the task (``due_flag``), never computed from weekends alone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection

from states.calendar import UnknownCalendarYear, WorkingCalendar
from states.engine.context import CaseContext
from states.engine.outbox import send, task_notice
from states.engine.statements import CANCEL_WAITING, HOT, INSERT_TASKS, TASK_COLUMNS
from states.org import OFFICER_OF_TIER, SYSTEM, TEACHER, Actor, path_ids
from states.process.spec import StateSpec
from states.store.calendar_store import calendar_from_db

Due = tuple[dt.date | None, str | None]


def task_row(
    case_id: int | None,
    state: str,
    *,
    kind: str,
    role: str,
    unit_id: int | None,
    assignee_id: int | None,
    opened_on: dt.date,
    due: Due,
    opened_at: dt.datetime,
    status: str = "open",
    position: str | None = None,
    days: int | None = None,
) -> dict[str, Any]:
    """One task row; ``days`` are the working days ``due`` was counted from (kept so that a
    flagged date can be worked out later)."""
    return {
        "case_id": case_id,
        "state": state,
        "kind": kind,
        "role": role,
        "org_unit_id": unit_id,
        "assignee_id": assignee_id,
        "opened_on": opened_on,
        "due_on": due[0],
        "due_flag": due[1],
        "due_days": days,
        "status": status,
        "opened_at": opened_at,
        "remind_level": 0,
        "position": position,
    }


def as_tuple(row: Mapping[str, Any]) -> tuple[Any, ...]:
    """A task row in ``TASK_COLUMNS`` order, for the set-based writers."""
    return tuple(row[c] for c in TASK_COLUMNS)


def task_kind(state: StateSpec) -> str:
    return "window" if state.window else "act"


class Deadlines:
    """Working-day due dates from the calendar, re-read once when a year is unknown
    (another process may have loaded it)."""

    def __init__(self, calendar: WorkingCalendar | None = None) -> None:
        self._calendar = calendar

    def calendar(self, conn: Connection) -> WorkingCalendar:
        if self._calendar is None:
            self._calendar = calendar_from_db(conn)
        return self._calendar

    def reload(self, conn: Connection) -> WorkingCalendar:
        self._calendar = calendar_from_db(conn)
        return self._calendar

    def due(self, conn: Connection, start: dt.date, days: int) -> Due:
        """The due date, or None with a flag when the calendar of that year is not loaded."""
        if days <= 0:
            return start, None
        try:
            return self.calendar(conn).add_working_days(start, days), None
        except UnknownCalendarYear:
            try:
                return self.reload(conn).add_working_days(start, days), None
            except UnknownCalendarYear as exc:
                return None, f"calendar_unknown:{exc.year}"


def holder(
    state: StateSpec, ctx: CaseContext | None, *, org_path: str = "", tiers: Any = None
) -> tuple[str, int | None, int | None] | None:
    """(role, unit, named person) of whoever a state hands its task to; None for nobody.

    With a context, the unit comes from the case's own resolution of the tier alias; for a
    bulk step (no context) from the case's path and the units' tiers.
    """
    by = state.actor
    if by is None:
        return None
    if by.officer:
        if ctx is not None:
            unit = ctx.unit_for(by.officer)
            return OFFICER_OF_TIER[unit.tier], unit.id, None
        ids = path_ids(org_path)
        chosen = next((i for i in reversed(ids) if tiers[i][0] == by.officer), ids[-1])
        return OFFICER_OF_TIER[tiers[chosen][0]], chosen, None
    if by.applicant and ctx is not None:
        return TEACHER, ctx.case.org_unit_id, ctx.case.applicant_id
    if by.system:
        return SYSTEM, None, None
    return None


def open_state_tasks(
    conn: Connection,
    ctx: CaseContext,
    deadlines: Deadlines,
    state: StateSpec,
    case_id: int,
    extra: Sequence[dict[str, Any]] = (),
    *,
    days: int | None = None,
    note: str = "",
) -> None:
    """Open the tasks of the state a case enters, and tell their holders.

    ``days`` overrides the state's deadline (a publicity window resumed with what it had
    left); ``extra`` are tasks an effect asked for (a panel's seats), given the same due date;
    ``note`` is a line the notices carry (the receipt number of the objection to look into).
    """
    if days is None:
        days = state.deadline_days
    due: Due = (None, None) if days is None else deadlines.due(conn, ctx.today, days)
    rows: list[dict[str, Any]] = []
    who = holder(state, ctx)
    if who is not None:
        role, unit, person = who
        rows.append(
            task_row(
                case_id, state.name, kind=task_kind(state), role=role, unit_id=unit,
                assignee_id=person, opened_on=ctx.today, due=due, opened_at=ctx.now, days=days,
            )
        )  # fmt: skip
    for e in extra:
        rows.append({**e, "due_on": due[0], "due_flag": due[1], "due_days": days})
    if len(rows) == 1:
        HOT.task.run(conn, rows[0])
    elif rows:
        conn.execute(INSERT_TASKS, rows)
    for r in rows:
        # Nobody needs telling about work they just handed themselves.
        own = r["assignee_id"] is not None and r["assignee_id"] == ctx.actor.person_id
        if r["kind"] == "act" and not own:
            more = {"note": note} if note else {}
            send(conn, assigned_notice(r, ctx.spec.name, ctx.now, **more))


def assigned_notice(
    task: Mapping[str, Any], process: str, now: dt.datetime, **more: Any
) -> dict[str, Any]:
    due = task["due_on"]
    body = {
        "case_id": task["case_id"],
        "process": process,
        "state": task["state"],
        "due_on": due.isoformat() if due else None,
        **more,
    }
    return task_notice(task, "task_assigned", now, body)


def close_state_tasks(
    conn: Connection, case_id: int, actor: Actor, now: dt.datetime, *, waiting: bool = True
) -> None:
    """Leaving a state ends its work: open tasks are done, signers still waiting are no
    longer needed."""
    HOT.close_tasks.run(conn, {"p_case": case_id, "p_now": now, "p_by": actor.person_id})
    if waiting:
        conn.execute(CANCEL_WAITING, {"p_case": case_id, "p_now": now})
