"""The task books' automated compliance check (合规检查): no issued task past its deadline
and still open. Declared here, over the task book's own tables; the compliance package's
runner turns it into findings (one per task, answered for by its lead unit) and closes each
once the task is closed or its deadline extended."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, String, cast, literal, select

from states.process.package import ComplianceRule, Schedule
from states.processes.task_book.store import work_t


def overdue(conn: Connection, today: dt.date) -> Any:
    """Issued tasks past their deadline and not closed (a task split to the units below is
    watched through its parts): (the task's case, its lead unit, what is wrong)."""
    w = work_t
    part = work_t.alias("part")
    detail = (
        literal("任务“")
        + w.c.title
        + literal("”完成时限为")
        + cast(w.c.deadline, String)
        + literal("，已逾期未办结")
    )
    return select(w.c.case_id, w.c.lead_unit_id, detail).where(
        w.c.case_id.is_not(None),
        w.c.closed_on.is_(None),
        w.c.deadline < today,
        w.c.id.not_in(select(part.c.parent_id).where(part.c.parent_id.is_not(None))),
    )


OVERDUE = ComplianceRule(
    code="task_overdue",
    label="任务逾期未办结",
    subject="case",
    hits=overdue,
    advice="请牵头单位尽快办结，或按程序申请延期并说明理由",
    schedule=Schedule(
        "合规检查：任务逾期",
        "任务书中已过完成时限仍未办结的任务，逐项登记问题，由牵头单位整改；办结或延期获批后销号。",
        "40 7 * * *",
    ),
)
