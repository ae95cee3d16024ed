"""A teacher's term (支教) and the records: the day dispatched and the day it ended kept on the
term's row; the publicity's end confirms the selection that opened the term, an upheld
objection withdraws it (撤销选派, the need's place given back, the teacher and the sending
school told); the receiving school's
assessment credits the time served to the service ledger (``states.registry.service``) when
it is competent or better, which title review's rural-experience rule reads. The teacher's
own terms, and the dispatch lists an officer exports (the ID number masked by the declared
visibility).

The teacher stays on the sending school's roster throughout: a support term lends a
teacher, it does not move them.

Rows: ``TermRow(case_id, version, state, state_label, need_id, application_id, teacher_id,
teacher, sending_school_id, sending_school, receiving_school_id, receiving_school, subject,
level, level_label, paired, starts_on, ends_on, dispatched_on, ended_on, ended_early,
assessment, assessment_label, credit_id)``; ``dispatch_list`` gives dicts with the keys of
``DISPATCH_COLUMNS`` plus ``case_id``, ``teacher_id``, ``sending_school_id`` and
``receiving_school_id``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, or_, select, update

from states.engine.effects import EffectScope
from states.engine.outbox import notice, send, send_many
from states.engine.visibility import Viewer, shown_record
from states.org import (
    GENDERS,
    OFFICER_OF_TIER,
    SCHOOL_OFFICER,
    SCOPE_ROLES,
    SYSTEM,
    SYSTEM_ACTOR,
    Actor,
)
from states.process.visibility import Audience
from states.processes.support_teaching.applications import give_back
from states.processes.support_teaching.machine import APPLICATION, TermMachine
from states.processes.support_teaching.rules import LEVELS, cn_date, month_of, span
from states.processes.support_teaching.spec import (
    ASSESSED_NOTICE,
    DISPATCHED_NOTICE,
    REVOKED_NOTICE,
    TERM_ENDING_NOTICE,
    TERM_SPEC,
    TERMINATED_NOTICE,
    ConfirmSelection,
    CreditTerm,
    EndTerm,
    RecordDispatch,
    RevokeSelection,
    TermNotice,
)
from states.processes.support_teaching.tables import SupportCheckin, SupportNeed, SupportTerm
from states.registry import service
from states.store.models import Case, OrgUnit, Person, Teacher, table_of

terms_t, needs_t, checkins_t = (
    table_of(SupportTerm),
    table_of(SupportNeed),
    table_of(SupportCheckin),
)
cases_t, units_t, people_t, teachers_t = (
    table_of(Case), table_of(OrgUnit), table_of(Person), table_of(Teacher)
)  # fmt: skip


def _term(scope: EffectScope) -> Any:
    return scope.conn.execute(select(terms_t).where(terms_t.c.case_id == scope.ctx.case.id)).one()


# --- effects ----------------------------------------------------------------------------------
def _selection(scope: EffectScope) -> Any:
    """The application that opened the term, under its row lock: (id, state, version)."""
    return scope.conn.execute(
        select(cases_t.c.id, cases_t.c.state, cases_t.c.version)
        .where(
            cases_t.c.id == int(scope.ctx.data["application_id"]),
            cases_t.c.process == APPLICATION,
        )
        .with_for_update()
    ).one_or_none()


def confirm_selection(scope: EffectScope, cmd: ConfirmSelection) -> None:
    """Publicity over with no objection upheld: the selection stands (the application
    closes as 已选派)."""
    app = _selection(scope)
    if app is not None and app.state == "selected":
        scope.engine.fire_in(
            scope.conn, int(app.id), "confirm_selection", SYSTEM_ACTOR,
            expected_version=int(app.version),
        )  # fmt: skip


def revoke_selection(scope: EffectScope, cmd: RevokeSelection) -> None:
    """An objection upheld: the application's selection is withdrawn for the officer's
    reason (撤销选派), which gives the need its place back; the teacher and the sending
    school's officers are told once each (``support_revoked``). (An application found in any
    other state has no selection left to withdraw: the place is given back all the same, and
    nobody is told of a withdrawal.)"""
    app = _selection(scope)
    said = f"：{cmd.reason}" if cmd.reason else ""
    reason = f"公示期间异议经核查成立（支教事项{scope.ctx.case.id}）{said}"[:1000]
    if app is None or app.state != "selected":
        give_back(scope.engine, scope.conn, int(scope.ctx.data["need_id"]))
        return
    conn, ctx = scope.conn, scope.ctx
    teacher = ctx.case.applicant_id
    scope.engine.fire_in(
        conn, int(app.id), "revoke_selection", SYSTEM_ACTOR, {"reason": reason},
        expected_version=int(app.version),
    )  # fmt: skip
    data = ctx.data
    starts = dt.date.fromisoformat(str(data["starts_on"]))
    ends = dt.date.fromisoformat(str(data["ends_on"]))
    payload = {
        "support_school": str(data.get("receiving_school", "")),
        "support_detail": f"{data.get('level_label', '')}{data.get('subject', '')}，"
        f"支教期{span(starts, ends)}",
        "support_date": ctx.today.isoformat(),
        "support_reason": cmd.reason or "未填写",
    }
    rows = [notice(int(app.id), REVOKED_NOTICE, ctx.now, payload, role=SCHOOL_OFFICER,
                   unit_id=int(data["sending_school_id"]))]  # fmt: skip
    if teacher is not None:
        rows.insert(0, notice(int(app.id), REVOKED_NOTICE, ctx.now, payload, person_id=teacher))
    send_many(conn, rows)


def record_dispatch(scope: EffectScope, cmd: RecordDispatch) -> None:
    ctx = scope.ctx
    on = dt.date.fromisoformat(str(scope.record["on"]))
    scope.conn.execute(
        update(terms_t).where(terms_t.c.case_id == ctx.case.id).values(dispatched_on=on)
    )
    ends = dt.date.fromisoformat(str(ctx.data["ends_on"]))
    payload = {
        "support_school": str(ctx.data.get("receiving_school", "")),
        "support_detail": f"{ctx.data.get('teacher', '')}自{cn_date(on)}起在"
        f"{ctx.data.get('receiving_school', '')}支教（{ctx.data.get('level_label', '')}"
        f"{ctx.data.get('subject', '')}）；接收学校每月填报考勤",
        "support_date": ends.isoformat(),
    }
    send(scope.conn, notice(ctx.case.id, DISPATCHED_NOTICE, ctx.now, payload,
                            person_id=ctx.case.applicant_id))  # fmt: skip
    send(scope.conn, notice(ctx.case.id, DISPATCHED_NOTICE, ctx.now, payload,
                            role=SCHOOL_OFFICER, unit_id=ctx.case.org_unit_id))  # fmt: skip


def end_term(scope: EffectScope, cmd: EndTerm) -> None:
    """The day the term ended. Check-ins for months wholly after it are dropped (never
    due); one whose deadline has passed unfiled is missed; one still within its deadline
    stays open — the school may still file it while the term is assessed."""
    conn, ctx = scope.conn, scope.ctx
    ended = dt.date.fromisoformat(str(ctx.data["ended_on"]))
    conn.execute(
        update(terms_t)
        .where(terms_t.c.case_id == ctx.case.id)
        .values(ended_on=ended, ended_early=cmd.early)
    )
    open_ = (checkins_t.c.term_case_id == ctx.case.id) & (checkins_t.c.status == "open")
    conn.execute(delete(checkins_t).where(open_, checkins_t.c.month > month_of(ended)))
    conn.execute(
        update(checkins_t)
        .where(open_, checkins_t.c.due_on.is_not(None), checkins_t.c.due_on < ctx.today)
        .values(status="missed")
    )


def credit_term(scope: EffectScope, cmd: CreditTerm) -> None:
    """The assessment on the term's row; competent or better credits the time served (from
    the day dispatched to the day the term ended) to the teacher's service ledger, once.
    Months still unfiled are missed now: the term is over."""
    conn, ctx = scope.conn, scope.ctx
    t = _term(scope)
    grade = str(scope.record["grade"])
    started = t.dispatched_on or t.starts_on
    ended = t.ended_on or t.ends_on
    months = service.months_served(started, ended)
    credit_id = t.credit_id
    if grade in service.CREDITED_ASSESSMENTS:
        credit_id = service.credit(
            conn, teacher_id=int(t.teacher_id), kind=service.SUPPORT,
            source_case_id=ctx.case.id, school_id=int(t.receiving_school_id),
            started_on=started, ended_on=ended, assessment=grade, actor=ctx.actor, at=ctx.now,
        ) or credit_id  # fmt: skip
        note = f"已计入农村或薄弱学校任教经历{months}个月（{service.years_of(months):g}年）"
        ctx.data.update(credit_id=credit_id, credited_months=months, credit_note=note)
        scope.record.update(credit_id=credit_id, credited_months=months)
    else:
        note = f"考核为{service.ASSESSMENTS[grade]}，本次支教不计入农村或薄弱学校任教经历"
        ctx.data.update(credited_months=0, credit_note=note)
        scope.record["credited_months"] = 0
    conn.execute(
        update(terms_t)
        .where(terms_t.c.case_id == ctx.case.id)
        .values(assessment=grade, credit_id=credit_id)
    )
    conn.execute(
        update(checkins_t)
        .where(checkins_t.c.term_case_id == ctx.case.id, checkins_t.c.status == "open")
        .values(status="missed")
    )


def term_notice(scope: EffectScope, cmd: TermNotice) -> None:
    """The step's own notice to the teacher (the engine's progress notice says only that the
    case moved), and to the approver's officers when the step concerns them."""
    ctx = scope.ctx
    data = ctx.data
    school = str(data.get("receiving_school", ""))
    if cmd.kind == TERM_ENDING_NOTICE:
        detail = (
            f"{data.get('teacher', '')}在{school}的支教期即将期满，期满后由接收学校进行期满考核"
        )
        date = str(data.get("ends_on", ""))
    elif cmd.kind == ASSESSED_NOTICE:
        detail = f"期满考核{data.get('grade_label', '')}；{data.get('credit_note', '')}"
        date = str(data.get("ended_on", ""))
    elif cmd.kind == TERMINATED_NOTICE:
        kind = (data.get("termination") or {}).get("kind_label", "")
        detail = f"支教提前终止（{kind}），由接收学校进行考核，已服务时间按考核结果计入任教经历"
        date = str(data.get("ended_on", ""))
    else:
        raise AssertionError(cmd.kind)
    payload = {"support_school": school, "support_detail": detail, "support_date": date}
    if ctx.case.applicant_id is not None:
        send(scope.conn, notice(ctx.case.id, cmd.kind, ctx.now, payload,
                                person_id=ctx.case.applicant_id))  # fmt: skip
    if cmd.approver:
        unit = ctx.unit_for("approver")
        send(scope.conn, notice(ctx.case.id, cmd.kind, ctx.now, payload,
                                role=OFFICER_OF_TIER[unit.tier], unit_id=unit.id))  # fmt: skip


# --- reading ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class TermRow:
    case_id: int
    version: int
    state: str
    state_label: str
    need_id: int
    application_id: int
    teacher_id: int
    teacher: str
    sending_school_id: int
    sending_school: str
    receiving_school_id: int
    receiving_school: str
    subject: str
    level: str
    level_label: str
    paired: bool
    starts_on: dt.date
    ends_on: dt.date
    dispatched_on: dt.date | None
    ended_on: dt.date | None
    ended_early: bool
    assessment: str | None
    assessment_label: str
    credit_id: int | None


_sending, _receiving = units_t.alias("sending"), units_t.alias("receiving")
TERMS = (
    select(
        terms_t, cases_t.c.version, cases_t.c.state, cases_t.c.org_path, needs_t.c.subject,
        needs_t.c.level, needs_t.c.paired, needs_t.c.year, people_t.c.name.label("teacher"),
        people_t.c.id_number, teachers_t.c.gender, _sending.c.name.label("sending_school"),
        _sending.c.path.label("sending_path"), _receiving.c.name.label("receiving_school"),
    )
    .join(cases_t, cases_t.c.id == terms_t.c.case_id)
    .join(needs_t, needs_t.c.case_id == terms_t.c.need_id)
    .join(people_t, people_t.c.id == terms_t.c.teacher_id)
    .outerjoin(teachers_t, teachers_t.c.person_id == terms_t.c.teacher_id)
    .join(_sending, _sending.c.id == terms_t.c.sending_school_id)
    .join(_receiving, _receiving.c.id == terms_t.c.receiving_school_id)
)  # fmt: skip


def _row(r: Any) -> TermRow:
    return TermRow(
        case_id=int(r.case_id), version=int(r.version), state=str(r.state),
        state_label=str(getattr(TermMachine, r.state).name), need_id=int(r.need_id),
        application_id=int(r.application_id), teacher_id=int(r.teacher_id),
        teacher=str(r.teacher), sending_school_id=int(r.sending_school_id),
        sending_school=str(r.sending_school), receiving_school_id=int(r.receiving_school_id),
        receiving_school=str(r.receiving_school), subject=str(r.subject), level=str(r.level),
        level_label=LEVELS.get(r.level, r.level), paired=bool(r.paired),
        starts_on=r.starts_on, ends_on=r.ends_on, dispatched_on=r.dispatched_on,
        ended_on=r.ended_on, ended_early=bool(r.ended_early), assessment=r.assessment,
        assessment_label=service.ASSESSMENTS.get(r.assessment or "", ""),
        credit_id=r.credit_id,
    )  # fmt: skip


def my_terms(conn: Connection, person_id: int) -> list[TermRow]:
    """The teacher's own terms, the latest first."""
    rows = conn.execute(
        TERMS.where(terms_t.c.teacher_id == person_id).order_by(terms_t.c.starts_on.desc())
    )
    return [_row(r) for r in rows]


def term(conn: Connection, case_id: int) -> TermRow | None:
    r = conn.execute(TERMS.where(terms_t.c.case_id == case_id)).one_or_none()
    return None if r is None else _row(r)


DISPATCH_COLUMNS = (
    ("name", "姓名"),
    ("id_number", "身份证号"),
    ("gender", "性别"),
    ("sending_school", "派出学校"),
    ("receiving_school", "接收学校"),
    ("subject", "学科"),
    ("level", "学段"),
    ("starts_on", "支教开始日期"),
    ("ends_on", "支教结束日期"),
    ("dispatched_on", "派出日期"),
    ("ended_on", "实际结束日期"),
    ("state", "办理状态"),
    ("grade", "期满考核"),
)


def _viewer(actor: Actor, person_id: int) -> Viewer:
    """Where the reader of one line stands: the teacher it is about, or staff."""
    if actor.person_id is not None and actor.person_id == person_id:
        return Viewer(frozenset({Audience.APPLICANT}), actor.person_id)
    return Viewer(frozenset({Audience.OFFICER}), actor.person_id)


def dispatch_list(conn: Connection, actor: Actor, year: int) -> list[dict[str, Any]]:
    """The year's selected teachers the actor may read — the approver's officers every one
    of their area, a school those it sends and receives, a teacher their own — each line cut
    by the term's declared visibility (the ID number masked for all but the teacher)."""
    query = TERMS.where(needs_t.c.year == year)
    if not actor.holds(SYSTEM):
        paths = actor.scopes(SCOPE_ROLES)
        mine = [terms_t.c.teacher_id == actor.person_id] if actor.person_id else []
        clauses = [
            *(cases_t.c.org_path.startswith(p, autoescape=True) for p in paths),
            *(_sending.c.path.startswith(p, autoescape=True) for p in paths),
            *mine,
        ]
        if not clauses:
            return []
        query = query.where(or_(*clauses))
    out = []
    for r in conn.execute(query.order_by(_receiving.c.name, people_t.c.name, terms_t.c.case_id)):
        t = _row(r)
        record = {
            "id_number": r.id_number or "", "name": t.teacher,
            "gender": GENDERS.get(r.gender or "", ""), "sending_school": t.sending_school,
            "receiving_school": t.receiving_school, "subject": t.subject,
            "level": t.level_label, "starts_on": t.starts_on.isoformat(),
            "ends_on": t.ends_on.isoformat(),
            "dispatched_on": t.dispatched_on.isoformat() if t.dispatched_on else "",
            "ended_on": t.ended_on.isoformat() if t.ended_on else "",
            "state": t.state_label, "grade": t.assessment_label,
        }  # fmt: skip
        shown = shown_record(TERM_SPEC.visibility, record, _viewer(actor, t.teacher_id))
        out.append(
            {
                **shown,
                "case_id": t.case_id,
                "teacher_id": t.teacher_id,
                "sending_school_id": t.sending_school_id,
                "receiving_school_id": t.receiving_school_id,
            }
        )
    return out
