"""Reads with data scope: what a person may list and open.

Every read an adapter offers goes through here, so the scope rule lives in one place: officers
see their subtree; a teacher their own cases; experts, signers and copy recipients the cases
they were handed. Out of scope is indistinguishable from absent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    asc,
    desc,
    false,
    func,
    literal,
    or_,
    select,
    tuple_,
)

from states.engine.scope import case_scope
from states.org import SCOPE_ROLES, Actor
from states.store.models import (
    Attachment,
    AuditEvent,
    Case,
    CaseCopy,
    Notification,
    OrgUnit,
    Person,
    Task,
    Teacher,
    table_of,
)

cases_t, tasks_t, audit_t = table_of(Case), table_of(Task), table_of(AuditEvent)
notes_t = table_of(Notification)
copies_t, people_t, units_t = table_of(CaseCopy), table_of(Person), table_of(OrgUnit)
teachers_t, attachments_t = table_of(Teacher), table_of(Attachment)

SORTABLE = {"id", "opened_at", "updated_at", "state", "year"}
# Tasks a person works on: act on a step, sign beside an approver, supervise late work (督责)
HUMAN_KINDS = ("act", "sign", "supervise")


def _prefix(path: str) -> ColumnElement[bool]:
    return cases_t.c.org_path.startswith(path, autoescape=True)


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    total: int
    page: int
    page_size: int


def _page(
    conn: Connection, base: Select[Any], order: Sequence[Any], page: int, page_size: int
) -> Page:
    """One page of ``base`` in ``order``, with the total the pager shows."""
    total = conn.execute(select(func.count()).select_from(base.subquery())).scalar_one()
    rows = conn.execute(
        base.order_by(*order).limit(page_size).offset((page - 1) * page_size)
    ).mappings()
    return Page([dict(r) for r in rows], int(total), page, page_size)


def list_cases(
    conn: Connection,
    actor: Actor,
    *,
    process: str | None = None,
    state: str | None = None,
    year: int | None = None,
    applicant: str | None = None,
    sort: str = "updated_at",
    order: str = "desc",
    page: int = 1,
    page_size: int = 20,
) -> Page:
    where: list[ColumnElement[bool]] = [case_scope(actor)]
    if process:
        where.append(cases_t.c.process == process)
    if state:
        where.append(cases_t.c.state == state)
    if year:
        where.append(cases_t.c.year == year)
    if applicant:
        where.append(people_t.c.name.contains(applicant, autoescape=True))
    base: Select[Any] = (
        select(
            cases_t.c.id,
            cases_t.c.process,
            cases_t.c.year,
            cases_t.c.state,
            cases_t.c.version,
            cases_t.c.opened_at,
            cases_t.c.updated_at,
            cases_t.c.closed_at,
            cases_t.c.org_unit_id,
            units_t.c.name.label("unit_name"),
            cases_t.c.applicant_id,
            people_t.c.name.label("applicant_name"),
        )
        .join(units_t, units_t.c.id == cases_t.c.org_unit_id)
        .outerjoin(people_t, people_t.c.id == cases_t.c.applicant_id)
        .where(and_(*where))
    )
    direction = desc if order == "desc" else asc
    column = cases_t.c[sort] if sort in SORTABLE else cases_t.c.updated_at
    return _page(conn, base, (direction(column), desc(cases_t.c.id)), page, page_size)


def get_case(conn: Connection, actor: Actor, case_id: int) -> dict[str, Any] | None:
    row = (
        conn.execute(
            select(
                cases_t,
                units_t.c.name.label("unit_name"),
                people_t.c.name.label("applicant_name"),
            )
            .join(units_t, units_t.c.id == cases_t.c.org_unit_id)
            .outerjoin(people_t, people_t.c.id == cases_t.c.applicant_id)
            .where(cases_t.c.id == case_id, case_scope(actor))
        )
        .mappings()
        .one_or_none()
    )
    return dict(row) if row else None


def case_tasks(conn: Connection, case_id: int) -> list[dict[str, Any]]:
    """Every task of a case, done ones included, with the names of its holder and unit and the
    unit's path: what the case's page lists (the open ones) and what tells who handled it
    and who sat on its committee (all of them), in one read."""
    rows = conn.execute(
        select(
            tasks_t,
            people_t.c.name.label("assignee_name"),
            units_t.c.name.label("unit_name"),
            units_t.c.path.label("unit_path"),
        )
        .outerjoin(people_t, people_t.c.id == tasks_t.c.assignee_id)
        .outerjoin(units_t, units_t.c.id == tasks_t.c.org_unit_id)
        .where(tasks_t.c.case_id == case_id)
        .order_by(tasks_t.c.id)
    ).mappings()
    return [dict(r) for r in rows]


OPEN_STATUSES = ("open", "waiting")


def audit_trail(conn: Connection, case_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(
            audit_t.c.seq,
            audit_t.c.at,
            audit_t.c.actor_id,
            audit_t.c.actor_label,
            audit_t.c.event,
            audit_t.c.from_state,
            audit_t.c.to_state,
            audit_t.c.payload,
            audit_t.c.hash,
        )
        .where(audit_t.c.case_id == case_id)
        .order_by(audit_t.c.seq)
    ).mappings()
    return [dict(r) for r in rows]


def attachments(conn: Connection, case_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(attachments_t).where(attachments_t.c.case_id == case_id).order_by(attachments_t.c.id)
    ).mappings()
    return [dict(r) for r in rows]


def attachment(conn: Connection, actor: Actor, attachment_id: int) -> dict[str, Any] | None:
    """An attachment, only if its case is in the actor's scope."""
    row = (
        conn.execute(
            select(attachments_t)
            .join(cases_t, cases_t.c.id == attachments_t.c.case_id)
            .where(attachments_t.c.id == attachment_id, case_scope(actor))
        )
        .mappings()
        .one_or_none()
    )
    return dict(row) if row else None


def _my_task_filter(actor: Actor) -> ColumnElement[bool]:
    """Tasks handed to this actor: by name, or to a role they hold at that unit."""
    terms: list[ColumnElement[bool]] = []
    if actor.person_id is not None:
        terms.append(tasks_t.c.assignee_id == actor.person_id)
    for b in actor.bindings:
        terms.append(
            and_(
                tasks_t.c.assignee_id.is_(None),
                tasks_t.c.role == b.role,
                tasks_t.c.org_unit_id == b.unit_id,
            )
        )
    return or_(*terms) if terms else false()


def inbox(
    conn: Connection,
    actor: Actor,
    box: str,
    today: dt.date,
    *,
    process: str | None = None,
    page: int = 1,
    page_size: int = 50,
) -> Page:
    """待办 (open tasks handed to me), 已办 (tasks I closed), 抄送 (cases copied to me)."""
    if box == "cc":
        base: Select[Any] = (
            select(
                cases_t.c.id.label("case_id"),
                cases_t.c.process,
                cases_t.c.state,
                cases_t.c.version,
                people_t.c.name.label("applicant_name"),
                units_t.c.name.label("unit_name"),
                copies_t.c.copied_at.label("at"),
                copies_t.c.read_at,
                literal(None).label("due_on"),
                literal(None).label("task_id"),
                literal(None).label("kind"),
            )
            .join(cases_t, cases_t.c.id == copies_t.c.case_id)
            .join(units_t, units_t.c.id == cases_t.c.org_unit_id)
            .outerjoin(people_t, people_t.c.id == cases_t.c.applicant_id)
            .where(copies_t.c.person_id == (actor.person_id or -1))
        )
        order: Sequence[Any] = (desc(copies_t.c.copied_at),)
    else:
        if box == "todo":
            cond = and_(
                tasks_t.c.status == "open",
                tasks_t.c.kind.in_(HUMAN_KINDS),
                _my_task_filter(actor),
            )
            order = (tasks_t.c.due_on.is_(None), asc(tasks_t.c.due_on), asc(tasks_t.c.id))
        elif box == "done":
            cond = and_(tasks_t.c.status == "done", tasks_t.c.closed_by == (actor.person_id or -1))
            order = (desc(tasks_t.c.closed_at),)
        else:
            raise ValueError(box)
        if process:
            cond = and_(cond, cases_t.c.process == process)
        base = (
            select(
                cases_t.c.id.label("case_id"),
                cases_t.c.process,
                cases_t.c.state,
                cases_t.c.version,
                people_t.c.name.label("applicant_name"),
                units_t.c.name.label("unit_name"),
                tasks_t.c.opened_at.label("at"),
                literal(None).label("read_at"),
                tasks_t.c.due_on,
                tasks_t.c.id.label("task_id"),
                tasks_t.c.kind,
            )
            .join(cases_t, cases_t.c.id == tasks_t.c.case_id)
            .join(units_t, units_t.c.id == cases_t.c.org_unit_id)
            .outerjoin(people_t, people_t.c.id == cases_t.c.applicant_id)
            .where(cond)
        )
    result = _page(conn, base, order, page, page_size)
    for item in result.items:
        due = item.get("due_on")
        item["overdue"] = bool(box == "todo" and due is not None and due < today)
    return result


def copy_of(conn: Connection, case_id: int, actor: Actor) -> tuple[bool, bool]:
    """(whether the case was copied to ``actor``, whether that copy is still unread)."""
    if actor.person_id is None:
        return False, False
    read_at = conn.execute(
        select(copies_t.c.read_at).where(
            copies_t.c.case_id == case_id, copies_t.c.person_id == actor.person_id
        )
    ).first()
    return read_at is not None, read_at is not None and read_at[0] is None


def inbox_counts(conn: Connection, actor: Actor, today: dt.date) -> dict[str, int]:
    todo = and_(tasks_t.c.status == "open", tasks_t.c.kind.in_(HUMAN_KINDS), _my_task_filter(actor))
    counts = conn.execute(
        select(
            func.count(),
            func.count().filter(tasks_t.c.due_on < today),
        ).where(todo)
    ).one()
    unread = conn.execute(
        select(func.count()).where(
            copies_t.c.person_id == (actor.person_id or -1), copies_t.c.read_at.is_(None)
        )
    ).scalar_one()
    return {"todo": int(counts[0]), "overdue": int(counts[1]), "cc_unread": int(unread)}


def teachers(
    conn: Connection,
    actor: Actor,
    *,
    school_id: int | None = None,
    person_id: int | None = None,
    name: str | None = None,
    page: int = 1,
    page_size: int = 20,
) -> Page:
    """Teacher records in scope: officers their subtree, a teacher only themselves."""
    scopes = actor.scopes(SCOPE_ROLES)
    terms = [units_t.c.path.startswith(p, autoescape=True) for p in scopes]
    if actor.person_id is not None:
        terms.append(teachers_t.c.person_id == actor.person_id)
    where: list[ColumnElement[bool]] = [or_(*terms) if terms else false()]
    if school_id:
        where.append(teachers_t.c.school_id == school_id)
    if person_id:
        where.append(teachers_t.c.person_id == person_id)
    if name:
        where.append(people_t.c.name.contains(name, autoescape=True))
    base: Select[Any] = (
        select(
            teachers_t,
            people_t.c.name,
            people_t.c.id_number,
            people_t.c.phone,
            units_t.c.name.label("school_name"),
        )
        .join(people_t, people_t.c.id == teachers_t.c.person_id)
        .join(units_t, units_t.c.id == teachers_t.c.school_id)
        .where(and_(*where))
    )
    return _page(conn, base, (teachers_t.c.person_id,), page, page_size)


def publicity(
    conn: Connection,
    windows: Sequence[tuple[str, str]],
    *,
    case_id: int | None = None,
    page: int = 1,
    page_size: int = 50,
) -> Page:
    """Cases in a publicity window right now, in the given (process, state) windows: what the
    public may see and object to."""
    base: Select[Any] = (
        select(
            cases_t.c.id,
            cases_t.c.process,
            cases_t.c.state,
            cases_t.c.version,
            cases_t.c.data,
            people_t.c.name.label("applicant_name"),
            people_t.c.id_number,
            people_t.c.phone,
            units_t.c.name.label("unit_name"),
            tasks_t.c.due_on,
        )
        .join(
            tasks_t,
            and_(
                tasks_t.c.case_id == cases_t.c.id,
                tasks_t.c.kind == "window",
                tasks_t.c.status == "open",
            ),
        )
        .join(units_t, units_t.c.id == cases_t.c.org_unit_id)
        .outerjoin(people_t, people_t.c.id == cases_t.c.applicant_id)
        .where(tuple_(cases_t.c.process, cases_t.c.state).in_(list(windows) or [("", "")]))
    )
    if case_id is not None:
        base = base.where(cases_t.c.id == case_id)
    return _page(conn, base, (cases_t.c.id,), page, page_size)


def notifications(
    conn: Connection, actor: Actor, *, unread: bool = False, page: int = 1, page_size: int = 20
) -> Page:
    """A person's in-app notices, newest first: only ever their own."""
    base: Select[Any] = select(notes_t).where(notes_t.c.person_id == (actor.person_id or -1))
    if unread:
        base = base.where(notes_t.c.read_at.is_(None))
    return _page(conn, base, (desc(notes_t.c.id),), page, page_size)


def unread_notifications(conn: Connection, actor: Actor) -> int:
    return int(
        conn.execute(
            select(func.count()).where(
                notes_t.c.person_id == (actor.person_id or -1), notes_t.c.read_at.is_(None)
            )
        ).scalar_one()
    )
