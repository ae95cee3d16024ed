"""What a book's or a task's events change besides the state: the book's tasks tied to the
cases its approval opened, a task split to the units below, a report on the task's row and
its parents' computed progress, an extension asked for and decided, a task closed, and the
notices of each step. Each handler writes inside the transition's transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from states.engine.effects import EffectScope
from states.engine.outbox import notice, send, send_many
from states.engine.tasks import assigned_notice
from states.org import OFFICER_OF_TIER
from states.processes.task_book import board
from states.processes.task_book.machine import TASK
from states.processes.task_book.rules import ids_in
from states.processes.task_book.spec import (
    CloseTask,
    DecideExtension,
    LinkIssued,
    Note,
    Notify,
    RecordProgress,
    RequestExtension,
    SplitTask,
)
from states.processes.task_book.store import (
    attachments_t,
    extensions_t,
    milestones_t,
    open_task_rows,
    pairs,
    placed,
    refresh_next_due,
    reports_t,
    roll_up,
    task_of_case,
    units_t,
    work_t,
)


def restand(scope: EffectScope, ids: Sequence[int]) -> None:
    """The board's status of the tasks a step changed, worked out as of today."""
    board.restand(
        scope.conn, board.clock_of(scope.engine, scope.conn, scope.ctx.case.org_path), ids
    )


def tell_holders(conn: Connection, case_ids: list[int], now: Any, note: str = "") -> None:
    """The cases just opened in bulk (a book's tasks, a task's parts) wait on their lead
    units: each is told, as a single transition tells the holder of the step it opens."""
    more = {"note": note} if note else {}
    send_many(conn, [assigned_notice(r, TASK, now, **more) for r in open_task_rows(conn, case_ids)])


def _link_issued(scope: EffectScope, cmd: LinkIssued) -> None:
    conn, today = scope.conn, scope.ctx.today
    case_ids = list(scope.record.get("children") or [])
    assert len(case_ids) == len(cmd.task_ids)
    if case_ids:
        conn.execute(
            update(work_t)
            .where(work_t.c.id == bindparam("t_id"))
            .values(case_id=bindparam("c_id"), issued_on=today, last_report_on=today),
            [{"t_id": t, "c_id": c} for t, c in zip(cmd.task_ids, case_ids, strict=True)],
        )
        refresh_next_due(conn, list(cmd.task_ids))
        restand(scope, cmd.task_ids)
        tell_holders(conn, case_ids, scope.ctx.now)
    scope.record["issued"] = len(case_ids)


def _split(scope: EffectScope, cmd: SplitTask) -> None:
    """Each unit below gets the task as it stands: its title, deadline, milestones (those
    reached stay reached) and the progress reported so far, so the parent's computed
    progress starts where the reports left it."""
    conn, ctx = scope.conn, scope.ctx
    parent = task_of_case(conn, ctx.case.id)
    case_ids = list(scope.record.get("children") or [])
    units = {
        u.id: u
        for u in conn.execute(
            select(units_t.c.id, units_t.c.name, units_t.c.path).where(units_t.c.id.in_(cmd.units))
        )
    }
    rows = [
        {
            "book_id": parent.book_id,
            "case_id": case_id,
            "parent_id": parent.id,
            "year": parent.year,
            "seq": i,
            "title": parent.title,
            "detail": parent.detail,
            "source": parent.source,
            "lead_unit_id": unit,
            "issuer_unit_id": parent.lead_unit_id,
            "co_units": None,
            "deadline": parent.deadline,
            "weight": 1.0,
            "progress": parent.progress,
            "issued_on": ctx.today,
            "last_report_on": ctx.today,
            "stagnant_since": None,
            "next_due": parent.next_due,
            "remind_level": 0,
            "escalated_at": None,
            "closed_on": None,
            **placed(units[unit].path),
        }
        for i, (unit, case_id) in enumerate(zip(cmd.units, case_ids, strict=True), start=1)
    ]
    conn.execute(insert(work_t), rows)
    children = pairs(
        conn.execute(select(work_t.c.case_id, work_t.c.id).where(work_t.c.case_id.in_(case_ids)))
    )
    milestones = conn.execute(
        select(
            milestones_t.c.seq, milestones_t.c.title, milestones_t.c.due_on, milestones_t.c.done_on
        ).where(milestones_t.c.task_id == parent.id)
    ).all()
    if milestones:
        conn.execute(
            insert(milestones_t),
            [
                {
                    "task_id": children[c],
                    "seq": m.seq,
                    "title": m.title,
                    "due_on": m.due_on,
                    "done_on": m.done_on,
                    "remind_level": 0,
                    "escalated_at": None,
                }
                for c in case_ids
                for m in milestones
            ],
        )
    # the parts carry the milestones now: the parent is late only by its own deadline
    conn.execute(update(work_t).where(work_t.c.id == parent.id).values(next_due=None))
    restand(scope, [parent.id, *children.values()])
    scope.record["split"] = [units[u].name for u in cmd.units]
    tell_holders(conn, case_ids, ctx.now)


def _record_progress(scope: EffectScope, cmd: RecordProgress) -> None:
    conn, ctx, payload = scope.conn, scope.ctx, scope.record
    row = task_of_case(conn, ctx.case.id)
    percent = 100 if cmd.kind == "completion" else int(payload["percent"])
    evidence = ids_in(payload.get("evidence")) if payload.get("evidence") else None
    milestone = payload.get("milestone")
    conn.execute(
        insert(reports_t).values(
            task_id=row.id,
            reported_at=ctx.now,
            reported_by=ctx.actor.person_id,
            kind=cmd.kind,
            percent=percent,
            previous=row.progress,
            text=str(payload["text"]),
            reason=payload.get("reason"),
            evidence=evidence,
            milestone_seq=milestone,
        )
    )
    conn.execute(
        update(work_t)
        .where(work_t.c.id == row.id)
        .values(progress=percent, last_report_on=ctx.today, stagnant_since=None)
    )
    if milestone is not None:
        title = conn.execute(
            update(milestones_t)
            .where(milestones_t.c.task_id == row.id, milestones_t.c.seq == int(milestone))
            .values(done_on=ctx.today)
            .returning(milestones_t.c.title)
        ).scalar_one()
        scope.record["milestone_title"] = title
        refresh_next_due(conn, [row.id])
    if evidence:
        scope.record["evidence_files"] = list(
            conn.execute(
                select(attachments_t.c.filename)
                .where(attachments_t.c.id.in_(evidence))
                .order_by(attachments_t.c.id)
            ).scalars()
        )
    scope.record["progress_from"] = row.progress
    restand(scope, [row.id, *roll_up(conn, row.parent_id, ctx.today)])


def _request_extension(scope: EffectScope, cmd: RequestExtension) -> None:
    ctx, payload = scope.ctx, scope.record
    row = task_of_case(scope.conn, ctx.case.id)
    scope.conn.execute(
        insert(extensions_t).values(
            task_id=row.id,
            requested_at=ctx.now,
            requested_by=ctx.actor.person_id,
            old_deadline=row.deadline,
            new_deadline=dt.date.fromisoformat(str(payload["new_deadline"])),
            reason=str(payload["reason"]),
        )
    )


def _decide_extension(scope: EffectScope, cmd: DecideExtension) -> None:
    """The latest extension asked for, decided; an approved one moves the deadline, and
    the reminders and escalation start over from it."""
    conn, ctx, payload = scope.conn, scope.ctx, scope.record
    row = task_of_case(conn, ctx.case.id)
    asked = conn.execute(
        select(extensions_t)
        .where(extensions_t.c.task_id == row.id, extensions_t.c.approved.is_(None))
        .order_by(extensions_t.c.id.desc())
        .limit(1)
    ).one()
    conn.execute(
        update(extensions_t)
        .where(extensions_t.c.id == asked.id)
        .values(
            approved=cmd.approved,
            decided_at=ctx.now,
            decided_by=ctx.actor.person_id,
            decision_note=payload.get("reason") or payload.get("comment"),
        )
    )
    if cmd.approved:
        conn.execute(
            update(work_t)
            .where(work_t.c.id == row.id)
            .values(deadline=asked.new_deadline, remind_level=0, escalated_at=None)
        )
        restand(scope, [row.id])
        scope.record["deadline_from"] = asked.old_deadline.isoformat()
        scope.record["deadline_to"] = asked.new_deadline.isoformat()
        scope.note = f"同意延期，完成时限延至{asked.new_deadline.isoformat()}"


def _close(scope: EffectScope, cmd: CloseTask) -> None:
    conn, today = scope.conn, scope.ctx.today
    row = task_of_case(conn, scope.ctx.case.id)
    conn.execute(
        update(work_t)
        .where(work_t.c.id == row.id)
        .values(closed_on=today, progress=100, stagnant_since=None, next_due=None)
    )
    restand(scope, [row.id, *roll_up(conn, row.parent_id, today)])


def step_notice(
    case_id: int,
    kind: str,
    now: Any,
    unit: tuple[int, str],
    title: str,
    detail: str,
    date: str = "",
) -> dict[str, Any]:
    """A notice about a task (or a book, a round) to the officers of ``unit`` (id, tier)."""
    body: Mapping[str, Any] = {
        "case_id": case_id,
        "task_title": title,
        "task_detail": detail,
        "task_date": date,
    }
    return notice(case_id, kind, now, body, role=OFFICER_OF_TIER[unit[1]], unit_id=unit[0])


def _notify(scope: EffectScope, cmd: Notify) -> None:
    ctx = scope.ctx
    unit = ctx.unit_for(cmd.to)
    title = str(ctx.data.get("title", ""))
    send(
        scope.conn,
        step_notice(
            ctx.case.id, cmd.kind, ctx.now, (unit.id, unit.tier), title, cmd.detail, cmd.date
        ),
    )


def _note(scope: EffectScope, cmd: Note) -> None:
    scope.note = cmd.text


HANDLERS: Mapping[type, Any] = {
    LinkIssued: _link_issued,
    SplitTask: _split,
    RecordProgress: _record_progress,
    RequestExtension: _request_extension,
    DecideExtension: _decide_extension,
    CloseTask: _close,
    Notify: _notify,
    Note: _note,
}


def attachment_names(conn: Connection, ids: Sequence[int]) -> dict[int, str]:
    return pairs(
        conn.execute(
            select(attachments_t.c.id, attachments_t.c.filename).where(attachments_t.c.id.in_(ids))
        )
    )
