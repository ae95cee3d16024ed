"""Task books' facts, loaded inside the transition that reads them: a book's tasks, a task
as its reports and splits are judged, a scorer's sheet."""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from states.engine.context import CaseContext
from states.processes.task_book.rules import BookFacts, SheetFacts, TaskFacts
from states.processes.task_book.store import (
    attachments_t,
    books_t,
    cases_t,
    milestones_t,
    rounds_t,
    sheets_t,
    units_t,
    work_t,
)


def book_facts(conn: Connection, ctx: CaseContext) -> BookFacts:
    book = conn.execute(select(books_t.c.id).where(books_t.c.case_id == ctx.case.id)).scalar_one()
    rows = conn.execute(
        select(work_t.c.id, work_t.c.lead_unit_id, work_t.c.title, units_t.c.tier)
        .join(units_t, units_t.c.id == work_t.c.lead_unit_id)
        .where(work_t.c.book_id == book, work_t.c.parent_id.is_(None))
        .order_by(work_t.c.seq, work_t.c.id)
    ).all()
    return BookFacts(int(book), tuple((r.id, r.lead_unit_id, r.title, r.tier) for r in rows))


def task_facts(conn: Connection, ctx: CaseContext) -> TaskFacts:
    row = conn.execute(select(work_t).where(work_t.c.case_id == ctx.case.id)).one()
    children = conn.execute(
        select(func.count(), func.count(work_t.c.closed_on)).where(work_t.c.parent_id == row.id)
    ).one()
    milestones = conn.execute(
        select(
            milestones_t.c.seq, milestones_t.c.title, milestones_t.c.due_on, milestones_t.c.done_on
        )
        .where(milestones_t.c.task_id == row.id)
        .order_by(milestones_t.c.seq)
    ).all()
    files = conn.execute(
        select(attachments_t.c.id).where(attachments_t.c.case_id == ctx.case.id)
    ).scalars()
    below = conn.execute(
        select(units_t.c.id, units_t.c.name, units_t.c.tier).where(
            units_t.c.parent_id == row.lead_unit_id, units_t.c.closed_on.is_(None)
        )
    ).all()
    lead = conn.execute(select(units_t.c.name).where(units_t.c.id == row.lead_unit_id)).scalar()
    return TaskFacts(
        task_id=int(row.id),
        title=row.title,
        progress=int(row.progress),
        deadline=row.deadline,
        issued_on=row.issued_on,
        split=bool(children[0]),
        children_open=int(children[0]) - int(children[1]),
        milestones=tuple((m.seq, m.title, m.due_on, m.done_on) for m in milestones),
        attachments=frozenset(int(i) for i in files),
        below={u.id: (u.name, u.tier) for u in below},
        lead_name=str(lead or ""),
    )


def sheet_facts(conn: Connection, ctx: CaseContext) -> SheetFacts:
    from states.processes.task_book import scoring

    sheet = conn.execute(select(sheets_t).where(sheets_t.c.case_id == ctx.case.id)).one()
    round_ = conn.execute(select(rounds_t).where(rounds_t.c.id == sheet.round_id)).one()
    state = conn.execute(select(cases_t.c.state).where(cases_t.c.id == round_.case_id)).scalar_one()
    tasks = scoring.sheet_tasks(conn, round_, sheet)
    return SheetFacts(
        tasks={t.id: t.title for t in tasks},
        closes_on=round_.closes_on,
        open=state == "round_scoring",
    )
