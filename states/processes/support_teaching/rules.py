"""The rules of support teaching (支教), described in ``docs/processes/support_teaching.md``:
which schools may ask for teachers and for how long, who may be put forward against a need
(in the selector's area, in service, not on another term at the same time), the monthly
check-in's month, and the dates a dispatch or an early end may carry. Pure: facts in,
verdict out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from states.process.rules import Facts, Verdict

LEVELS = {"primary": "小学", "junior": "初中", "senior": "高中"}
TERMINATION_KINDS = {
    "illness": "因病",
    "family": "家庭原因",
    "misconduct": "违反纪律",
    "other": "其他原因",
}
MAX_YEARS = 3
# What a correction of a filed month may change.
CORRECTED = ("attendance_days", "teaching_hours", "assessment")
CORRECTED_LABELS = {
    "attendance_days": "出勤天数",
    "teaching_hours": "授课课时",
    "assessment": "表现评价",
}


def cn_date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def month_of(day: dt.date) -> dt.date:
    """The first day of ``day``'s month: how a check-in's month is kept."""
    return day.replace(day=1)


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later (the month's last day when it has fewer days)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def month_end(first: dt.date) -> dt.date:
    return add_months(first, 1) - dt.timedelta(days=1)


def months_between(first: dt.date, last: dt.date) -> list[dt.date]:
    """The first days of every month from ``first``'s to ``last``'s, both included."""
    out, m = [], month_of(first)
    while m <= last:
        out.append(m)
        m = add_months(m, 1)
    return out


def ym(day: dt.date) -> str:
    """2027-09: a month as the check-in form and the refusals write it."""
    return f"{day.year:04d}-{day.month:02d}"


def parse_month(raw: object) -> dt.date | None:
    """'2027-09' (or a date in it) → 2027-09-01; None for anything else."""
    text = str(raw or "").strip()
    try:
        if len(text) == 7:
            return dt.date.fromisoformat(f"{text}-01")
        return month_of(dt.date.fromisoformat(text))
    except ValueError:
        return None


def span(starts: dt.date, ends: dt.date) -> str:
    return f"{starts.isoformat()}至{ends.isoformat()}"


def _day(raw: object) -> dt.date | None:
    return dt.date.fromisoformat(str(raw)) if raw else None


# --- a need -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class NeedFacts:
    """The school that declares a need, as the rules judge it: rural or weak by its org
    unit, or a school of a paired region (支援地区) the city registered."""

    school: str
    is_rural: bool
    is_weak: bool
    region: str | None  # the paired region's name, when the school is in one


@dataclass(frozen=True)
class ReceivingSchool:
    code: str = "receiving_school"
    label: str = "接收学校为农村、薄弱或对口支援地区学校"
    needs: frozenset[type] = frozenset({NeedFacts})

    def check(self, facts: Facts) -> Verdict:
        n = facts.get(NeedFacts)
        if n.is_rural or n.is_weak or n.region:
            return Verdict.passed()
        return Verdict.failed(
            f"{n.school}不是农村学校、薄弱学校或对口支援地区学校，不能申报支教需求",
            field="school_id",
        )


@dataclass(frozen=True)
class TermDates:
    """A term starts no earlier than today, lasts at least a month and at most three years."""

    code: str = "term_dates"
    label: str = "支教期限"
    needs: frozenset[type] = frozenset()

    def check(self, facts: Facts) -> Verdict:
        starts, ends = _day(facts.data.get("starts_on")), _day(facts.data.get("ends_on"))
        if starts is None or ends is None:
            return Verdict.failed("缺少支教起止日期", field="starts_on")
        if facts.state == "draft" and starts < facts.today:
            return Verdict.failed(
                f"开始日期{cn_date(starts)}早于今天，请重新填写", field="starts_on"
            )
        if ends <= starts:
            return Verdict.failed("结束日期应晚于开始日期", field="ends_on")
        if ends < add_months(starts, 1) - dt.timedelta(days=1):
            return Verdict.failed("支教期限不能少于1个月", field="ends_on")
        if ends > add_months(starts, 12 * MAX_YEARS) - dt.timedelta(days=1):
            return Verdict.failed(f"支教期限不能超过{MAX_YEARS}年", field="ends_on")
        return Verdict.passed()


@dataclass(frozen=True)
class NotStarted:
    """A need is approved before its term begins, not after."""

    code: str = "need_not_started"
    label: str = "支教尚未开始"
    needs: frozenset[type] = frozenset()

    def check(self, facts: Facts) -> Verdict:
        starts = _day(facts.data.get("starts_on"))
        if starts is not None and starts < facts.today:
            return Verdict.failed(
                f"该需求的支教期已于{cn_date(starts)}开始，不能再批准", field="starts_on"
            )
        return Verdict.passed()


# --- a candidate ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Busy:
    """Another application or term of the same teacher, with its dates."""

    case_id: int
    starts_on: dt.date
    ends_on: dt.date


@dataclass(frozen=True)
class ApplicationFacts:
    """The need an application is against and the teacher put forward, as they stand now."""

    need_id: int
    need: str  # 东县乡村小学初中数学
    need_state: str | None  # None: no such need
    starts_on: dt.date
    ends_on: dt.date
    places: int
    filled: int
    receiving_school_id: int
    area: str  # 东县 (the need's county), or the pairing city for a paired region
    area_path: str
    teacher: str
    teacher_status: str | None  # None: no teacher record
    school_id: int | None
    school_path: str
    busy: tuple[Busy, ...]  # the teacher's other applications and terms


def _app(facts: Facts) -> ApplicationFacts:
    return facts.get(ApplicationFacts)


@dataclass(frozen=True)
class NeedOpen:
    """Candidates are put forward and chosen while the need is approved and its term has
    not begun. A full need (已满额) still takes candidates, as reserves for a place given
    back: only their selection is refused while none is (``PlacesLeft``)."""

    code: str = "need_open"
    label: str = "支教需求受理中"
    needs: frozenset[type] = frozenset({ApplicationFacts})

    def check(self, facts: Facts) -> Verdict:
        a = _app(facts)
        if a.need_state is None:
            return Verdict.failed(f"支教需求{a.need_id}不存在", field="need_id")
        if a.need_state not in ("approved", "filled_up"):
            return Verdict.failed(f"支教需求{a.need_id}（{a.need}）未在受理中", field="need_id")
        if facts.today > a.starts_on:
            return Verdict.failed(
                f"支教需求{a.need_id}（{a.need}）已于{cn_date(a.starts_on)}开始，不再受理",
                field="need_id",
            )
        return Verdict.passed()


@dataclass(frozen=True)
class TeacherInArea:
    """A teacher in service at a school of the selector's area — the need's county, or for a
    paired region's need the pairing city — and not at the receiving school itself."""

    code: str = "teacher_in_area"
    label: str = "教师在选派范围内"
    needs: frozenset[type] = frozenset({ApplicationFacts})

    def check(self, facts: Facts) -> Verdict:
        a = _app(facts)
        if a.teacher_status is None or a.school_id is None:
            return Verdict.failed("教师档案不存在", field="teacher_id")
        if a.teacher_status != "active":
            return Verdict.failed(f"{a.teacher}不在职，不能选派支教", field="teacher_id")
        if a.school_id == a.receiving_school_id:
            return Verdict.failed(
                f"{a.teacher}是接收学校的教师，不能到本校支教", field="teacher_id"
            )
        if not a.school_path.startswith(a.area_path):
            return Verdict.failed(
                f"{a.teacher}的任教学校不在{a.area}，不能选派到该需求", field="teacher_id"
            )
        return Verdict.passed()


@dataclass(frozen=True)
class NoOverlap:
    """One teacher, one term at a time: another application or term whose dates overlap
    the need's refuses it, named."""

    code: str = "no_overlap"
    label: str = "支教时间不重叠"
    needs: frozenset[type] = frozenset({ApplicationFacts})

    def check(self, facts: Facts) -> Verdict:
        a = _app(facts)
        for b in a.busy:
            if b.starts_on <= a.ends_on and a.starts_on <= b.ends_on:
                return Verdict.failed(
                    f"{a.teacher}与支教事项{b.case_id}（{span(b.starts_on, b.ends_on)}）时间重叠",
                    field="need_id",
                )
        return Verdict.passed()


@dataclass(frozen=True)
class PlacesLeft:
    """Read before the place is taken, for the words; the taking itself is one guarded
    UPDATE (``applications.take_place``), so two selections at once never overfill."""

    code: str = "places_left"
    label: str = "需求名额未满"
    needs: frozenset[type] = frozenset({ApplicationFacts})

    def check(self, facts: Facts) -> Verdict:
        a = _app(facts)
        if a.filled >= a.places:
            return Verdict.failed(full(a.need_id, a.need, a.places), field="need_id")
        return Verdict.passed()


def full(need_id: int, need: str, places: int) -> str:
    return f"支教需求{need_id}（{need}）名额已满（共{places}名）"


# --- a term -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class CheckinFacts:
    """The term's months and each month's check-in as it stands (``open``, ``submitted``,
    ``missed``)."""

    first: dt.date  # the dispatch month
    last: dt.date  # the month the term ends
    months: Mapping[dt.date, str]
    # the values of each filed month: attendance_days, teaching_hours, assessment
    filed: Mapping[dt.date, Mapping[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckinMonth:
    """A check-in is for a month of the term that has begun, opened and not yet filed."""

    code: str = "checkin_month"
    label: str = "考勤月份"
    needs: frozenset[type] = frozenset({CheckinFacts})

    def check(self, facts: Facts) -> Verdict:
        c = facts.get(CheckinFacts)
        month = parse_month(facts.payload.get("month"))
        if month is None:
            return Verdict.failed("月份应为“年-月”，如2027-09", field="month")
        if not c.first <= month <= c.last:
            return Verdict.failed(
                f"{ym(month)}不在支教期内（{ym(c.first)}至{ym(c.last)}）", field="month"
            )
        if month > month_of(facts.today):
            return Verdict.failed(f"{ym(month)}尚未到来，不能填报", field="month")
        status = c.months.get(month)
        if status is None:
            return Verdict.failed(f"{ym(month)}的月度考勤尚未开启", field="month")
        if status == "submitted":
            return Verdict.failed(f"{ym(month)}的月度考勤已填报", field="month")
        if status != "open":
            return Verdict.failed(f"{ym(month)}的月度考勤已关闭", field="month")
        return Verdict.passed()


@dataclass(frozen=True)
class CorrectableCheckin:
    """A correction is of a month already filed, and changes something of it. (A term
    assessed takes no correction: the event is not there any more.)"""

    code: str = "checkin_correctable"
    label: str = "更正已填报的月度考勤"
    needs: frozenset[type] = frozenset({CheckinFacts})

    def check(self, facts: Facts) -> Verdict:
        c = facts.get(CheckinFacts)
        month = parse_month(facts.payload.get("month"))
        if month is None:
            return Verdict.failed("月份应为“年-月”，如2027-09", field="month")
        status = c.months.get(month)
        if status == "missed":
            return Verdict.failed(
                f"{ym(month)}的月度考勤未按期填报，没有可更正的内容", field="month"
            )
        if status != "submitted":
            return Verdict.failed(f"{ym(month)}的月度考勤尚未填报，不能更正", field="month")
        given = [k for k in CORRECTED if facts.payload.get(k) is not None]
        if not given:
            return Verdict.failed(
                "请填写要更正的出勤天数、授课课时或表现评价", field="attendance_days"
            )
        was = c.filed.get(month, {})
        if all(facts.payload[k] == was.get(k) for k in given):
            return Verdict.failed(f"更正的内容与{ym(month)}已填报的相同，无需更正", field=given[0])
        return Verdict.passed()


@dataclass(frozen=True)
class DayBetween:
    """A day recorded on the term (a dispatch, an early end): never one still to come, never
    before ``after`` (a date in the case's data), never after ``before`` when given."""

    field_name: str
    after: str
    before: str | None = None
    code: str = "term_date"
    label: str = "日期"
    needs: frozenset[type] = frozenset()

    def check(self, facts: Facts) -> Verdict:
        on = _day(facts.payload.get(self.field_name))
        if on is None:
            return Verdict.passed()
        if on > facts.today:
            return Verdict.failed("日期不能晚于今天", field=self.field_name)
        since = _day(facts.data.get(self.after))
        if since is not None and on < since:
            return Verdict.failed(f"日期不能早于{cn_date(since)}", field=self.field_name)
        until = _day(facts.data.get(self.before)) if self.before else None
        if until is not None and on > until:
            return Verdict.failed(f"日期不能晚于期满日期{cn_date(until)}", field=self.field_name)
        return Verdict.passed()
