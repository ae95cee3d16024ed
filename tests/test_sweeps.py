"""The sweeps time drives, as plain functions under a frozen clock, across National Day 2026
(1–7 October off; Saturday 10 October a make-up working day)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from states.clock import bureau_time
from states.errors import PermissionDenied, RuleRefused
from states.store import queries
from states.store.models import OutboxMessage, Task
from states.sweeps import deadline_sweep, publicity_sweep, reminder_sweep
from tests.world import Driver, World


def _notices(d: Driver, kind_prefix: str) -> list[tuple[str, str | None]]:
    with d.eng.db.connect() as conn:
        rows = conn.execute(
            select(OutboxMessage.kind, OutboxMessage.recipient_role)
            .where(OutboxMessage.kind.startswith(kind_prefix))
            .order_by(OutboxMessage.id)
        ).all()
    return [(r.kind, r.recipient_role) for r in rows]


def test_publicity_window_opened_30_september_closes_13_october(d: Driver, world: World) -> None:
    d.clock.set(bureau_time(2026, 9, 30, 9))
    case_id = d.declare(world.teacher("国庆公示"))
    d.fire(case_id, "school_approve", "school_officer")
    [window] = d.open_tasks(case_id)
    assert window.due_on == dt.date(2026, 10, 13)
    d.clock.set(bureau_time(2026, 10, 8, 0, 5))
    assert publicity_sweep(d.eng).counts == {}
    d.clock.set(bureau_time(2026, 10, 13, 23, 55))  # the last day of the window is not over
    assert publicity_sweep(d.eng).counts == {}
    d.clock.set(bureau_time(2026, 10, 14, 0, 5))
    report = publicity_sweep(d.eng)
    assert report.counts == {"close_publicity:school_recommend": 1}
    assert d.case(case_id).state == "school_recommend"
    assert publicity_sweep(d.eng).counts == {}, "a second run finds nothing to do"


def test_reminders_skip_the_holiday_and_follow_make_up_days(d: Driver, world: World) -> None:
    d.clock.set(bureau_time(2026, 9, 28, 10))
    case_id = d.declare(world.teacher("国庆提醒"))
    [task] = d.open_tasks(case_id)
    assert task.due_on == dt.date(2026, 10, 10)  # 29, 30 Sep; 8, 9, 10 Oct
    sent: dict[dt.date, list[str]] = {}
    day = dt.date(2026, 9, 29)
    while day <= dt.date(2026, 10, 13):
        d.clock.set(bureau_time(day.year, day.month, day.day, 8, 30))
        report = reminder_sweep(d.eng)
        sent[day] = [k for k, n in report.counts.items() if n]
        if dt.date(2026, 10, 1) <= day <= dt.date(2026, 10, 7) or day == dt.date(2026, 10, 11):
            assert report.skipped and "不是工作日" in report.skipped, day
        day += dt.timedelta(days=1)
    reminded = {day: kinds for day, kinds in sent.items() if kinds}
    assert reminded == {
        dt.date(2026, 10, 8): ["reminder_due_soon"],
        dt.date(2026, 10, 10): ["reminder_due_today"],  # a Saturday, but a working day
        dt.date(2026, 10, 12): ["reminder_overdue"],
    }
    assert _notices(d, "reminder_") == [
        ("reminder_due_soon", "school_officer"),
        ("reminder_due_today", "school_officer"),
        ("reminder_overdue", "school_officer"),
    ]


def test_late_work_escalates_to_the_unit_above_once(d: Driver, world: World) -> None:
    d.clock.set(bureau_time(2026, 9, 28, 10))
    case_id = d.declare(world.teacher("逾期督办"))
    d.clock.set(bureau_time(2026, 10, 9, 9))
    assert deadline_sweep(d.eng).counts.get("escalated", 0) == 0, "not late yet"
    d.clock.set(bureau_time(2026, 10, 12, 9))
    assert deadline_sweep(d.eng).counts["escalated"] == 1
    assert deadline_sweep(d.eng).counts.get("escalated", 0) == 0, "escalated once only"
    assert _notices(d, "escalation") == [("escalation", "county_officer")]
    county = world.actors["county_officer"]
    with d.eng.db.connect() as conn:
        todo = queries.inbox(conn, county, "todo", dt.date(2026, 10, 12))
    assert [(i["case_id"], i["kind"]) for i in todo.items] == [(case_id, "supervise")]
    d.fire(case_id, "school_approve", "school_officer")  # the school acts at last
    with d.eng.db.connect() as conn:
        open_kinds = (
            conn.execute(select(Task.kind).where(Task.case_id == case_id, Task.status == "open"))
            .scalars()
            .all()
        )
    assert open_kinds == ["window"], "supervision ends when the late step is done"


def test_manual_urge_once_per_case_per_day(d: Driver, world: World) -> None:
    d.clock.set(bureau_time(2026, 9, 28, 10))
    teacher = world.teacher("催办")
    case_id = d.declare(teacher)
    county = world.actors["county_officer"]
    d.eng.urge(case_id, county, "请尽快审核")
    assert _notices(d, "urge") == [("urge", "school_officer")]
    with pytest.raises(RuleRefused, match="今天已催办"):
        d.eng.urge(case_id, county)
    with pytest.raises(PermissionDenied):
        d.eng.urge(case_id, teacher)
    d.clock.advance(days=1)
    d.eng.urge(case_id, county)
    assert len(_notices(d, "urge")) == 2


def _load_2027(d: Driver) -> None:
    """The 2027 schedule, loaded late (chinesecalendar stops at 2026)."""
    from states.calendar import parse_schedule
    from states.store.calendar_store import load_schedule

    with d.eng.db.begin() as conn:
        load_schedule(
            conn,
            parse_schedule('{"year": 2027, "holidays": {"2027-01-01": "元旦"}, "workdays": {}}'),
            "test",
            d.clock.now(),
        )


def _sitting(d: Driver, world: World, name: str) -> int:
    """A case declared on 1 December 2026, its committee seated and all voted in favour."""
    d.clock.set(bureau_time(2026, 12, 1))
    case_id = d.declare(world.teacher(name))
    d.through_school(case_id)
    d.fire(case_id, "qualify", "county_officer")
    d.vote_all(case_id, yes=7)
    return case_id


def test_calendar_gap_is_flagged_then_fixed_when_the_year_is_loaded(
    d: Driver, world: World
) -> None:

    d.clock.set(bureau_time(2026, 12, 28, 10))
    case_id = d.declare(world.teacher("跨年"))
    [task] = d.open_tasks(case_id)
    assert task.due_on is None and task.due_flag == "calendar_unknown:2027"
    _load_2027(d)
    report = deadline_sweep(d.eng)
    assert report.counts["due_dates_fixed"] == 1
    [task] = d.open_tasks(case_id)
    assert task.due_on == dt.date(2027, 1, 5) and task.due_flag is None


def test_a_resumed_window_crossing_into_an_unloaded_year_keeps_only_its_days_left(
    d: Driver, world: World
) -> None:
    """An objection dismissed at the year's end resumes the publicity with the working days
    it had left; when those run into a year whose holidays are loaded later, the date worked
    out then counts those days, not the state's whole window."""
    from states.org import PUBLIC_ACTOR
    from states.store.calendar_store import calendar_from_db
    from states.store.db import reader

    case_id = _sitting(d, world, "年末")
    d.fire(case_id, "close_sitting", "city_officer")
    d.clock.advance(days=2)  # two days of the window run before the objection comes
    objection = {"content": "业绩存疑", "contact_name": "张三", "contact_phone": "13800138000"}
    d.fire(case_id, "raise_objection", PUBLIC_ACTOR, objection)
    left = int(d.case(case_id).data["window_days_left"])
    assert 0 < left < 5
    d.clock.set(bureau_time(2026, 12, 30, 10))
    d.fire(case_id, "dismiss_objection", "county_officer", {"reason": "经核查不属实"})
    [task] = d.open_tasks(case_id)
    assert task.due_on is None and task.due_flag == "calendar_unknown:2027"
    _load_2027(d)
    with reader(d.eng.db).connect() as conn:
        calendar = calendar_from_db(conn)
    resumed = dt.date(2026, 12, 30)
    assert calendar.add_working_days(resumed, left) != calendar.add_working_days(resumed, 5)
    deadline_sweep(d.eng)
    [task] = d.open_tasks(case_id)
    assert task.due_on == calendar.add_working_days(resumed, left) and task.due_flag is None


def test_an_objection_to_a_window_whose_last_day_is_not_known_keeps_its_days(
    d: Driver, world: World
) -> None:
    """A result publicity opened at the year's end runs into a year whose holidays are not
    loaded: its last day is unknown. An objection still keeps the working days it had left
    (those it was given less those run), and the dismissal resumes with them."""
    from states.org import PUBLIC_ACTOR

    case_id = _sitting(d, world, "跨年公示")
    d.clock.set(bureau_time(2026, 12, 28, 10))
    d.fire(case_id, "close_sitting", "city_officer")
    [window] = d.open_tasks(case_id)
    assert window.due_on is None and window.due_days == 5
    d.clock.set(bureau_time(2026, 12, 29, 10))  # one working day of five has run
    objection = {"content": "业绩存疑", "contact_name": "张三", "contact_phone": "13800138000"}
    d.fire(case_id, "raise_objection", PUBLIC_ACTOR, objection)
    assert d.case(case_id).data["window_days_left"] == 4
    d.fire(case_id, "dismiss_objection", "county_officer", {"reason": "经核查不属实"})
    [resumed] = d.open_tasks(case_id)
    assert resumed.due_days == 4 and resumed.due_flag == "calendar_unknown:2027"
