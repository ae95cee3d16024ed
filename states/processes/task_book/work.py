"""A task as its lead unit works it and everyone above follows it: its page's reading (the
row, milestones, reports with their evidence, extensions, parts, the timeline from its
audit trail as the reader may see it) and its steps, each an event on the task's case.

A progress report may bring its evidence file with it: the file is put on the task's
record and the report fired in the same transaction, so a refused report leaves no file
behind.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select

from states.engine import CaseEngine, FireResult
from states.engine.annotate import ANNOTATION_LABELS
from states.engine.visibility import case_file
from states.errors import NotFound
from states.org import Actor
from states.processes.task_book import board
from states.processes.task_book.machine import TASK
from states.processes.task_book.rules import SOURCES, STATUSES, ids_in
from states.processes.task_book.store import (
    attachments_t,
    books_t,
    cases_t,
    extensions_t,
    milestones_t,
    pairs,
    people_t,
    reports_t,
    units_t,
    work_t,
)


def task_by_id(conn: Connection, task_id: int) -> Any:
    lead, issuer = units_t.alias("lead"), units_t.alias("issuer")
    row = conn.execute(
        select(
            work_t,
            lead.c.name.label("lead_name"),
            lead.c.path.label("lead_path_"),
            issuer.c.name.label("issuer_name"),
            books_t.c.title.label("book_title"),
            books_t.c.unit_id.label("book_unit_id"),
            cases_t.c.state,
            cases_t.c.version.label("case_version"),
        )
        .join(lead, lead.c.id == work_t.c.lead_unit_id)
        .join(issuer, issuer.c.id == work_t.c.issuer_unit_id)
        .join(books_t, books_t.c.id == work_t.c.book_id)
        .outerjoin(cases_t, cases_t.c.id == work_t.c.case_id)
        .where(work_t.c.id == task_id)
    ).one_or_none()
    if row is None:
        raise NotFound("任务不存在")
    return row


def readable(engine: CaseEngine, conn: Connection, actor: Actor, task_id: int) -> Any:
    """An issued task its reader may see (as its case: the lead unit's officers and every
    unit above, leaders and inspectors over it); otherwise not found."""
    row = task_by_id(conn, task_id)
    if row.case_id is None:
        raise NotFound("任务不存在")
    engine.ensure_visible(conn, row.case_id, actor)
    return row


def task_of_case_id(conn: Connection, case_id: int) -> int:
    found = conn.execute(select(work_t.c.id).where(work_t.c.case_id == case_id)).scalar()
    if found is None:
        raise NotFound("任务不存在")
    return int(found)


def act(
    engine: CaseEngine,
    actor: Actor,
    task_id: int,
    event: str,
    payload: Mapping[str, Any] | None = None,
    *,
    expected_version: int | None = None,
    idempotency_key: str | None = None,
) -> FireResult:
    """A step of the task: an event on its case, at the version the caller read."""
    with engine.db.connect() as conn:
        row = readable(engine, conn, actor, task_id)
    version = row.case_version if expected_version is None else expected_version
    return engine.fire(
        row.case_id,
        event,
        actor,
        dict(payload or {}),
        expected_version=version,
        idempotency_key=idempotency_key,
    )


@dataclass(frozen=True)
class Evidence:
    """A file already stored (by checksum) to put on the task's record with a report."""

    filename: str
    content_type: str
    size: int
    sha256: str


def report(
    engine: CaseEngine,
    actor: Actor,
    task_id: int,
    event: str,
    payload: Mapping[str, Any],
    evidence: Evidence | None,
    *,
    expected_version: int,
) -> FireResult:
    """A progress or completion report, its evidence file on the record with it: one
    transaction, so a refused report writes nothing, its file included."""
    with engine.db.begin() as conn:
        row = readable(engine, conn, actor, task_id)
        body = dict(payload)
        if evidence is not None:
            file_id = conn.execute(
                insert(attachments_t)
                .values(
                    case_id=row.case_id,
                    filename=evidence.filename,
                    content_type=evidence.content_type,
                    size=evidence.size,
                    sha256=evidence.sha256,
                    uploaded_by=actor.person_id,
                    uploaded_at=engine.clock.now(),
                )
                .returning(attachments_t.c.id)
            ).scalar_one()
            given = ids_in(body.get("evidence")) or []
            body["evidence"] = ",".join(str(i) for i in [*given, file_id])
        return engine.fire_in(
            conn, row.case_id, event, actor, body, expected_version=expected_version
        )


# --- the task's page ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    at: dt.datetime
    who: str
    what: str
    detail: str


@dataclass
class TaskView:
    row: Any
    status: str
    state_label: str
    milestones: list[dict[str, Any]]
    reports: list[dict[str, Any]]
    extensions: list[dict[str, Any]]
    parts: list[dict[str, Any]]
    parent: Any
    co_names: list[str]
    timeline: list[Step]
    files: list[dict[str, Any]]
    below: list[tuple[int, str]]

    @property
    def status_label(self) -> str:
        return STATUSES[self.status]

    @property
    def source_label(self) -> str:
        return SOURCES.get(self.row.source, self.row.source)


def _describe(event: str, payload: Mapping[str, Any]) -> str:
    """What a trail row adds, in words (what the reader may see of its payload)."""
    bits: list[str] = []
    if "percent" in payload:
        frm = payload.get("progress_from")
        bits.append(
            f"进度{frm}%→{payload['percent']}%" if frm is not None else f"进度{payload['percent']}%"
        )
    if payload.get("milestone_title"):
        bits.append(f"完成时间节点“{payload['milestone_title']}”")
    for key, label in (("text", ""), ("reason", "理由："), ("comment", "意见：")):
        if payload.get(key):
            bits.append(f"{label}{payload[key]}")
    if payload.get("deadline_to"):
        bits.append(f"完成时限{payload['deadline_from']}→{payload['deadline_to']}")
    if payload.get("new_deadline"):
        bits.append(f"申请延至{payload['new_deadline']}")
    if payload.get("evidence_files"):
        bits.append("佐证材料：" + "、".join(payload["evidence_files"]))
    if payload.get("split"):
        bits.append("分解到：" + "、".join(payload["split"]))
    if payload.get("issued"):
        bits.append(f"下达{payload['issued']}项任务")
    if payload.get("filename"):
        bits.append(str(payload["filename"]))
    return "；".join(bits)


def view(engine: CaseEngine, conn: Connection, actor: Actor, task_id: int) -> TaskView:
    row = readable(engine, conn, actor, task_id)
    spec = engine.processes[TASK]
    when = board.clock_of(engine, conn, row.lead_path)
    colour = board.task_status(conn, row.id, when)
    stones = [
        {**m, "late": m["done_on"] is None and m["due_on"] < when.today}
        for m in conn.execute(
            select(milestones_t)
            .where(milestones_t.c.task_id == row.id)
            .order_by(milestones_t.c.seq)
        ).mappings()
    ]
    names = pairs(
        conn.execute(
            select(attachments_t.c.id, attachments_t.c.filename).where(
                attachments_t.c.case_id == row.case_id
            )
        )
    )
    titles = {m["seq"]: m["title"] for m in stones}
    reports = [
        {
            **r,
            "files": [(i, names.get(i, str(i))) for i in (r["evidence"] or [])],
            "milestone_title": titles.get(r["milestone_seq"]),
        }
        for r in conn.execute(
            select(reports_t, people_t.c.name.label("by_name"))
            .outerjoin(people_t, people_t.c.id == reports_t.c.reported_by)
            .where(reports_t.c.task_id == row.id)
            .order_by(reports_t.c.id.desc())
        ).mappings()
    ]
    extensions = [
        dict(e)
        for e in conn.execute(
            select(extensions_t).where(extensions_t.c.task_id == row.id).order_by(extensions_t.c.id)
        ).mappings()
    ]
    part_rows = (
        conn.execute(
            select(
                work_t.c.id,
                work_t.c.progress,
                work_t.c.closed_on,
                work_t.c.deadline,
                units_t.c.name.label("lead_name"),
                cases_t.c.state,
            )
            .join(units_t, units_t.c.id == work_t.c.lead_unit_id)
            .join(cases_t, cases_t.c.id == work_t.c.case_id)
            .where(work_t.c.parent_id == row.id)
            .order_by(work_t.c.seq)
        )
        .mappings()
        .all()
    )
    colours = board.statuses(conn, [p["id"] for p in part_rows], when)
    parts = [
        {**p, "status": colours[p["id"]], "state_label": spec.state_label(p["state"])}
        for p in part_rows
    ]
    parent = (
        conn.execute(select(work_t.c.id, work_t.c.title).where(work_t.c.id == row.parent_id)).one()
        if row.parent_id
        else None
    )
    co = (
        conn.execute(select(units_t.c.name).where(units_t.c.id.in_(row.co_units or [])))
        .scalars()
        .all()
    )
    found = case_file(conn, engine.processes, actor, row.case_id, with_trail=True)
    timeline = []
    if found is not None:
        for e in found.trail:
            event = e["event"]
            label = (
                spec.events[event].label
                if event in spec.events
                else ANNOTATION_LABELS.get(event, event)
            )
            timeline.append(Step(e["at"], e["actor_label"], label, _describe(event, e["payload"])))
    below = conn.execute(
        select(units_t.c.id, units_t.c.name)
        .where(units_t.c.parent_id == row.lead_unit_id, units_t.c.closed_on.is_(None))
        .order_by(units_t.c.name)
    ).all()
    return TaskView(
        row=row,
        status=colour,
        state_label=spec.state_label(row.state),
        milestones=stones,
        reports=reports,
        extensions=extensions,
        parts=parts,
        parent=parent,
        co_names=list(co),
        timeline=timeline,
        files=[{"id": i, "filename": n} for i, n in sorted(names.items())],
        below=[(u.id, u.name) for u in below],
    )


def mine(conn: Connection, actor: Actor, *, limit: int = 200) -> list[Any]:
    """Open tasks led by the actor's own units (as their officers): what they report on."""
    from states.org import OFFICER_OF_TIER

    units = [b.unit_id for b in actor.bindings if b.role in set(OFFICER_OF_TIER.values())]
    if not units:
        return []
    return list(
        conn.execute(
            select(
                work_t.c.id,
                work_t.c.title,
                work_t.c.deadline,
                work_t.c.progress,
                work_t.c.closed_on,
                cases_t.c.state,
                units_t.c.name.label("lead_name"),
            )
            .join(cases_t, cases_t.c.id == work_t.c.case_id)
            .join(units_t, units_t.c.id == work_t.c.lead_unit_id)
            .where(work_t.c.lead_unit_id.in_(units))
            .order_by(work_t.c.closed_on.is_not(None), work_t.c.deadline, work_t.c.id)
            .limit(limit)
        ).all()
    )
