"""The official working-day calendar (工作日): deadlines and publicity periods count on it.

Weekends alone are not the rule in China: statutory holidays are off and some Saturdays and
Sundays are make-up working days (调休), both fixed year by year by the State Council. A year
nobody has told us about is therefore *unknown*, never "probably weekends": every query that
must look at a day of such a year raises :class:`UnknownCalendarYear`, so that a deadline is
flagged for a person instead of silently landing on the wrong day.

Years 2004–2026 come built in from the ``chinesecalendar`` package; later years are loaded by
an administrator from a file (:func:`parse_schedule`) and override the built-in ones.

Pure: no database, no web framework, no scheduler.
"""

from __future__ import annotations

import csv
import io
import json
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from types import MappingProxyType
from typing import Any

__all__ = [
    "UnknownCalendarYear",
    "WorkingCalendar",
    "YearSchedule",
    "builtin_calendar",
    "parse_schedule",
    "schedule_from_iso",
    "schedule_to_iso",
]

DEFAULT_HOLIDAY_NAME = "法定节假日"
DEFAULT_WORKDAY_NAME = "调休上班"


class UnknownCalendarYear(Exception):
    """A computation needed a year whose official schedule has not been loaded.

    It carries ``year`` so that a caller can flag the task ("deadline unknown until the
    schedule is published") rather than parse the message.
    """

    def __init__(self, year: int) -> None:
        self.year = year
        super().__init__(
            f"{year}年的法定节假日安排尚未导入，无法计算工作日；"
            "请管理员导入国务院办公厅公布的该年节假日安排"
        )

    def __reduce__(self) -> tuple[type[UnknownCalendarYear], tuple[int]]:
        # The default pickling would call cls(message); workers hand exceptions across
        # processes, so rebuild from the year instead.
        return (type(self), (self.year,))


def _entry_error(year: int, day: date, *, workday: bool) -> str | None:
    """Why ``day`` cannot be a holiday / make-up workday of ``year``, or None if it can.

    Shared by :class:`YearSchedule` and the CSV parser so that a file error can name its
    line while a programmatic error names the date, with the same wording.
    """
    if not isinstance(day, date) or isinstance(day, datetime):
        return f"{day!r} 不是日期"
    if day.year != year:
        return f"日期 {day.isoformat()} 不在{year}年内"
    if workday and day.weekday() < 5:
        return f"调休上班日 {day.isoformat()} 不是周六或周日（平日本来就上班，无需调休）"
    return None


def _frozen(entries: Mapping[date, str]) -> Mapping[date, str]:
    return MappingProxyType(dict(sorted(entries.items())))


@dataclass(frozen=True)
class YearSchedule:
    """One year's official schedule: the statutory days off and the weekend make-up days.

    Only the exceptions to "Monday to Friday" are stored, because that is how the State
    Council publishes them and how an administrator can check a file against the notice.
    The mappings are copied and frozen, so a schedule that passed validation stays valid.
    """

    year: int
    holidays: Mapping[date, str] = field(hash=False)
    workdays: Mapping[date, str] = field(hash=False)

    def __post_init__(self) -> None:
        if isinstance(self.year, bool) or not isinstance(self.year, int):
            raise ValueError(f"年份 {self.year!r} 不是整数")
        if not 1 <= self.year <= 9999:
            raise ValueError(f"年份 {self.year} 超出范围")
        for entries, workday in ((self.holidays, False), (self.workdays, True)):
            for day, name in entries.items():
                problem = _entry_error(self.year, day, workday=workday)
                if problem is not None:
                    raise ValueError(problem)
                if not isinstance(name, str):
                    raise ValueError(f"日期 {day.isoformat()} 的名称 {name!r} 不是字符串")
        both = sorted(set(self.holidays) & set(self.workdays))
        if both:
            raise ValueError(f"日期 {both[0].isoformat()} 不能既是法定节假日又是调休上班日")
        object.__setattr__(self, "holidays", _frozen(self.holidays))
        object.__setattr__(self, "workdays", _frozen(self.workdays))

    @classmethod
    def build(
        cls, year: int, holidays: Mapping[date, str], workdays: Mapping[date, str]
    ) -> YearSchedule:
        """Validate and freeze, under a name that says so at the call site (same as ``cls()``)."""
        return cls(year, holidays, workdays)

    def working_ordinals(self) -> tuple[int, ...]:
        """The year's working days as ``date.toordinal()`` values, ascending.

        Ordinals rather than dates because the calendar bisects and compares them on every
        state transition, and ints are the cheapest thing Python can do that with.
        """
        first = date(self.year, 1, 1).toordinal()
        last = date(self.year, 12, 31).toordinal()
        off = {d.toordinal() for d in self.holidays}
        on = {d.toordinal() for d in self.workdays}
        # date(1, 1, 1) is ordinal 1 and a Monday, so (ordinal - 1) % 7 is the weekday.
        return tuple(
            o for o in range(first, last + 1) if o in on or ((o - 1) % 7 < 5 and o not in off)
        )


# --- the calendar --------------------------------------------------------------------------


class WorkingCalendar:
    """Answers working-day questions over the built-in years plus any loaded ones.

    Everything is precomputed into one sorted array of working-day ordinals, so
    :meth:`add_working_days` and :meth:`working_days_between` are a bisection or two
    (about a microsecond): they run on every state transition and in reminder sweeps over
    tens of thousands of tasks. Known years may have gaps (2026 built in, 2028 loaded, 2027
    not); for every known year we keep the last day of its unbroken run of known years, so
    that a span crossing a gap is caught with one comparison instead of a walk.
    """

    __slots__ = ("_ordinals", "_run_end_ordinal", "_run_end_year", "_schedules", "_working")

    def __init__(self, loaded: Mapping[int, YearSchedule] | None = None) -> None:
        schedules: dict[int, YearSchedule] = dict(_builtin_schedules())
        for year, schedule in (loaded or {}).items():
            if schedule.year != year:
                raise ValueError(f"键 {year} 与安排中的年份 {schedule.year} 不一致")
            schedules[year] = schedule
        self._schedules: Mapping[int, YearSchedule] = MappingProxyType(
            dict(sorted(schedules.items()))
        )

        ordinals: list[int] = []
        for schedule in self._schedules.values():
            ordinals.extend(_working_ordinals(schedule))
        self._ordinals: list[int] = ordinals
        self._working: frozenset[int] = frozenset(ordinals)

        run_end_year: dict[int, int] = {}
        for year in sorted(self._schedules, reverse=True):
            run_end_year[year] = run_end_year.get(year + 1, year)
        self._run_end_year: dict[int, int] = run_end_year
        self._run_end_ordinal: dict[int, int] = {
            year: date(end, 12, 31).toordinal() for year, end in run_end_year.items()
        }

    def __repr__(self) -> str:
        return f"WorkingCalendar(years={_describe_years(self._schedules)})"

    # --- what we know --------------------------------------------------------------------

    def known_years(self) -> set[int]:
        return set(self._schedules)

    def is_known(self, year: int) -> bool:
        return year in self._schedules

    def schedule(self, year: int) -> YearSchedule:
        """The schedule in force for ``year`` (loaded if any, else built in)."""
        try:
            return self._schedules[year]
        except KeyError:
            raise UnknownCalendarYear(year) from None

    # --- queries -------------------------------------------------------------------------

    def is_working_day(self, d: date) -> bool:
        if d.year not in self._schedules:
            raise UnknownCalendarYear(d.year)
        return d.toordinal() in self._working

    def add_working_days(self, d: date, n: int) -> date:
        """The ``n``-th working day strictly after ``d``; ``d`` itself when ``n`` is 0.

        "Within 5 working days of the 30th" means the clock starts the next day, which is
        why ``d`` never counts even if it is a working day.
        """
        if n <= 0:
            if n == 0:
                return d
            raise ValueError(f"工作日天数不能为负数：{n}")
        start = d.toordinal() + 1
        # The first day we look at is d + 1, which is in the next year only on 31 December.
        year = d.year + 1 if d.month == 12 and d.day == 31 else d.year
        limit = self._run_end_ordinal.get(year)
        if limit is None:
            raise UnknownCalendarYear(year)
        i = bisect_left(self._ordinals, start) + n - 1
        if i >= len(self._ordinals) or self._ordinals[i] > limit:
            raise UnknownCalendarYear(self._run_end_year[year] + 1)
        return date.fromordinal(self._ordinals[i])

    def working_days_between(self, a: date, b: date) -> int:
        """How many working days lie in (a, b]: the days elapsed of a period started on a.

        Half-open so that ``working_days_between(d, add_working_days(d, n)) == n``.
        """
        if b <= a:
            return 0
        year = a.year + 1 if a.month == 12 and a.day == 31 else a.year
        end_year = self._run_end_year.get(year)
        if end_year is None:
            raise UnknownCalendarYear(year)
        if b.year > end_year:
            raise UnknownCalendarYear(end_year + 1)
        return bisect_right(self._ordinals, b.toordinal()) - bisect_right(
            self._ordinals, a.toordinal()
        )


def _describe_years(years: Iterable[int]) -> str:
    """'2004-2026,2028' — compact, for reprs and log lines."""
    runs: list[list[int]] = []
    for y in sorted(years):
        if runs and runs[-1][1] == y - 1:
            runs[-1][1] = y
        else:
            runs.append([y, y])
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


@cache
def _builtin_schedules() -> Mapping[int, YearSchedule]:
    """The chinesecalendar data as schedules, with Chinese names for the bureau's screens.

    Imported lazily: the package's constants module is large and most processes that import
    this module (the CLI's ``--help``, say) never compute a date.
    """
    from chinese_calendar import constants

    chinese: dict[str, str] = {h.value: h.chinese for h in constants.Holiday}
    raw_holidays: Mapping[date, str] = constants.holidays
    raw_workdays: Mapping[date, str] = constants.workdays
    days = [*raw_holidays, *raw_workdays]
    first, last = min(days).year, max(days).year
    by_year: dict[int, tuple[dict[date, str], dict[date, str]]] = {
        y: ({}, {}) for y in range(first, last + 1)
    }
    for day, name in raw_holidays.items():
        by_year[day.year][0][day] = chinese.get(name, name)
    for day, name in raw_workdays.items():
        by_year[day.year][1][day] = f"{chinese.get(name, name)}调休上班"
    return MappingProxyType(
        {y: YearSchedule(y, holidays, workdays) for y, (holidays, workdays) in by_year.items()}
    )


_ORDINAL_CACHE: dict[int, tuple[YearSchedule, tuple[int, ...]]] = {}


def _working_ordinals(schedule: YearSchedule) -> tuple[int, ...]:
    """Per-year ordinals, remembered for the built-in years.

    ``calendar_from_db`` builds a fresh calendar per request; recomputing twenty-odd
    built-in years each time would cost milliseconds for nothing. Loaded schedules are
    cheap enough (one year each) and are not cached, so a reload is always seen.
    """
    hit = _ORDINAL_CACHE.get(schedule.year)
    if hit is not None and hit[0] is schedule:
        return hit[1]
    ordinals = schedule.working_ordinals()
    if _builtin_schedules().get(schedule.year) is schedule:
        _ORDINAL_CACHE[schedule.year] = (schedule, ordinals)
    return ordinals


@cache
def builtin_calendar() -> WorkingCalendar:
    """The calendar with the built-in years only (2004–2026); built once per process."""
    return WorkingCalendar()


# --- the administrator's file --------------------------------------------------------------

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_KINDS = {
    "holiday": False,
    "休": False,
    "假": False,
    "workday": True,
    "班": True,
}
_CSV_HEADERS = {
    ("date", "kind", "name"),
    ("date", "kind"),
    ("日期", "类型", "名称"),
    ("日期", "类型"),
}


def _parse_date(value: object, where: str) -> date:
    """Strict YYYY-MM-DD: ``fromisoformat`` alone also takes '20270101' and week dates,
    which a typo can produce and nobody would notice on review."""
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value.strip()):
        raise ValueError(f"{where}：{value!r} 不是 YYYY-MM-DD 格式的日期")
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{where}：{value.strip()} 不是有效日期") from None


def parse_schedule(text: str, year: int | None = None) -> YearSchedule:
    """Parse a schedule file an administrator transcribed from the State Council notice.

    JSON (``{"year": 2027, "holidays": {...}, "workdays": {...}}``, dicts of date → name or
    plain lists of dates) or CSV with header ``date,kind,name`` (kind ``holiday``/``休`` or
    ``workday``/``班``). ``year``, when given, must agree with the file; a CSV file without
    it takes the year of its dates.

    Errors name the line or field: the person fixing the file has the notice in one hand and
    an editor in the other. A file with no holidays at all is refused, because loading it
    would make the year "known" and quietly count it on weekends only — exactly what an
    unknown year is there to prevent.
    """
    body = text.removeprefix("\ufeff")
    if not body.strip():
        raise ValueError("文件为空")
    parse = _parse_json if body.lstrip().startswith("{") else _parse_csv
    schedule = parse(body, year)
    if not schedule.holidays:
        raise ValueError(f"{schedule.year}年的安排中没有任何法定节假日，请核对文件")
    return schedule


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"键 {key!r} 重复出现")
        seen[key] = value
    return seen


def _parse_json(body: str, year: int | None) -> YearSchedule:
    try:
        doc = json.loads(body, object_pairs_hook=_no_duplicate_keys)
    except json.JSONDecodeError as exc:
        raise ValueError(f"第{exc.lineno}行第{exc.colno}列：JSON 格式错误（{exc.msg}）") from None
    if not isinstance(doc, dict):
        raise ValueError("JSON 顶层必须是对象，包含 year、holidays、workdays 三个字段")
    unknown = sorted(set(doc) - {"year", "holidays", "workdays"})
    if unknown:
        # A misspelt "workday" would otherwise drop every make-up day without a word.
        raise ValueError(f"未知字段 {unknown[0]!r}：只允许 year、holidays、workdays")
    file_year = doc.get("year")
    if file_year is None:
        if year is None:
            raise ValueError("缺少字段 year（也可以在导入时指定年份）")
        file_year = year
    if isinstance(file_year, bool) or not isinstance(file_year, int):
        raise ValueError(f"字段 year：{file_year!r} 不是整数年份")
    if year is not None and file_year != year:
        raise ValueError(f"字段 year：文件中的年份 {file_year} 与指定的年份 {year} 不一致")
    sections: list[dict[date, str]] = []
    for key, default_name, workday in (
        ("holidays", DEFAULT_HOLIDAY_NAME, False),
        ("workdays", DEFAULT_WORKDAY_NAME, True),
    ):
        if key not in doc:
            raise ValueError(f"缺少字段 {key}（没有时请写空对象 {{}}）")
        sections.append(_json_section(doc[key], key, file_year, default_name, workday))
    holidays, workdays = sections
    both = sorted(set(holidays) & set(workdays))
    if both:
        day = both[0].isoformat()
        raise ValueError(f"字段 holidays 与 workdays：日期 {day} 不能既放假又上班")
    return YearSchedule(file_year, holidays, workdays)


def _json_section(
    value: object, key: str, year: int, default_name: str, workday: bool
) -> dict[date, str]:
    items: list[tuple[object, object]]
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = [(v, default_name) for v in value]
    else:
        raise ValueError(f"字段 {key}：必须是对象（日期 → 名称）或日期列表")
    out: dict[date, str] = {}
    for index, (raw, name) in enumerate(items):
        where = f"字段 {key}[{raw!r}]" if isinstance(value, dict) else f"字段 {key}[{index}]"
        day = _parse_date(raw, where)
        if day in out:
            raise ValueError(f"{where}：日期 {day.isoformat()} 重复")
        if not isinstance(name, str):
            raise ValueError(f"{where}：名称 {name!r} 不是字符串")
        problem = _entry_error(year, day, workday=workday)
        if problem is not None:
            raise ValueError(f"{where}：{problem}")
        out[day] = name.strip() or default_name
    return out


def _parse_csv(body: str, year: int | None) -> YearSchedule:
    reader = csv.reader(io.StringIO(body, newline=""))
    header: tuple[str, ...] | None = None
    holidays: dict[date, str] = {}
    workdays: dict[date, str] = {}
    first_line: dict[date, int] = {}
    the_year = year
    try:
        for row in reader:
            line = reader.line_num
            cells = [c.strip() for c in row]
            if not any(cells) or cells[0].startswith("#"):
                continue
            if header is None:
                header = tuple(c.lower() for c in cells)
                if header not in _CSV_HEADERS:
                    raise ValueError(
                        f"第{line}行：表头应为 date,kind,name（或 日期,类型,名称），"
                        f"实际为 {','.join(cells)}"
                    )
                continue
            if len(cells) not in (2, 3):
                raise ValueError(
                    f"第{line}行：应有 2 或 3 列（date,kind,name），实际 {len(cells)} 列"
                )
            day = _parse_date(cells[0], f"第{line}行 date 列")
            kind = cells[1].lower()
            if kind not in _KINDS:
                raise ValueError(
                    f"第{line}行 kind 列：{cells[1]!r} 无效，应为 holiday/休 或 workday/班"
                )
            workday = _KINDS[kind]
            if the_year is None:
                the_year = day.year
            problem = _entry_error(the_year, day, workday=workday)
            if problem is not None:
                raise ValueError(f"第{line}行：{problem}")
            if day in first_line:
                raise ValueError(f"第{line}行：日期 {day.isoformat()} 与第{first_line[day]}行重复")
            first_line[day] = line
            name = cells[2] if len(cells) == 3 else ""
            if workday:
                workdays[day] = name or DEFAULT_WORKDAY_NAME
            else:
                holidays[day] = name or DEFAULT_HOLIDAY_NAME
    except csv.Error as exc:
        raise ValueError(f"第{reader.line_num}行：CSV 格式错误（{exc}）") from None
    if header is None:
        raise ValueError("第1行：缺少表头 date,kind,name")
    if the_year is None:
        raise ValueError("文件中没有任何日期")
    return YearSchedule(the_year, holidays, workdays)


def schedule_from_iso(
    year: int, holidays: Mapping[str, str], workdays: Mapping[str, str]
) -> YearSchedule:
    """Rebuild a schedule from its stored form ({"YYYY-MM-DD": name}); errors name the date."""
    return YearSchedule(
        year,
        {_parse_date(k, f"{year}年 holidays"): str(v) for k, v in holidays.items()},
        {_parse_date(k, f"{year}年 workdays"): str(v) for k, v in workdays.items()},
    )


def schedule_to_iso(schedule: YearSchedule) -> tuple[dict[str, str], dict[str, str]]:
    """The stored form of a schedule: ISO date keys, ascending, so diffs of the table read well."""
    return (
        {d.isoformat(): n for d, n in schedule.holidays.items()},
        {d.isoformat(): n for d, n in schedule.workdays.items()},
    )
