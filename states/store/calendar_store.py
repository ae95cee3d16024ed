"""Loaded holiday schedules (``calendar_years``): the years chinesecalendar does not know yet.

The engine needs the calendar on every transition, so reading it is one small query and the
built-in years are shared, not rebuilt (see :class:`states.calendar.WorkingCalendar`).
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Connection, String, Table, delete, insert, select

from states.calendar import WorkingCalendar, YearSchedule, schedule_from_iso, schedule_to_iso
from states.store.models import CalendarYear

__all__ = ["calendar_from_db", "load_schedule", "loaded_years"]

_TABLE = cast(Table, CalendarYear.__table__)
_SOURCE_TYPE = _TABLE.c.source.type
_SOURCE_MAX = (
    _SOURCE_TYPE.length if isinstance(_SOURCE_TYPE, String) and _SOURCE_TYPE.length else 255
)


def load_schedule(conn: Connection, schedule: YearSchedule, source: str, now: datetime) -> None:
    """Store (or replace) one year's schedule inside the caller's transaction.

    Delete-then-insert rather than a dialect-specific upsert: the row is tiny, the same SQL
    runs on SQLite and PostgreSQL, and a reload with a corrected file must replace the old
    one wholesale (a day dropped from the notice must disappear, not linger as a merge).
    ``now`` is passed in, not read here, so that one transaction stamps one time.
    """
    if now.tzinfo is None:
        raise ValueError("loaded_at 必须带时区")
    holidays, workdays = schedule_to_iso(schedule)
    if len(source) > _SOURCE_MAX:
        # Keep the tail: for a file path that is the part that identifies the file.
        source = "…" + source[-(_SOURCE_MAX - 1) :]
    conn.execute(delete(_TABLE).where(_TABLE.c.year == schedule.year))
    conn.execute(
        insert(_TABLE).values(
            year=schedule.year,
            holidays=holidays,
            workdays=workdays,
            source=source,
            loaded_at=now,
        )
    )


def loaded_years(conn: Connection) -> dict[int, YearSchedule]:
    """Every loaded schedule, validated again on the way out.

    Re-validating is cheap and means a row edited by hand in the database cannot put a
    weekday "make-up day" or a date of the wrong year into deadline arithmetic unnoticed.
    """
    rows = conn.execute(
        select(_TABLE.c.year, _TABLE.c.holidays, _TABLE.c.workdays).order_by(_TABLE.c.year)
    )
    out: dict[int, YearSchedule] = {}
    for year, holidays, workdays in rows:
        try:
            out[year] = schedule_from_iso(year, holidays or {}, workdays or {})
        except (ValueError, AttributeError) as exc:
            raise ValueError(f"数据库中{year}年的节假日安排有误：{exc}") from exc
    return out


def calendar_from_db(conn: Connection) -> WorkingCalendar:
    """The built-in years plus every loaded year (a loaded year wins over the built-in)."""
    return WorkingCalendar(loaded_years(conn))
