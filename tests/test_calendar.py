"""The working-day calendar: the official 2026 facts, unknown years, loaded years, the CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import chinese_calendar
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from states.calendar import (
    UnknownCalendarYear,
    WorkingCalendar,
    YearSchedule,
    builtin_calendar,
    parse_schedule,
)
from states.store.calendar_store import calendar_from_db, load_schedule
from states.store.models import CalendarYear
from tests.cli import renshi_here

D = date.fromisoformat
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)

# A made-up 2027 schedule (the real one is not published yet): New Year's Day Friday 1 Jan
# to Sunday 3 Jan, Spring Festival 5–11 Feb, Saturday 20 Feb made up.
HOLIDAYS_2027 = {
    "2027-01-01": "元旦",
    "2027-01-02": "元旦",
    "2027-01-03": "元旦",
    **{f"2027-02-{day:02d}": "春节" for day in range(5, 12)},
}
SCHEDULE_2027 = {
    "year": 2027,
    "holidays": HOLIDAYS_2027,
    "workdays": {"2027-02-20": "春节调休上班"},
}


def schedule_2027() -> YearSchedule:
    return parse_schedule(json.dumps(SCHEDULE_2027, ensure_ascii=False))


# --- the official 2026 calendar ----------------------------------------------------------


def test_2026_make_up_weekends_are_working_days() -> None:
    cal = builtin_calendar()
    assert D("2026-09-20").weekday() == 6 and cal.is_working_day(D("2026-09-20"))
    assert D("2026-10-10").weekday() == 5 and cal.is_working_day(D("2026-10-10"))


def test_2026_national_day_week_is_off() -> None:
    cal = builtin_calendar()
    for day in range(1, 8):
        assert not cal.is_working_day(date(2026, 10, day)), f"2026-10-0{day}"
    assert cal.is_working_day(D("2026-10-08"))
    assert not cal.is_working_day(D("2026-10-11"))  # an ordinary Sunday


def test_five_working_days_after_30_september_2026() -> None:
    cal = builtin_calendar()
    assert cal.add_working_days(D("2026-09-30"), 5) == D("2026-10-13")
    assert cal.working_days_between(D("2026-09-30"), D("2026-10-13")) == 5
    assert cal.working_days_between(D("2026-09-30"), D("2026-10-12")) == 4
    # Over the holiday the count stands still.
    assert cal.working_days_between(D("2026-09-30"), D("2026-10-07")) == 0


def test_start_day_never_counts_and_zero_is_the_day_itself() -> None:
    cal = builtin_calendar()
    assert cal.add_working_days(D("2026-10-12"), 1) == D("2026-10-13")
    assert cal.add_working_days(D("2026-10-03"), 0) == D("2026-10-03")
    assert cal.working_days_between(D("2026-10-13"), D("2026-10-13")) == 0
    assert cal.working_days_between(D("2026-10-13"), D("2026-10-01")) == 0
    with pytest.raises(ValueError, match="负数"):
        cal.add_working_days(D("2026-10-12"), -1)


def test_builtin_years_agree_with_chinesecalendar_day_by_day() -> None:
    cal = builtin_calendar()
    assert cal.known_years() == set(range(2004, 2027))
    day = date(2004, 1, 1)
    while day.year <= 2026:
        assert cal.is_working_day(day) == chinese_calendar.is_workday(day), day
        day += timedelta(days=1)


def test_builtin_names_are_chinese() -> None:
    schedule = builtin_calendar().schedule(2026)
    assert schedule.holidays[D("2026-10-01")] == "国庆节"
    assert schedule.workdays[D("2026-09-20")] == "国庆节调休上班"


@given(
    start=st.dates(min_value=date(2010, 1, 1), max_value=date(2026, 12, 31)),
    n=st.integers(min_value=1, max_value=30),
)
def test_add_and_between_agree(start: date, n: int) -> None:
    cal = builtin_calendar()
    try:
        end = cal.add_working_days(start, n)
    except UnknownCalendarYear as exc:
        # Only allowed when fewer than n working days are left in 2026.
        assert exc.year == 2027
        assert cal.working_days_between(start, date(2026, 12, 31)) < n
        return
    assert end > start
    assert cal.is_working_day(end)
    assert cal.working_days_between(start, end) == n
    assert cal.working_days_between(start, end - timedelta(days=1)) == n - 1


def test_a_day_of_2027_is_unknown() -> None:
    cal = builtin_calendar()
    with pytest.raises(UnknownCalendarYear) as info:
        cal.is_working_day(D("2027-01-04"))
    assert info.value.year == 2027
    assert "2027年的法定节假日安排尚未导入" in str(info.value)
    assert not cal.is_known(2027)


def test_a_deadline_running_into_2027_is_flagged() -> None:
    cal = builtin_calendar()
    assert cal.add_working_days(D("2026-12-24"), 5) == D("2026-12-31")
    with pytest.raises(UnknownCalendarYear) as info:
        cal.add_working_days(D("2026-12-24"), 6)
    assert info.value.year == 2027
    with pytest.raises(UnknownCalendarYear):
        cal.add_working_days(D("2026-12-31"), 1)
    with pytest.raises(UnknownCalendarYear):
        cal.working_days_between(D("2026-12-01"), D("2027-01-05"))
    assert cal.add_working_days(D("2027-03-01"), 0) == D("2027-03-01")


def test_years_before_2004_are_unknown() -> None:
    cal = builtin_calendar()
    with pytest.raises(UnknownCalendarYear) as info:
        cal.add_working_days(D("2003-12-01"), 3)
    assert info.value.year == 2003
    # From New Year's Eve 2003 only 2004 is looked at.
    assert cal.add_working_days(D("2003-12-31"), 1) == D("2004-01-02")


def test_a_gap_between_known_years_is_not_jumped() -> None:
    schedule_2028 = YearSchedule(2028, {D("2028-01-01"): "元旦"}, {})
    cal = WorkingCalendar({2028: schedule_2028})
    assert cal.is_known(2028) and not cal.is_known(2027)
    with pytest.raises(UnknownCalendarYear) as info:
        cal.add_working_days(D("2026-12-28"), 10)
    assert info.value.year == 2027
    with pytest.raises(UnknownCalendarYear) as info:
        cal.working_days_between(D("2026-12-28"), D("2028-01-10"))
    assert info.value.year == 2027


def test_unknown_year_survives_pickling() -> None:
    import pickle

    exc = pickle.loads(pickle.dumps(UnknownCalendarYear(2027)))
    assert exc.year == 2027 and "2027年" in str(exc)


# --- loaded schedules ------------------------------------------------------------------------


def test_a_loaded_year_is_computable() -> None:
    cal = WorkingCalendar({2027: schedule_2027()})
    assert cal.add_working_days(D("2027-01-04"), 3) == D("2027-01-07")
    assert not cal.is_working_day(D("2027-01-01"))
    assert cal.is_working_day(D("2027-02-20"))  # the made-up Saturday
    assert cal.add_working_days(D("2027-02-04"), 1) == D("2027-02-12")
    # Crossing the year boundary now works, and 2028 is the next unknown.
    assert cal.add_working_days(D("2026-12-31"), 1) == D("2027-01-04")
    with pytest.raises(UnknownCalendarYear) as info:
        cal.add_working_days(D("2027-12-30"), 5)
    assert info.value.year == 2028


def test_a_loaded_year_overrides_the_builtin_one() -> None:
    builtin = builtin_calendar().schedule(2026)
    corrected = YearSchedule(
        2026, {**builtin.holidays, D("2026-10-08"): "国庆节"}, dict(builtin.workdays)
    )
    cal = WorkingCalendar({2026: corrected})
    assert cal.add_working_days(D("2026-09-30"), 5) == D("2026-10-14")
    assert builtin_calendar().add_working_days(D("2026-09-30"), 5) == D("2026-10-13")


@pytest.mark.parametrize(
    ("holidays", "workdays", "message"),
    [
        ({D("2028-01-01"): "元旦"}, {}, "2028-01-01 不在2027年内"),
        ({}, {D("2027-02-22"): "调休"}, "2027-02-22 不是周六或周日"),
        ({D("2027-02-20"): "春节"}, {D("2027-02-20"): "调休"}, "2027-02-20 不能既是"),
    ],
)
def test_schedule_validation_names_the_date(
    holidays: dict[date, str], workdays: dict[date, str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        YearSchedule.build(2027, holidays, workdays)


def test_a_schedule_cannot_be_changed_after_validation() -> None:
    source = {D("2027-01-01"): "元旦"}
    schedule = YearSchedule(2027, source, {})
    source[D("2027-01-04")] = "不是节日"
    assert D("2027-01-04") not in schedule.holidays
    with pytest.raises(TypeError):
        schedule.holidays[D("2027-01-05")] = "x"  # type: ignore[index]


# --- the administrator's file ---------------------------------------------------------------


def test_parse_json_with_names_and_with_lists() -> None:
    schedule = schedule_2027()
    assert schedule.year == 2027
    assert schedule.holidays[D("2027-01-01")] == "元旦"
    assert len(schedule.holidays) == 10 and len(schedule.workdays) == 1

    as_lists = {
        "year": 2027,
        "holidays": sorted(HOLIDAYS_2027),
        "workdays": ["2027-02-20"],
    }
    listed = parse_schedule(json.dumps(as_lists))
    assert set(listed.holidays) == set(schedule.holidays)
    assert set(listed.workdays) == {D("2027-02-20")}


def test_parse_csv_in_english_and_chinese_kinds() -> None:
    text = (
        "\ufeffdate,kind,name\n"
        "2027-01-01,holiday,元旦\n"
        "2027-01-02,休,元旦\n"
        "\n"
        "2027-02-20,班,春节调休上班\n"
        "2027-02-21,workday\n"
    )
    schedule = parse_schedule(text)
    assert schedule.year == 2027
    assert set(schedule.holidays) == {D("2027-01-01"), D("2027-01-02")}
    assert schedule.workdays[D("2027-02-20")] == "春节调休上班"
    assert schedule.workdays[D("2027-02-21")] == "调休上班"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("date,kind,name\n2027-01-01,holiday,元旦\n2027-01-02,放假,元旦\n", "第3行 kind 列"),
        ("date,kind,name\n2027-01-01,holiday,元旦\n2027-1-2,holiday,元旦\n", "第3行 date 列"),
        ("date,kind,name\n2027-01-01,holiday,元旦\n2027-02-22,班,调休\n", r"第3行.*不是周六或周日"),
        ("date,kind,name\n2027-01-01,休,元旦\n2028-01-01,休,元旦\n", r"第3行.*不在2027年内"),
        ("date,kind,name\n2027-01-01,休,元旦\n2027-01-01,休,元旦\n", r"第3行.*与第2行重复"),
        ("日子,类,名\n2027-01-01,休,元旦\n", "第1行：表头"),
        ("date,kind,name\n2027-02-20,班,调休\n", "没有任何法定节假日"),
        ('{"year": 2027, "holidays": {"2027-02-30": "春节"}, "workdays": {}}', "holidays"),
        ('{"year": 2027, "holidays": ["2027-01-01"], "workdays": ["2027-01-04"]}', "workdays"),
        ('{"year": 2027, "holidays": ["2027-01-01"], "workday": []}', "'workday'"),
        ('{"year": 2027, "holidays": ["2027-01-01"]}', "缺少字段 workdays"),
        ('{"year": "2027", "holidays": [], "workdays": []}', "字段 year"),
        ('{"year": 2027,\n "holidays": ["2027-01-01"],,\n "workdays": []}', "第2行"),
        ('{"year": 2027, "holidays": {"2027-01-01": "元旦", "2027-01-01": "元旦"}}', "重复"),
        ("", "文件为空"),
    ],
)
def test_parse_errors_name_the_line_or_field(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_schedule(text)


def test_parse_checks_the_year_it_was_told() -> None:
    with pytest.raises(ValueError, match="2027 与指定的年份 2028"):
        parse_schedule(json.dumps(SCHEDULE_2027), year=2028)
    csv_text = "date,kind,name\n2027-01-01,休,元旦\n"
    with pytest.raises(ValueError, match=r"第2行.*不在2028年内"):
        parse_schedule(csv_text, year=2028)


def test_the_calendar_module_stays_pure() -> None:
    code = (
        "import sys, states.calendar as c; c.builtin_calendar(); "
        "bad = [m for m in ('sqlalchemy', 'fastapi', 'prefect', 'jinja2') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- the store, on SQLite and PostgreSQL ----------------------------------------------------


def test_loading_2027_into_the_database_makes_it_computable(engine: Engine) -> None:
    with engine.connect() as conn, pytest.raises(UnknownCalendarYear):
        calendar_from_db(conn).add_working_days(D("2027-01-04"), 3)

    with engine.begin() as conn:
        load_schedule(conn, schedule_2027(), "国办发明电〔2026〕x号（测试）", NOW)

    with engine.connect() as conn:
        cal = calendar_from_db(conn)
        row = conn.execute(select(CalendarYear.__table__)).one()
    assert cal.add_working_days(D("2027-01-04"), 3) == D("2027-01-07")
    assert cal.is_working_day(D("2027-02-20"))
    assert cal.add_working_days(D("2026-09-30"), 5) == D("2026-10-13")  # built-in kept
    assert row.holidays["2027-01-01"] == "元旦"
    assert row.source == "国办发明电〔2026〕x号（测试）"
    assert row.loaded_at == NOW


def test_reloading_a_year_replaces_it(engine: Engine) -> None:
    with engine.begin() as conn:
        load_schedule(conn, schedule_2027(), "first.json", NOW)
    fixed = YearSchedule(2027, {D("2027-01-01"): "元旦"}, {})
    with engine.begin() as conn:
        load_schedule(conn, fixed, "second.json", NOW + timedelta(days=1))

    with engine.connect() as conn:
        cal = calendar_from_db(conn)
        rows = conn.execute(select(CalendarYear.__table__)).all()
    assert [(r.year, r.source) for r in rows] == [(2027, "second.json")]
    assert cal.is_working_day(D("2027-02-08"))  # no longer a Spring Festival holiday
    assert not cal.is_working_day(D("2027-02-20"))  # no longer a make-up day


# --- the renshi command line --------------------------------------------------------------


def _renshi() -> str:
    found = shutil.which("renshi") or str(Path(sys.executable).parent / "renshi")
    assert Path(found).exists(), "the renshi console script is not installed"
    return found


def run_renshi(db_url: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RENSHI_DATABASE_URL": db_url}
    return subprocess.run(
        [_renshi(), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_cli_add_prints_the_deadline(db_url: str, tmp_path: Path) -> None:
    result = run_renshi(db_url, tmp_path, "calendar", "add", "2026-09-30", "5")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "2026-10-13\n"


def test_cli_2027_works_only_after_load(db_url: str, tmp_path: Path) -> None:
    """The load runs as a real process; the sums around it in this process (tests/cli.py)."""
    before = renshi_here(db_url, "calendar", "add", "2027-01-04", "3")
    assert before.returncode == 1
    assert "2027年的法定节假日安排尚未导入" in before.stderr
    assert before.stdout == ""

    path = tmp_path / "2027.json"
    path.write_text(json.dumps(SCHEDULE_2027, ensure_ascii=False), encoding="utf-8")
    loaded = run_renshi(db_url, tmp_path, "calendar", "load", str(path))
    assert loaded.returncode == 0, loaded.stderr
    assert "2027年" in loaded.stdout and "10 天" in loaded.stdout and "1 天" in loaded.stdout

    after = renshi_here(db_url, "calendar", "add", "2027-01-04", "3")
    assert after.returncode == 0, after.stderr
    assert after.stdout == "2027-01-07\n"


def test_cli_rejects_a_bad_file_naming_the_line(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "2027.csv"
    path.write_text(
        "date,kind,name\n2027-01-01,休,元旦\n2027-02-22,班,春节调休上班\n", encoding="utf-8"
    )
    result = run_renshi(db_url, tmp_path, "calendar", "load", str(path))
    assert result.returncode != 0
    assert "第3行" in result.stderr and "2027-02-22" in result.stderr

    still_unknown = renshi_here(db_url, "calendar", "add", "2027-01-04", "3")
    assert still_unknown.returncode == 1


@pytest.mark.parametrize(
    ("args", "named"),
    [(("2026-02-30", "5"), "DATE"), (("2026-09-30", "五"), "N"), (("2026-09-30", "-1"), "N")],
)
def test_cli_bad_arguments_are_usage_errors(
    tmp_path: Path, args: tuple[str, str], named: str
) -> None:
    # Rejected before any database is opened, so one backend is enough.
    result = run_renshi(f"sqlite:///{tmp_path / 'r.db'}", tmp_path, "calendar", "add", *args)
    assert result.returncode == 2
    assert f"'{named}'" in result.stderr
