"""Support teaching (支教) on both databases, through the engine and the command line: a rural
school's need to a teacher's return with twelve monthly check-ins under a frozen clock (one
missed and escalated by the generic deadline sweep), the service ledger credited and title
review's 高级 declaration refused before the term and accepted after it; an early termination
credited for the time served; a paired region's need approved by the city; the bad input each
step refuses, naming the conflict; and, on PostgreSQL, two selections racing for the last
place."""

from __future__ import annotations

import datetime as dt
import json
import threading
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select, update

from api.cli import main
from states.clock import FrozenClock, bureau_time
from states.engine import CaseEngine
from states.engine.bulk import Move
from states.errors import PermissionDenied, RenshiError, RuleRefused
from states.org import SCHOOL_OFFICER, SYSTEM_ACTOR, Actor
from states.processes.support_teaching import applications, checkins, needs, regions, terms
from states.processes.support_teaching.machine import APPLICATION, NEED, TERM
from states.processes.support_teaching.rules import add_months
from states.processes.support_teaching.tables import SupportCheckin, SupportNeed
from states.processes.title_review import seed as title_review
from states.registry import service
from states.registry.history import TEACHER as HISTORY_TEACHER
from states.seed.builders import Unit, add_officer, add_unit
from states.store.models import (
    AuditEvent,
    Case,
    OrgUnit,
    OutboxMessage,
    Person,
    RecordChange,
    Task,
    table_of,
)
from states.sweeps import checks_sweep, deadline_sweep, publicity_sweep, reminder_sweep
from tests.world import DECLARE, Driver, World, undeclared_keys

cases_t, tasks_t, outbox_t = table_of(Case), table_of(Task), table_of(OutboxMessage)
audit_t = table_of(AuditEvent)
needs_t, checkins_t, history_t = (
    table_of(SupportNeed), table_of(SupportCheckin), table_of(RecordChange)
)  # fmt: skip

NEED_FORM = {
    "subject": "数学",
    "level": "junior",
    "places": 1,
    "starts_on": "2025-09-01",
    "ends_on": "2026-08-31",
    "note": "初中数学教师缺编",
}
CHECKIN = {"attendance_days": 21, "teaching_hours": 64, "assessment": "按时到岗，教学认真"}


# --- helpers ----------------------------------------------------------------------------------
def at(clock: FrozenClock, day: dt.date, hour: int = 9) -> None:
    clock.set(bureau_time(day.year, day.month, day.day, hour))


def urban_teacher(world: World, key: str, school: str = "urban") -> Actor:
    """An urban teacher of 一级 for six years, a bachelor, no rural service on the record:
    title review's 高级 asks them for a year of rural or weak-school experience."""
    return world.teacher(key, school, rural_years=0.0, title_years=6)


def declare(d: Driver, officer: str = "rural_officer", **form: Any) -> int:
    return needs.declare_need(d.eng, d.world.actors[officer], {**NEED_FORM, **form}).case_id


def case(d: Driver, case_id: int) -> Any:
    return d.case(case_id)


def term_of(d: Driver, application: int) -> int:
    return int(case(d, application).data["term_id"])


def selected(d: Driver, teacher: Actor, **form: Any) -> tuple[int, int, int]:
    """A need of the rural school approved, the teacher volunteering, the urban school
    confirming and the county selecting: (need, application, term in publicity)."""
    need = declare(d, **form)
    d.fire(need, "approve", "county_officer")
    app = applications.volunteer(d.eng, teacher, need, "愿意到乡村学校支教").case_id
    d.fire(app, "confirm", "school_officer")
    d.fire(app, "select_teacher", "county_officer")
    return need, app, term_of(d, app)


def dispatch(d: Driver, term: int, on: dt.date) -> None:
    d.close_window(term)
    at(d.clock, on)
    d.fire(
        term,
        "dispatch_teacher",
        "county_officer",
        {"on": on.isoformat(), "doc_number": "东教〔2025〕8号"},
    )


def checkin_rows(d: Driver, term: int) -> list[Any]:
    with d.eng.db.connect() as conn:
        return list(
            conn.execute(
                select(checkins_t)
                .where(checkins_t.c.term_case_id == term)
                .order_by(checkins_t.c.month)
            )
        )


def file(d: Driver, term: int, month: str, officer: str = "rural_officer", **more: Any) -> Any:
    return d.fire(term, "check_in", officer, {"month": month, **CHECKIN, **more})


def notices(d: Driver, kind: str) -> list[Any]:
    with d.eng.db.connect() as conn:
        return list(
            conn.execute(
                select(outbox_t.c.case_id, outbox_t.c.recipient_id, outbox_t.c.recipient_role,
                       outbox_t.c.recipient_unit_id, outbox_t.c.payload)
                .where(outbox_t.c.kind == kind)
                .order_by(outbox_t.c.id)
            )
        )  # fmt: skip


def count(d: Driver, *where: Any) -> int:
    with d.eng.db.connect() as conn:
        return int(
            conn.execute(select(func.count()).select_from(cases_t).where(*where)).scalar_one()
        )


def refused(match: str, call: Any, *args: Any, **kwargs: Any) -> RenshiError:
    with pytest.raises(RenshiError) as caught:
        call(*args, **kwargs)
    assert match in caught.value.message, caught.value.message
    return caught.value


def ym(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


# --- the story --------------------------------------------------------------------------------
def test_a_need_to_a_return_with_twelve_checkins_and_the_ledger_credited(
    d: Driver, world: World, clock: FrozenClock
) -> None:
    eng = d.eng
    teacher = urban_teacher(world, "支教教师")
    at(clock, dt.date(2025, 6, 3))
    with eng.db.begin() as conn:
        title_review.open_declarations(conn, world.unit("province"), 2025)

    # before the term: 高级 refused for want of rural experience, and nothing left behind
    before = refused("农村或薄弱学校任教", eng.start, "title_review", teacher, DECLARE, submit=True)
    assert isinstance(before, RuleRefused) and "现为0年" in before.message
    assert (
        count(d, cases_t.c.process == "title_review", cases_t.c.applicant_id == teacher.person_id)
        == 0
    )

    # 1. a need from an urban school is refused whole; the rural school's goes to the county
    refused("东县实验中学不是农村学校、薄弱学校或对口支援地区学校", declare, d, "school_officer")
    assert count(d, cases_t.c.process == NEED) == 0
    need = declare(d)
    assert case(d, need).state == "review"
    refused("须由本事项所属县（区）教育局的人事干部办理", d.fire, need, "approve", "rural_officer")
    d.fire(need, "approve", "county_officer")
    [told] = notices(d, "support_need_approved")
    assert told.recipient_role == SCHOOL_OFFICER and told.recipient_unit_id == world.unit("rural")
    with eng.db.connect() as conn:
        [open_] = needs.open_needs(conn, teacher, today=clock.now().date())
        assert open_.case_id == need and open_.left == 1

    # 2. the teacher volunteers, the school confirms, the county selects: the term opens in
    # publicity at the receiving school and the need's one place is taken
    app = applications.volunteer(eng, teacher, need, "愿意到乡村学校支教").case_id
    assert case(d, app).state == "school_review"
    d.fire(app, "confirm", "school_officer")
    other = urban_teacher(world, "另一位教师")
    second = applications.nominate(
        eng, world.actors["school_officer"], need, other.person_id, "骨干"
    ).case_id
    assert case(d, second).state == "selection"
    with eng.db.connect() as conn:
        listed = applications.candidates(conn, world.actors["county_officer"], need,
                                         catalogue=eng.processes)  # fmt: skip
    assert {c.case_id for c in listed} == {app, second}
    assert next(c for c in listed if c.case_id == app).title_label == "一级教师"
    d.fire(app, "select_teacher", "county_officer")
    term = term_of(d, app)
    assert case(d, term).state == "publicity" and case(d, term).org_unit_id == world.unit("rural")
    assert case(d, term).parent_id == app and case(d, term).applicant_id == teacher.person_id
    [picked] = notices(d, "support_selected")
    assert picked.recipient_id == teacher.person_id and "公示至" in picked.payload["support_detail"]
    # no need over its number: the second candidate's selection is refused, nothing written
    refused("名额已满（共1名）", d.fire, second, "select_teacher", "county_officer")
    assert case(d, second).state == "selection"
    with eng.db.connect() as conn:
        assert (
            conn.execute(select(needs_t.c.filled).where(needs_t.c.case_id == need)).scalar_one()
            == 1
        )
    assert count(d, cases_t.c.process == TERM) == 1

    # 3. publicity runs out (the sweep), the county dispatches on 1 September
    due = d.open_tasks(term)[0].due_on
    at(clock, due + dt.timedelta(days=1))
    publicity_sweep(eng)
    assert case(d, term).state == "to_dispatch"
    at(clock, dt.date(2025, 9, 1))
    refused(
        "日期不能晚于今天", d.fire, term, "dispatch_teacher", "county_officer", {"on": "2025-09-02"}
    )
    d.fire(term, "dispatch_teacher", "county_officer", {"on": "2025-09-01"})
    assert case(d, term).state == "on_site" and d.open_tasks(term) == []
    assert {n.recipient_role for n in notices(d, "support_dispatched")} == {None, SCHOOL_OFFICER}

    # 4. twelve months: each opened once by the sweep, filed by the receiving school — all
    # but December, which the deadline sweep escalates to the county once
    skipped = dt.date(2025, 12, 1)
    for i in range(12):
        month = add_months(dt.date(2025, 9, 1), i)
        at(clock, month)
        opened = checkins.open_checkins(eng)
        assert opened == {"opened": 1, "schools": 1}, (month, opened)
        assert checkins.open_checkins(eng) == {}  # run twice: nothing more
        deadline_sweep(eng)
        checkins.end_terms(eng)
        row = checkin_rows(d, term)[-1]
        assert row.month == month and row.status == "open" and row.task_id is not None
        if month == dt.date(2026, 2, 1):
            refused("2026-09不在支教期内（2025-09至2026-08）", file, d, term, "2026-09")
            refused("2026-05尚未到来", file, d, term, "2026-05")
            # the sending school does not file the receiving school's check-ins
            refused("事项不存在", file, d, term, "2025-12", "school_officer")
        if month == skipped:
            # reminded before the deadline, by the generic reminder sweep
            at(clock, row.due_on - dt.timedelta(days=1))
            reminder_sweep(eng)
            reminded = notices(d, "reminder_due_soon") + notices(d, "reminder_due_today")
            assert any(n.payload.get("task_id") == row.task_id for n in reminded)
            continue
        at(clock, month + dt.timedelta(days=24))
        file(d, term, ym(month))
        checkins.end_terms(eng)
        if month == dt.date(2025, 9, 1):
            refused("2025-09的月度考勤已填报", file, d, term, "2025-09")
    rows = checkin_rows(d, term)
    assert [r.month for r in rows] == [add_months(dt.date(2025, 9, 1), i) for i in range(12)]
    assert [r.status for r in rows].count("submitted") == 11
    december = next(r for r in rows if r.month == skipped)
    with eng.db.connect() as conn:
        supervise = conn.execute(
            select(tasks_t.c.role, tasks_t.c.org_unit_id)
            .where(tasks_t.c.case_id == term, tasks_t.c.kind == "supervise")
        ).all()  # fmt: skip
        late = conn.execute(
            select(tasks_t.c.escalated_at).where(tasks_t.c.id == december.task_id)
        ).scalar_one()
    assert supervise == [("county_officer", world.unit("east"))] and late is not None
    assert (
        len([n for n in notices(d, "escalation") if n.payload["task_id"] == december.task_id]) == 1
    )
    ending = notices(d, "support_term_ending")
    assert {(n.recipient_id, n.recipient_role) for n in ending} == {
        (teacher.person_id, None), (None, "county_officer"),
    }  # fmt: skip
    # one notice per receiving school for each month opened
    assert len(notices(d, "support_checkin_due")) == 12

    # 5. the term's end: once its last month is filed, the system moves it to assessment;
    # December is missed and no check-in task stays open
    at(clock, dt.date(2026, 9, 1))
    assert checkins.open_checkins(eng) == {}
    assert checkins.end_terms(eng) == {"ended": 1}
    assert checkins.end_terms(eng) == {}
    assert case(d, term).state == "assessing"
    assert next(r for r in checkin_rows(d, term) if r.month == skipped).status == "missed"
    assert [t.state for t in d.open_tasks(term)] == ["assessing"]

    # 6. assessed competent, returned: 12 months on the ledger with the case, the dates and
    # the grade; the record's sealed history shows it
    d.fire(term, "assess", "rural_officer", {"grade": "competent", "comments": "教学效果良好"})
    assert case(d, term).state == "returned"
    with eng.db.connect() as conn:
        [entry] = service.entries(conn, teacher.person_id)
        assert (entry.kind, entry.source_case_id, entry.months, entry.years) == (
            service.SUPPORT, term, 12, 1.0,
        )  # fmt: skip
        assert (entry.started_on, entry.ended_on, entry.assessment) == (
            dt.date(2025, 9, 1), dt.date(2026, 8, 31), "competent",
        )  # fmt: skip
        assert entry.school_name == "东县乡村小学"
        assert (
            conn.execute(
                select(func.count()).where(
                    history_t.c.subject_kind == HISTORY_TEACHER,
                    history_t.c.subject_id == teacher.person_id,
                    history_t.c.case_id == term,
                )
            ).scalar_one()
            == 1
        )
        [mine] = terms.my_terms(conn, teacher.person_id)
        assert mine.assessment_label == "称职" and mine.credit_id == entry.id
    [graded] = notices(d, "support_assessed")
    assert "已计入农村或薄弱学校任教经历12个月" in graded.payload["support_detail"]

    # 7. after the term: the same teacher's 高级 declaration passes the rural-experience rule
    at(clock, dt.date(2026, 9, 2))
    started = eng.start("title_review", teacher, DECLARE, submit=True)
    assert started.to_state != "draft"
    # every key the three machines wrote is declared for who reads it
    missing = undeclared_keys(eng)
    assert not {p: missing[p] for p in (NEED, APPLICATION, TERM) if p in missing}, missing


def test_an_early_termination_credits_the_time_served(
    d: Driver, world: World, clock: FrozenClock
) -> None:
    teacher = urban_teacher(world, "提前返回")
    at(clock, dt.date(2025, 6, 3))
    _, _, term = selected(d, teacher)
    dispatch(d, term, dt.date(2025, 9, 1))
    for i in range(6):  # September to February opened; filed up to January
        month = add_months(dt.date(2025, 9, 1), i)
        at(clock, month)
        checkins.open_checkins(d.eng)
        if i < 5:
            file(d, term, ym(month))

    # the teacher asks to end it; the county refuses; the open February is handed back
    at(clock, dt.date(2026, 2, 10))
    d.fire(
        term, "apply_termination", teacher, {"kind": "family", "statement": "家中老人病重需照顾"}
    )
    assert case(d, term).state == "termination_review" and all(
        t.state == "termination_review" for t in d.open_tasks(term)
    )
    d.fire(term, "reject_termination", "county_officer", {"reason": "可安排假期探亲"})
    assert case(d, term).state == "on_site"
    assert d.open_tasks(term) == []
    # the next sweep hands the open February back to the school, with its own deadline
    assert checkins.open_checkins(d.eng) == {"reopened": 1}
    february = checkin_rows(d, term)[-1]
    assert february.status == "open" and february.month == dt.date(2026, 2, 1)
    [task] = d.open_tasks(term)
    assert (task.id, task.state, task.due_on) == (february.task_id, "on_site", february.due_on)

    # the school asks, the county approves an end on 28 February
    at(clock, dt.date(2026, 3, 2))
    d.fire(
        term,
        "request_termination",
        "rural_officer",
        {"kind": "illness", "statement": "因病需长期治疗"},
    )
    refused("日期不能早于2025年9月1日", d.fire, term, "approve_termination", "county_officer",
            {"ended_on": "2025-08-31"})  # fmt: skip
    d.fire(term, "approve_termination", "county_officer", {"ended_on": "2026-02-28"})
    assert case(d, term).state == "assessing"
    assert case(d, term).data["ended_early"] is True
    # February is still within its deadline: filed while the term is assessed
    refused("2026-03不在支教期内（2025-09至2026-02）", file, d, term, "2026-03")
    file(d, term, "2026-02")
    d.fire(
        term, "assess", "rural_officer", {"grade": "excellent", "comments": "克服困难，表现优秀"}
    )
    with d.eng.db.connect() as conn:
        [entry] = service.entries(conn, teacher.person_id)
    assert (entry.started_on, entry.ended_on, entry.months, entry.years) == (
        dt.date(2025, 9, 1), dt.date(2026, 2, 28), 6, 0.5,
    )  # fmt: skip
    assert [r.status for r in checkin_rows(d, term)] == ["submitted"] * 6
    [ended] = notices(d, "support_terminated")
    assert ended.recipient_id == teacher.person_id and "因病" in ended.payload["support_detail"]
    assert TERM not in undeclared_keys(d.eng)


def test_a_term_assessed_basically_competent_earns_no_credit(
    d: Driver, world: World, clock: FrozenClock
) -> None:
    teacher = urban_teacher(world, "基本称职")
    at(clock, dt.date(2025, 6, 3))
    _, _, term = selected(d, teacher, starts_on="2025-09-01", ends_on="2025-10-31")
    dispatch(d, term, dt.date(2025, 9, 1))
    at(clock, dt.date(2025, 11, 20))
    checkins.open_checkins(d.eng)
    checkins.end_terms(d.eng)
    assert case(d, term).state == "assessing"
    d.fire(term, "assess", "rural_officer", {"grade": "basic", "comments": "出勤不足"})
    with d.eng.db.connect() as conn:
        assert service.entries(conn, teacher.person_id) == []
    assert "不计入" in case(d, term).data["credit_note"]
    assert [r.status for r in checkin_rows(d, term)] == ["missed", "missed"]


# --- bad input --------------------------------------------------------------------------------
def _need_steps(d: Driver, need: int) -> list[tuple[str, int | None, str]]:
    """The need's audit trail: (event, who — None for the system —, reason given)."""
    with d.eng.db.connect() as conn:
        return [
            (str(e), who, str(json.loads(payload or "{}").get("reason", "")))
            for e, who, payload in conn.execute(
                select(audit_t.c.event, audit_t.c.actor_id, audit_t.c.payload)
                .where(audit_t.c.case_id == need)
                .order_by(audit_t.c.id)
            )
        ]


def test_a_need_stops_taking_candidates_by_itself_once_its_term_has_begun(
    d: Driver, world: World, clock: FrozenClock
) -> None:
    eng, county = d.eng, world.actors["county_officer"]
    at(clock, dt.date(2025, 6, 3))
    waiting, chosen = urban_teacher(world, "待遴选"), urban_teacher(world, "已选派")
    school = world.actors["school_officer"]
    # open, with a candidate still waiting for the selection
    open_ = declare(d, places=2)
    d.fire(open_, "approve", "county_officer")
    pending = applications.nominate(eng, school, open_, waiting.person_id).case_id
    # full: its one place taken
    full = declare(d, starts_on="2025-08-25", ends_on="2026-06-30")
    d.fire(full, "approve", "county_officer")
    app = applications.nominate(eng, school, full, chosen.person_id).case_id
    d.fire(app, "select_teacher", "county_officer")
    # closed by hand before its term, as the county always could (its button is there)
    early = declare(d)
    d.fire(early, "approve", "county_officer")
    assert "close_need" in eng.available(early, county)["events"]
    d.fire(early, "close_need", "county_officer", {"reason": "已由本县统筹解决"})
    # one whose term begins later, and one never approved
    later = declare(d, starts_on="2025-10-08", ends_on="2026-07-09")
    d.fire(later, "approve", "county_officer")
    unapproved = declare(d)
    assert [case(d, n).state for n in (open_, full, early, later, unapproved)] == [
        "approved", "filled_up", "finished", "approved", "review",
    ]  # fmt: skip

    # a term's first day: its need still takes candidates; the day after, it closes
    at(clock, dt.date(2025, 8, 25), hour=8)
    assert needs.end_intake(eng) == {}
    at(clock, dt.date(2025, 8, 26), hour=8)
    assert needs.end_intake(eng) == {"closed": 1}
    assert (case(d, full).state, case(d, open_).state) == ("finished", "approved")
    at(clock, dt.date(2025, 9, 1), hour=8)
    assert needs.end_intake(eng) == {}
    # the daily checks run it: closed by the system through the same step as the county's
    # 结束受理, saying why
    at(clock, dt.date(2025, 9, 2), hour=8)
    report = checks_sweep(eng)
    assert report.counts.get("support_need_intake:closed") == 1, report.counts
    assert [case(d, n).state for n in (open_, full, early, later, unapproved)] == [
        "finished", "finished", "finished", "approved", "review",
    ]  # fmt: skip
    for need, starts in ((open_, "2025年9月1日"), (full, "2025年8月25日")):
        assert _need_steps(d, need)[-1] == (
            "close_need",
            None,
            f"支教期已于{starts}开始，系统自动结束受理",
        )
        assert case(d, need).closed_at is not None
    assert _need_steps(d, early)[-1] == ("close_need", county.person_id, "已由本县统筹解决")
    assert eng.available(open_, county)["events"] == []
    with eng.db.connect() as conn:
        assert [n.case_id for n in needs.open_needs(conn, waiting)] == [later]
    # the waiting candidate stays where it was, as after a close by hand: no longer selectable
    assert case(d, pending).state == "selection"
    refused("未在受理中", d.fire, pending, "select_teacher", "county_officer")

    # run again (the same day, the next): nothing more is written
    versions = {n: case(d, n).version for n in (open_, full, early, later, unapproved)}
    assert needs.end_intake(eng) == {}
    at(clock, dt.date(2025, 9, 3), hour=8)
    assert needs.end_intake(eng) == {}
    assert {n: case(d, n).version for n in versions} == versions
    assert [e for e, _, _ in _need_steps(d, open_)].count("close_need") == 1


def _exempt(d: Driver, world: World, teacher: Actor, year: int) -> int:
    """An approved rotation exemption of ``year`` for the teacher, moved through the engine's
    bulk steps (the campaign it would name is beside the point here)."""
    with d.eng.db.begin() as conn:
        [case_id] = d.eng.open_many(
            "rotation_exemption",
            [(world.unit("urban"), {"campaign_id": 1, "kind": "患病", "statement": "手术后康复"})],
            teacher, conn=conn, year=year, people=[teacher.person_id],
        )  # fmt: skip
    for event in ("submit", "school_approve", "approve"):
        d.eng.fire_many("rotation_exemption", [Move(case_id, event)], SYSTEM_ACTOR,
                        rules_checked=True)  # fmt: skip
    assert case(d, case_id).state == "approved"
    return case_id


def test_overlaps_exemptions_areas_and_dates_are_refused_naming_the_conflict(
    d: Driver, world: World, clock: FrozenClock
) -> None:
    eng = d.eng
    at(clock, dt.date(2025, 6, 3))
    teacher = urban_teacher(world, "重叠")
    first = declare(d)
    second = declare(d, starts_on="2026-03-01", ends_on="2026-12-31", places=2)
    for need in (first, second):
        d.fire(need, "approve", "county_officer")

    # one term at a time: the second application names the first and its dates
    app = applications.volunteer(eng, teacher, first).case_id
    refused(f"与支教事项{app}（2025-09-01至2026-08-31）时间重叠", applications.volunteer,
            eng, teacher, second)  # fmt: skip
    assert count(d, cases_t.c.process == APPLICATION) == 1
    # … and once selected, the term itself is the conflict, for a nomination too
    d.fire(app, "confirm", "school_officer")
    d.fire(app, "select_teacher", "county_officer")
    term = term_of(d, app)
    refused(f"与支教事项{term}（2025-09-01至2026-08-31）时间重叠", applications.nominate,
            eng, world.actors["school_officer"], second, teacher.person_id)  # fmt: skip

    # an approved exemption for a school year the term overlaps refuses, naming it
    exempt = urban_teacher(world, "免于交流")
    exemption = _exempt(d, world, exempt, 2025)
    refused(f"免于交流申请（事项{exemption}，2025学年，已批准免于交流）", applications.volunteer,
            eng, exempt, first)  # fmt: skip
    # an exemption of a school year the term does not touch is no conflict
    later = urban_teacher(world, "明年免于交流")
    _exempt(d, world, later, 2027)
    assert applications.volunteer(eng, later, second).to_state == "school_review"
    with eng.db.connect() as conn:
        listed = applications.candidates(conn, world.actors["county_officer"], first,
                                         catalogue=eng.processes)  # fmt: skip
    assert all(c.exemptions == () for c in listed)

    # a teacher of another county is outside the county's need; so is the receiving school's own
    west = urban_teacher(world, "西县教师", "west1")
    refused("任教学校不在东县", applications.volunteer, eng, west, first)
    own = urban_teacher(world, "本校教师", "rural")
    refused("不能到本校支教", applications.volunteer, eng, own, first)
    # a school nominates only its own teachers
    refused("不是本校教师", applications.nominate, eng, world.actors["rural_officer"], first,
            teacher.person_id)  # fmt: skip

    # dates and places of a need
    refused("支教期限不能超过3年", declare, d, ends_on="2028-09-30")
    refused("支教期限不能少于1个月", declare, d, ends_on="2025-09-20")
    refused("结束日期应晚于开始日期", declare, d, ends_on="2025-08-01")
    refused("开始日期2025年5月1日早于今天", declare, d, starts_on="2025-05-01")
    refused("需求人数不能大于50", declare, d, places=51)
    refused("学段应为以下之一", declare, d, level="college")
    with pytest.raises(PermissionDenied):
        needs.declare_need(eng, world.actors["county_officer"], NEED_FORM)
    assert count(d, cases_t.c.process == NEED) == 2


def test_a_paired_region_need_is_the_citys_to_approve_and_staff(
    d: Driver, world: World, clock: FrozenClock
) -> None:
    eng = d.eng
    at(clock, dt.date(2025, 6, 3))
    city = world.actors["city_officer"]
    with eng.db.begin() as conn:
        refused("须由市教育局人事处登记", regions.register_region, conn,
                world.actors["county_officer"], "新疆和田县", at=clock.now())  # fmt: skip
    with eng.db.begin() as conn:
        region = regions.register_region(conn, city, "新疆和田县（对口支援）", at=clock.now())
        unit = add_unit(conn, "school", "XJ-HT-1", "和田县第一中学", _unit(conn, region))
        officer = add_officer(conn, "和田人事", SCHOOL_OFFICER, unit)
    world.actors["hetian_officer"] = officer
    with eng.db.connect() as conn:
        [listed] = regions.regions(conn, city)
    assert (listed.name, listed.schools, listed.city) == ("新疆和田县（对口支援）", 1, "示范市")

    need = needs.declare_need(eng, officer, NEED_FORM).case_id
    assert case(d, need).data["paired"] is True
    # a county of the city neither sees nor approves it
    refused("事项不存在", d.fire, need, "approve", "county_officer")
    d.fire(need, "approve", "city_officer")
    # the city staffs it from all its counties
    west = urban_teacher(world, "西县援疆", "west1")
    app = applications.volunteer(eng, west, need, "援疆").case_id
    d.fire(app, "confirm", "west_school_officer")
    refused("须由本事项所属市教育局的人事干部办理", d.fire, app, "select_teacher", "west_officer")
    d.fire(app, "select_teacher", "city_officer")
    term = term_of(d, app)
    assert [t.role for t in d.open_tasks(term)] == ["system"]
    with eng.db.connect() as conn:
        [line] = needs.board(conn, city, 2025)
        assert (line.school, line.paired, line.approved, line.places, line.filled) == (
            "和田县第一中学", True, 1, 1, 1,
        )  # fmt: skip
        shown = terms.dispatch_list(conn, city, 2025)
        own = terms.dispatch_list(conn, west, 2025)
    assert shown[0]["id_number"].count("*") >= 8 and "*" not in own[0]["id_number"]


def _unit(conn: Any, unit_id: int) -> Unit:
    path = conn.execute(select(OrgUnit.path).where(OrgUnit.id == unit_id)).scalar_one()
    return Unit(unit_id, path)


# --- the command line -------------------------------------------------------------------------
def _renshi(db_url: str, *args: str) -> Result:
    """In-process (a subprocess per command costs seconds of imports)."""
    env = {"RENSHI_DATABASE_URL": db_url}
    return CliRunner().invoke(main, ["--at", "2025-06-03T09:00", *args], env=env)


def test_the_command_line_declares_refuses_and_sweeps(db_url: str, world: World) -> None:
    people = table_of(Person)
    with world.engine.begin() as conn:  # accounts to name with --as
        conn.execute(
            update(people)
            .where(people.c.id.in_([a.person_id for a in world.actors.values()]))
            .values(username=people.c.name)
        )
    common = ["--subject", "数学", "--level", "初中", "--places", "2", "--starts", "2025-09-01",
              "--ends", "2026-08-31"]  # fmt: skip
    bad = _renshi(db_url, "support", "declare", "--as", "school_officer", *common)
    assert bad.exit_code == 1
    assert "[school_id] 东县实验中学不是农村学校、薄弱学校或对口支援地区学校" in bad.stderr
    good = _renshi(db_url, "support", "declare", "--as", "rural_officer", *common)
    assert good.exit_code == 0 and "待审批" in good.stdout, good.output
    board = _renshi(db_url, "support", "needs", "--as", "county_officer", "--year", "2025")
    assert board.exit_code == 0 and "东县乡村小学\t申报1条\t批准0条" in board.stdout, board.output
    swept = _renshi(db_url, "support", "checkins")
    assert swept.exit_code == 0 and "没有需要开启的月度考勤" in swept.stdout
    region = _renshi(db_url, "support", "regions", "add", "--as", "city_officer", "--name",
                     "西藏林芝（对口支援）")  # fmt: skip
    assert region.exit_code == 0 and "已登记对口支援地区" in region.stdout, region.output
    helped = CliRunner().invoke(main, ["support", "--help"])
    assert "支教" in helped.output


# --- PostgreSQL: two selections racing for the last place --------------------------------------
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_two_selections_racing_for_the_last_place_take_it_once(
    eng: CaseEngine, d: Driver, world: World, clock: FrozenClock
) -> None:
    at(clock, dt.date(2025, 6, 3))
    need = declare(d, places=1)
    d.fire(need, "approve", "county_officer")
    apps = [
        applications.nominate(eng, world.actors["school_officer"], need,
                              urban_teacher(world, f"竞争{i}").person_id).case_id
        for i in range(4)
    ]  # fmt: skip
    versions = [case(d, a).version for a in apps]
    start = threading.Barrier(len(apps))
    outcome: list[BaseException | None] = [None] * len(apps)

    def run(i: int) -> None:
        start.wait()
        try:
            eng.fire(apps[i], "select_teacher", world.actors["county_officer"],
                     expected_version=versions[i])  # fmt: skip
        except BaseException as exc:
            outcome[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(apps))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert outcome.count(None) == 1, outcome
    assert all(isinstance(e, RuleRefused) and "名额已满（共1名）" in e.message
               for e in outcome if e is not None)  # fmt: skip
    with eng.db.connect() as conn:
        assert (
            conn.execute(select(needs_t.c.filled).where(needs_t.c.case_id == need)).scalar_one()
            == 1
        )
    assert count(d, cases_t.c.process == TERM) == 1
    assert sorted(case(d, a).state for a in apps) == ["selected"] + ["selection"] * 3


def test_the_checkin_task_escalates_to_the_county_not_the_city(
    d: Driver, world: World, clock: FrozenClock
) -> None:
    """The generic sweep reads the term's on-site state: a missing month goes one tier up
    from the receiving school, once, however often the sweep runs."""
    teacher = urban_teacher(world, "督办")
    at(clock, dt.date(2025, 6, 3))
    _, _, term = selected(d, teacher)
    dispatch(d, term, dt.date(2025, 9, 1))
    checkins.open_checkins(d.eng)
    [row] = checkin_rows(d, term)
    at(clock, row.due_on + dt.timedelta(days=3))
    assert deadline_sweep(d.eng).counts.get("escalated", 0) >= 1
    deadline_sweep(d.eng)
    with d.eng.db.connect() as conn:
        units = (
            conn.execute(
                select(tasks_t.c.org_unit_id).where(
                    tasks_t.c.case_id == term, tasks_t.c.kind == "supervise"
                )
            )
            .scalars()
            .all()
        )
    assert units == [world.unit("east")]
    # filed late, the month's task is done; the supervision stays for the county to close
    file(d, term, "2025-09")
    assert [r.status for r in checkin_rows(d, term)] == ["submitted"]
    with d.eng.db.connect() as conn:
        done = conn.execute(
            select(tasks_t.c.status).where(tasks_t.c.id == row.task_id)
        ).scalar_one()
    assert done == "done"
