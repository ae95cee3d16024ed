"""SQLAlchemy 2 models: the one schema both SQLite and PostgreSQL run.

The engine writes through these tables with SQLAlchemy Core (``Model.__table__``) because the
ORM unit of work costs more per transition than every statement it would issue; the API and
CLI read through the ORM where that reads better.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets 64-bit keys.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Stores UTC and always returns aware datetimes, on SQLite too (which keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: every timestamp in Renshi carries its zone")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # raw SQLite text
            value = dt.datetime.fromisoformat(value)
        stamp: dt.datetime = value
        if stamp.tzinfo is None:
            return stamp.replace(tzinfo=dt.UTC)
        return stamp.astimezone(dt.UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, dt.datetime: UTCDateTime}


class OrgUnit(Base):
    """A node of the org tree. ``path`` ('/1/4/17/') makes a subtree one indexed prefix scan."""

    __tablename__ = "org_units"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)
    tier: Mapped[str] = mapped_column(String(16))  # province | city | county | school
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    path: Mapped[str] = mapped_column(String(255), index=True)
    is_rural: Mapped[bool] = mapped_column(Boolean, default=False)
    is_weak: Mapped[bool] = mapped_column(Boolean, default=False)
    self_review_pilot: Mapped[bool] = mapped_column(Boolean, default=False)
    settings: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # A closed unit (撤销) keeps its row, its code and its history; it takes no new cases.
    # A merged one (合并) is closed and names the unit its teachers moved to.
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    # Moves with every edit (the pages' and the API's optimistic lock): a second officer
    # editing the same unit from a stale copy gets a conflict, not a silent overwrite.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class Person(Base):
    """Everyone who acts or is acted on: staff, teachers, experts, the system actor."""

    __tablename__ = "people"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    id_number: Mapped[str | None] = mapped_column(String(18), unique=True)
    username: Mapped[str | None] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(255))
    # Notice channels this person wants besides in-app (email, sms) and their quiet hours
    # ("22:00-07:00", bureau time): email and SMS wait until the quiet hours end.
    notify_channels: Mapped[list[str] | None] = mapped_column(JSON)
    quiet_hours: Mapped[str | None] = mapped_column(String(11))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Carried in every session cookie and bearer token this person holds; raising it (sign
    # out, a new password, a role taken away, the account disabled) ends them all at once.
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # An initial or reset password the officer handed over: the person sets their own before
    # anything else (states/registry/accounts.py); the printed demo accounts are exempt.
    must_change_password: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    # The unit whose personnel officers keep this account (where it was created); None for
    # accounts made before, whose units are those of their roles and teacher record.
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"), index=True)


class RoleBinding(Base):
    """A role held at one org unit. The teacher role is not bound here: it follows the
    teacher record's school, so a rotation moves a teacher's scope with no second write."""

    __tablename__ = "role_bindings"
    __table_args__ = (UniqueConstraint("person_id", "role", "org_unit_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    subject: Mapped[str | None] = mapped_column(String(32))  # a review expert's subject group


class Teacher(Base):
    __tablename__ = "teachers"
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    gender: Mapped[str] = mapped_column(String(1))  # M | F (states.org.GENDERS)
    birth_date: Mapped[dt.date] = mapped_column(Date)
    subject: Mapped[str] = mapped_column(String(32))
    school_level: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(16))
    title_date: Mapped[dt.date | None] = mapped_column(Date)
    education: Mapped[str] = mapped_column(String(16))
    started_teaching_on: Mapped[dt.date] = mapped_column(Date)
    joined_school_on: Mapped[dt.date] = mapped_column(Date)
    rural_years: Mapped[float] = mapped_column(Float, default=0.0)
    backbone_level: Mapped[str | None] = mapped_column(String(16))
    cert_level: Mapped[str | None] = mapped_column(String(16))
    cert_no: Mapped[str | None] = mapped_column(String(32))
    cert_registered_on: Mapped[dt.date | None] = mapped_column(Date)
    # active | on_leave | retired | deceased (states/registry/roster.py STATUSES), since when
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    status_since: Mapped[dt.date | None] = mapped_column(Date)
    # Moves with every change to the record (import, edit, move, a case's effect): an edit
    # made on a version someone else has changed since is refused (409), never written over.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # The digest of the roster row the record was last imported from, and the version that
    # import left: while the version is still that one, a re-import's byte-identical row is
    # known unchanged without being validated or compared again (states/registry/roster.py).
    import_digest: Mapped[bytes | None] = mapped_column(LargeBinary(16))
    import_version: Mapped[int | None] = mapped_column(Integer)


class EthicsRecord(Base):
    __tablename__ = "ethics_records"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    occurred_on: Mapped[dt.date] = mapped_column(Date)
    description: Mapped[str] = mapped_column(Text)


class Case(Base):
    """One run of one process. ``org_path`` copies the governing unit's path so that data
    scope filters cases without a join; ``audit_head``/``version`` pin the end of the chain."""

    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_process_state", "process", "state"),
        Index("ix_cases_slot", "org_unit_id", "year", "slot_key"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    process: Mapped[str] = mapped_column(String(32))
    year: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(32))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    org_path: Mapped[str] = mapped_column(String(255), index=True)
    applicant_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The case that opened this one and waits on it (a task list's items, a rectification).
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    # A counted slot this case holds at its unit ('title:senior': a post against the school's
    # quota), None when it holds none.
    slot_key: Mapped[str | None] = mapped_column(String(48))
    # ``version`` moves with every change of state or of who acts (the client's optimistic
    # lock); ``seq`` counts audit events, comments and copies included, which need no lock.
    version: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    audit_head: Mapped[str] = mapped_column(String(64))
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Task(Base):
    """A piece of human work (or a timed window) a state opens. Who may act is a role at a
    unit or, once named or transferred, one person."""

    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_open_due", "status", "due_on"),
        Index("ix_tasks_case_status", "case_id", "status"),
        Index("ix_tasks_unit_role", "org_unit_id", "role", "status"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    state: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))  # act | window | sign
    # 加签: a signer added before, beside or after the state's approver
    position: Mapped[str | None] = mapped_column(String(8))
    role: Mapped[str | None] = mapped_column(String(32))
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    opened_on: Mapped[dt.date] = mapped_column(Date)
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    due_flag: Mapped[str | None] = mapped_column(String(64))
    # The working days the task was given: a date flagged for a year whose holidays were not
    # loaded yet is worked out from exactly these once they are (a resumed publicity window
    # has only the days it had left, not its state's whole deadline).
    due_days: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # open | waiting | done | cancelled
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    remind_level: Mapped[int] = mapped_column(Integer, default=0)  # 1 soon, 2 today, 3 overdue
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Named to an acting holder (代理) while this person is away: it goes back to them when
    # the delegation ends (states/registry/delegation.py).
    delegated_from: Mapped[int | None] = mapped_column(ForeignKey("people.id"))


class AuditEvent(Base):
    """Append-only, hash-chained per case. ``(case_id, seq)`` is unique, so two writers can
    never fork a chain; a repeated idempotency key finds its first result here."""

    __tablename__ = "audit_events"
    __table_args__ = (
        UniqueConstraint("case_id", "seq"),
        UniqueConstraint("case_id", "idempotency_key"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    seq: Mapped[int] = mapped_column(Integer)
    version: Mapped[int | None] = mapped_column(Integer)  # the case's version after it
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    actor_label: Mapped[str] = mapped_column(String(128))
    event: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str] = mapped_column(String(32))
    payload: Mapped[str] = mapped_column(Text)  # canonical JSON, exactly as hashed
    idempotency_key: Mapped[str | None] = mapped_column(String(128))
    # What the keyed request asked (who, which event, at which version, with what): a key
    # reused for anything else is refused, never silently replayed.
    idempotency_request: Mapped[str | None] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # The audit key that sealed ``hash`` (states/audit_keys.py); None: written before audit
    # events were keyed, which verification reports as unproven.
    key_id: Mapped[str | None] = mapped_column(String(16))
    # The case row this event left (states.audit.case_digest); None: the event did not write
    # the row's data (a bulk move), the chain's latest digest stands.
    data_digest: Mapped[str | None] = mapped_column(String(64))


class AuditLedger(Base):
    """One sealed row per case ever opened, chained province-wide in opening order
    (states/engine/ledger.py): deleting a whole case, every row of it, still breaks a chain.
    No foreign key on purpose — a row whose case is gone is what verification reports."""

    __tablename__ = "audit_ledger"
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    case_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    first_hash: Mapped[str] = mapped_column(String(64))  # the seal of the case's first event
    key_id: Mapped[str] = mapped_column(String(16))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class OutboxMessage(Base):
    """A notice written in the same transaction as the change that caused it."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status", "status", "id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(48))
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    recipient_role: Mapped[str | None] = mapped_column(String(32))
    recipient_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | expanded


class Delivery(Base):
    """One notice to one target on one channel. The unique key is what makes a rerun of a
    crashed dispatch send nothing twice; the lease is what lets it take over stuck rows."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("outbox_id", "channel", "target"),
        Index("ix_deliveries_due", "status", "next_attempt_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))  # inapp | email | sms | webhook
    target: Mapped[str] = mapped_column(String(512))
    # pending | sending | sent | failed (given up; shown to officers)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Notification(Base):
    """The in-app channel: a notice in a person's inbox until they read it."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("outbox_id", "person_id"),
        Index("ix_notifications_person", "person_id", "read_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    # The task a reminder, urge or escalation is about: once that task is closed (or handed
    # to someone else) the notice is settled — kept, no longer unread work. Read through the
    # join, never copied, so a task closed before the notice was delivered settles it too.
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"))
    kind: Mapped[str] = mapped_column(String(48))
    title: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)  # delivered (not the event)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Quota(Base):
    """Free posts per title level at a school for one year (岗位结构比例)."""

    __tablename__ = "quotas"
    __table_args__ = (UniqueConstraint("org_unit_id", "year", "title"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"))
    year: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(16))
    posts: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class PanelSeat(Base):
    """An expert drawn for a case's committee sitting, and their vote once cast."""

    __tablename__ = "panel_seats"
    __table_args__ = (UniqueConstraint("case_id", "expert_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    choice: Mapped[str | None] = mapped_column(String(8))  # yes | no | abstain
    cast_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class CaseCopy(Base):
    """抄送: a case copied to someone for information; they see it, they do not act on it."""

    __tablename__ = "case_copies"
    __table_args__ = (UniqueConstraint("case_id", "person_id"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    copied_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    copied_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Attachment(Base):
    """A file attached to a case. The bytes live outside the database, named by checksum."""

    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class VerificationCode(Base):
    """A code sent to a mobile number to prove the registrant holds it. Only its hash is
    kept; it expires, allows a few tries, and is used once."""

    __tablename__ = "verification_codes"
    __table_args__ = (Index("ix_codes_phone", "phone", "created_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    phone: Mapped[str] = mapped_column(String(20))
    # What the code may prove ("registration", "objection:<case id>"): a code sent for one
    # thing never confirms another.
    purpose: Mapped[str] = mapped_column(String(64), default="registration")
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class RateCounter(Base):
    """One fixed-window counter of a rate limit (states/throttle.py), shared by every API
    worker because it lives in the database rather than in one process's memory."""

    __tablename__ = "rate_counters"
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


class CalendarYear(Base):
    """An official schedule an administrator loaded for a year chinesecalendar lacks."""

    __tablename__ = "calendar_years"
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    holidays: Mapped[dict[str, Any]] = mapped_column(JSON)  # {"2027-01-01": "元旦", ...}
    workdays: Mapped[dict[str, Any]] = mapped_column(JSON)  # make-up working days
    source: Mapped[str] = mapped_column(String(255))
    loaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class RecordChange(Base):
    """One change to a record of the bureau's own data (a teacher's record, a unit of the org
    tree, an account): who, when, from which source (a file, a page, a case), and each field
    before and after. Append-only and sealed in a chain per record like a case's audit
    events (states/registry/history.py), so an inspector verifies a record's past as they
    verify a case's."""

    __tablename__ = "record_history"
    __table_args__ = (UniqueConstraint("subject_kind", "subject_id", "seq"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    subject_kind: Mapped[str] = mapped_column(String(16))  # teacher | unit | person
    subject_id: Mapped[int] = mapped_column(BigInteger)
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    actor_label: Mapped[str] = mapped_column(String(128))
    # import | edit | case | move | seed: where the change came from
    source: Mapped[str] = mapped_column(String(16))
    # The file (name and SHA-256) or the page action; the case for a process's effect.
    source_ref: Mapped[str | None] = mapped_column(String(255))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    changes: Mapped[str] = mapped_column(Text)  # canonical JSON {field: [before, after]}
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(16))


class ServiceCredit(Base):
    """The service ledger: one entry per term of service in a rural or weak school (a
    support-teaching term, a rotation placement) credited to a teacher, naming the case it
    came from. Append-only: a mistaken credit is corrected by a new entry with a reason
    (``corrects_id``), never edited, so the years title review counts can always be traced
    to the cases that earned them (states/registry/service.py)."""

    __tablename__ = "service_credits"
    __table_args__ = (
        UniqueConstraint("source_case_id", "kind"),
        # covering: a declaration's rule sums a teacher's months from the index alone
        Index("ix_service_credits_teacher_months", "teacher_id", "months"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    teacher_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    # support_teaching | rotation | correction
    kind: Mapped[str] = mapped_column(String(24))
    source_case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("service_credits.id"))
    school_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    school_name: Mapped[str] = mapped_column(String(128))
    started_on: Mapped[dt.date | None] = mapped_column(Date)
    ended_on: Mapped[dt.date | None] = mapped_column(Date)
    months: Mapped[int] = mapped_column(Integer)
    years: Mapped[float] = mapped_column(Float)
    # excellent | competent | basic | incompetent; none for a rotation or a correction
    assessment: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))


class ExpertAvailability(Base):
    """Whether a member of an expert pool (a review_expert binding at a unit) sits in a
    year's committees, with the reason an officer gave. No row: available (a pool is drawn
    as it stands unless someone said otherwise)."""

    __tablename__ = "expert_availability"
    __table_args__ = (UniqueConstraint("person_id", "org_unit_id", "year"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_units.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    available: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str | None] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))


class ExpertConflict(Base):
    """A conflict of interest an expert declared (回避申报): a unit (its whole subtree) or a
    person whose cases the expert must not review, beyond the applicant's own school that
    the draw always recuses."""

    __tablename__ = "expert_conflicts"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_units.id"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    note: Mapped[str | None] = mapped_column(String(200))
    declared_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    declared_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))


class Delegation(Base):
    """委托/代理: while ``person_id`` is away (``starts_on`` to ``ends_on``, bureau dates, both
    included), the work named to them goes to ``acting_id`` and comes back afterwards.
    ``started_at``/``ended_at`` record when the handover and the return were done, so the
    sweep that does them is idempotent; ``cancelled_at`` ends it early."""

    __tablename__ = "delegations"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    acting_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(String(200))
    set_by: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class JobRun(Base):
    """One run of a scheduled job (a sweep, the notice dispatch, the audit digest), however
    it was started: the operations page reads these, so it works with the Prefect server
    down. Written only through ``states.ops.run_recorded``."""

    __tablename__ = "job_runs"
    __table_args__ = (Index("ix_job_runs_job", "job", "started_at"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    job: Mapped[str] = mapped_column(String(32))
    trigger: Mapped[str] = mapped_column(String(16))  # schedule | manual | cli
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))  # manual: who
    started_by: Mapped[str | None] = mapped_column(String(64))  # their name, as it was then
    # host:pid of the process running it: a run whose process is gone (killed, crashed) is
    # seen as interrupted at once on that host, not held until it is stale
    runner: Mapped[str | None] = mapped_column(String(128))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(16))  # running | ok | partial | failed | skipped
    counts: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)  # why it was skipped
    error: Mapped[str | None] = mapped_column(Text)  # what failed, in part or in whole


# An unfinished run holds its job: a second start meanwhile is recorded as skipped rather
# than doing the same work twice at once (the unique index decides, on both databases).
Index(
    "uq_job_runs_running",
    JobRun.job,
    unique=True,
    sqlite_where=JobRun.finished_at.is_(None),
    postgresql_where=JobRun.finished_at.is_(None),
)


def table_of(model: type[Base]) -> Table:
    """The Core table behind a model, typed for insert()/update() (``__table__`` is not)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table
