"""Monthly check-ins (月度考勤) of teachers on site, and the end of a term.

No case per check-in: a month is a row of ``support_checkins`` with a task of the term's
``on_site`` state for the receiving school's personnel officer, due five working days (the
policy's ``checkin_due_days``) after the month ends. The generic sweeps do the rest — the
reminder before the deadline, the escalation of a missing one to the unit above the school,
once — because the task is the state's. The school files a month with the term's
``check_in`` event (its rule: a month of the term, begun, opened and not yet filed); leaving
the site closes the tasks (the engine) and a month left unfiled past its deadline is missed.

``open_checkins`` is the scheduled check ``support-checkins``, a monthly deployment of its
own (the 1st, 6:30; a missed month is opened by the next run): set-based, it opens every
month from the dispatch month up to the current one that an on-site term does not have yet —
per month one
INSERT … SELECT of task rows in ``task_row``'s shape, then one of the check-in rows naming
them — and tells each receiving school once. Each term remembers the last month opened
(``checkins_through``), so a run reads only the months after it. Run twice, the second finds
nothing; run at once on PostgreSQL, the unique (term, month) keeps one month and the other
run, rolled back whole, looks again and reports the race.

A filed month may be corrected by the receiving school until the term is assessed: the term's
``correct_checkin`` event (``correct`` here, for the pages and the API) with the values that
change and a reason; its effect rewrites the month and keeps the old values beside the new
(on the audit row, and a row of ``support_checkin_corrections`` the lists show).

``end_terms`` is the scheduled check ``support_term_end``: a term whose end date has passed
ends (``end_term``) once its last month is filed or past its deadline; a term about to end
reminds the teacher and the approver once per end date.

Rows: ``CheckinRow(id, term_case_id, version, term_state, teacher_id, teacher, month,
month_label, due_on, status, status_label, task_id, attendance_days, teaching_hours,
assessment, submitted_at, receiving_school_id, receiving_school, corrections)``; ``term_id``
is ``term_case_id``, ``correctable`` whether the school may still correct it;
``Correction(id, checkin_id, month_label, before, after, reason, corrected_at, by)``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    bindparam,
    case,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from states.calendar import UnknownCalendarYear
from states.clock import local_date
from states.engine import CaseEngine, DueStep, FireResult
from states.engine.effects import EffectScope
from states.engine.outbox import notice, send_many
from states.engine.statements import TASK_COLUMNS, tasks_t
from states.engine.tasks import Due, task_row
from states.errors import Conflict, NotFound, RuleRefused
from states.org import SCHOOL_OFFICER, SCOPE_ROLES, SYSTEM, Actor
from states.process.spec import policy_for
from states.processes.support_teaching.machine import TERM, TermMachine
from states.processes.support_teaching.rules import (
    CORRECTED,
    CORRECTED_LABELS,
    add_months,
    month_end,
    month_of,
    months_between,
    parse_month,
    ym,
)
from states.processes.support_teaching.spec import (
    CHECKIN_DUE_NOTICE,
    TERM_SPEC,
    CorrectCheckin,
    RecordCheckin,
    ReopenCheckins,
)
from states.processes.support_teaching.tables import (
    SupportCheckin,
    SupportCheckinCorrection,
    SupportTerm,
)
from states.registry.service import ASSESSMENTS
from states.store.models import Case, OrgUnit, Person, table_of

log = logging.getLogger(__name__)

terms_t, checkins_t = table_of(SupportTerm), table_of(SupportCheckin)
corrections_t = table_of(SupportCheckinCorrection)
cases_t, units_t, people_t = table_of(Case), table_of(OrgUnit), table_of(Person)
ON_SITE = "on_site"
STATUS_LABELS = {"open": "待填报", "submitted": "已填报", "missed": "未填报"}
CHUNK = 5000


def _policy(conn: Connection) -> Mapping[str, Any]:
    settings = conn.execute(
        select(units_t.c.settings).where(units_t.c.tier == "province").order_by(units_t.c.id)
    ).scalar()
    return policy_for(TERM_SPEC, settings)


def _due(engine: Any, conn: Connection, month: dt.date, days: int) -> Due:
    """A month's deadline: ``days`` working days after its last day."""
    due: Due = engine.deadlines.due(conn, month_end(month), days)
    return due


# --- the sweep --------------------------------------------------------------------------------
def open_checkins(engine: Any) -> dict[str, int]:
    """Open the check-ins on-site terms lack, up to the current month; see the module."""
    try:
        return _open(engine)
    except (IntegrityError, Conflict):
        # another run opened some of the same months at the same moment and committed
        # first: everything of this run was rolled back; what is still missing is opened now
        log.warning("support check-ins: a concurrent run opened the same months first")
        return {**_open(engine), "raced": 1}


def _open(engine: Any) -> dict[str, int]:
    now = engine.clock.now()
    today = local_date(now)
    current = month_of(today)
    on_site = and_(cases_t.c.process == TERM, cases_t.c.state == ON_SITE)
    behind = or_(terms_t.c.checkins_through.is_(None), terms_t.c.checkins_through < current)
    # receiving school -> month -> check-ins opened
    opened: dict[int, dict[dt.date, int]] = {}
    dues: dict[dt.date, Due] = {}
    with engine.db.begin() as conn:
        days = int(_policy(conn)["checkin_due_days"])
        reopened = _retask(conn, on_site, days, today, now)
        first = _first_month(conn, on_site, current)
        if first is None:
            return {"reopened": reopened} if reopened else {}
        start = _last_task(conn)
        for month in months_between(first, today):
            due = dues[month] = engine.deadlines.due(conn, month_end(month), days)
            lacking = (
                select(terms_t.c.case_id, cases_t.c.org_unit_id)
                .join(cases_t, cases_t.c.id == terms_t.c.case_id)
                .where(
                    on_site,
                    behind,
                    terms_t.c.dispatched_on <= month_end(month),
                    terms_t.c.ends_on >= month,
                    or_(
                        terms_t.c.checkins_through.is_(None),
                        terms_t.c.checkins_through < month,
                    ),
                    ~exists().where(
                        checkins_t.c.term_case_id == terms_t.c.case_id,
                        checkins_t.c.month == month,
                    ),
                )
            )
            # a deadline the calendar cannot give yet (its year not loaded) is worked out
            # later by the deadline sweep from the task's ``opened_on`` and days: the
            # month's end
            template = task_row(
                None, ON_SITE, kind="act", role=SCHOOL_OFFICER, unit_id=None, assignee_id=None,
                opened_on=today if due[0] is not None else month_end(month), due=due,
                opened_at=now, days=days,
            )  # fmt: skip
            before = _last_task(conn)
            conn.execute(_insert_tasks(lacking, template))
            made = _made(template, before)
            _checkins_for(conn, made, month)
            for school, n in conn.execute(
                select(tasks_t.c.org_unit_id, func.count())
                .where(made)
                .group_by(tasks_t.c.org_unit_id)
            ).tuples():
                opened.setdefault(int(school), {})[month] = int(n)
        # every on-site term is now opened through this month
        conn.execute(
            update(terms_t)
            .where(behind, terms_t.c.case_id.in_(select(cases_t.c.id).where(on_site)))
            .values(checkins_through=current)
        )
        if opened:
            _tell(conn, opened, _teachers(conn, opened, start, now), dues, now)
    done = {"reopened": reopened} if reopened else {}
    if opened:
        done.update(opened=sum(sum(m.values()) for m in opened.values()), schools=len(opened))
    return done


def _last_task(conn: Connection) -> int:
    """The highest task id anyone has written so far: every task this run writes after it
    has a higher one (a sequence only grows)."""
    return int(conn.execute(select(func.max(tasks_t.c.id))).scalar() or 0)


def _made(template: Mapping[str, Any], after: int) -> Any:
    """The tasks this run just wrote from ``template``: after ``after``, with the template's
    moment, day and deadline (another transaction's rows there are either not visible yet
    or another kind of task; a concurrent sweep's would collide on the month, and that run
    starts again)."""
    due = tasks_t.c.due_on
    return and_(
        tasks_t.c.id > after,
        tasks_t.c.opened_at == template["opened_at"],
        tasks_t.c.opened_on == template["opened_on"],
        tasks_t.c.state == ON_SITE,
        tasks_t.c.kind == "act",
        due.is_(None) if template["due_on"] is None else due == template["due_on"],
    )


def _checkins_for(conn: Connection, made: Any, month: dt.date) -> None:
    """The month's check-in rows, one per task just made, in one INSERT … SELECT."""
    source = select(
        tasks_t.c.case_id,
        literal(month, checkins_t.c.month.type),
        tasks_t.c.due_on,
        tasks_t.c.id,
        literal("open", checkins_t.c.status.type),
    ).where(made)
    conn.execute(
        insert(checkins_t).from_select(
            ["term_case_id", "month", "due_on", "task_id", "status"], source
        )
    )


def _teachers(
    conn: Connection, opened: Mapping[int, Mapping[dt.date, int]], after: int, now: dt.datetime
) -> dict[int, int]:
    """How many teachers each school has check-ins opened for (one month: as many as
    check-ins; several months: each teacher once)."""
    if all(len(months) == 1 for months in opened.values()):
        return {school: next(iter(months.values())) for school, months in opened.items()}
    found = conn.execute(
        select(tasks_t.c.org_unit_id, func.count(func.distinct(tasks_t.c.case_id)))
        .where(
            tasks_t.c.id > after,
            tasks_t.c.opened_at == now,
            tasks_t.c.state == ON_SITE,
            tasks_t.c.kind == "act",
        )
        .group_by(tasks_t.c.org_unit_id)
    ).tuples()
    return {int(school): int(n) for school, n in found}


def _first_month(conn: Connection, on_site: Any, current: dt.date) -> dt.date | None:
    """The earliest month an on-site term still lacks: its dispatch month for a term the
    sweep has not seen, the month after the last one opened for the others (one pass)."""
    through = terms_t.c.checkins_through
    never, last = conn.execute(
        select(
            func.min(case((through.is_(None), terms_t.c.dispatched_on))),
            func.min(case((through < current, through))),
        )
        .join(cases_t, cases_t.c.id == terms_t.c.case_id)
        .where(on_site)
    ).one()
    found = [m for m in (never, add_months(last, 1) if last else None) if m is not None]
    return month_of(min(found)) if found else None


def _insert_tasks(lacking: Any, template: Mapping[str, Any]) -> Any:
    """One task per row of ``lacking`` (case_id, org_unit_id), the rest of each row the
    template's (``task_row``'s shape): one INSERT … SELECT."""
    rows = lacking.subquery("lacking")
    fixed = [k for k in TASK_COLUMNS if k not in ("case_id", "org_unit_id")]
    source = select(
        rows.c.case_id,
        rows.c.org_unit_id,
        *(literal(template[k], type_=tasks_t.c[k].type).label(k) for k in fixed),
    )
    return insert(tasks_t).from_select(["case_id", "org_unit_id", *fixed], source)


def _retask(conn: Connection, on_site: Any, days: int, today: dt.date, now: dt.datetime) -> int:
    """Months left open without a task (a term back on site after a refused termination)
    handed to the receiving school again, with their own deadlines, month by month."""
    orphan = and_(checkins_t.c.task_id.is_(None), checkins_t.c.status == "open", on_site)
    months = conn.execute(
        select(checkins_t.c.month, func.min(checkins_t.c.due_on))
        .join(cases_t, cases_t.c.id == checkins_t.c.term_case_id)
        .where(orphan)
        .group_by(checkins_t.c.month)
    ).all()
    count = 0
    for month, due in months:
        lacking = (
            select(checkins_t.c.term_case_id.label("case_id"), cases_t.c.org_unit_id)
            .join(cases_t, cases_t.c.id == checkins_t.c.term_case_id)
            .where(orphan, checkins_t.c.month == month)
        )
        template = task_row(
            None, ON_SITE, kind="act", role=SCHOOL_OFFICER, unit_id=None, assignee_id=None,
            opened_on=today, due=(due, None), opened_at=now, days=days,
        )  # fmt: skip
        made = conn.execute(
            _insert_tasks(lacking, template).returning(tasks_t.c.id, tasks_t.c.case_id)
        ).all()
        conn.execute(
            update(checkins_t)
            .where(
                checkins_t.c.term_case_id == bindparam("c_case"),
                checkins_t.c.month == month,
            )
            .values(task_id=bindparam("t_id")),
            [{"c_case": term, "t_id": task} for task, term in made],
        )
        count += len(made)
    return count


def _tell(
    conn: Connection,
    opened: Mapping[int, Mapping[dt.date, int]],
    teachers: Mapping[int, int],
    dues: Mapping[dt.date, Due],
    now: dt.datetime,
) -> None:
    """One notice per receiving school: how many of its teachers, which months, by when."""
    ids = sorted(opened)
    names: dict[int, str] = {}
    for i in range(0, len(ids), CHUNK):
        names.update(
            conn.execute(
                select(units_t.c.id, units_t.c.name).where(units_t.c.id.in_(ids[i : i + CHUNK]))
            )
            .tuples()
            .all()
        )
    notices = []
    for school, by_month in opened.items():
        months = sorted(by_month)
        when = ym(months[0]) if len(months) == 1 else f"{ym(months[0])}至{ym(months[-1])}"
        due = min((d for m in months if (d := dues[m][0]) is not None), default=None)
        payload = {
            "support_school": names.get(school, ""),
            "support_detail": f"{teachers.get(school, 0)}名支教教师{when}的月度考勤待填报",
            "support_date": due.isoformat() if due is not None else "",
        }
        notices.append(
            notice(None, CHECKIN_DUE_NOTICE, now, payload, role=SCHOOL_OFFICER, unit_id=school)
        )
    send_many(conn, notices)


# --- filing a month ---------------------------------------------------------------------------
def record_checkin(scope: EffectScope, cmd: RecordCheckin) -> None:
    """The month filed and its task done (the case row is locked: two filings queue and the
    second finds the month filed)."""
    conn, ctx = scope.conn, scope.ctx
    month = parse_month(scope.record["month"])
    row = conn.execute(
        select(checkins_t.c.id, checkins_t.c.task_id).where(
            checkins_t.c.term_case_id == ctx.case.id,
            checkins_t.c.month == month,
            checkins_t.c.status == "open",
        )
    ).one()
    conn.execute(
        update(checkins_t)
        .where(checkins_t.c.id == row.id)
        .values(
            status="submitted", attendance_days=int(scope.record["attendance_days"]),
            teaching_hours=int(scope.record["teaching_hours"]),
            assessment=str(scope.record["assessment"]), submitted_at=ctx.now,
            submitted_by=ctx.actor.person_id,
        )
    )  # fmt: skip
    if row.task_id is not None:
        conn.execute(
            update(tasks_t)
            .where(tasks_t.c.id == row.task_id, tasks_t.c.status == "open")
            .values(status="done", closed_at=ctx.now, closed_by=ctx.actor.person_id)
        )
    scope.record["checkin_id"] = int(row.id)


# --- correcting a filed month -------------------------------------------------------------------
# The term states in which a filed month may still be corrected: until the assessment.
CORRECTABLE = frozenset(
    s for s in TERM_SPEC.states if "correct_checkin" in TERM_SPEC.allowed_events(s)
)


def correct_checkin(scope: EffectScope, cmd: CorrectCheckin) -> None:
    """The month's values replaced by those given that differ; the old ones on the audit
    row (``before``) and, with the new, on a row of ``support_checkin_corrections``."""
    conn, ctx, record = scope.conn, scope.ctx, scope.record
    month = parse_month(record["month"])
    row = conn.execute(
        select(checkins_t).where(
            checkins_t.c.term_case_id == ctx.case.id,
            checkins_t.c.month == month,
            checkins_t.c.status == "submitted",
        )
    ).one()
    was = {k: getattr(row, k) for k in CORRECTED}
    changed = {k: record[k] for k in CORRECTED if k in record and record[k] != was[k]}
    for k in CORRECTED:  # a value given unchanged is no part of the correction
        if k in record and k not in changed:
            del record[k]
    conn.execute(update(checkins_t).where(checkins_t.c.id == row.id).values(**changed))
    now = {**was, **changed}
    correction_id = conn.execute(
        insert(corrections_t)
        .values(
            checkin_id=row.id, term_case_id=ctx.case.id,
            was_attendance_days=was["attendance_days"], was_teaching_hours=was["teaching_hours"],
            was_assessment=was["assessment"], attendance_days=now["attendance_days"],
            teaching_hours=now["teaching_hours"], assessment=now["assessment"],
            reason=str(record["reason"]), corrected_at=ctx.now,
            corrected_by=ctx.actor.person_id,
        )
        .returning(corrections_t.c.id)
    ).scalar_one()  # fmt: skip
    record.update(
        before={k: was[k] for k in changed}, checkin_id=int(row.id),
        correction_id=int(correction_id),
    )  # fmt: skip


def correct(
    engine: CaseEngine,
    actor: Actor,
    term_id: int,
    form: Mapping[str, Any],
    *,
    expected_version: int,
    idempotency_key: str | None = None,
) -> FireResult:
    """The receiving school corrects a filed month (the term's ``correct_checkin``). A term
    already assessed is refused naming the month, in words a school understands rather
    than the engine's "no such step"."""
    with engine.db.connect() as conn:
        case = engine.ensure_visible(conn, term_id, actor)
        if case.process != TERM:
            raise NotFound("支教事项不存在")
        grade = conn.execute(
            select(terms_t.c.assessment).where(terms_t.c.case_id == term_id)
        ).scalar()
    if case.state not in CORRECTABLE and grade:
        raise RuleRefused(
            "checkin_correctable",
            f"支教事项{term_id}已完成期满考核（{ASSESSMENTS.get(grade, grade)}），"
            "月度考勤不能再更正",
            field="month",
        )
    return engine.fire(
        term_id, "correct_checkin", actor, dict(form), expected_version=expected_version,
        idempotency_key=idempotency_key,
    )  # fmt: skip


def reopen_checkins(scope: EffectScope, cmd: ReopenCheckins) -> None:
    """Back on site after a refused termination: the months still open lost their tasks when
    the term left the site; marked here, they are handed to the receiving school again by
    the next check-in sweep (a state's own tasks are the engine's to open, and the site has
    none)."""
    scope.conn.execute(
        update(checkins_t)
        .where(checkins_t.c.term_case_id == scope.ctx.case.id, checkins_t.c.status == "open")
        .values(task_id=None)
    )


# A month's deadline: its own, or — opened while its year's holidays were not loaded — the one
# the deadline sweep has since given its task.
month_due = func.coalesce(checkins_t.c.due_on, tasks_t.c.due_on)


# --- the end of a term ------------------------------------------------------------------------
def _near(engine: Any, conn: Connection, today: dt.date, ends: dt.date, days: int) -> bool:
    """Whether ``ends`` is within ``days`` working days. In a year whose holidays are not
    loaded the reminder goes early rather than late: calendar days at seven for five."""
    if ends <= today:
        return True
    try:
        return bool(engine.calendar(conn).working_days_between(today, ends) <= days)
    except UnknownCalendarYear:
        return (ends - today).days <= math.ceil(days * 7 / 5)


def end_terms(engine: Any) -> dict[str, int]:
    """Terms past their end date end (once their last month is filed or past its deadline);
    terms about to end are reminded once per end date. Each through the engine with an
    idempotency key: a re-run does nothing twice."""
    today = local_date(engine.clock.now())
    with engine.db.connect() as conn:
        days = int(_policy(conn)["term_ending_days"])
        horizon = today + dt.timedelta(days=math.ceil(days * 7 / 5) + 14)
        rows = conn.execute(
            select(cases_t.c.id, cases_t.c.version, cases_t.c.data, terms_t.c.ends_on)
            .join(terms_t, terms_t.c.case_id == cases_t.c.id)
            .where(cases_t.c.process == TERM, cases_t.c.state == ON_SITE,
                   terms_t.c.ends_on <= horizon)
            .order_by(cases_t.c.id)
        ).all()  # fmt: skip
        waiting = {
            int(i)
            for i in conn.execute(
                select(checkins_t.c.term_case_id)
                .outerjoin(tasks_t, tasks_t.c.id == checkins_t.c.task_id)
                .where(
                    checkins_t.c.term_case_id.in_([r.id for r in rows if r.ends_on < today]),
                    checkins_t.c.status == "open",
                    month_due >= today,
                )
            ).scalars()
        }
        due = []
        for r in rows:
            if r.ends_on < today:
                if r.id not in waiting:
                    due.append((r.id, r.version, "end_term", r.ends_on))
            elif (r.data or {}).get("reminded_for") != r.ends_on.isoformat() and _near(
                engine, conn, today, r.ends_on, days
            ):
                due.append((r.id, r.version, "remind_term_end", r.ends_on))
    moved = engine.fire_due(
        DueStep(c, v, event, f"support-{event}:{c}:{ends.isoformat()}") for c, v, event, ends in due
    )
    counts = {"ended": moved["end_term"], "reminded": moved["remind_term_end"]}
    return {k: n for k, n in counts.items() if n}


# --- reading ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Correction:
    """One correction of a filed month: what it said before and after, why, who, when."""

    id: int
    checkin_id: int
    month_label: str
    before: Mapping[str, Any]
    after: Mapping[str, Any]
    reason: str
    corrected_at: dt.datetime
    by: str

    @property
    def changes(self) -> str:
        """出勤天数 21→20；表现评价 “按时到岗”→“两天病假”."""

        def show(key: str, value: Any) -> str:
            if value is None:
                return "—"
            return f"“{value}”" if key == "assessment" else str(value)

        return "；".join(
            f"{CORRECTED_LABELS[k]} {show(k, self.before[k])}→{show(k, self.after[k])}"
            for k in CORRECTED
            if self.before[k] != self.after[k]
        )


@dataclass(frozen=True)
class CheckinRow:
    id: int
    term_case_id: int
    version: int
    term_state: str
    teacher_id: int
    teacher: str
    month: dt.date
    month_label: str
    due_on: dt.date | None
    status: str
    status_label: str
    task_id: int | None
    attendance_days: int | None
    teaching_hours: int | None
    assessment: str | None
    submitted_at: dt.datetime | None
    receiving_school_id: int
    receiving_school: str
    correctable: bool = False  # filed, and its term not assessed yet
    corrections: tuple[Correction, ...] = ()  # oldest first

    @property
    def term_id(self) -> int:
        return self.term_case_id


CHECKINS = (
    select(
        checkins_t, cases_t.c.version, cases_t.c.state, terms_t.c.teacher_id,
        terms_t.c.receiving_school_id, people_t.c.name.label("teacher"),
        units_t.c.name.label("receiving_school"), month_due.label("due"),
    )
    .outerjoin(tasks_t, tasks_t.c.id == checkins_t.c.task_id)
    .join(cases_t, cases_t.c.id == checkins_t.c.term_case_id)
    .join(terms_t, terms_t.c.case_id == checkins_t.c.term_case_id)
    .join(people_t, people_t.c.id == terms_t.c.teacher_id)
    .join(units_t, units_t.c.id == terms_t.c.receiving_school_id)
)  # fmt: skip


def _row(r: Any) -> CheckinRow:
    return CheckinRow(
        id=int(r.id), term_case_id=int(r.term_case_id), version=int(r.version),
        term_state=str(getattr(TermMachine, r.state).name), teacher_id=int(r.teacher_id),
        teacher=str(r.teacher), month=r.month, month_label=ym(r.month), due_on=r.due,
        status=str(r.status), status_label=STATUS_LABELS.get(r.status, r.status),
        task_id=r.task_id, attendance_days=r.attendance_days, teaching_hours=r.teaching_hours,
        assessment=r.assessment, submitted_at=r.submitted_at,
        receiving_school_id=int(r.receiving_school_id),
        receiving_school=str(r.receiving_school),
        correctable=r.status == "submitted" and r.state in CORRECTABLE,
    )  # fmt: skip


def _with_corrections(conn: Connection, rows: list[CheckinRow]) -> list[CheckinRow]:
    """Each filed month with its corrections, oldest first (one read for the list)."""
    ids = [c.id for c in rows if c.status == "submitted"]
    found: dict[int, list[Correction]] = {}
    for i in range(0, len(ids), CHUNK):
        for r in conn.execute(
            select(corrections_t, people_t.c.name)
            .outerjoin(people_t, people_t.c.id == corrections_t.c.corrected_by)
            .where(corrections_t.c.checkin_id.in_(ids[i : i + CHUNK]))
            .order_by(corrections_t.c.id)
        ):
            found.setdefault(int(r.checkin_id), []).append(
                Correction(
                    id=int(r.id), checkin_id=int(r.checkin_id), month_label="",
                    before={k: getattr(r, f"was_{k}") for k in CORRECTED},
                    after={k: getattr(r, k) for k in CORRECTED}, reason=str(r.reason),
                    corrected_at=r.corrected_at, by=str(r.name or ""),
                )
            )  # fmt: skip
    if not found:
        return rows
    out = []
    for c in rows:
        made = found.get(c.id)
        if made:
            c = dataclasses.replace(
                c, corrections=tuple(dataclasses.replace(x, month_label=c.month_label)
                                     for x in made),
            )  # fmt: skip
        out.append(c)
    return out


def school_checkins(
    conn: Connection, actor: Actor, school_id: int | None, *, status: str | None = None
) -> list[CheckinRow]:
    """The receiving school's check-ins (``school_id`` None: every school the actor is the
    personnel officer of; ``status``: only those open, say), the open ones first by month,
    then the latest months."""
    if school_id is None:
        schools = [b.unit_id for b in actor.bindings if b.role == SCHOOL_OFFICER]
    else:
        path = conn.execute(select(units_t.c.path).where(units_t.c.id == school_id)).scalar()
        if path is None or not (
            actor.holds(SYSTEM) or any(path.startswith(p) for p in actor.scopes(SCOPE_ROLES))
        ):
            raise NotFound("学校不存在或不在您的管理范围内")
        schools = [school_id]
    if not schools:
        return []
    query = CHECKINS.where(terms_t.c.receiving_school_id.in_(schools))
    if status is not None:
        query = query.where(checkins_t.c.status == status)
    rows = _with_corrections(
        conn,
        [_row(r) for r in conn.execute(query.order_by(checkins_t.c.month.desc(), people_t.c.name))],
    )
    waiting = sorted((c for c in rows if c.status == "open"), key=lambda c: (c.month, c.teacher))
    return waiting + [c for c in rows if c.status != "open"]


def term_checkins(conn: Connection, term_case_id: int) -> list[CheckinRow]:
    """One term's check-ins, month by month (the teacher's page, the case page)."""
    rows = conn.execute(
        CHECKINS.where(checkins_t.c.term_case_id == term_case_id).order_by(checkins_t.c.month)
    )
    return _with_corrections(conn, [_row(r) for r in rows])
