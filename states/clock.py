"""Time comes in through a clock, never from ``datetime.now()`` in the core, so that tests
freeze and move it and a deadline sweep sees one consistent "now"."""

from __future__ import annotations

import datetime as dt
from typing import Protocol
from zoneinfo import ZoneInfo

BUREAU_TZ = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    def now(self) -> dt.datetime: ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class FrozenClock:
    """A clock that stands still until moved; for tests and for replaying a sweep."""

    def __init__(self, at: dt.datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self._at = at

    def now(self) -> dt.datetime:
        return self._at

    def set(self, at: dt.datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self._at = at

    def advance(self, **kwargs: float) -> None:
        self._at = self._at + dt.timedelta(**kwargs)


def local_date(at: dt.datetime) -> dt.date:
    """The bureau's calendar day of an instant: deadlines are days in Asia/Shanghai."""
    return at.astimezone(BUREAU_TZ).date()


def bureau_time(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=BUREAU_TZ)
