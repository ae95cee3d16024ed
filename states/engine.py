"""The engine: the only way a case changes.

``fire()`` runs the whole contract of ARCHITECTURE.md in one transaction: version check and
idempotency key, role and data-scope authorization, the process's rules in declared order,
the python-statemachine transition, tasks closed and opened with working-day due dates,
one hash-chained audit event, and outbox rows. A refused request writes nothing.

Statements go through SQLAlchemy Core: the engine is on the hot path of every approval and of
every sweep, and the ORM's unit of work would cost more than the statements themselves.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import secrets
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import Connection, Engine, and_, bindparam, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from statemachine.exceptions import TransitionNotAllowed

from states.audit import GENESIS, canonical, event_hash, step_hasher
from states.calendar import UnknownCalendarYear, WorkingCalendar
from states.clock import BUREAU_TZ, Clock, SystemClock, local_date
from states.errors import (
    Conflict,
    EventNotAllowed,
    FormError,
    NotFound,
    PermissionDenied,
    RenshiError,
    RuleRefused,
)
from states.machines import PROCESSES
from states.machines.recruitment import candidate_and_post
from states.machines.spec import (
    COMMENT,
    STATE_ACTOR,
    By,
    Command,
    DrawPanel,
    EffectContext,
    EventSpec,
    Form,
    HoldQuota,
    ProcessSpec,
    RecordVote,
    ResumeWindow,
    SetData,
    StateSpec,
    SuspendWindow,
    UpdateTeacher,
    policy_for,
)
from states.org import (
    OFFICER_OF_TIER,
    REVIEW_EXPERT,
    SYSTEM,
    TEACHER,
    TIER_LABELS,
    TIERS,
    Actor,
    path_ids,
)
from states.rules.base import Facts, PanelFacts, QuotaFacts, TeacherFacts
from states.store.bulk import FastMany, FastOne
from states.store.calendar_store import calendar_from_db
from states.store.db import reader
from states.store.models import (
    Applicant,
    Attachment,
    AuditEvent,
    Case,
    CaseCopy,
    EthicsRecord,
    Notification,
    OrgUnit,
    OutboxMessage,
    PanelSeat,
    Person,
    Post,
    Quota,
    RecruitmentRound,
    RoleBinding,
    Task,
    Teacher,
    table_of,
)
from states.store.people import load_actor
from states.store.queries import applicant_contacts, eligibility_rows

cases_t = table_of(Case)
tasks_t = table_of(Task)
audit_t = table_of(AuditEvent)
outbox_t = table_of(OutboxMessage)
units_t = table_of(OrgUnit)
teachers_t = table_of(Teacher)
people_t = table_of(Person)
ethics_t = table_of(EthicsRecord)
quotas_t = table_of(Quota)
seats_t = table_of(PanelSeat)
bindings_t = table_of(RoleBinding)
applicants_t = table_of(Applicant)
posts_t = table_of(Post)
rounds_t = table_of(RecruitmentRound)
copies_t = table_of(CaseCopy)
notes_t = table_of(Notification)
attachments_t = table_of(Attachment)

# The statements of every transition, built once: building a Core statement costs about three
# times as much as executing a prebuilt one with bound parameters.
LOAD_CASE = select(cases_t).where(cases_t.c.id == bindparam("case_id")).with_for_update()
LOAD_UNITS = select(
    units_t.c.id,
    units_t.c.tier,
    units_t.c.path,
    units_t.c.is_rural,
    units_t.c.is_weak,
    units_t.c.self_review_pilot,
    units_t.c.settings,
).where(units_t.c.id.in_([bindparam(f"u{i}") for i in range(len(TIERS))]))
LOAD_OPEN_TASKS = select(tasks_t).where(
    tasks_t.c.case_id == bindparam("case_id"),
    or_(tasks_t.c.status == "open", tasks_t.c.status == "waiting"),
)
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
        quota_key=bindparam("p_quota"),
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
OPEN_CASES = insert(cases_t).returning(cases_t.c.id, sort_by_parameter_order=True)
UNIT_PATHS = select(units_t.c.id, units_t.c.path).where(
    units_t.c.id.in_(bindparam("ids", expanding=True))
)
UNIT_TIERS = select(units_t.c.id, units_t.c.tier, units_t.c.path).where(
    units_t.c.id.in_(bindparam("ids", expanding=True))
)
INSERT_TASKS = insert(tasks_t)
INSERT_OUTBOX = insert(outbox_t)
# The set-based steps write through FastMany: rows are tuples in these orders.
BULK_CASES = FastMany(
    BULK_WRITE_CASE,
    ("p_id", "p_v", "p_state", "p_version", "p_seq", "p_head", "p_now", "p_closed"),
)
BULK_AUDIT = FastMany(
    INSERT_AUDIT,
    (
        "case_id", "seq", "version", "at", "actor_id", "actor_label", "event", "from_state",
        "to_state", "payload", "idempotency_key", "prev_hash", "hash",
    ),
)  # fmt: skip
BULK_TASKS = FastMany(
    INSERT_TASKS,
    (
        "case_id", "state", "kind", "role", "org_unit_id", "assignee_id", "opened_on",
        "due_on", "due_flag", "status", "opened_at", "remind_level",
    ),
)  # fmt: skip
BULK_OUTBOX = FastMany(
    INSERT_OUTBOX,
    (
        "case_id", "kind", "recipient_id", "recipient_role", "recipient_unit_id", "payload",
        "created_at", "status",
    ),
)  # fmt: skip
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
# The committee's seats, in expert order (the tally is recorded in that order).
PANEL = (
    select(seats_t.c.expert_id, seats_t.c.choice)
    .where(seats_t.c.case_id == bindparam("case_id"))
    .order_by(seats_t.c.expert_id)
)
# The experts of one subject at the organising unit, with their schools (for recusal).
EXPERT_POOL = (
    select(bindings_t.c.person_id, teachers_t.c.school_id)
    .outerjoin(teachers_t, teachers_t.c.person_id == bindings_t.c.person_id)
    .where(
        bindings_t.c.role == REVIEW_EXPERT,
        bindings_t.c.org_unit_id == bindparam("unit"),
        bindings_t.c.subject == bindparam("subject"),
    )
)
CAST_VOTE = (
    update(seats_t)
    .where(seats_t.c.case_id == bindparam("v_case"), seats_t.c.expert_id == bindparam("v_person"))
    .values(choice=bindparam("v_choice"), cast_at=bindparam("v_now", type_=seats_t.c.cast_at.type))
)
CLOSE_EXPERT_TASK = (
    update(tasks_t)
    .where(
        tasks_t.c.case_id == bindparam("v_case"),
        tasks_t.c.assignee_id == bindparam("v_person"),
        tasks_t.c.role == REVIEW_EXPERT,
        tasks_t.c.status == "open",
    )
    .values(
        status="done",
        closed_at=bindparam("v_now", type_=tasks_t.c.closed_at.type),
        closed_by=bindparam("v_person"),
    )
)
CANCEL_WAITING = (
    update(tasks_t)
    .where(tasks_t.c.case_id == bindparam("p_case"), tasks_t.c.status == "waiting")
    .values(status="cancelled", closed_at=bindparam("p_now", type_=tasks_t.c.closed_at.type))
)

NEGATIVE_END = ("rejected", "withdrawn")
# Opening a declaration, and the quota check when a school recommends.
TEACHER_SCHOOL = (
    select(teachers_t.c.school_id, units_t.c.path)
    .join(units_t, units_t.c.id == teachers_t.c.school_id)
    .where(teachers_t.c.person_id == bindparam("person_id"))
)
OPEN_DECLARATION = select(cases_t.c.id).where(
    cases_t.c.process == bindparam("process"),
    cases_t.c.subject_id == bindparam("person_id"),
    cases_t.c.year == bindparam("year"),
    cases_t.c.closed_at.is_(None),
)
CREATE_CASE = insert(cases_t).returning(cases_t.c.id)
QUOTA_POSTS = (
    select(quotas_t.c.posts)
    .where(
        quotas_t.c.org_unit_id == bindparam("unit"),
        quotas_t.c.year == bindparam("year"),
        quotas_t.c.title == bindparam("title"),
    )
    .with_for_update()
)
QUOTA_USED = (
    select(func.count())
    .select_from(cases_t)
    .where(
        cases_t.c.org_unit_id == bindparam("unit"),
        cases_t.c.year == bindparam("year"),
        cases_t.c.quota_key == bindparam("key"),
        cases_t.c.state.not_in(NEGATIVE_END),
        cases_t.c.id != bindparam("case_id"),
    )
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
    panel = FastOne(PANEL)
    handed = FastOne(HANDED)
    write_case = FastOne(WRITE_CASE)
    audit = FastOne(INSERT_AUDIT)
    close_tasks = FastOne(CLOSE_TASKS)
    outbox = FastOne(INSERT_OUTBOX)
    cast_vote = FastOne(CAST_VOTE)
    close_expert_task = FastOne(CLOSE_EXPERT_TASK)
    task = FastOne(INSERT_TASKS)
    teacher_school = FastOne(TEACHER_SCHOOL)
    open_declaration = FastOne(OPEN_DECLARATION)
    set_head = FastOne(BULK_HEADS.statement)


HOT = _Hot()
COMMENT_FORM = Form((COMMENT,))
ADD_SIGNER = EventSpec("add_signer", "加签")
# Decisions that end or return a case are never held for an added signer.
ESCAPES = frozenset({"send_back", "reject"})
SIGN_POSITIONS = {"before": "前加签", "beside": "并加签", "after": "后加签"}
OPINIONS = {"agree": "同意", "disagree": "不同意"}
ANNOTATION_LABELS = {
    "create": "创建",
    "transfer": "转交",
    "comment": "发表意见",
    "copy": "抄送",
    "attach": "上传附件",
    "add_signer": "加签",
    "countersign": "加签意见",
    "hold": "决定待加签",
    "urge": "催办",
}


@dataclass(frozen=True)
class FireResult:
    case_id: int
    process: str
    event: str
    from_state: str | None
    to_state: str
    version: int
    replayed: bool = False
    reason: str | None = None  # why a veto turned the event into a rejection


@dataclass(frozen=True)
class Move:
    """One case's part in a bulk step."""

    case_id: int
    event: str
    payload: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class BulkResult:
    moved: int = 0
    refused: dict[int, str] = field(default_factory=dict)  # case id -> why


class _BulkPlan(NamedTuple):
    """One kind of bulk move — (state, event, unit) — worked out once."""

    target: str
    problem: str | None
    final: bool
    has_form: bool
    task: tuple[Any, ...] | None  # the task row it opens, without the case id


@dataclass
class _Unit:
    id: int
    tier: str
    path: str
    is_rural: bool
    is_weak: bool
    self_review_pilot: bool
    settings: Mapping[str, Any] | None


@dataclass
class _Ctx:
    """One request's view of its case, built once and passed through the steps."""

    case: Any  # the cases row
    spec: ProcessSpec
    actor: Actor
    now: dt.datetime
    today: dt.date
    units: dict[str, _Unit]  # tier -> ancestor unit (school ... province)
    policy: dict[str, Any]
    open_tasks: list[Any]
    data: dict[str, Any] = field(default_factory=dict)
    waiting: list[Any] = field(default_factory=list)  # signers added "after", not yet asked

    def unit_for(self, alias: str) -> _Unit:
        """The unit acting for a tier alias; a city-direct school's county work goes up to
        the city, so the nearest unit at or above the tier is taken."""
        own = self.units.get("school")
        school_flags = {"self_review_pilot": own.self_review_pilot} if own else {}
        tier = self.spec.resolve_tier(alias, self.data, school_flags, self.policy)
        for t in UPWARD[UPWARD.index(tier) :]:
            if t in self.units:
                return self.units[t]
        raise AssertionError(f"no unit at or above {tier}")


UPWARD = tuple(reversed(TIERS))  # school, county, city, province


class _Slot:
    """The model object a reused machine reads its state from."""

    state: str | None = None


_machines = threading.local()


def _transition(spec: ProcessSpec, source: str, event: str, kwargs: Mapping[str, Any]) -> str:
    """Move the process's StateMachine from ``source`` by ``event``.

    A machine instance costs ~170 µs to build and ~70 µs to send through, so each thread
    keeps one per process bound to a ``_Slot`` and only rebuilds it after a final state
    (which stops the machine) or an error (which may leave its queue dirty).
    """
    # A transition without a guard has one outcome, read from the table built once from the
    # machine's own transitions (as bulk moves do); only guarded branches run the machine.
    known = spec.target(source, event)
    if known is not None:
        return known
    cache: dict[str, tuple[Any, _Slot]] = _machines.__dict__.setdefault("cache", {})
    entry = cache.get(spec.name)
    if entry is None:
        slot = _Slot()
        slot.state = source
        entry = cache[spec.name] = (spec.machine(model=slot), slot)
    sm, slot = entry
    slot.state = source
    try:
        sm.send(event, **kwargs)
    except TransitionNotAllowed:
        cache.pop(spec.name, None)
        raise
    except Exception:
        cache.pop(spec.name, None)
        raise
    target = slot.state
    assert target is not None
    if getattr(spec.machine, target).final:
        cache.pop(spec.name, None)
    return target


class CaseEngine:
    """Moves cases. One instance per process (it holds the calendar and the clock)."""

    def __init__(
        self,
        db: Engine,
        clock: Clock | None = None,
        calendar: WorkingCalendar | None = None,
        processes: Mapping[str, ProcessSpec] = PROCESSES,
    ) -> None:
        self.db = db
        self.clock: Clock = clock or SystemClock()
        self.processes = processes
        self._calendar = calendar

    # --- calendar ---------------------------------------------------------------------------
    def calendar(self, conn: Connection | None = None) -> WorkingCalendar:
        if self._calendar is None:
            if conn is None:
                with self.db.connect() as c:
                    self._calendar = calendar_from_db(c)
            else:
                self._calendar = calendar_from_db(conn)
        return self._calendar

    def reload_calendar(self, conn: Connection) -> WorkingCalendar:
        """Re-read the loaded years: an administrator may have loaded one since."""
        self._calendar = calendar_from_db(conn)
        return self._calendar

    def _due(
        self, conn: Connection, start: dt.date, days: int
    ) -> tuple[dt.date | None, str | None]:
        """The due date, or None with a flag when the calendar of that year is not loaded.

        An unknown year is re-read from the database once: another process may have loaded it.
        """
        try:
            return self.calendar(conn).add_working_days(start, days), None
        except UnknownCalendarYear:
            self._calendar = calendar_from_db(conn)
            try:
                return self._calendar.add_working_days(start, days), None
            except UnknownCalendarYear as exc:
                return None, f"calendar_unknown:{exc.year}"

    # --- public operations ------------------------------------------------------------------
    def start(
        self,
        process: str,
        actor: Actor,
        form: Mapping[str, Any],
        *,
        year: int | None = None,
        submit: bool = False,
    ) -> FireResult:
        """Open a case for the actor (the applicant) in the process's initial state.

        ``submit`` fires the first event in the same transaction: a declaration the rules
        refuse leaves nothing behind, not a stranded draft that blocks the next attempt.
        """
        spec = self.processes.get(process)
        if spec is None or spec.opened_by != "teacher":
            raise FormError("process", f"不能以教师申报方式发起此流程：{process}")
        if actor.person_id is None:
            raise PermissionDenied("请先登录")
        data = spec.start_form.validate(form)
        data.pop("comment", None)
        now = self.clock.now()
        year = year or local_date(now).year
        with self.db.begin() as conn:
            teacher = HOT.teacher_school.one_or_none(conn, {"person_id": actor.person_id})
            if teacher is None:
                raise PermissionDenied("只有在职教师可以申报")
            found = HOT.open_declaration.all(
                conn, {"process": process, "person_id": actor.person_id, "year": year}
            )
            open_case = found[0] if found else None
            if open_case is not None:
                raise Conflict(f"您本年度已有进行中的{spec.label}申报（编号{open_case.id}）")
            initial: str = spec.machine.initial_state.id
            payload = canonical({"form": data})
            case_id = conn.execute(
                CREATE_CASE,
                {
                    "process": process,
                    "year": year,
                    "state": initial,
                    "org_unit_id": teacher.school_id,
                    "org_path": teacher.path,
                    "applicant_id": actor.person_id,
                    "subject_id": actor.person_id,
                    "data": data,
                    "version": 1,
                    "seq": 1,
                    "audit_head": GENESIS,
                    "opened_at": now,
                    "updated_at": now,
                },
            ).scalar_one()
            head = self._append_audit(
                conn, case_id, 1, 1, GENESIS, now, actor, "create", None, initial, payload, None
            )
            HOT.set_head.run(conn, {"h_id": case_id, "h_head": head})
            case = HOT.load_case.one_or_none(conn, {"case_id": case_id})
            ctx = self._context(conn, case, spec, actor, now)
            self._open_tasks(conn, ctx, spec.states[initial], case_id, [])
            if submit:
                first = spec.allowed_events(initial)[0]
                return self._fire(conn, case_id, first, actor, {}, 1, None)
        return FireResult(case_id, process, "create", None, initial, 1)

    def fire(
        self,
        case_id: int,
        event: str,
        actor: Actor,
        payload: Mapping[str, Any] | None = None,
        *,
        expected_version: int,
        idempotency_key: str | None = None,
    ) -> FireResult:
        """Fire ``event`` on a case, or raise a RenshiError and write nothing."""
        try:
            with self.db.begin() as conn:
                return self._fire(
                    conn,
                    case_id,
                    event,
                    actor,
                    dict(payload or {}),
                    expected_version,
                    idempotency_key,
                )
        except (Conflict, IntegrityError) as exc:
            # A concurrent request with the same key may have won: return its result.
            if idempotency_key:
                with self.db.connect() as conn:
                    replay = self._replay(conn, case_id, event, idempotency_key)
                if replay is not None:
                    return replay
            if isinstance(exc, IntegrityError):
                raise Conflict("案件已被他人同时更新，请刷新后重试") from None
            raise

    def transfer(
        self,
        task_id: int,
        to_person_id: int,
        actor: Actor,
        *,
        expected_version: int,
        comment: str | None = None,
    ) -> FireResult:
        """转交: hand an open task to another person holding the same role at the same unit."""
        with self.db.begin() as conn:
            task = conn.execute(select(tasks_t).where(tasks_t.c.id == task_id)).one_or_none()
            if task is None or task.status != "open":
                raise NotFound("待办不存在或已办结")
            case = self._load_case(conn, task.case_id, actor, expected_version, public=False)
            if task.kind != "act" or task.role in (REVIEW_EXPERT, TEACHER, SYSTEM):
                raise PermissionDenied("此待办不能转交")
            if not self._may_take(actor, task):
                raise PermissionDenied("只有待办的承办人可以转交")
            holds = conn.execute(
                select(bindings_t.c.id).where(
                    bindings_t.c.person_id == to_person_id,
                    bindings_t.c.role == task.role,
                    bindings_t.c.org_unit_id == task.org_unit_id,
                )
            ).first()
            if holds is None or to_person_id == actor.person_id:
                raise FormError("to_person_id", "接收人须为同一单位同一角色的其他人员")
            now = self.clock.now()
            conn.execute(
                update(tasks_t).where(tasks_t.c.id == task_id).values(assignee_id=to_person_id)
            )
            body: dict[str, Any] = {"task": task_id, "to": to_person_id}
            if comment:
                body["comment"] = comment
            version = self._commit(
                conn, case, actor, now, "transfer", case.state, case.data, body, None
            )
            self._notify(
                conn,
                case.id,
                now,
                "task_assigned",
                to_person_id,
                None,
                None,
                {
                    "case_id": case.id,
                    "process": case.process,
                    "state": case.state,
                    "due_on": task.due_on.isoformat() if task.due_on else None,
                },
            )
        return FireResult(case.id, case.process, "transfer", case.state, case.state, version)

    def comment(self, case_id: int, actor: Actor, text: str) -> FireResult:
        """A comment on the record. Anyone who sees the case may comment; no version moves."""
        body = COMMENT_FORM.validate({"comment": text})
        if not body.get("comment"):
            raise FormError("comment", "意见不能为空")
        return self._annotate(case_id, actor, "comment", body)

    def copy_to(
        self, case_id: int, actor: Actor, person_ids: Sequence[int], note: str | None = None
    ) -> FireResult:
        """抄送: let others see the case for information. Only someone who acts on or
        supervises the case may copy it."""
        wanted = sorted(set(person_ids))
        if not wanted:
            raise FormError("person_ids", "请选择抄送对象")

        def write(conn: Connection, case: Any, now: dt.datetime) -> dict[str, Any]:
            if not actor.sees(case.org_path):
                raise PermissionDenied("只有办理或监督本案的人员可以抄送")
            found = set(
                conn.execute(select(people_t.c.id).where(people_t.c.id.in_(wanted))).scalars()
            )
            missing = [p for p in wanted if p not in found]
            if missing:
                raise FormError("person_ids", f"人员不存在：{missing}")
            already = set(
                conn.execute(
                    select(copies_t.c.person_id).where(copies_t.c.case_id == case.id)
                ).scalars()
            )
            new = [p for p in wanted if p not in already]
            if new:
                conn.execute(
                    insert(copies_t),
                    [
                        {
                            "case_id": case.id,
                            "person_id": p,
                            "copied_by": actor.person_id,
                            "copied_at": now,
                        }
                        for p in new
                    ],
                )
            for p in new:
                self._notify(
                    conn,
                    case.id,
                    now,
                    "case_copied",
                    p,
                    None,
                    None,
                    {
                        "case_id": case.id,
                        "process": case.process,
                        "by": actor.name,
                    },
                )
            body: dict[str, Any] = {"to": new}
            if note:
                body["comment"] = COMMENT_FORM.validate({"comment": note})["comment"]
            return body

        return self._annotate(case_id, actor, "copy", write)

    def record_attachment(
        self,
        case_id: int,
        actor: Actor,
        *,
        filename: str,
        content_type: str,
        size: int,
        sha256: str,
    ) -> int:
        """Put an already stored file on the record; returns the attachment's id."""
        created: list[int] = []

        def write(conn: Connection, case: Any, now: dt.datetime) -> dict[str, Any]:
            if not (actor.sees(case.org_path) or actor.person_id == case.applicant_id):
                raise PermissionDenied("只有申报人或办理人员可以上传附件")
            created.append(
                conn.execute(
                    insert(attachments_t)
                    .values(
                        case_id=case.id,
                        filename=filename,
                        content_type=content_type,
                        size=size,
                        sha256=sha256,
                        uploaded_by=actor.person_id,
                        uploaded_at=now,
                    )
                    .returning(attachments_t.c.id)
                ).scalar_one()
            )
            return {"attachment": created[0], "filename": filename, "size": size, "sha256": sha256}

        self._annotate(case_id, actor, "attach", write)
        return created[0]

    def add_signer(
        self,
        case_id: int,
        actor: Actor,
        person_id: int,
        position: str,
        *,
        expected_version: int,
        comment: str | None = None,
    ) -> FireResult:
        """加签: bring another person into the current decision — before the approver (they
        sign first), beside (both must agree) or after (they confirm the approver's decision).
        """
        if position not in SIGN_POSITIONS:
            raise FormError(
                "position", "加签方式应为以下之一：" + "、".join(SIGN_POSITIONS.values())
            )
        with self.db.begin() as conn:
            case = self._load_case(conn, case_id, actor, expected_version, public=False)
            spec = self.processes[case.process]
            now = self.clock.now()
            ctx = self._context(conn, case, spec, actor, now)
            state = spec.states[case.state]
            if state.actor is None or not state.actor.officer:
                raise EventNotAllowed(f"「{spec.state_label(case.state)}」环节不能加签", [])
            self._authorize(ctx, ADD_SIGNER, state.actor)
            signer = load_actor(conn, person_id=person_id)
            if person_id == actor.person_id or not signer.sees(case.org_path):
                raise FormError("person_id", "加签人须为本案管辖范围内的其他工作人员")
            if any(t.kind == "sign" and t.assignee_id == person_id for t in ctx.open_tasks):
                raise FormError("person_id", "此人已在本环节加签")
            due = next((t.due_on for t in ctx.open_tasks if t.kind == "act"), None)
            conn.execute(
                insert(tasks_t).values(
                    case_id=case.id,
                    state=case.state,
                    kind="sign",
                    position=position,
                    role="signer",
                    org_unit_id=None,
                    assignee_id=person_id,
                    opened_on=ctx.today,
                    due_on=due,
                    due_flag=None,
                    status="waiting" if position == "after" else "open",
                    opened_at=now,
                    remind_level=0,
                )
            )
            if position != "after":
                self._notify(
                    conn,
                    case.id,
                    now,
                    "task_assigned",
                    person_id,
                    None,
                    None,
                    {
                        "case_id": case.id,
                        "process": case.process,
                        "state": case.state,
                        "due_on": due.isoformat() if due else None,
                        "sign": position,
                    },
                )
            body: dict[str, Any] = {"signer": person_id, "position": position}
            if comment:
                body["comment"] = comment
            version = self._commit(
                conn, case, actor, now, "add_signer", case.state, case.data, body, None
            )
        return FireResult(case.id, case.process, "add_signer", case.state, case.state, version)

    def countersign(
        self,
        case_id: int,
        actor: Actor,
        opinion: str,
        *,
        expected_version: int,
        comment: str | None = None,
    ) -> FireResult:
        """An added signer's opinion. The last signature releases a held decision: all agree,
        and the approver's decision takes effect; one disagrees, and it goes back to them."""
        if opinion not in OPINIONS:
            raise FormError("opinion", "签署意见应为“同意”或“不同意”")
        with self.db.begin() as conn:
            case = self._load_case(conn, case_id, actor, expected_version, public=False)
            now = self.clock.now()
            mine = conn.execute(
                select(tasks_t.c.id).where(
                    tasks_t.c.case_id == case.id,
                    tasks_t.c.kind == "sign",
                    tasks_t.c.status == "open",
                    tasks_t.c.assignee_id == actor.person_id,
                )
            ).scalar()
            if mine is None:
                raise PermissionDenied("您在本案没有待签署的加签")
            conn.execute(
                update(tasks_t)
                .where(tasks_t.c.id == mine)
                .values(status="done", closed_at=now, closed_by=actor.person_id)
            )
            data = dict(case.data)
            signatures = [*data.get("signatures", []), {"by": actor.person_id, "opinion": opinion}]
            data["signatures"] = signatures
            left = conn.execute(
                select(func.count())
                .select_from(tasks_t)
                .where(
                    tasks_t.c.case_id == case.id,
                    tasks_t.c.kind == "sign",
                    tasks_t.c.status.in_(("open", "waiting")),
                )
            ).scalar_one()
            pending = data.get("pending_decision") if left == 0 else None
            if (pending and opinion == "disagree") or (
                pending and any(s["opinion"] == "disagree" for s in signatures)
            ):
                data.pop("pending_decision")
                self._notify(
                    conn,
                    case.id,
                    now,
                    "countersign_disagreed",
                    pending["actor_id"],
                    None,
                    None,
                    {"case_id": case.id, "process": case.process, "event": pending["event"]},
                )
                pending = None
            body: dict[str, Any] = {"opinion": opinion}
            if comment:
                body["comment"] = COMMENT_FORM.validate({"comment": comment})["comment"]
            version = self._commit(
                conn, case, actor, now, "countersign", case.state, data, body, None
            )
            if pending:
                approver = load_actor(conn, person_id=int(pending["actor_id"]))
                return self._fire(
                    conn,
                    case.id,
                    str(pending["event"]),
                    approver,
                    dict(pending["payload"]),
                    version,
                    None,
                    gate=False,
                )
        return FireResult(case.id, case.process, "countersign", case.state, case.state, version)

    def _signer_gate(
        self, conn: Connection, ctx: _Ctx, event: str, payload: dict[str, Any], key: str | None
    ) -> FireResult | None:
        """Hold or refuse a decision while added signers have not signed."""
        signers = [t for t in ctx.open_tasks if t.kind == "sign"]
        waiting = [t.id for t in ctx.waiting]  # loaded with the open tasks
        if any(t.position == "before" for t in signers):
            raise RuleRefused("countersign", "须待前加签人签署意见后才能办理")
        if not signers and not waiting:
            return None
        if waiting:
            conn.execute(update(tasks_t).where(tasks_t.c.id.in_(waiting)).values(status="open"))
        ctx.data["pending_decision"] = {
            "event": event,
            "actor_id": ctx.actor.person_id,
            "payload": payload,
        }
        case = ctx.case
        version = self._commit(
            conn,
            case,
            ctx.actor,
            ctx.now,
            "hold",
            case.state,
            ctx.data,
            {"event": event, **payload},
            key,
        )
        return FireResult(case.id, case.process, "hold", case.state, case.state, version)

    def _annotate(
        self,
        case_id: int,
        actor: Actor,
        event: str,
        body: Mapping[str, Any] | Any,
    ) -> FireResult:
        """Extend a case's trail without touching its state or version."""
        with self.db.begin() as conn:
            case = conn.execute(
                select(cases_t).where(cases_t.c.id == case_id).with_for_update()
            ).one_or_none()
            if case is None or not self._visible(conn, case, actor):
                raise NotFound("案件不存在")
            now = self.clock.now()
            payload = body(conn, case, now) if callable(body) else dict(body)
            version = self._commit(
                conn, case, actor, now, event, case.state, case.data, payload, None, bump=False
            )
        return FireResult(case.id, case.process, event, case.state, case.state, version)

    def urge(self, case_id: int, actor: Actor, note: str | None = None) -> FireResult:
        """催办: an officer presses whoever holds the case's open work, once a day per case.

        Goes on the record (who urged, when) without moving the version.
        """
        body = COMMENT_FORM.validate({"comment": note} if note else {})

        def write(conn: Connection, case: Any, now: dt.datetime) -> dict[str, Any]:
            if not actor.sees(case.org_path):
                raise PermissionDenied("只有管辖本案的工作人员可以催办")
            today = local_date(now)
            start = dt.datetime.combine(today, dt.time(), tzinfo=BUREAU_TZ)
            already = conn.execute(
                select(audit_t.c.id).where(
                    audit_t.c.case_id == case.id, audit_t.c.event == "urge", audit_t.c.at >= start
                )
            ).first()
            if already is not None:
                raise RuleRefused("urge_limit", "本案今天已催办过，每个案件每天只能催办一次")
            tasks = conn.execute(
                select(tasks_t).where(
                    tasks_t.c.case_id == case.id,
                    tasks_t.c.status == "open",
                    tasks_t.c.kind.in_(("act", "sign")),
                )
            ).all()
            if not tasks:
                raise RuleRefused("urge_nothing", "本案当前没有待办理的事项，无需催办")
            for t in tasks:
                self._notify(
                    conn,
                    case.id,
                    now,
                    "urge",
                    t.assignee_id,
                    t.role,
                    None if t.assignee_id else t.org_unit_id,
                    {
                        "task_id": t.id,
                        "case_id": case.id,
                        "state": t.state,
                        "due_on": t.due_on.isoformat() if t.due_on else None,
                        "by": actor.name,
                        "note": body.get("comment", ""),
                    },
                )
            return {"tasks": [t.id for t in tasks], **body}

        return self._annotate(case_id, actor, "urge", write)

    def read_notification(self, notification_id: int, actor: Actor) -> bool:
        """Mark one of the actor's own in-app notices read; False if it is not theirs."""
        with self.db.begin() as conn:
            return bool(
                conn.execute(
                    update(notes_t)
                    .where(notes_t.c.id == notification_id, notes_t.c.person_id == actor.person_id)
                    .values(read_at=func.coalesce(notes_t.c.read_at, self.clock.now()))
                ).rowcount
            )

    def mark_read(self, case_id: int, actor: Actor) -> None:
        """A copy recipient has opened the case: it no longer counts as unread. Only a read
        marker, so nothing goes on the record."""
        if actor.person_id is None:
            return
        with self.db.begin() as conn:
            conn.execute(
                update(copies_t)
                .where(
                    copies_t.c.case_id == case_id,
                    copies_t.c.person_id == actor.person_id,
                    copies_t.c.read_at.is_(None),
                )
                .values(read_at=self.clock.now())
            )

    def available(self, case_id: int, actor: Actor) -> dict[str, Any]:
        """What this person may do on the case now: the events they may fire and whether
        they may add a signer or must sign. Read-only; the same checks as ``fire``."""
        with reader(self.db).connect() as conn:
            case = conn.execute(select(cases_t).where(cases_t.c.id == case_id)).one_or_none()
            if case is None or not self._visible(conn, case, actor):
                raise NotFound("案件不存在")
            spec = self.processes[case.process]
            ctx = self._context(conn, case, spec, actor, self.clock.now())
            events: list[str] = []
            for name in spec.allowed_events(case.state):
                ev = spec.events[name]
                if ev.by.public:
                    continue
                by = spec.states[case.state].actor if ev.by is STATE_ACTOR else ev.by
                try:
                    self._authorize(ctx, ev, by)
                except PermissionDenied:
                    continue
                events.append(name)
            state = spec.states[case.state]
            may_sign = False
            if state.actor is not None and state.actor.officer:
                try:
                    self._authorize(ctx, ADD_SIGNER, state.actor)
                    may_sign = True
                except PermissionDenied:
                    pass
            signing = any(
                t.kind == "sign" and t.assignee_id == actor.person_id for t in ctx.open_tasks
            )
        return {"events": events, "add_signer": may_sign, "countersign": signing}

    def ensure_visible(self, conn: Connection, case_id: int, actor: Actor) -> Any:
        """The case row if the actor may see it; NotFound otherwise (never a hint)."""
        case = conn.execute(select(cases_t).where(cases_t.c.id == case_id)).one_or_none()
        if case is None or not self._visible(conn, case, actor):
            raise NotFound("案件不存在")
        return case

    def fire_in(
        self,
        conn: Connection,
        case_id: int,
        event: str,
        actor: Actor,
        payload: Mapping[str, Any] | None = None,
        *,
        expected_version: int,
    ) -> FireResult:
        """``fire`` inside the caller's transaction, for a process step that must change
        something else atomically with the case (a seat taken in post choice)."""
        return self._fire(conn, case_id, event, actor, dict(payload or {}), expected_version, None)

    def open_many(
        self,
        process: str,
        items: Sequence[tuple[int, Mapping[str, Any]]],
        actor: Actor,
        *,
        conn: Connection,
        year: int | None = None,
    ) -> list[int]:
        """Open many cases at once (an import, a registration): (unit id, data) each; the
        cases start in the initial state with their create event and first tasks."""
        spec = self.processes[process]
        now = self.clock.now()
        today = local_date(now)
        initial: str = spec.machine.initial_state.id
        paths = {
            u.id: u.path
            for u in conn.execute(UNIT_PATHS, {"ids": list({unit for unit, _ in items})})
        }
        rows = [
            {
                "process": process,
                "year": year or today.year,
                "state": initial,
                "org_unit_id": unit,
                "org_path": paths[unit],
                "applicant_id": None,
                "subject_id": None,
                "data": dict(data),
                "quota_key": None,
                "version": 1,
                "seq": 1,
                "audit_head": GENESIS,
                "opened_at": now,
                "updated_at": now,
            }
            for unit, data in items
        ]
        ids = list(conn.execute(OPEN_CASES, rows).scalars())
        body = canonical({})
        hasher = step_hasher(
            at=now, actor_id=actor.person_id, actor_label=actor.label, event="create", payload=body
        )
        heads = [(case_id, hasher(GENESIS, case_id, 1, None, initial)) for case_id in ids]
        who, label = actor.person_id, actor.label
        BULK_AUDIT.run(
            conn,
            [
                (cid, 1, 1, now, who, label, "create", None, initial, body, None, GENESIS, head)
                for cid, head in heads
            ],
        )
        BULK_HEADS.run(conn, heads)
        tiers = self._tiers(conn, set(paths.values()))
        due_cache: dict[int, tuple[dt.date | None, str | None]] = {}
        templates = {
            unit: self._bulk_task(spec, initial, path, tiers, today, now, due_cache, conn)
            for unit, path in paths.items()
        }
        tasks = [
            (case_id, *template)
            for case_id, (unit, _) in zip(ids, items, strict=True)
            if (template := templates[unit]) is not None
        ]
        BULK_TASKS.run(conn, tasks)
        return ids

    def fire_many(
        self,
        process: str,
        moves: Sequence[Move],
        actor: Actor,
        *,
        strict: bool = True,
        conn: Connection | None = None,
        chunk: int = 5000,
        rules_checked: bool = False,
    ) -> BulkResult:
        """A step over many cases at once (scores, shortlist, ranking), set-based.

        The same rules as ``fire`` where they apply per case — the transition must exist from
        the case's state, the actor must hold the event's role over the case, the payload must
        fit the event's form — checked from the process's transition table rather than by
        running the machine per row; then versioned updates, chained audit rows, task and
        notice writes go out as executemany. ``strict``: one bad move refuses them all
        (nothing written); otherwise the bad ones are reported and the rest move.

        An event with rules moves in bulk only when the caller has evaluated those rules
        set-wise itself (``rules_checked``): the engine does not run them row by row here.
        """
        if conn is None:
            with self.db.begin() as own:
                return self.fire_many(
                    process,
                    moves,
                    actor,
                    strict=strict,
                    conn=own,
                    chunk=chunk,
                    rules_checked=rules_checked,
                )
        spec = self.processes[process]
        result = BulkResult()
        label, who, empty = actor.label, actor.person_id, canonical({})
        now = self.clock.now()
        today = local_date(now)
        closed_at = {True: now, False: None}
        # Everything that depends only on (state, event, unit) is worked out once per kind of
        # move, not once per case: a shortlist of 200,000 is two or three kinds per county.
        plans: dict[tuple[str, str, str], _BulkPlan] = {}
        hashers: dict[tuple[str, str], Callable[[str, int, int, str | None, str], str]] = {}
        due_cache: dict[int, tuple[dt.date | None, str | None]] = {}
        for start in range(0, len(moves), chunk):
            part = moves[start : start + chunk]
            rows = {
                r[0]: r
                for r in conn.execute(
                    select(*BULK_CASE_COLUMNS)
                    .where(cases_t.c.id.in_([m.case_id for m in part]))
                    .with_for_update()
                ).all()
            }
            tiers = self._tiers(conn, {r[6] for r in rows.values()})
            updates: list[tuple[Any, ...]] = []
            audits: list[tuple[Any, ...]] = []
            opened: list[tuple[Any, ...]] = []
            seen: set[int] = set()
            for m in part:
                row = rows.get(m.case_id)
                if row is None or row[1] != process or m.case_id in seen:
                    problem: str | None = "案件不存在或重复"
                    plan = None
                else:
                    case_id, _, state, version, seq, prev, path = row
                    key = (state, m.event, path)
                    plan = plans.get(key)
                    if plan is None:
                        plan = plans[key] = self._bulk_plan(
                            spec, actor, state, m.event, path, tiers, rules_checked,
                            today, now, due_cache, conn,
                        )  # fmt: skip
                    problem = plan.problem
                body = empty
                if problem is None and plan is not None and (m.payload or plan.has_form):
                    try:
                        clean = spec.events[m.event].form.validate(m.payload)
                    except FormError as exc:
                        problem = exc.message
                    else:
                        body = canonical(clean) if clean else empty
                if problem is not None or plan is None:
                    if strict:
                        raise FormError("moves", f"案件{m.case_id}：{problem}")
                    result.refused[m.case_id] = problem or ""
                    continue
                seen.add(case_id)
                hk = (m.event, body)
                hasher = hashers.get(hk)
                if hasher is None:
                    hasher = hashers[hk] = step_hasher(
                        at=now, actor_id=who, actor_label=label, event=m.event, payload=body
                    )
                target = plan.target
                head = hasher(prev, case_id, seq + 1, state, target)
                updates.append(
                    (case_id, version, target, version + 1, seq + 1, head, now,
                     closed_at[plan.final])
                )  # fmt: skip
                audits.append(
                    (case_id, seq + 1, version + 1, now, who, label, m.event, state, target,
                     body, None, prev, head)
                )  # fmt: skip
                if plan.task is not None:
                    opened.append((case_id, *plan.task))
            if updates:
                if BULK_CASES.run(conn, updates) != len(updates):
                    raise Conflict("批量办理时有案件被他人同时更新，请刷新后重试")
                BULK_AUDIT.run(conn, audits)
                conn.execute(
                    update(tasks_t)
                    .where(tasks_t.c.case_id.in_(list(seen)), tasks_t.c.status == "open")
                    .values(status="done", closed_at=now, closed_by=actor.person_id)
                )
                BULK_TASKS.run(conn, opened)
                if spec.opened_by == "public":
                    BULK_OUTBOX.run(conn, self._bulk_notices(conn, spec, audits, now))
            result.moved += len(updates)
        return result

    @staticmethod
    def _bulk_notices(
        conn: Connection, spec: ProcessSpec, audits: Sequence[tuple[Any, ...]], now: dt.datetime
    ) -> list[tuple[Any, ...]]:
        """Progress notices to public applicants' mobiles for a bulk step, one per case moved,
        as ``_notify_transition`` writes them for a single one."""
        contacts = applicant_contacts(conn, [a[0] for a in audits])
        rows = []
        for case_id, _, _, _, _, _, event, source, target, *_ in audits:
            contact = contacts.get(case_id)
            if contact is None or source == target:
                continue
            name, phone = contact
            body = {
                "case_id": case_id, "process": spec.name, "event": event, "from": source,
                "to": target, "name": name, "phone": phone,
            }  # fmt: skip
            rows.append((case_id, "case_update", None, None, None, body, now, "pending"))
        return rows

    def _tiers(self, conn: Connection, paths: set[str]) -> dict[int, tuple[str, str]]:
        """Tier and path of every unit on the given paths: what authorization and task
        routing of a bulk step need, in one query."""
        unit_ids = {i for p in paths for i in path_ids(p)}
        return {u.id: (u.tier, u.path) for u in conn.execute(UNIT_TIERS, {"ids": list(unit_ids)})}

    def _bulk_plan(
        self,
        spec: ProcessSpec,
        actor: Actor,
        state: str,
        event: str,
        org_path: str,
        tiers: Mapping[int, tuple[str, str]],
        rules_checked: bool,
        today: dt.date,
        now: dt.datetime,
        due_cache: dict[int, tuple[dt.date | None, str | None]],
        conn: Connection,
    ) -> _BulkPlan:
        """What one kind of bulk move does: where it goes, whether it may, the task it opens."""
        target = spec.target(state, event)
        ev = spec.events.get(event)
        if ev is None or ev.internal or target is None:
            why = f"当前状态「{spec.state_label(state)}」不能批量执行{event}"
            return _BulkPlan("", why, False, False, None)
        if ev.rules and not rules_checked:
            why = f"「{ev.label}」有须逐案判断的规则，不能直接批量执行"
            return _BulkPlan("", why, False, False, None)
        by = spec.states[state].actor if ev.by is STATE_ACTOR else ev.by
        refusal = self._bulk_may(actor, ev, by, org_path, tiers)
        if refusal is not None:
            return _BulkPlan("", refusal, False, False, None)
        task = self._bulk_task(spec, target, org_path, tiers, today, now, due_cache, conn)
        final = self._is_final(spec.name, target)
        return _BulkPlan(target, None, final, bool(ev.form.fields), task)

    @staticmethod
    def _bulk_may(
        actor: Actor,
        ev: EventSpec,
        by: By | None,
        org_path: str,
        tiers: Mapping[int, tuple[str, str]],
    ) -> str | None:
        """Who may take a bulk step: the system, or the officer the event names (or, for an
        event taken by whoever holds the step, the step's officer) over the case's own unit
        or one above it."""
        if actor.holds(SYSTEM):
            return None
        if by is None or by.officer is None:
            return f"「{ev.label}」不能批量办理"
        for unit_id in path_ids(org_path):
            tier = tiers[unit_id][0]
            if tier == by.officer and actor.holds(OFFICER_OF_TIER[tier], unit_id):
                return None
        return f"「{ev.label}」须由本案所属{TIER_LABELS.get(by.officer, by.officer)}的人事干部办理"

    def _bulk_task(
        self,
        spec: ProcessSpec,
        target: str,
        org_path: str,
        tiers: Mapping[int, tuple[str, str]],
        today: dt.date,
        now: dt.datetime,
        due_cache: dict[int, tuple[dt.date | None, str | None]],
        conn: Connection,
    ) -> tuple[Any, ...] | None:
        """The task a bulk-moved case in ``org_path`` opens: a ``BULK_TASKS`` row without
        its leading case id, the same for every case of that unit."""
        state = spec.states[target]
        if state.actor is None or not (state.actor.officer or state.actor.system):
            return None
        unit_id, role = None, SYSTEM
        if state.actor.officer:
            ids = path_ids(org_path)
            want = state.actor.officer
            chosen = next((i for i in reversed(ids) if tiers[i][0] == want), ids[-1])
            unit_id, role = chosen, OFFICER_OF_TIER[tiers[chosen][0]]
        due, flag = None, None
        if state.deadline_days:
            if state.deadline_days not in due_cache:
                due_cache[state.deadline_days] = self._due(conn, today, state.deadline_days)
            due, flag = due_cache[state.deadline_days]
        kind = "window" if state.window else "act"
        return (target, kind, role, unit_id, None, today, due, flag, "open", now, 0)

    # --- the transition ---------------------------------------------------------------------
    def _fire(
        self,
        conn: Connection,
        case_id: int,
        event: str,
        actor: Actor,
        payload: dict[str, Any],
        expected_version: int,
        key: str | None,
        *,
        gate: bool = True,
    ) -> FireResult:
        if key:
            replay = self._replay(conn, case_id, event, key)
            if replay is not None:
                return replay

        def public(process: str) -> bool:
            ev = self.processes[process].events.get(event)
            return ev is not None and ev.by.public

        case = self._load_case(conn, case_id, actor, expected_version, public=public)
        spec = self.processes[case.process]
        ev = spec.events.get(event)
        allowed = spec.allowed_events(case.state)
        if ev is None or ev.internal or event not in allowed:
            labels = "、".join(spec.events[e].label for e in allowed) or "无"
            what = ev.label if ev is not None else event
            raise EventNotAllowed(
                f"当前状态「{spec.state_label(case.state)}」不能执行「{what}」；可执行：{labels}",
                allowed,
            )
        now = self.clock.now()
        ctx = self._context(conn, case, spec, actor, now)
        by = spec.states[case.state].actor if ev.by is STATE_ACTOR else ev.by
        self._authorize(ctx, ev, by)
        clean = ev.form.validate(payload)
        if gate and ev.decision and event not in ESCAPES and by is not None and by.officer:
            held = self._signer_gate(conn, ctx, event, clean, key)
            if held is not None:
                return held
        facts = self._facts(conn, ctx, spec.needs(event))

        fired, reason = event, None
        for use in ev.rules:
            verdict = use.rule.check(facts)
            if verdict.ok:
                continue
            if use.on_fail == "refuse":
                raise RuleRefused(use.rule.code, verdict.reason)
            fired, reason = "veto", verdict.reason
            clean = {**clean, "rule": use.rule.code, "reason": verdict.reason, "requested": event}
            break

        source = case.state
        try:
            target = _transition(spec, source, fired, spec.guard_kwargs(fired, facts))
        except TransitionNotAllowed:
            raise EventNotAllowed(
                f"当前状态「{spec.state_label(source)}」不能执行「{ev.label}」", allowed
            ) from None
        commands = spec.effects(
            EffectContext(
                event=fired,
                source=source,
                target=target,
                payload=clean,
                facts=facts,
                case_id=case.id,
                applicant_id=case.applicant_id,
                unit_ids=self._unit_ids(ctx),
            )
        )
        if spec.events[fired].decision and fired != "veto" and actor.person_id is not None:
            ctx.data["decisions"] = int(ctx.data.get("decisions", 0)) + 1
        seated = self._apply(conn, ctx, commands, clean, target)
        on_record = {k: v for k, v in clean.items() if k not in spec.events[fired].sealed}
        version = self._commit(
            conn,
            case,
            actor,
            now,
            fired,
            target,
            ctx.data,
            on_record,
            key,
            source_state=source,
            quota=_quota_command(commands),
        )
        if target != source:
            ctx.data.pop("pending_decision", None)
            ctx.data.pop("signatures", None)
            self._close_tasks(conn, case.id, actor, now, waiting=bool(ctx.waiting))
            resume = any(isinstance(c, ResumeWindow) for c in commands)
            self._open_tasks(conn, ctx, spec.states[target], case.id, seated, resume=resume)
        self._notify_transition(conn, ctx, spec, fired, source, target, clean, now)
        return FireResult(case.id, spec.name, fired, source, target, version, reason=reason)

    def _load_case(
        self,
        conn: Connection,
        case_id: int,
        actor: Actor,
        expected_version: int,
        *,
        public: bool | Callable[[str], bool],
    ) -> Any:
        """The case row, locked, if the actor may see it (or the event is open to the public:
        ``public`` may depend on the process, known only once the row is read)."""
        # The row lock (PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers) makes
        # every read below fresh: a concurrent writer waits here, then sees the new version.
        case = HOT.load_case.one_or_none(conn, {"case_id": case_id})
        if case is not None and callable(public):
            public = public(case.process)
        # Out of scope looks exactly like absent: no hint that the case exists.
        if case is None or not (public or self._visible(conn, case, actor)):
            raise NotFound("案件不存在")
        if case.version != expected_version:
            raise Conflict(
                f"案件已被他人更新（当前版本{case.version}，您提交的版本{expected_version}），"
                "请刷新后重试"
            )
        return case

    @staticmethod
    def _visible(conn: Connection, case: Any, actor: Actor) -> bool:
        """Officers see their subtree, applicants their own case, experts, signers and copy
        recipients the cases they were handed (including those already done)."""
        if actor.sees(case.org_path):
            return True
        if actor.person_id is None:
            return False
        if actor.person_id == case.applicant_id:
            return True
        found = HOT.handed.all(conn, {"case_id": case.id, "person_id": actor.person_id})
        return bool(found)

    def _context(
        self, conn: Connection, case: Any, spec: ProcessSpec, actor: Actor, now: dt.datetime
    ) -> _Ctx:
        rows = HOT.units.all(conn, unit_params(case.org_path))
        units = {r.tier: _Unit(*r) for r in rows}
        tasks = HOT.open_tasks.all(conn, {"case_id": case.id})
        waiting = [t for t in tasks if t.status == "waiting"]
        return _Ctx(
            case=case,
            spec=spec,
            actor=actor,
            now=now,
            today=local_date(now),
            units=units,
            policy=policy_for(spec, units["province"].settings),
            open_tasks=[t for t in tasks if t.status == "open"],
            data=dict(case.data),
            waiting=waiting,
        )

    def _unit_ids(self, ctx: _Ctx) -> dict[str, int]:
        out: dict[str, int] = {}
        for alias in {s.actor.officer for s in ctx.spec.states.values() if s.actor} - {None}:
            assert alias is not None
            try:
                out[alias] = ctx.unit_for(alias).id
            except KeyError:  # an alias that needs data the case does not have yet
                continue
        return out

    @staticmethod
    def _may_take(actor: Actor, task: Any) -> bool:
        if task.assignee_id is not None:
            return bool(actor.person_id == task.assignee_id)
        return actor.holds(task.role, task.org_unit_id)

    def _authorize(self, ctx: _Ctx, ev: EventSpec, by: By | None) -> None:
        actor, case = ctx.actor, ctx.case
        if by is None:
            raise PermissionDenied(f"「{ev.label}」不能在此状态执行")
        if by.public:
            return
        if actor.holds(SYSTEM) and (by.system or ev.by is STATE_ACTOR):
            return
        if by.applicant:
            if actor.person_id is None or actor.person_id != case.applicant_id:
                raise PermissionDenied(f"只有申报人本人可以{ev.label}")
            return
        if by.panel:
            if not any(
                t.assignee_id == actor.person_id and t.role == REVIEW_EXPERT for t in ctx.open_tasks
            ):
                raise PermissionDenied("您不是本案评审委员会的评委，或已投票")
            return
        if by.officer:
            unit = ctx.unit_for(by.officer)
            role = OFFICER_OF_TIER[unit.tier]
            if not actor.holds(role, unit.id):
                raise PermissionDenied(
                    f"「{ev.label}」须由本案所属{_unit_word(unit)}的人事干部办理"
                )
            named = [
                t.assignee_id
                for t in ctx.open_tasks
                if t.kind == "act" and t.role == role and t.assignee_id is not None
            ]
            if named and actor.person_id not in named:
                raise PermissionDenied("此待办已转交他人办理")
            return
        raise PermissionDenied(f"您无权{ev.label}")

    # --- facts ------------------------------------------------------------------------------
    def _facts(self, conn: Connection, ctx: _Ctx, needs: frozenset[str]) -> Facts:
        case = ctx.case
        teacher = quota = panel = None
        window_due = None
        if "teacher" in needs or "quota" in needs:
            teacher = self._teacher_facts(conn, case.subject_id)
        if "quota" in needs:
            quota = self._quota_facts(conn, ctx, str(ctx.data["target_title"]))
        if "panel" in needs:
            seats = HOT.panel.all(conn, {"case_id": case.id})
            counts = {c: sum(1 for s in seats if s.choice == c) for c in ("yes", "no", "abstain")}
            mine = [s for s in seats if s.expert_id == ctx.actor.person_id]
            panel = PanelFacts(
                drawn=len(seats),
                yes=counts["yes"],
                no=counts["no"],
                abstain=counts["abstain"],
                my_choice=mine[0].choice if mine else None,
                seated=bool(mine),
            )
        if "window" in needs:
            window_due = next((t.due_on for t in ctx.open_tasks if t.kind == "window"), None)
        extra: dict[str, Any] = {}
        if "applicant" in needs:
            extra = self._applicant_facts(conn, case.id)
        return Facts(
            today=ctx.today,
            data=ctx.data,
            policy=ctx.policy,
            state=case.state,
            teacher=teacher,
            quota=quota,
            panel=panel,
            window_due=window_due,
            extra=extra,
        )

    @staticmethod
    def _applicant_facts(conn: Connection, case_id: int) -> dict[str, Any]:
        """A recruitment applicant and the post they applied for, as the rules read them."""
        row = conn.execute(eligibility_rows().where(applicants_t.c.case_id == case_id)).one()
        candidate, post = candidate_and_post(row)
        return {"candidate": candidate, "post": post}

    def _teacher_facts(self, conn: Connection, person_id: int) -> TeacherFacts:
        rows = HOT.teacher.all(conn, {"person_id": person_id})
        if not rows:
            raise NotFound("教师档案不存在")
        r = rows[0]
        return TeacherFacts(
            person_id=r.person_id,
            name=r.name,
            school_id=r.school_id,
            school_is_rural=r.is_rural,
            school_is_weak=r.is_weak,
            subject=r.subject,
            title=r.title,
            title_date=r.title_date,
            education=r.education,
            rural_years=r.rural_years,
            birth_date=r.birth_date,
            ethics_dates=tuple(x.occurred_on for x in rows if x.occurred_on is not None),
        )

    def _quota_facts(self, conn: Connection, ctx: _Ctx, title: str) -> QuotaFacts:
        """Free posts and those already held, with the quota row locked (PostgreSQL) so two
        officers recommending at once cannot both take the last post."""
        case = ctx.case
        where = {"unit": case.org_unit_id, "year": case.year}
        posts = conn.execute(QUOTA_POSTS, {**where, "title": title}).scalar()
        used = conn.execute(
            QUOTA_USED, {**where, "key": f"title:{title}", "case_id": case.id}
        ).scalar_one()
        return QuotaFacts(title=title, posts=int(posts or 0), used=int(used))

    # --- effects ----------------------------------------------------------------------------
    def _apply(
        self,
        conn: Connection,
        ctx: _Ctx,
        commands: Sequence[Command],
        payload: dict[str, Any],
        target: str,
    ) -> list[int]:
        """Carry out a process's effect commands; returns the experts seated, if any."""
        seated: list[int] = []
        for cmd in commands:
            if isinstance(cmd, SetData):
                ctx.data.update(cmd.patch)
            elif isinstance(cmd, UpdateTeacher):
                conn.execute(
                    update(teachers_t)
                    .where(teachers_t.c.person_id == ctx.case.subject_id)
                    .values(**cmd.fields)
                )
            elif isinstance(cmd, DrawPanel):
                seated = self._draw_panel(conn, ctx, cmd, payload)
            elif isinstance(cmd, RecordVote):
                who = {"v_case": ctx.case.id, "v_person": ctx.actor.person_id, "v_now": ctx.now}
                HOT.cast_vote.run(conn, {**who, "v_choice": cmd.choice})
                HOT.close_expert_task.run(conn, who)
            elif isinstance(cmd, SuspendWindow):
                due = next((t.due_on for t in ctx.open_tasks if t.kind == "window"), None)
                left = (
                    self.calendar(conn).working_days_between(ctx.today, due)
                    if due is not None
                    else 0
                )
                ctx.data["window_days_left"] = left
                payload["window_days_left"] = left
            elif isinstance(cmd, (ResumeWindow, HoldQuota)):
                continue  # applied when the new state's tasks open / the case row is written
        if target == "committee" and ctx.case.state != "committee" and not seated:
            raise AssertionError("committee entered without a panel")
        if ctx.case.state == "committee" and target != "committee":
            tally = HOT.panel.all(conn, {"case_id": ctx.case.id})
            # The sitting is over: its votes become part of the record.
            payload["votes"] = {str(s.expert_id): s.choice for s in tally}
        return seated

    def _draw_panel(
        self, conn: Connection, ctx: _Ctx, cmd: DrawPanel, payload: dict[str, Any]
    ) -> list[int]:
        """Seat experts at random from the subject pool, recusing the applicant's school.

        The pool and the seed go into the audit event, so an inspector can redraw the panel
        and get the same experts.
        """
        rows = conn.execute(EXPERT_POOL, {"unit": cmd.unit_id, "subject": cmd.subject}).all()
        pool = sorted(
            {
                r.person_id
                for r in rows
                if r.person_id != cmd.recuse_person_id
                and (cmd.recuse_school_id is None or r.school_id != cmd.recuse_school_id)
            }
        )
        recused = len({r.person_id for r in rows}) - len(pool)
        if len(pool) < cmd.size:
            raise RuleRefused(
                "panel_pool",
                f"{cmd.subject}学科评委库人数不足：需抽取{cmd.size}人，回避{recused}人后仅有"
                f"{len(pool)}人可抽取",
            )
        seed = secrets.randbits(63)
        chosen = sorted(random.Random(seed).sample(pool, cmd.size))
        conn.execute(insert(seats_t), [{"case_id": ctx.case.id, "expert_id": p} for p in chosen])
        payload["panel"] = {"pool": pool, "seed": seed, "seated": chosen, "recused": recused}
        return chosen

    # --- writing ----------------------------------------------------------------------------
    def _commit(
        self,
        conn: Connection,
        case: Any,
        actor: Actor,
        now: dt.datetime,
        event: str,
        target: str,
        data: Mapping[str, Any],
        payload: Mapping[str, Any],
        key: str | None,
        *,
        source_state: str | None = None,
        quota: HoldQuota | None = None,
        bump: bool = True,
    ) -> int:
        """Write the case row (version-checked) and its audit event; returns the version.

        ``bump=False`` is for annotations (comments, copies, attachments): they extend the
        trail without moving the version, so nobody's open approval goes stale because of them.
        """
        version = int(case.version) + (1 if bump else 0)
        seq = int(case.seq) + 1
        source = source_state or case.state
        head = self._append_audit(
            conn,
            case.id,
            seq,
            version,
            case.audit_head,
            now,
            actor,
            event,
            source,
            target,
            canonical(payload),
            key,
        )
        moved = HOT.write_case.run(
            conn,
            {
                "p_id": case.id,
                "p_seq": case.seq,
                "p_state": target,
                "p_data": dict(data),
                "p_version": version,
                "p_new_seq": seq,
                "p_head": head,
                "p_now": now,
                "p_closed": now if self._is_final(case.process, target) else case.closed_at,
                "p_quota": quota.key if quota is not None else case.quota_key,
            },
        )
        if moved != 1:
            raise Conflict("案件已被他人同时更新，请刷新后重试")
        return version

    @staticmethod
    def _append_audit(
        conn: Connection,
        case_id: int,
        seq: int,
        version: int,
        prev_hash: str,
        now: dt.datetime,
        actor: Actor,
        event: str,
        source: str | None,
        target: str,
        payload: str,
        key: str | None,
    ) -> str:
        """Append one event to a case's chain; returns its hash, the chain's new head."""
        head = event_hash(
            prev_hash,
            case_id=case_id,
            seq=seq,
            at=now,
            actor_id=actor.person_id,
            actor_label=actor.label,
            event=event,
            from_state=source,
            to_state=target,
            payload=payload,
        )
        HOT.audit.run(
            conn,
            {
                "case_id": case_id,
                "seq": seq,
                "version": version,
                "at": now,
                "actor_id": actor.person_id,
                "actor_label": actor.label,
                "event": event,
                "from_state": source,
                "to_state": target,
                "payload": payload,
                "idempotency_key": key,
                "prev_hash": prev_hash,
                "hash": head,
            },
        )
        return head

    def _is_final(self, process: str, state: str) -> bool:
        return bool(getattr(self.processes[process].machine, state).final)

    def _close_tasks(
        self,
        conn: Connection,
        case_id: int,
        actor: Actor,
        now: dt.datetime,
        *,
        waiting: bool = True,
    ) -> None:
        """Leaving a state ends its work: open tasks are done, signers still waiting are
        no longer needed."""
        HOT.close_tasks.run(conn, {"p_case": case_id, "p_now": now, "p_by": actor.person_id})
        if waiting:
            conn.execute(CANCEL_WAITING, {"p_case": case_id, "p_now": now})

    def _open_tasks(
        self,
        conn: Connection,
        ctx: _Ctx,
        state: StateSpec,
        case_id: int,
        seated: Sequence[int],
        *,
        resume: bool = False,
    ) -> None:
        by = state.actor
        if by is None:
            return
        days = state.deadline_days
        if resume:
            days = int(ctx.data.get("window_days_left", 0))
        due, flag = (None, None)
        if days is not None:
            due, flag = self._due(conn, ctx.today, days) if days > 0 else (ctx.today, None)
        base = {
            "case_id": case_id,
            "state": state.name,
            "kind": "window" if state.window else "act",
            "opened_on": ctx.today,
            "due_on": due,
            "due_flag": flag,
            "status": "open",
            "opened_at": ctx.now,
            "remind_level": 0,
        }
        rows: list[dict[str, Any]] = []
        if by.officer:
            unit = ctx.unit_for(by.officer)
            rows.append(
                {
                    **base,
                    "role": OFFICER_OF_TIER[unit.tier],
                    "org_unit_id": unit.id,
                    "assignee_id": None,
                }
            )
        elif by.applicant:
            rows.append(
                {
                    **base,
                    "role": TEACHER,
                    "org_unit_id": ctx.case.org_unit_id,
                    "assignee_id": ctx.case.applicant_id,
                }
            )
        elif by.system:
            rows.append({**base, "role": SYSTEM, "org_unit_id": None, "assignee_id": None})
        if seated:
            unit_id = self._unit_ids(ctx).get("organizer")
            rows.extend(
                {**base, "role": REVIEW_EXPERT, "org_unit_id": unit_id, "assignee_id": p}
                for p in seated
            )
        if len(rows) == 1:
            HOT.task.run(conn, rows[0])
        elif rows:
            conn.execute(INSERT_TASKS, rows)
        if rows:
            for r in rows:
                # Nobody needs telling about work they just handed themselves.
                own = r["assignee_id"] is not None and r["assignee_id"] == ctx.actor.person_id
                if r["kind"] == "act" and not own:
                    self._notify(
                        conn,
                        case_id,
                        ctx.now,
                        "task_assigned",
                        r["assignee_id"],
                        r["role"],
                        None if r["assignee_id"] else r["org_unit_id"],
                        {
                            "case_id": case_id,
                            "process": ctx.spec.name,
                            "state": state.name,
                            "due_on": due.isoformat() if due else None,
                        },
                    )

    def _notify_transition(
        self,
        conn: Connection,
        ctx: _Ctx,
        spec: ProcessSpec,
        event: str,
        source: str,
        target: str,
        payload: Mapping[str, Any],
        now: dt.datetime,
    ) -> None:
        applicant = ctx.case.applicant_id
        if source == target:
            return
        body: dict[str, Any] = {
            "case_id": ctx.case.id,
            "process": spec.name,
            "event": event,
            "from": source,
            "to": target,
        }
        if payload.get("reason"):
            body["reason"] = payload["reason"]
        if spec.opened_by == "public":
            # A registrant has no account: the notice goes to the mobile they confirmed.
            contact = applicant_contacts(conn, [ctx.case.id]).get(ctx.case.id)
            if contact is not None:
                body["name"], body["phone"] = contact
                self._notify(conn, ctx.case.id, now, "case_update", None, None, None, body)
            return
        if applicant is None or applicant == ctx.actor.person_id:
            return
        self._notify(conn, ctx.case.id, now, "case_update", applicant, None, None, body)

    @staticmethod
    def _notify(
        conn: Connection,
        case_id: int,
        now: dt.datetime,
        kind: str,
        person_id: int | None,
        role: str | None,
        unit_id: int | None,
        payload: Mapping[str, Any],
    ) -> None:
        HOT.outbox.run(
            conn,
            {
                "case_id": case_id,
                "kind": kind,
                "recipient_id": person_id,
                "recipient_role": None if person_id else role,
                "recipient_unit_id": unit_id,
                "payload": dict(payload),
                "created_at": now,
                "status": "pending",
            },
        )

    # --- idempotency ------------------------------------------------------------------------
    def _replay(self, conn: Connection, case_id: int, event: str, key: str) -> FireResult | None:
        row = conn.execute(
            select(audit_t).where(
                and_(audit_t.c.case_id == case_id, audit_t.c.idempotency_key == key)
            )
        ).one_or_none()
        if row is None:
            return None
        requested = row.event
        if row.event == "veto":
            requested = _json_field(row.payload, "requested") or row.event
        if requested != event:
            raise FormError("Idempotency-Key", "该幂等键已用于本案的另一操作，请使用新的幂等键")
        process = conn.execute(
            select(cases_t.c.process).where(cases_t.c.id == case_id)
        ).scalar_one()
        return FireResult(case_id, process, row.event, row.from_state, row.to_state, row.seq, True)


def _json_field(text: str, name: str) -> str | None:
    value = json.loads(text).get(name)
    return None if value is None else str(value)


def _quota_command(commands: Sequence[Command]) -> HoldQuota | None:
    found = [c for c in commands if isinstance(c, HoldQuota)]
    return found[-1] if found else None


def _unit_word(unit: _Unit) -> str:
    return {
        "school": "学校",
        "county": "县（区）教育局",
        "city": "市教育局",
        "province": "省教育厅",
    }[unit.tier]


__all__ = ["BulkResult", "CaseEngine", "FireResult", "Move", "RenshiError"]
