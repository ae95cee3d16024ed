"""What time drives for task books, run by the sweeps (``renshi sweep checks``, the Prefect
flow) and ``renshi tasks sweep``: reminders before each milestone and deadline, escalation
of an overdue milestone or task to the unit above its lead unit (督责: a supervision task
and a notice, once), stagnant tasks flagged, scoring rounds closed after their last day.

Set-based and idempotent: each step is an UPDATE … RETURNING that marks what it did
(``remind_level``, ``escalated_at``, ``stagnant_since``) and one executemany of notices
and tasks, so a second run the same day finds nothing left to do.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, and_, exists, insert, or_, select, update

from states.calendar import UnknownCalendarYear, WorkingCalendar
from states.clock import local_date
from states.engine import DueStep
from states.engine.outbox import send_many
from states.engine.tasks import task_row
from states.org import OFFICER_OF_TIER
from states.process.spec import policy_for
from states.processes.task_book import board
from states.processes.task_book.effects import step_notice
from states.processes.task_book.scoring import due_rounds
from states.processes.task_book.spec import TASK_SPEC
from states.processes.task_book.store import cases_t, milestones_t, pairs, tasks_t, units_t, work_t

SOON, TODAY = 1, 2
# The lead unit still has the work: issued (to acknowledge) or in progress.
LEADS_WORK = ("task_issued", "task_doing")


def _root_settings(conn: Connection) -> Mapping[str, Any] | None:
    found: Mapping[str, Any] | None = conn.execute(
        select(units_t.c.settings).where(units_t.c.parent_id.is_(None)).order_by(units_t.c.id)
    ).scalar()
    return found


def _back(calendar: WorkingCalendar, today: dt.date, days: int) -> dt.date:
    """The day from which ``days`` working days have passed by today: a task last reported
    on it (or before) has gone that long without a report."""
    d, counted = today, 0
    while counted < days:
        if calendar.is_working_day(d):
            counted += 1
        d -= dt.timedelta(days=1)
    return d


def _unsplit() -> Any:
    """Tasks whose parts went to the units below are watched through those parts. (A list
    worked out once, not a lookup per task: a planner that sees almost every task without a
    parent would scan the table for each.)"""
    part = work_t.alias("part")
    return work_t.c.id.not_in(select(part.c.parent_id).where(part.c.parent_id.is_not(None)))


def _watched(states: Sequence[str]) -> list[Any]:
    """Issued, open, in one of ``states``, not split: checked for each row a step's indexed
    window found (never worked out for every task first)."""
    return [
        work_t.c.case_id.is_not(None),
        work_t.c.closed_on.is_(None),
        exists().where(cases_t.c.id == work_t.c.case_id, cases_t.c.state.in_(states)),
        _unsplit(),
    ]


def _of_watched(states: Sequence[str]) -> Any:
    """A milestone whose task is watched (:func:`_watched`), looked up per milestone."""
    return exists().where(work_t.c.id == milestones_t.c.task_id, *_watched(states))


def _tasks(conn: Connection, ids: set[int]) -> dict[int, Any]:
    """Each task with its lead unit and the unit above it (who supervises it)."""
    if not ids:
        return {}
    lead, above = units_t.alias("lead"), units_t.alias("above")
    rows = conn.execute(
        select(
            work_t.c.id,
            work_t.c.case_id,
            work_t.c.title,
            work_t.c.deadline,
            work_t.c.lead_unit_id,
            lead.c.name.label("lead_name"),
            lead.c.tier.label("lead_tier"),
            above.c.id.label("above_id"),
            above.c.tier.label("above_tier"),
            cases_t.c.state,
        )
        .join(lead, lead.c.id == work_t.c.lead_unit_id)
        .outerjoin(above, above.c.id == lead.c.parent_id)
        .join(cases_t, cases_t.c.id == work_t.c.case_id)
        .where(work_t.c.id.in_(ids))
    ).all()
    return {r.id: r for r in rows}


def _remind(conn: Connection, today: dt.date, soon: dt.date, now: dt.datetime) -> dict[str, int]:
    m = milestones_t
    out: dict[str, int] = {}
    notices: list[dict[str, Any]] = []
    for level, window in (
        (TODAY, m.c.due_on == today),
        (SOON, and_(m.c.due_on > today, m.c.due_on <= soon)),
    ):
        stones = conn.execute(
            update(m)
            .where(
                m.c.done_on.is_(None),
                m.c.escalated_at.is_(None),
                window,
                m.c.remind_level < level,
                _of_watched(LEADS_WORK),
            )
            .values(remind_level=level)
            .returning(m.c.task_id, m.c.title, m.c.due_on)
        ).all()
        tasks = _tasks(conn, {s.task_id for s in stones})
        for s in stones:
            t = tasks[s.task_id]
            when = "今天到期" if level == TODAY else f"将于{s.due_on.isoformat()}到期"
            notices.append(
                step_notice(
                    t.case_id,
                    "task_reminder",
                    now,
                    (t.lead_unit_id, t.lead_tier),
                    t.title,
                    f"时间节点“{s.title}”{when}",
                    s.due_on.isoformat(),
                )
            )
        out["milestone_reminders"] = out.get("milestone_reminders", 0) + len(stones)
        due = (
            conn.execute(
                update(work_t)
                .where(
                    *_watched(LEADS_WORK),
                    work_t.c.escalated_at.is_(None),
                    work_t.c.remind_level < level,
                    work_t.c.deadline == today
                    if level == TODAY
                    else and_(work_t.c.deadline > today, work_t.c.deadline <= soon),
                )
                .values(remind_level=level)
                .returning(work_t.c.id)
            )
            .scalars()
            .all()
        )
        tasks = _tasks(conn, set(due))
        for task_id in due:
            t = tasks[task_id]
            when = "今天到期" if level == TODAY else f"将于{t.deadline.isoformat()}到期"
            notices.append(
                step_notice(
                    t.case_id,
                    "task_reminder",
                    now,
                    (t.lead_unit_id, t.lead_tier),
                    t.title,
                    f"任务完成时限{when}",
                    t.deadline.isoformat(),
                )
            )
        out["deadline_reminders"] = out.get("deadline_reminders", 0) + len(due)
    send_many(conn, notices)
    return out


def _supervise(
    t: Any, today: dt.date, now: dt.datetime, detail: str, day: dt.date
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """A supervision task and a notice for the unit above the lead unit (督责); nobody above
    a province."""
    if t.above_id is None:
        return None
    role = OFFICER_OF_TIER[t.above_tier]
    task = {
        **task_row(
            t.case_id,
            t.state,
            kind="supervise",
            role=role,
            unit_id=t.above_id,
            assignee_id=None,
            opened_on=today,
            due=(None, None),
            opened_at=now,
        ),
        "escalated_at": None,
    }
    note = step_notice(
        t.case_id,
        "task_escalated",
        now,
        (t.above_id, t.above_tier),
        t.title,
        detail,
        day.isoformat(),
    )
    return task, note


def _escalate(conn: Connection, today: dt.date, now: dt.datetime) -> dict[str, int]:
    m = milestones_t
    supervise: list[dict[str, Any]] = []
    notices: list[dict[str, Any]] = []
    late = conn.execute(
        update(m)
        .where(
            m.c.done_on.is_(None),
            m.c.escalated_at.is_(None),
            m.c.due_on < today,
            _of_watched(LEADS_WORK),
        )
        .values(escalated_at=now)
        .returning(m.c.task_id, m.c.title, m.c.due_on)
    ).all()
    tasks = _tasks(conn, {s.task_id for s in late})
    for s in late:
        t = tasks[s.task_id]
        detail = f"{t.lead_name}牵头的任务时间节点“{s.title}”已于{s.due_on.isoformat()}到期未完成"
        found = _supervise(t, today, now, detail, s.due_on)
        if found is not None:
            supervise.append(found[0])
            notices.append(found[1])
    overdue = (
        conn.execute(
            update(work_t)
            .where(
                *_watched(LEADS_WORK), work_t.c.deadline < today, work_t.c.escalated_at.is_(None)
            )
            .values(escalated_at=now)
            .returning(work_t.c.id)
        )
        .scalars()
        .all()
    )
    tasks = _tasks(conn, set(overdue))
    for task_id in overdue:
        t = tasks[task_id]
        detail = f"{t.lead_name}牵头的任务已于{t.deadline.isoformat()}到期，至今未办结"
        found = _supervise(t, today, now, detail, t.deadline)
        if found is not None:
            supervise.append(found[0])
            notices.append(found[1])
    if supervise:
        conn.execute(insert(tasks_t), supervise)
    send_many(conn, notices)
    return {"milestones_escalated": len(late), "tasks_escalated": len(overdue)}


def _stagnant(conn: Connection, cutoff: dt.date, today: dt.date, now: dt.datetime) -> int:
    """In progress and no report since ``cutoff`` (or since it was issued): flagged once,
    the lead unit and the issuing unit told. A report clears the flag."""
    flagged = conn.execute(
        update(work_t)
        .where(
            *_watched(("task_doing",)),
            work_t.c.stagnant_since.is_(None),
            or_(
                work_t.c.last_report_on <= cutoff,
                and_(work_t.c.last_report_on.is_(None), work_t.c.issued_on <= cutoff),
            ),
        )
        .values(stagnant_since=today)
        .returning(work_t.c.id, work_t.c.issuer_unit_id, work_t.c.last_report_on)
    ).all()
    if not flagged:
        return 0
    tasks = _tasks(conn, {f.id for f in flagged})
    issuers = pairs(
        conn.execute(
            select(units_t.c.id, units_t.c.tier).where(
                units_t.c.id.in_({f.issuer_unit_id for f in flagged})
            )
        )
    )
    notices = []
    for f in flagged:
        t = tasks[f.id]
        since = f.last_report_on.isoformat() if f.last_report_on else "下达以来"
        detail = f"{t.lead_name}牵头的任务自{since}起未报告进展，已列为停滞"
        for unit in {(t.lead_unit_id, t.lead_tier), (f.issuer_unit_id, issuers[f.issuer_unit_id])}:
            notices.append(
                step_notice(
                    t.case_id, "task_stagnant", now, unit, t.title, detail, today.isoformat()
                )
            )
    send_many(conn, notices)
    return len(flagged)


def sweep(engine: Any) -> Mapping[str, int]:
    """Reminders (on working days), escalation, stagnation, then rounds past their last day
    closed; counts of each."""
    now = engine.clock.now()
    today = local_date(now)
    counts: dict[str, int] = {}
    with engine.db.begin() as conn:
        calendar = engine.calendar(conn)
        settings = _root_settings(conn)
        policy = policy_for(TASK_SPEC, settings)
        try:
            working = calendar.is_working_day(today)
            soon = calendar.add_working_days(today, int(policy["remind_days"]))
            cutoff = _back(calendar, today, int(policy["stagnant_days"]))
        except UnknownCalendarYear as exc:
            counts["calendar_unknown"] = exc.year
            working, soon, cutoff = False, today, dt.date.min
        if working:
            counts.update(_remind(conn, today, soon, now))
        counts.update(_escalate(conn, today, now))
        if cutoff != dt.date.min:
            counts["stagnant"] = _stagnant(conn, cutoff, today, now)
        # the boards' statuses as of today, once the flags above are set
        counts["restood"] = board.restand(conn, board.clock_for(calendar, today, settings))
        due = due_rounds(conn, today)
    counts["rounds_closed"] = engine.fire_due(
        DueStep(c, v, "close_scoring", f"task-scoring-close:{c}:{v}") for c, v in due
    )["close_scoring"]
    # what it did: a quiet morning reports nothing (the sweeps add every check's counts)
    return {key: n for key, n in counts.items() if n}
