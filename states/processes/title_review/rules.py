"""The rules of title review (职称评审), described in ``docs/processes/title_review.md``.
Pure: facts in, verdict out."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from states.org import EDUCATION_LABELS, TITLE_LABELS, education_at_least, next_title
from states.process.rules import Facts, TeacherFacts, Verdict, full_years

TEACHER: frozenset[type] = frozenset({TeacherFacts})


def _teacher(facts: Facts) -> TeacherFacts:
    return facts.get(TeacherFacts)


def _target(facts: Facts) -> str:
    return str(facts.data["target_title"])


def _years_ago(today: dt.date, years: int) -> dt.date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


@dataclass(frozen=True)
class QuotaFacts:
    """A school's posts of one title level this year, and how many other cases hold one."""

    title: str
    posts: int
    used: int


@dataclass(frozen=True)
class YearFacts:
    """The province's title-review year a case belongs to: its declaration window
    (``opens_on``..``closes_on``, both days included) and the day the province closed it,
    if it did; no dates when the province has not opened the year."""

    year: int
    opens_on: dt.date | None = None
    closes_on: dt.date | None = None
    closed_on: dt.date | None = None


def cn_date(day: dt.date, *, year: bool = True) -> str:
    """A date as a bureau notice writes it: 2026年3月1日 (3月31日 without the year)."""
    return (f"{day.year}年" if year else "") + f"{day.month}月{day.day}日"


def window_text(opens_on: dt.date, closes_on: dt.date) -> str:
    """2026年3月1日至3月31日; the year repeated only when the window crosses one."""
    return f"{cn_date(opens_on)}至{cn_date(closes_on, year=closes_on.year != opens_on.year)}"


@dataclass(frozen=True)
class DeclarationWindow:
    """Teachers declare only while their province's title-review year is open: between the
    days the province set, and not after it closed the year."""

    code: str = "declaration_window"
    label: str = "申报时间"
    needs: frozenset[type] = frozenset({YearFacts})

    def check(self, facts: Facts) -> Verdict:
        y = facts.get(YearFacts)
        if y.opens_on is None or y.closes_on is None:
            return Verdict.failed(f"{y.year}年度职称评审尚未开始申报（省教育厅尚未公布申报时间）")
        window = f"本年度职称申报时间为{window_text(y.opens_on, y.closes_on)}"
        if y.closed_on is not None:
            return Verdict.failed(f"本年度职称申报已于{cn_date(y.closed_on)}截止（{window}）")
        if facts.today < y.opens_on:
            return Verdict.failed(f"{window}，申报尚未开始")
        if facts.today > y.closes_on:
            return Verdict.failed(f"{window}，申报已截止")
        return Verdict.passed()


@dataclass(frozen=True)
class EthicsVeto:
    """师德一票否决: any violation in the look-back period ends the case, at every step."""

    code: str = "ethics_veto"
    label: str = "师德一票否决"
    needs: frozenset[type] = TEACHER

    def check(self, facts: Facts) -> Verdict:
        years = int(facts.policy["ethics_lookback_years"])
        since = _years_ago(facts.today, years)
        hits = sorted(d for d in _teacher(facts).ethics_dates if since <= d <= facts.today)
        if hits:
            return Verdict.failed(
                f"师德一票否决：{hits[-1].isoformat()}有师德违规记录（近{years}年内）"
            )
        return Verdict.passed()


@dataclass(frozen=True)
class NextRung:
    """Titles are climbed one rung at a time."""

    code: str = "next_rung"
    label: str = "逐级申报"
    needs: frozenset[type] = TEACHER

    def check(self, facts: Facts) -> Verdict:
        have = _teacher(facts).title
        want = next_title(have)
        if want is None:
            return Verdict.failed(f"现任{TITLE_LABELS[have]}已是最高职称，无可申报的职称")
        if _target(facts) != want:
            return Verdict.failed(
                f"应逐级申报：现任{TITLE_LABELS[have]}，只能申报{TITLE_LABELS[want]}"
            )
        return Verdict.passed()


@dataclass(frozen=True)
class YearsInTitle:
    code: str = "years_in_title"
    label: str = "任现职年限"
    needs: frozenset[type] = TEACHER

    def check(self, facts: Facts) -> Verdict:
        t = _teacher(facts)
        need = int(facts.policy["min_years"].get(_target(facts), 0))
        if need == 0:
            return Verdict.passed()
        if t.title_date is None:
            return Verdict.failed("缺少现任职称取得时间，无法核定任现职年限")
        have = full_years(t.title_date, facts.today)
        if have < need:
            return Verdict.failed(
                f"任现职年限不足：申报{TITLE_LABELS[_target(facts)]}须任{TITLE_LABELS[t.title]}"
                f"满{need}年，现为{have}年（{t.title_date.isoformat()}取得）"
            )
        return Verdict.passed()


@dataclass(frozen=True)
class MinEducation:
    code: str = "min_education"
    label: str = "学历要求"
    needs: frozenset[type] = TEACHER

    def check(self, facts: Facts) -> Verdict:
        t = _teacher(facts)
        need = facts.policy["min_education"].get(_target(facts))
        if need and not education_at_least(t.education, need):
            return Verdict.failed(
                f"学历不符合要求：申报{TITLE_LABELS[_target(facts)]}须具备"
                f"{EDUCATION_LABELS[need]}及以上学历，现为{EDUCATION_LABELS[t.education]}"
            )
        return Verdict.passed()


@dataclass(frozen=True)
class RuralExperience:
    """Urban teachers need rural or weak-school service to reach 高级 and above."""

    code: str = "rural_experience"
    label: str = "农村或薄弱学校任教经历"
    needs: frozenset[type] = TEACHER

    def check(self, facts: Facts) -> Verdict:
        t = _teacher(facts)
        if _target(facts) not in facts.policy["rural_required_for"]:
            return Verdict.passed()
        if t.school_is_rural or t.school_is_weak:
            return Verdict.passed()
        need = float(facts.policy["rural_years_required"])
        have = t.rural_service
        if have < need:
            return Verdict.failed(
                f"城镇学校教师申报{TITLE_LABELS[_target(facts)]}，须有{need:g}年以上"
                f"农村或薄弱学校任教（含支教、交流轮岗）经历，现为{have:g}年"
                f"（档案登记{t.rural_years:g}年，支教及交流记录{t.credited_years:g}年），"
                f"尚缺{round(need - have, 2):g}年"
            )
        return Verdict.passed()


@dataclass(frozen=True)
class QuotaAvailable:
    """A school recommends no more than its free posts; 30 years in rural schools is exempt."""

    code: str = "quota"
    label: str = "岗位职数"
    needs: frozenset[type] = frozenset({TeacherFacts, QuotaFacts})

    def check(self, facts: Facts) -> Verdict:
        if quota_exempt(facts):
            return Verdict.passed("乡村学校任教满30年，不受岗位职数限制")
        q = facts.get(QuotaFacts)
        if q.used >= q.posts:
            return Verdict.failed(
                f"本校{TITLE_LABELS[q.title]}岗位已无空余职数（共{q.posts}个，已推荐{q.used}人）"
            )
        return Verdict.passed()


def quota_exempt(facts: Facts) -> bool:
    t = _teacher(facts)
    # 乡村学校任教满30年: the record's rural years only — a ledger credit may be for a weak
    # urban school, which the exemption does not count
    return t.rural_years >= float(facts.policy["rural_exempt_years"])


@dataclass(frozen=True)
class NoDecisionYet:
    """撤回 is possible only until a reviewer has decided something."""

    code: str = "no_decision_yet"
    label: str = "尚未审核"
    needs: frozenset[type] = frozenset()

    def check(self, facts: Facts) -> Verdict:
        if facts.state == "school_review" and int(facts.data.get("decisions", 0)) > 0:
            return Verdict.failed("已有审核意见，不能撤回")
        return Verdict.passed()


@dataclass(frozen=True)
class ServiceFacts:
    """Whether the teacher is in service, as the roster records it (states/registry/roster.py:
    a teacher who has left the service, retired or died has a status with its date)."""

    active: bool
    reason: str = ""


@dataclass(frozen=True)
class InService:
    """Only a teacher in service declares."""

    code: str = "in_service"
    label: str = "在职状态"
    needs: frozenset[type] = frozenset({ServiceFacts})

    def check(self, facts: Facts) -> Verdict:
        service = facts.get(ServiceFacts)
        if service.active:
            return Verdict.passed()
        return Verdict.failed(f"{service.reason}，不能申报职称")


# --- 发文认定: the appointment document ------------------------------------------------------
# A document number as GB/T 9704-2012 writes it: the issuer's abbreviation (发文机关代字), the
# year in hexagonal brackets, the serial number without leading zeros or 第, then 号.
DOC_NUMBER = re.compile(
    r"(?P<issuer>[\u4e00-\u9fff]{1,20})〔(?P<year>\d{4})〕(?P<seq>[1-9]\d{0,5})号"
)
# Brackets people type for 〔〕: square, full-width, lenticular, round.
_BRACKETS = str.maketrans("[［【(（", "〔〔〔〔〔") | str.maketrans("]］】)）", "〕〕〕〕〕")
DOC_EXAMPLE = "某人社〔2026〕12号"


def doc_number_problem(number: str) -> str | None:
    """Why ``number`` is not a document number, in words that show the right form; None when
    it is one."""
    if DOC_NUMBER.fullmatch(number):
        return None
    fixed = re.sub(r"第(?=\d)", "", number.translate(_BRACKETS).replace(" ", ""))
    fixed = re.sub(r"〕0+(?=\d)", "〕", fixed)
    if fixed != number and DOC_NUMBER.fullmatch(fixed):
        return f"文号应写作“{fixed}”：年份用六角括号〔〕，序号前不加“第”、不加0"
    return f"文号应由发文机关代字、〔年份〕和序号组成，如“{DOC_EXAMPLE}”；您填写的是“{number}”"


@dataclass(frozen=True)
class DocumentNumber:
    """The appointment is made by a numbered document (文号): its shape, and its year that of
    the document's date."""

    code: str = "doc_number"
    label: str = "文号"
    needs: frozenset[type] = frozenset()

    def check(self, facts: Facts) -> Verdict:
        number = str(facts.payload.get("doc_number", ""))
        problem = doc_number_problem(number)
        if problem is not None:
            return Verdict.failed(problem, field="doc_number")
        found = DOC_NUMBER.fullmatch(number)
        assert found is not None
        on = facts.payload.get("doc_date")
        if on is not None:
            day = dt.date.fromisoformat(str(on))
            if int(found["year"]) != day.year:
                return Verdict.failed(
                    f"文号中的年份〔{found['year']}〕与发文日期{cn_date(day)}不在同一年，请核对",
                    field="doc_number",
                )
        return Verdict.passed()


@dataclass(frozen=True)
class DocumentDate:
    """A document is dated the day it was issued: never a day still to come."""

    code: str = "doc_date"
    label: str = "发文日期"
    needs: frozenset[type] = frozenset()

    def check(self, facts: Facts) -> Verdict:
        day = dt.date.fromisoformat(str(facts.payload["doc_date"]))
        if day > facts.today:
            return Verdict.failed(
                f"发文日期{cn_date(day)}晚于今天（{cn_date(facts.today)}），请填写实际发文的日期",
                field="doc_date",
            )
        if day.year < 2000:
            return Verdict.failed(f"发文日期{cn_date(day)}有误，请核对", field="doc_date")
        return Verdict.passed()
