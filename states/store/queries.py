"""Reads with data scope: what a person may list and open.

Every read an adapter offers goes through here, so the scope rule lives in one place: officers
see their subtree; a teacher their own cases; experts, signers and copy recipients the cases
they were handed. Out of scope is indistinguishable from absent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    asc,
    case,
    desc,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    tuple_,
)

from states.engine.scope import case_scope
from states.identity import validate_id_number
from states.org import SCOPE_ROLES, Actor
from states.process.package import CaseFinder
from states.process.spec import ProcessSpec
from states.store.models import (
    Attachment,
    AuditEvent,
    Case,
    CaseCopy,
    Notification,
    OrgUnit,
    OutboxMessage,
    Person,
    Task,
    Teacher,
    table_of,
)

cases_t, tasks_t, audit_t = table_of(Case), table_of(Task), table_of(AuditEvent)
notes_t, outbox_t = table_of(Notification), table_of(OutboxMessage)
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


def applicant_match(
    name: str | None, id_number: str | None, finders: Mapping[str, CaseFinder] = {}
) -> ColumnElement[bool] | None:
    """The search's one definition of "the case's applicant is …" (inbox, case list): the
    account holder in ``people`` (joined on ``cases.applicant_id``) whose name contains
    ``name`` and whose ID number is ``id_number``, or — for the processes whose applicants
    have no account — a case their package's finder names (``Catalogue.finders``). None
    when neither is given: nothing to add, not even an OR. Only ever ANDed to the caller's
    scope, so a finder narrows what the reader sees and never widens it."""
    if name is None and id_number is None:
        return None
    person: list[ColumnElement[bool]] = []
    if id_number is not None:
        person.append(people_t.c.id_number == id_number)
    if name is not None:
        person.append(people_t.c.name.contains(name, autoescape=True))
    terms = [and_(*person)]
    for process, find in finders.items():
        terms.append(and_(cases_t.c.process == process, cases_t.c.id.in_(find(name, id_number))))
    return or_(*terms)


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
    finders: Mapping[str, CaseFinder] = {},
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
    match = applicant_match(applicant or None, None, finders)
    if match is not None:
        where.append(match)
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


@dataclass(frozen=True)
class InboxFilter:
    """What the inbox is narrowed to. ``search`` is one box: a case number (digits), a full
    ID number (18 characters, matched exactly: a part of one never finds anybody), or a part
    of the applicant's name — an account holder's, or one a process keeps in its own table
    (``applicant_match``). The inbox lists only the reader's own work, so nothing here
    reaches beyond it."""

    search: str = ""
    process: str | None = None
    state: str | None = None
    unit_id: int | None = None  # the case's unit or any unit below it
    due_before: dt.date | None = None  # due on or before
    overdue: bool = False

    def terms(self) -> tuple[int | None, str | None, str | None]:
        """(case number, ID number, part of a name); ValueError for an ID number that cannot
        be one, with the reason (states.identity)."""
        text = self.search.strip()
        if not text:
            return None, None, None
        if text.isascii() and text.isdigit() and len(text) <= 16:
            return int(text), None, None
        if len(text) == 18 and text[:17].isascii() and text[:17].isdigit():
            return None, validate_id_number(text), None
        return None, None, text


def _inbox_where(
    conn: Connection,
    f: InboxFilter,
    box: str,
    today: dt.date,
    finders: Mapping[str, CaseFinder] = {},
) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    case_id, id_number, name = f.terms()
    if case_id is not None:
        where.append(cases_t.c.id == case_id)
    match = applicant_match(name, id_number, finders)
    if match is not None:
        where.append(match)
    if f.process:
        where.append(cases_t.c.process == f.process)
    if f.state:
        where.append(cases_t.c.state == f.state)
    if f.unit_id is not None:
        path = conn.execute(select(units_t.c.path).where(units_t.c.id == f.unit_id)).scalar()
        where.append(_prefix(path) if path else false())
    if box != "cc":  # a copy has no deadline
        if f.due_before is not None:
            where.append(tasks_t.c.due_on <= f.due_before)
        if f.overdue and box == "todo":
            where.append(tasks_t.c.due_on < today)
    return where


def inbox(
    conn: Connection,
    actor: Actor,
    box: str,
    today: dt.date,
    *,
    filters: InboxFilter = InboxFilter(),
    drafts: Collection[tuple[str, str]] = (),
    finders: Mapping[str, CaseFinder] = {},
    page: int = 1,
    page_size: int = 50,
) -> Page:
    """待办 (open tasks handed to me), 已办 (tasks I closed), 抄送 (cases copied to me).

    Each item carries the case's ``data`` (for the line a process writes of what is asked)
    and ``submitted_at``: when it left the opener's draft — ``drafts`` are the (process,
    initial state) pairs that are one — or, for a process without a draft, when it was
    opened. ``finders`` (``Catalogue.finders``) let the search find applicants without an
    account (``applicant_match``)."""
    columns = (
        cases_t.c.id.label("case_id"),
        cases_t.c.process,
        cases_t.c.state,
        cases_t.c.version,
        cases_t.c.data,
        cases_t.c.opened_at,
        cases_t.c.org_unit_id,
        people_t.c.name.label("applicant_name"),
        units_t.c.name.label("unit_name"),
    )
    where = _inbox_where(conn, filters, box, today, finders)
    if box == "cc":
        base: Select[Any] = (
            select(
                *columns,
                copies_t.c.copied_at.label("at"),
                copies_t.c.read_at,
                literal(None).label("due_on"),
                literal(None).label("task_id"),
                literal(None).label("kind"),
            )
            .join(cases_t, cases_t.c.id == copies_t.c.case_id)
            .join(units_t, units_t.c.id == cases_t.c.org_unit_id)
            .outerjoin(people_t, people_t.c.id == cases_t.c.applicant_id)
            .where(copies_t.c.person_id == (actor.person_id or -1), *where)
        )
        order: Sequence[Any] = (desc(copies_t.c.copied_at), desc(copies_t.c.case_id))
    else:
        cond = _box_condition(actor, box)
        if box == "todo":
            order = (tasks_t.c.due_on.is_(None), asc(tasks_t.c.due_on), asc(tasks_t.c.id))
        else:
            order = (desc(tasks_t.c.closed_at), desc(tasks_t.c.id))
        base = (
            select(
                *columns,
                tasks_t.c.opened_at.label("at"),
                literal(None).label("read_at"),
                tasks_t.c.due_on,
                tasks_t.c.id.label("task_id"),
                tasks_t.c.kind,
            )
            .join(cases_t, cases_t.c.id == tasks_t.c.case_id)
            .join(units_t, units_t.c.id == cases_t.c.org_unit_id)
            .outerjoin(people_t, people_t.c.id == cases_t.c.applicant_id)
            .where(cond, *where)
        )
    result = _page(conn, base, order, page, page_size)
    submitted = _submitted(conn, [i["case_id"] for i in result.items], drafts)
    drafted = {p for p, _ in drafts}
    for item in result.items:
        due = item.get("due_on")
        item["overdue"] = bool(box == "todo" and due is not None and due < today)
        item["submitted_at"] = (
            submitted.get(item["case_id"]) if item["process"] in drafted else item["opened_at"]
        )
    return result


def draft_states(specs: Iterable[ProcessSpec]) -> list[tuple[str, str]]:
    """(process, initial state) where a case starts as its opener's draft — the state is
    held by whoever opens the case (a teacher's declaration, a county's post plan) — so that
    it is submitted when it leaves it; elsewhere a case is submitted as it is opened (a
    registration goes straight to its check)."""
    out: list[tuple[str, str]] = []
    for spec in specs:
        initial: str = spec.machine.initial_state.id
        by = spec.states[initial].actor
        if by is not None and (
            (by.applicant and spec.opened_by == "teacher") or by.officer == spec.opened_by
        ):
            out.append((spec.name, initial))
    return out


def _box_condition(actor: Actor, box: str) -> ColumnElement[bool]:
    if box == "todo":
        return and_(
            tasks_t.c.status == "open", tasks_t.c.kind.in_(HUMAN_KINDS), _my_task_filter(actor)
        )
    if box == "done":
        return and_(tasks_t.c.status == "done", tasks_t.c.closed_by == (actor.person_id or -1))
    raise ValueError(box)


def _submitted(
    conn: Connection, case_ids: Sequence[int], drafts: Collection[tuple[str, str]]
) -> dict[int, dt.datetime]:
    """When each case first left its draft: one read for a page of cases."""
    if not case_ids or not drafts:
        return {}
    rows = conn.execute(
        select(audit_t.c.case_id, func.min(audit_t.c.at))
        .join(cases_t, cases_t.c.id == audit_t.c.case_id)
        .where(
            audit_t.c.case_id.in_(case_ids),
            tuple_(cases_t.c.process, audit_t.c.from_state).in_(list(drafts)),
            audit_t.c.to_state != audit_t.c.from_state,
        )
        .group_by(audit_t.c.case_id)
    ).all()
    return {int(r[0]): r[1] for r in rows}


def inbox_units(
    conn: Connection, actor: Actor, box: str, *, limit: int = 200
) -> list[tuple[int, str]]:
    """The units the cases in a box belong to, by name: what the unit filter offers (so it
    never names a unit the reader has no work from)."""
    if box == "cc":
        base = (
            select(cases_t.c.org_unit_id)
            .join(copies_t, copies_t.c.case_id == cases_t.c.id)
            .where(copies_t.c.person_id == (actor.person_id or -1))
        )
    else:
        base = (
            select(cases_t.c.org_unit_id)
            .join(tasks_t, tasks_t.c.case_id == cases_t.c.id)
            .where(_box_condition(actor, box))
        )
    rows = conn.execute(
        select(units_t.c.id, units_t.c.name)
        .where(units_t.c.id.in_(base))
        .order_by(units_t.c.path)
        .limit(limit)
    ).all()
    return [(int(r[0]), str(r[1])) for r in rows]


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


# A notice about a piece of work (a reminder, an urge, an escalation) is settled once its
# task is closed, or held by someone else (转交, 代理): it stays in the list, greyed, and no
# longer counts as unread. Read through the join, so a task closed before the notice was
# delivered settles it too.
_TASK_CLOSED = tasks_t.c.status.not_in(OPEN_STATUSES)
_TASK_HANDED = and_(
    tasks_t.c.assignee_id.is_not(None), tasks_t.c.assignee_id != notes_t.c.person_id
)
_SETTLED = and_(tasks_t.c.id.is_not(None), or_(_TASK_CLOSED, _TASK_HANDED))
_UNREAD = and_(notes_t.c.read_at.is_(None), not_(_SETTLED))


def _notes(actor: Actor) -> Select[Any]:
    return (
        select(
            notes_t.c.id,
            notes_t.c.case_id,
            notes_t.c.task_id,
            notes_t.c.kind,
            notes_t.c.title,
            notes_t.c.body,
            notes_t.c.created_at,
            notes_t.c.read_at,
            # the time of what the notice tells of (the outbox row written with it), not
            # the later moment it was delivered
            outbox_t.c.created_at.label("at"),
            case(
                (and_(tasks_t.c.id.is_not(None), _TASK_CLOSED), literal("done")),
                (and_(tasks_t.c.id.is_not(None), _TASK_HANDED), literal("handed")),
                else_=literal(None),
            ).label("settled"),
            case((_TASK_CLOSED, tasks_t.c.closed_at), else_=None).label("settled_at"),
        )
        .join(outbox_t, outbox_t.c.id == notes_t.c.outbox_id)
        .outerjoin(tasks_t, tasks_t.c.id == notes_t.c.task_id)
        .where(notes_t.c.person_id == (actor.person_id or -1))
    )


def notifications(
    conn: Connection, actor: Actor, *, unread: bool = False, page: int = 1, page_size: int = 20
) -> Page:
    """A person's in-app notices, newest first: only ever their own. ``unread``: those not
    read and not settled."""
    base = _notes(actor)
    if unread:
        base = base.where(_UNREAD)
    return _page(conn, base, (desc(notes_t.c.id),), page, page_size)


def notification(conn: Connection, actor: Actor, notification_id: int) -> dict[str, Any] | None:
    """One notice, only if it is the actor's own."""
    row = conn.execute(_notes(actor).where(notes_t.c.id == notification_id)).mappings().first()
    return dict(row) if row else None


def unread_notifications(conn: Connection, actor: Actor) -> int:
    return int(
        conn.execute(
            select(func.count())
            .select_from(notes_t)
            .outerjoin(tasks_t, tasks_t.c.id == notes_t.c.task_id)
            .where(notes_t.c.person_id == (actor.person_id or -1), _UNREAD)
        ).scalar_one()
    )


def notification_count(conn: Connection, actor: Actor) -> int:
    """All of a person's notices, read and settled ones too (the link to the notices page)."""
    return int(
        conn.execute(
            select(func.count()).where(notes_t.c.person_id == (actor.person_id or -1))
        ).scalar_one()
    )
