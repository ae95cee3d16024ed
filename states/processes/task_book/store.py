"""The package's tables as Core tables, and the small writes several steps share: where a
lead unit sits in the tree, a task's earliest milestone not reached, a parent's progress
computed from its children."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, and_, case, cast, func, select, update
from sqlalchemy import Integer as SqlInteger

from states.org import path_ids
from states.processes.task_book.tables import (
    ScoreResult,
    ScoreRound,
    ScoreSheet,
    TaskBook,
    TaskExtension,
    TaskMilestone,
    TaskReport,
    TaskScore,
    WorkTask,
)
from states.store.models import Attachment, Case, OrgUnit, Person, Task, table_of

books_t, work_t, milestones_t = table_of(TaskBook), table_of(WorkTask), table_of(TaskMilestone)
reports_t, extensions_t = table_of(TaskReport), table_of(TaskExtension)
rounds_t, sheets_t, scores_t = table_of(ScoreRound), table_of(ScoreSheet), table_of(TaskScore)
results_t = table_of(ScoreResult)
cases_t, units_t, people_t = table_of(Case), table_of(OrgUnit), table_of(Person)
tasks_t, attachments_t = table_of(Task), table_of(Attachment)


def pairs(result: Iterable[Any]) -> dict[Any, Any]:
    """A two-column result as a mapping (first column to second)."""
    return {a: b for a, b in result}


def placed(path: str) -> dict[str, Any]:
    """The columns that place a lead unit in the tree: its path, and its ancestors (or
    itself) at depths 1 to 3 — what a board groups by one level down from where it looks."""
    ids = path_ids(path)
    return {
        "lead_path": path,
        "unit1_id": ids[1] if len(ids) > 1 else None,
        "unit2_id": ids[2] if len(ids) > 2 else None,
        "unit3_id": ids[3] if len(ids) > 3 else None,
    }


def task_of_case(conn: Connection, case_id: int) -> Any:
    return conn.execute(select(work_t).where(work_t.c.case_id == case_id)).one()


def refresh_next_due(conn: Connection, task_ids: Any) -> None:
    """``next_due``: the earliest milestone of each task not reached yet (None: none left)."""
    m = milestones_t
    earliest = (
        select(func.min(m.c.due_on))
        .where(m.c.task_id == work_t.c.id, m.c.done_on.is_(None))
        .scalar_subquery()
    )
    conn.execute(update(work_t).where(work_t.c.id.in_(task_ids)).values(next_due=earliest))


def roll_up(conn: Connection, parent_id: int | None, today: dt.date) -> list[int]:
    """A split task's progress is its children's, weighted (a closed child counts 100%);
    a child's report is activity on the parent too. Up the chain to the top; returns the
    tasks it changed."""
    child = work_t.alias("child")
    changed: list[int] = []
    while parent_id is not None:
        changed.append(parent_id)
        done = case((child.c.closed_on.is_not(None), 100), else_=child.c.progress)
        share = (
            select(
                cast(
                    func.round(func.sum(child.c.weight * done) / func.sum(child.c.weight)),
                    SqlInteger,
                )
            )
            .where(child.c.parent_id == parent_id)
            .scalar_subquery()
        )
        conn.execute(
            update(work_t)
            .where(work_t.c.id == parent_id)
            .values(progress=share, last_report_on=today, stagnant_since=None)
        )
        parent_id = conn.execute(
            select(work_t.c.parent_id).where(work_t.c.id == parent_id)
        ).scalar_one()
    return changed


def open_task_rows(conn: Connection, case_ids: list[int]) -> list[Any]:
    """The open tasks just opened on these cases (to tell their holders)."""
    if not case_ids:
        return []
    return list(
        conn.execute(
            select(tasks_t).where(and_(tasks_t.c.case_id.in_(case_ids), tasks_t.c.status == "open"))
        ).mappings()
    )
