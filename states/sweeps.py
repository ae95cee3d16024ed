"""What time drives: reminders, escalation of late work, publicity windows running out.

Plain functions over the store and the engine, called by Prefect flows (one run per sweep)
and by the CLI. Our tables are the source of truth: a sweep reads what is due now, acts, and
marks what it did, so running it twice does nothing the second time.

Reminders and escalation notices are set-based (one UPDATE … RETURNING, one executemany per
kind of notice); only transitions (publicity windows, automatic returns) go through
``CaseEngine.fire`` one case at a time, because each is a real state change with its rules.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, and_, bindparam, insert, select, update

from states.calendar import UnknownCalendarYear, WorkingCalendar
from states.clock import local_date
from states.engine import CaseEngine
from states.engine.outbox import notice, task_notice
from states.engine.tasks import task_row
from states.errors import RenshiError
from states.org import OFFICER_OF_TIER, SYSTEM_ACTOR
from states.registry import delegation
from states.store.models import Case, OrgUnit, OutboxMessage, Task, table_of

log = logging.getLogger(__name__)

tasks_t, cases_t, units_t, outbox_t = (
    table_of(Task),
    table_of(Case),
    table_of(OrgUnit),
    table_of(OutboxMessage),
)

HUMAN = ("act", "sign")
SOON_DAYS = 2  # "due soon": within this many working days
# remind_level: what a task has already been reminded of
SOON, TODAY, OVERDUE = 1, 2, 3
REMINDER_KIND = {
    SOON: "reminder_due_soon",
    TODAY: "reminder_due_today",
    OVERDUE: "reminder_overdue",
}


@dataclass
class SweepReport:
    """What one sweep did; flows log it and the CLI prints it."""

    name: str
    skipped: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def add(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n


def _enqueue(conn: Connection, rows: Sequence[Any], kind: str, now: dt.datetime) -> None:
    """One outbox notice per task, to whoever holds it (named person, or role at unit)."""
    if not rows:
        return
    conn.execute(
        insert(outbox_t),
        [
            task_notice(
                r,
                kind,
                now,
                {
                    "task_id": r.id,
                    "case_id": r.case_id,
                    "state": r.state,
                    "due_on": r.due_on.isoformat() if r.due_on else None,
                },
            )
            for r in rows
        ],
    )


def reminder_sweep(engine: CaseEngine) -> SweepReport:
    """Remind holders of open tasks that are due soon, due today or overdue, each once.

    Only on working days: a holiday or a weekend that is not a make-up day sends nothing (the
    schedule runs every morning; the calendar decides). A task reminded of "due soon" is
    reminded again when it is due today, and once more when it is overdue.
    """
    report = SweepReport("reminders")
    now = engine.clock.now()
    today = local_date(now)
    with engine.db.begin() as conn:
        calendar = engine.calendar(conn)
        try:
            if not calendar.is_working_day(today):
                report.skipped = f"{today.isoformat()}不是工作日"
                return report
            soon = calendar.add_working_days(today, SOON_DAYS)
        except UnknownCalendarYear as exc:
            report.skipped = str(exc)
            return report
        base = and_(
            tasks_t.c.status == "open",
            tasks_t.c.kind.in_(HUMAN),
            tasks_t.c.due_on.is_not(None),
        )
        windows = {
            OVERDUE: tasks_t.c.due_on < today,
            TODAY: tasks_t.c.due_on == today,
            SOON: and_(tasks_t.c.due_on > today, tasks_t.c.due_on <= soon),
        }
        for level in (OVERDUE, TODAY, SOON):
            rows = conn.execute(
                update(tasks_t)
                .where(base, windows[level], tasks_t.c.remind_level < level)
                .values(remind_level=level)
                .returning(
                    tasks_t.c.id,
                    tasks_t.c.case_id,
                    tasks_t.c.state,
                    tasks_t.c.role,
                    tasks_t.c.org_unit_id,
                    tasks_t.c.assignee_id,
                    tasks_t.c.due_on,
                )
            ).all()
            _enqueue(conn, rows, REMINDER_KIND[level], now)
            report.add(REMINDER_KIND[level], len(rows))
    return report


def deadline_sweep(engine: CaseEngine, *, batch: int = 500) -> SweepReport:
    """Act on open tasks whose deadline has passed, as each state's spec says.

    ``notify_superior`` (督责): the unit above the late unit gets a supervision task and a
    notice, once. ``fire_expiry``: the system fires the state's ``on_expiry`` event (an
    automatic return, say) through the engine.
    Tasks whose due date was flagged for want of a calendar are given one as soon as the
    year's schedule is loaded.
    """
    report = SweepReport("deadlines")
    now = engine.clock.now()
    today = local_date(now)
    _delegations(engine, report)
    _refresh_flagged(engine, report)
    auto: list[tuple[int, str]] = []  # (case, the state's on_expiry event)
    with engine.db.begin() as conn:
        late = conn.execute(
            select(
                tasks_t.c.id,
                tasks_t.c.case_id,
                tasks_t.c.state,
                tasks_t.c.role,
                tasks_t.c.org_unit_id,
                tasks_t.c.assignee_id,
                tasks_t.c.due_on,
                cases_t.c.process,
                units_t.c.parent_id,
            )
            .join(cases_t, cases_t.c.id == tasks_t.c.case_id)
            .outerjoin(units_t, units_t.c.id == tasks_t.c.org_unit_id)
            .where(
                tasks_t.c.status == "open",
                tasks_t.c.kind == "act",
                tasks_t.c.due_on < today,
                tasks_t.c.escalated_at.is_(None),
            )
            .order_by(tasks_t.c.id)
            .limit(batch)
        ).all()
        parents = {
            r.id: r
            for r in conn.execute(
                select(units_t.c.id, units_t.c.tier).where(
                    units_t.c.id.in_({r.parent_id for r in late if r.parent_id})
                )
            )
        }
        supervise: list[dict[str, Any]] = []
        notices: list[dict[str, Any]] = []
        for r in late:
            state = engine.processes[r.process].states[r.state]
            rule = state.escalation
            if rule == "fire_expiry" and state.on_expiry is not None:
                auto.append((r.case_id, state.on_expiry))
                continue
            parent = parents.get(r.parent_id) if rule == "notify_superior" else None
            if parent is None:  # applicant's own work, or nobody above: nothing to escalate
                continue
            role = OFFICER_OF_TIER[parent.tier]
            supervise.append(
                {
                    **task_row(
                        r.case_id, r.state, kind="supervise", role=role, unit_id=parent.id,
                        assignee_id=None, opened_on=today, due=(None, None), opened_at=now,
                    ),
                    "escalated_at": None,
                }
            )  # fmt: skip
            notices.append(
                notice(
                    r.case_id,
                    "escalation",
                    now,
                    {
                        "task_id": r.id,
                        "case_id": r.case_id,
                        "state": r.state,
                        "due_on": r.due_on.isoformat(),
                        "late_unit_id": r.org_unit_id,
                    },
                    role=role,
                    unit_id=parent.id,
                )
            )
        if supervise:
            conn.execute(insert(tasks_t), supervise)
            conn.execute(insert(outbox_t), notices)
        if late:
            conn.execute(
                update(tasks_t)
                .where(tasks_t.c.id.in_([r.id for r in late]))
                .values(escalated_at=now)
            )
        report.add("escalated", len(supervise))
    for case_id, event in auto:
        _system_fire(engine, case_id, event, {"reason": "办理期限已过，系统自动退回"}, report)
    return report


def _delegations(engine: CaseEngine, report: SweepReport) -> None:
    """委托/代理 by the calendar, as the deadlines are: work goes to acting holders on a
    delegation's first day and comes back after its last (states/registry/delegation.py);
    each delegation is handed over and given back once."""
    try:
        with engine.db.begin() as conn:
            done = delegation.sweep(conn, engine.clock.now())
    except RenshiError as exc:  # a case moved meanwhile: the next run hands it over
        report.add("errors")
        report.errors.append(f"休假代理：{exc.message}")
        log.warning("delegation sweep failed: %s", exc.message)
        return
    for key, n in (("delegations_started", done.started), ("delegations_ended", done.ended)):
        if n:
            report.add(key, n)


def delegation_sweep(engine: CaseEngine) -> SweepReport:
    """Only the delegations' part of the deadline sweep (the CLI, tests)."""
    report = SweepReport("delegations")
    _delegations(engine, report)
    return report


def publicity_sweep(engine: CaseEngine, *, batch: int = 1000) -> SweepReport:
    """Close every publicity window whose last working day is over. A case under objection
    has no open window (the objection suspended it), so it holds until the objection is
    resolved."""
    report = SweepReport("publicity")
    today = local_date(engine.clock.now())
    with engine.db.connect() as conn:
        due = conn.execute(
            select(tasks_t.c.case_id, tasks_t.c.state, cases_t.c.process)
            .join(cases_t, cases_t.c.id == tasks_t.c.case_id)
            .where(
                tasks_t.c.status == "open",
                tasks_t.c.kind == "window",
                tasks_t.c.due_on < today,
            )
            .order_by(tasks_t.c.case_id)
            .limit(batch)
        ).all()
    for case_id, state, process in due:
        closing = engine.processes[process].states[state].on_expiry
        if closing is not None:
            _system_fire(engine, case_id, closing, {}, report)
    return report


def _system_fire(
    engine: CaseEngine, case_id: int, event: str, payload: dict[str, Any], report: SweepReport
) -> None:
    """Fire as the system with the case's current version; one failure never stops a sweep."""
    with engine.db.connect() as conn:
        version = conn.execute(
            select(cases_t.c.version).where(cases_t.c.id == case_id)
        ).scalar_one()
    try:
        result = engine.fire(case_id, event, SYSTEM_ACTOR, payload, expected_version=version)
        report.add(f"{event}:{result.to_state}")
    except RenshiError as exc:
        report.add("errors")
        report.errors.append(f"事项{case_id}：{exc.message}")
        log.warning("sweep could not fire %s on case %s: %s", event, case_id, exc.message)


def _refresh_flagged(engine: CaseEngine, report: SweepReport) -> None:
    """Give due dates to tasks opened while their year's holidays were not loaded."""
    with engine.db.begin() as conn:
        flagged = conn.execute(
            select(
                tasks_t.c.id,
                tasks_t.c.state,
                tasks_t.c.opened_on,
                tasks_t.c.due_days,
                cases_t.c.process,
            )
            .join(cases_t, cases_t.c.id == tasks_t.c.case_id)
            .where(tasks_t.c.status == "open", tasks_t.c.due_flag.is_not(None))
        ).all()
        if not flagged:
            return
        calendar: WorkingCalendar = engine.reload_calendar(conn)
        fixed = []
        for t in flagged:
            # the days the task was given (a resumed window: what it had left), else the
            # state's deadline (tasks opened before the days were kept)
            days = t.due_days
            if days is None:
                days = engine.processes[t.process].states[t.state].deadline_days
            if days is None:
                continue
            try:
                fixed.append({"t_id": t.id, "due": calendar.add_working_days(t.opened_on, days)})
            except UnknownCalendarYear:
                continue
        if fixed:
            conn.execute(
                update(tasks_t)
                .where(tasks_t.c.id == bindparam("t_id"))
                .values(due_on=bindparam("due"), due_flag=None),
                fixed,
            )
        report.add("due_dates_fixed", len(fixed))
        report.add("still_flagged", len(flagged) - len(fixed))


def checks_sweep(engine: CaseEngine) -> SweepReport:
    """Run every installed process's scheduled checks (automated supervision checks and the
    like); one check failing is reported and never stops the others."""
    report = SweepReport("checks")
    for check in engine.processes.checks():
        try:
            counts = check.run(engine)
        except RenshiError as exc:
            report.add("errors")
            report.errors.append(f"{check.name}：{exc.message}")
            log.warning("check %s failed: %s", check.name, exc.message)
            continue
        for key, n in counts.items():
            report.add(f"{check.name}:{key}", n)
    return report


__all__ = [
    "SweepReport",
    "checks_sweep",
    "deadline_sweep",
    "delegation_sweep",
    "publicity_sweep",
    "reminder_sweep",
]
