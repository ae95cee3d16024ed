"""Candidates against a need (支教报名): a teacher volunteers (their school then confirms) or
the school nominates one of its teachers; the county — the city for a paired region —
selects with the candidate's record beside them, or passes over. Each candidate is a case of
its own at the sending school, opened and moved on in one transaction so that a refused one
leaves nothing behind.

Selecting takes one of the need's places with a single guarded UPDATE (none left: refused,
and nothing else is written) and opens the teacher's term at the receiving school, straight
into publicity. The selection that takes the last place moves the need to 已满额 (the need's
``fill_up``, fired by the system in the same transaction); a selection withdrawn because an
objection to it was upheld (``revoke_selection``, fired by the term) gives the place back with
one guarded UPDATE and reopens a full need (``reopen_places``). Both decide on the count the
UPDATE returns while it holds the need's row, so the state and ``filled`` never disagree
however many selections and withdrawals run at once.

An approved exemption (免于交流 and the like) is any case of the teacher whose state carries
the core tag ``EXEMPT``: found through the engine's catalogue, never by naming the process.

Rows: ``CandidateRow(case_id, version, state, state_label, teacher_id, name, school_id,
school, subject, title, title_label, backbone_level, backbone_label, nominated, statement,
previous_terms, previous, exemptions)``; ``Exemption(case_id, process_label, state_label,
year)``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, insert, or_, select, update

from states.engine import CaseEngine, FireResult
from states.engine.effects import EffectScope
from states.engine.outbox import notice, send
from states.engine.scope import case_scope
from states.engine.statements import tasks_t
from states.errors import NotFound, PermissionDenied, RuleRefused
from states.org import BACKBONE_LEVELS, SCHOOL_OFFICER, SYSTEM_ACTOR, TITLE_LABELS, Actor
from states.process.forms import Field, Form
from states.process.package import Catalogue
from states.process.spec import EXEMPT, policy_for
from states.processes.support_teaching import needs as needs_
from states.processes.support_teaching.machine import (
    APPLICATION,
    NEED,
    TERM,
    ApplicationMachine,
    TermMachine,
)
from states.processes.support_teaching.rules import cn_date, full, span
from states.processes.support_teaching.spec import (
    SELECTED_NOTICE,
    TERM_SPEC,
    NotExempt,
    OpenTerm,
    ReleasePlace,
    TakePlace,
)
from states.processes.support_teaching.tables import SupportNeed, SupportTerm
from states.registry.service import ASSESSMENTS
from states.store.models import Case, OrgUnit, Person, Teacher, table_of

needs_t, terms_t, cases_t = table_of(SupportNeed), table_of(SupportTerm), table_of(Case)
units_t, teachers_t, people_t = table_of(OrgUnit), table_of(Teacher), table_of(Person)

STATEMENT = Form((Field("statement", "报名说明", required=False, max_length=2000),))


# --- exemptions -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Exemption:
    case_id: int
    process_label: str
    state_label: str
    year: int

    def text(self) -> str:
        return f"{self.process_label}（事项{self.case_id}，{self.year}学年，{self.state_label}）"


def school_years(starts: dt.date, ends: dt.date) -> range:
    """The school years (named by the year they begin in September) a term overlaps: what an
    exemption granted for a year is matched against."""
    first = starts.year if starts.month >= 9 else starts.year - 1
    last = ends.year if ends.month >= 9 else ends.year - 1
    return range(first, last + 1)


def exemptions(
    conn: Connection, catalogue: Catalogue, teacher_id: int, years: Iterable[int]
) -> list[Exemption]:
    """The teacher's cases of the given years standing in a state tagged ``EXEMPT``."""
    tagged = {name: spec.tagged(EXEMPT) for name, spec in catalogue.items() if spec.tagged(EXEMPT)}
    if not tagged:
        return []
    rows = conn.execute(
        select(cases_t.c.id, cases_t.c.process, cases_t.c.state, cases_t.c.year)
        .where(
            cases_t.c.subject_id == teacher_id,
            cases_t.c.year.in_(list(years)),
            or_(
                *(
                    and_(cases_t.c.process == name, cases_t.c.state.in_(states))
                    for name, states in tagged.items()
                )
            ),
        )
        .order_by(cases_t.c.id)
    ).all()
    return [
        Exemption(
            int(r.id), catalogue[r.process].label, catalogue[r.process].state_label(r.state),
            int(r.year),
        )
        for r in rows
    ]  # fmt: skip


def not_exempt(scope: EffectScope, cmd: NotExempt) -> None:
    """Refuse a teacher exempted for a school year the term overlaps, naming the exemption."""
    ctx = scope.ctx
    starts = dt.date.fromisoformat(str(ctx.data["starts_on"]))
    ends = dt.date.fromisoformat(str(ctx.data["ends_on"]))
    found = exemptions(
        scope.conn, scope.engine.processes, int(ctx.case.subject_id), school_years(starts, ends)
    )
    if found:
        raise RuleRefused(
            "not_exempt",
            f"{ctx.data.get('teacher', '该教师')}已获批免于派出：{found[0].text()}，不能选派支教",
            field="teacher_id",
        )


# --- opening a candidate ----------------------------------------------------------------------
def _data(n: needs_.NeedRow, teacher: Any, statement: str, nominated: bool) -> dict[str, Any]:
    return {
        "need_id": n.case_id, "need": n.label, "school": n.school,
        "receiving_school_id": n.school_id, "subject": n.subject, "level": n.level,
        "level_label": n.level_label, "starts_on": n.starts_on.isoformat(),
        "ends_on": n.ends_on.isoformat(), "paired": n.paired, "teacher": str(teacher.name),
        "sending_school": str(teacher.school), "sending_school_id": int(teacher.school_id),
        "statement": statement, "nominated": nominated,
    }  # fmt: skip


def _teacher(conn: Connection, person_id: int) -> Any:
    return conn.execute(
        select(
            people_t.c.name, teachers_t.c.school_id, units_t.c.name.label("school"),
            units_t.c.path,
        )
        .join(teachers_t, teachers_t.c.person_id == people_t.c.id)
        .join(units_t, units_t.c.id == teachers_t.c.school_id)
        .where(people_t.c.id == person_id)
    ).one_or_none()  # fmt: skip


def volunteer(engine: CaseEngine, actor: Actor, need_id: int, statement: str = "") -> FireResult:
    """The teacher's own application against an approved need, submitted to their school."""
    if actor.person_id is None:
        raise PermissionDenied("请先登录")
    clean = STATEMENT.validate({"statement": statement or ""})
    with engine.db.begin() as conn:
        teacher = _teacher(conn, actor.person_id)
        if teacher is None:
            raise PermissionDenied("只有在职教师可以报名支教")
        n = needs_.need(conn, need_id)
        data = _data(n, teacher, str(clean.get("statement", "")), False)
        [case_id] = engine.open_many(
            APPLICATION, [(int(teacher.school_id), data)], actor, conn=conn, year=n.year,
            people=[actor.person_id],
        )  # fmt: skip
        return engine.fire_in(conn, case_id, "submit", actor, expected_version=1)


def nominate(
    engine: CaseEngine, actor: Actor, need_id: int, teacher_id: int, statement: str = ""
) -> FireResult:
    """The sending school puts one of its teachers forward: straight to the selection."""
    clean = STATEMENT.validate({"statement": statement or ""})
    with engine.db.begin() as conn:
        teacher = _teacher(conn, teacher_id)
        if teacher is None or not actor.holds(SCHOOL_OFFICER, int(teacher.school_id)):
            raise NotFound("教师不存在或不是本校教师")
        n = needs_.need(conn, need_id)
        data = _data(n, teacher, str(clean.get("statement", "")), True)
        [case_id] = engine.open_many(
            APPLICATION, [(int(teacher.school_id), data)], actor, conn=conn, year=n.year,
            people=[teacher_id],
        )  # fmt: skip
        return engine.fire_in(conn, case_id, "nominate", actor, expected_version=1)


# --- selecting --------------------------------------------------------------------------------
def _move_need(engine: CaseEngine, conn: Connection, need_id: int, when: str, event: str) -> None:
    """The need's ``event``, fired by the system, if the need stands in ``when`` (read under
    its row lock, so a close by the approver at the same moment is seen, not written over)."""
    found = conn.execute(
        select(cases_t.c.state, cases_t.c.version)
        .where(cases_t.c.id == need_id, cases_t.c.process == NEED)
        .with_for_update()
    ).one_or_none()
    if found is not None and found.state == when:
        engine.fire_in(conn, need_id, event, SYSTEM_ACTOR, expected_version=int(found.version))


def take_place(scope: EffectScope, cmd: TakePlace) -> None:
    """One place of the need, taken only if one is left: two selections at once queue on the
    need's row and the second finds it full. The last place taken, the need is full."""
    need_id = int(scope.ctx.data["need_id"])
    taken = scope.conn.execute(
        update(needs_t)
        .where(needs_t.c.case_id == need_id, needs_t.c.filled < needs_t.c.places)
        .values(filled=needs_t.c.filled + 1)
        .returning(needs_t.c.filled, needs_t.c.places)
    ).one_or_none()
    if taken is None:
        places = scope.conn.execute(
            select(needs_t.c.places).where(needs_t.c.case_id == need_id)
        ).scalar_one()
        raise RuleRefused(
            "places_left", full(need_id, str(scope.ctx.data.get("need", "")), int(places)),
            field="need_id",
        )  # fmt: skip
    if taken.filled >= taken.places:
        _move_need(scope.engine, scope.conn, need_id, "approved", "fill_up")


def open_term(scope: EffectScope, cmd: OpenTerm) -> None:
    """The selected teacher's term at the receiving school, in publicity for the policy's
    working days; the teacher told where and until when."""
    conn, ctx, engine = scope.conn, scope.ctx, scope.engine
    data = ctx.data
    need_id = int(data["need_id"])
    year = int(
        conn.execute(select(needs_t.c.year).where(needs_t.c.case_id == need_id)).scalar_one()
    )
    policy = policy_for(TERM_SPEC, ctx.units["province"].settings)
    days = int(policy["publicity_days"])
    term = {
        "need_id": need_id, "application_id": ctx.case.id, "teacher": data.get("teacher", ""),
        "receiving_school": data["school"],
        "receiving_school_id": int(data["receiving_school_id"]),
        "sending_school": data["sending_school"],
        "sending_school_id": int(data["sending_school_id"]), "subject": data["subject"],
        "level": data["level"], "level_label": data["level_label"],
        "starts_on": data["starts_on"], "ends_on": data["ends_on"],
        "paired": bool(data.get("paired")), "publicity_days": days,
    }  # fmt: skip
    teacher = int(ctx.case.subject_id)
    [term_id] = engine.open_many(
        TERM, [(int(data["receiving_school_id"]), term)], ctx.actor, conn=conn, year=year,
        parent_id=ctx.case.id, people=[teacher],
    )  # fmt: skip
    due, flag = engine.deadlines.due(conn, ctx.today, days)
    conn.execute(
        update(tasks_t)
        .where(tasks_t.c.case_id == term_id, tasks_t.c.kind == "window", tasks_t.c.status == "open")
        .values(due_on=due, due_flag=flag, due_days=days)
    )
    conn.execute(
        insert(terms_t).values(
            case_id=term_id, need_id=need_id, application_id=ctx.case.id, teacher_id=teacher,
            sending_school_id=int(data["sending_school_id"]),
            receiving_school_id=int(data["receiving_school_id"]),
            starts_on=dt.date.fromisoformat(str(data["starts_on"])),
            ends_on=dt.date.fromisoformat(str(data["ends_on"])), ended_early=False,
        )
    )  # fmt: skip
    data["term_id"] = term_id
    scope.record["term_id"] = term_id
    until = f"，公示至{cn_date(due)}" if due is not None else ""
    term_span = span(
        dt.date.fromisoformat(str(data["starts_on"])), dt.date.fromisoformat(str(data["ends_on"]))
    )
    payload = {
        "support_school": str(data["school"]),
        "support_detail": f"{data['level_label']}{data['subject']}，支教期{term_span}{until}",
        "support_date": due.isoformat() if due is not None else "",
    }
    send(conn, notice(term_id, SELECTED_NOTICE, ctx.now, payload, person_id=teacher))


def give_back(engine: CaseEngine, conn: Connection, need_id: int) -> None:
    """One place of the need given back (never below none); a full need accepts again."""
    freed = conn.execute(
        update(needs_t)
        .where(needs_t.c.case_id == need_id, needs_t.c.filled > 0)
        .values(filled=needs_t.c.filled - 1)
        .returning(needs_t.c.filled, needs_t.c.places)
    ).one_or_none()
    if freed is not None and freed.filled < freed.places:
        _move_need(engine, conn, need_id, "filled_up", "reopen_places")


def release_place(scope: EffectScope, cmd: ReleasePlace) -> None:
    give_back(scope.engine, scope.conn, int(scope.ctx.data["need_id"]))


# --- the selection's list ---------------------------------------------------------------------
@dataclass(frozen=True)
class CandidateRow:
    case_id: int
    version: int
    state: str
    state_label: str
    teacher_id: int
    name: str
    school_id: int
    school: str
    subject: str
    title: str
    title_label: str
    backbone_level: str | None
    backbone_label: str
    nominated: bool
    statement: str
    previous_terms: int
    previous: tuple[str, ...]  # each earlier term: where, when, how it ended
    exemptions: tuple[str, ...]  # approved exemptions for the term's school years


def previous_terms(
    conn: Connection, teacher_ids: Collection[int], *, leave_out: int | None = None
) -> dict[int, list[str]]:
    """Each teacher's support-teaching terms, in words, oldest first."""
    out: dict[int, list[str]] = {}
    if not teacher_ids:
        return out
    rows = conn.execute(
        select(
            terms_t.c.teacher_id, terms_t.c.case_id, terms_t.c.starts_on, terms_t.c.ends_on,
            terms_t.c.ended_on, terms_t.c.assessment, cases_t.c.state,
            units_t.c.name.label("school"),
        )
        .join(cases_t, cases_t.c.id == terms_t.c.case_id)
        .join(units_t, units_t.c.id == terms_t.c.receiving_school_id)
        .where(terms_t.c.teacher_id.in_(list(teacher_ids)))
        .order_by(terms_t.c.starts_on)
    ).all()  # fmt: skip
    for r in rows:
        if int(r.case_id) == leave_out:
            continue
        state = str(getattr(TermMachine, r.state).name)
        graded = f"，考核{ASSESSMENTS[r.assessment]}" if r.assessment else ""
        out.setdefault(int(r.teacher_id), []).append(
            f"{r.school} {span(r.starts_on, r.ended_on or r.ends_on)}（{state}{graded}）"
        )
    return out


def candidates(
    conn: Connection,
    actor: Actor,
    need_id: int,
    *,
    catalogue: Catalogue | None = None,
) -> list[CandidateRow]:
    """The need's candidates the actor may read (the approver every one, a school its own),
    each with the record beside: subject, title, backbone level, earlier terms and — given
    the engine's ``catalogue`` — approved exemptions for the term's school years."""
    n = needs_.need(conn, need_id)
    rows = conn.execute(
        select(
            cases_t.c.id, cases_t.c.version, cases_t.c.state, cases_t.c.data,
            cases_t.c.subject_id, people_t.c.name, teachers_t.c.school_id,
            teachers_t.c.subject, teachers_t.c.title, teachers_t.c.backbone_level,
            units_t.c.name.label("school"),
        )
        .join(people_t, people_t.c.id == cases_t.c.subject_id)
        .join(teachers_t, teachers_t.c.person_id == cases_t.c.subject_id)
        .join(units_t, units_t.c.id == teachers_t.c.school_id)
        .where(
            cases_t.c.process == APPLICATION,
            cases_t.c.data["need_id"].as_integer() == need_id,
            case_scope(actor),
        )
        .order_by(cases_t.c.id)
    ).all()  # fmt: skip
    earlier = previous_terms(conn, {int(r.subject_id) for r in rows})
    years = school_years(n.starts_on, n.ends_on)
    out = []
    for r in rows:
        teacher = int(r.subject_id)
        exempt = (
            tuple(e.text() for e in exemptions(conn, catalogue, teacher, years))
            if catalogue is not None
            else ()
        )
        done = earlier.get(teacher, [])
        out.append(
            CandidateRow(
                case_id=int(r.id), version=int(r.version), state=str(r.state),
                state_label=str(getattr(ApplicationMachine, r.state).name), teacher_id=teacher,
                name=str(r.name), school_id=int(r.school_id), school=str(r.school),
                subject=str(r.subject), title=str(r.title),
                title_label=TITLE_LABELS.get(r.title, r.title), backbone_level=r.backbone_level,
                backbone_label=BACKBONE_LEVELS.get(r.backbone_level or "", "无"),
                nominated=bool(r.data.get("nominated")),
                statement=str(r.data.get("statement") or ""), previous_terms=len(done),
                previous=tuple(done), exemptions=exempt,
            )
        )  # fmt: skip
    return out
