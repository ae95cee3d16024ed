"""The generic statements of every transition, built once.

Building a Core statement costs about three times as much as executing a prebuilt one with
bound parameters, and ``FastOne``/``FastMany`` take SQLAlchemy's per-call work off the hot
path as well. Only statements about cases, tasks, the audit trail, the outbox and the org
tree live here; a process's own statements live in its package.
"""

from __future__ import annotations

from sqlalchemy import bindparam, func, insert, or_, select, update

from states.org import TIERS, path_ids
from states.store.bulk import FastMany, FastOne
from states.store.models import (
    AuditEvent,
    Case,
    CaseCopy,
    EthicsRecord,
    OrgUnit,
    OutboxMessage,
    Person,
    ServiceCredit,
    Task,
    Teacher,
    table_of,
)

cases_t = table_of(Case)
tasks_t = table_of(Task)
audit_t = table_of(AuditEvent)
outbox_t = table_of(OutboxMessage)
units_t = table_of(OrgUnit)
teachers_t = table_of(Teacher)
people_t = table_of(Person)
ethics_t = table_of(EthicsRecord)
credits_t = table_of(ServiceCredit)
copies_t = table_of(CaseCopy)

# What a transition reads of its case and of its open tasks: only the columns the steps use
# (every timestamp read back from SQLite is parsed from text, once per column per call).
LOAD_CASE = (
    select(
        cases_t.c.id,
        cases_t.c.process,
        cases_t.c.year,
        cases_t.c.state,
        cases_t.c.org_unit_id,
        cases_t.c.org_path,
        cases_t.c.applicant_id,
        cases_t.c.subject_id,
        cases_t.c.parent_id,
        cases_t.c.data,
        cases_t.c.slot_key,
        cases_t.c.version,
        cases_t.c.seq,
        cases_t.c.audit_head,
        cases_t.c.closed_at,
    )
    .where(cases_t.c.id == bindparam("case_id"))
    .with_for_update()
)
LOAD_UNITS = select(
    units_t.c.id,
    units_t.c.tier,
    units_t.c.path,
    units_t.c.is_rural,
    units_t.c.is_weak,
    units_t.c.self_review_pilot,
    units_t.c.settings,
).where(units_t.c.id.in_([bindparam(f"u{i}") for i in range(len(TIERS))]))
LOAD_OPEN_TASKS = (
    select(
        tasks_t.c.id,
        tasks_t.c.case_id,
        tasks_t.c.state,
        tasks_t.c.kind,
        tasks_t.c.role,
        tasks_t.c.org_unit_id,
        tasks_t.c.assignee_id,
        tasks_t.c.opened_on,
        tasks_t.c.due_on,
        tasks_t.c.due_days,
        tasks_t.c.status,
        tasks_t.c.position,
    )
    .where(
        tasks_t.c.case_id == bindparam("case_id"),
        or_(tasks_t.c.status == "open", tasks_t.c.status == "waiting"),
    )
    .order_by(tasks_t.c.id)
)  # the same order on every backend: rules read "the first open task"
LOAD_TEACHER = (
    select(
        teachers_t.c.person_id,
        people_t.c.name,
        teachers_t.c.school_id,
        units_t.c.is_rural,
        units_t.c.is_weak,
        teachers_t.c.subject,
        teachers_t.c.title,
        teachers_t.c.title_date,
        teachers_t.c.education,
        teachers_t.c.rural_years,
        teachers_t.c.birth_date,
        ethics_t.c.occurred_on,
        # the service ledger's months (states/registry/service.py), counted beside the
        # imported years: one indexed sum, not a second round trip
        select(func.coalesce(func.sum(credits_t.c.months), 0))
        .where(credits_t.c.teacher_id == teachers_t.c.person_id)
        .scalar_subquery()
        .label("credited_months"),
    )
    .join(people_t, people_t.c.id == teachers_t.c.person_id)
    .join(units_t, units_t.c.id == teachers_t.c.school_id)
    .outerjoin(ethics_t, ethics_t.c.person_id == teachers_t.c.person_id)
    .where(teachers_t.c.person_id == bindparam("person_id"))
)
WRITE_CASE = (
    update(cases_t)
    .where(cases_t.c.id == bindparam("p_id"), cases_t.c.seq == bindparam("p_seq"))
    .values(
        state=bindparam("p_state"),
        data=bindparam("p_data", type_=cases_t.c.data.type),
        version=bindparam("p_version"),
        seq=bindparam("p_new_seq"),
        audit_head=bindparam("p_head"),
        updated_at=bindparam("p_now", type_=cases_t.c.updated_at.type),
        closed_at=bindparam("p_closed", type_=cases_t.c.closed_at.type),
        slot_key=bindparam("p_slot"),
    )
)
BULK_WRITE_CASE = (
    update(cases_t)
    .where(cases_t.c.id == bindparam("p_id"), cases_t.c.version == bindparam("p_v"))
    .values(
        state=bindparam("p_state"),
        version=bindparam("p_version"),
        seq=bindparam("p_seq"),
        audit_head=bindparam("p_head"),
        updated_at=bindparam("p_now", type_=cases_t.c.updated_at.type),
        closed_at=bindparam("p_closed", type_=cases_t.c.closed_at.type),
    )
)
BULK_CASE_COLUMNS = (
    cases_t.c.id,
    cases_t.c.process,
    cases_t.c.state,
    cases_t.c.version,
    cases_t.c.seq,
    cases_t.c.audit_head,
    cases_t.c.org_path,
)
INSERT_AUDIT = insert(audit_t)
CREATE_CASE = insert(cases_t).returning(cases_t.c.id)
OPEN_CASES = insert(cases_t).returning(cases_t.c.id, sort_by_parameter_order=True)
UNIT_PATHS = select(units_t.c.id, units_t.c.path, units_t.c.closed_on, units_t.c.name).where(
    units_t.c.id.in_(bindparam("ids", expanding=True))
)
UNIT_TIERS = select(units_t.c.id, units_t.c.tier, units_t.c.path).where(
    units_t.c.id.in_(bindparam("ids", expanding=True))
)
INSERT_TASKS = insert(tasks_t)
INSERT_OUTBOX = insert(outbox_t)
# Columns of the rows the set-based paths write, as tuples in these orders.
TASK_COLUMNS = (
    "case_id", "state", "kind", "role", "org_unit_id", "assignee_id", "opened_on",
    "due_on", "due_flag", "due_days", "status", "opened_at", "remind_level",
)  # fmt: skip
OUTBOX_COLUMNS = (
    "case_id", "kind", "recipient_id", "recipient_role", "recipient_unit_id", "payload",
    "created_at", "status",
)  # fmt: skip
BULK_CASES = FastMany(
    BULK_WRITE_CASE,
    ("p_id", "p_v", "p_state", "p_version", "p_seq", "p_head", "p_now", "p_closed"),
)
BULK_AUDIT = FastMany(
    INSERT_AUDIT,
    (
        "case_id", "seq", "version", "at", "actor_id", "actor_label", "event", "from_state",
        "to_state", "payload", "idempotency_key", "prev_hash", "hash", "key_id", "data_digest",
    ),
)  # fmt: skip
BULK_TASKS = FastMany(INSERT_TASKS, TASK_COLUMNS)
BULK_OUTBOX = FastMany(INSERT_OUTBOX, OUTBOX_COLUMNS)
BULK_HEADS = FastMany(
    update(cases_t).where(cases_t.c.id == bindparam("h_id")).values(audit_head=bindparam("h_head")),
    ("h_id", "h_head"),
)
CLOSE_TASKS = (
    update(tasks_t)
    .where(tasks_t.c.case_id == bindparam("p_case"), tasks_t.c.status == "open")
    .values(
        status="done",
        closed_at=bindparam("p_now", type_=tasks_t.c.closed_at.type),
        closed_by=bindparam("p_by"),
    )
)
CANCEL_WAITING = (
    update(tasks_t)
    .where(tasks_t.c.case_id == bindparam("p_case"), tasks_t.c.status == "waiting")
    .values(status="cancelled", closed_at=bindparam("p_now", type_=tasks_t.c.closed_at.type))
)
# Whether a case was handed to someone outside its unit: a task named to them, or a copy.
HANDED = (
    select(tasks_t.c.id)
    .where(
        tasks_t.c.case_id == bindparam("case_id"), tasks_t.c.assignee_id == bindparam("person_id")
    )
    .union_all(
        select(copies_t.c.id).where(
            copies_t.c.case_id == bindparam("case_id"),
            copies_t.c.person_id == bindparam("person_id"),
        )
    )
    .limit(1)
)
TEACHER_SCHOOL = (
    select(teachers_t.c.school_id, units_t.c.path, units_t.c.closed_on, units_t.c.name)
    .join(units_t, units_t.c.id == teachers_t.c.school_id)
    .where(teachers_t.c.person_id == bindparam("person_id"))
)
OPEN_THIS_YEAR = select(cases_t.c.id).where(
    cases_t.c.process == bindparam("process"),
    cases_t.c.subject_id == bindparam("person_id"),
    cases_t.c.year == bindparam("year"),
    cases_t.c.closed_at.is_(None),
)


def unit_params(org_path: str) -> dict[str, int | None]:
    """``LOAD_UNITS``'s parameters: a case's unit and those above it, one per tier at most."""
    ids: list[int | None] = list(path_ids(org_path))
    return {f"u{i}": ids[i] if i < len(ids) else None for i in range(len(TIERS))}


class _Hot:
    """The statements every transition runs, on the driver's cursor (see FastOne)."""

    load_case = FastOne(LOAD_CASE)
    units = FastOne(LOAD_UNITS)
    open_tasks = FastOne(LOAD_OPEN_TASKS)
    teacher = FastOne(LOAD_TEACHER)
    handed = FastOne(HANDED)
    write_case = FastOne(WRITE_CASE)
    audit = FastOne(INSERT_AUDIT)
    close_tasks = FastOne(CLOSE_TASKS)
    outbox = FastOne(INSERT_OUTBOX)
    task = FastOne(INSERT_TASKS)
    teacher_school = FastOne(TEACHER_SCHOOL)
    open_this_year = FastOne(OPEN_THIS_YEAR)
    set_head = FastOne(BULK_HEADS.statement)


HOT = _Hot()
