"""The teacher roster as a spreadsheet: its columns in the bureau's own words, the parsers of
its cells, the checks across a row, and the streaming writer a province's roster (or the
demo seed's) is written with.

Pure: the standard library and ``states.sheets``; the database work is in
``states.registry.roster``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from operator import mul
from typing import Any, BinaryIO

from states.org import (
    BACKBONE_LEVELS,
    EDUCATION_LABELS,
    GENDERS,
    SCHOOL_LEVELS,
    SUBJECTS,
    TITLE_LABELS,
)
from states.sheets import INVALID, Column, Schema, write_xlsx_to
from states.sheets.columns import (
    ID_NUMBER,
    id_birth,
    parse_birth,
    parse_cert_level,
    parse_education,
    parse_gender,
    parse_name,
    parse_phone,
    text_up_to,
)

# A province has up to a million teachers: the roster is read as a stream, never as a whole.
MAX_ROWS = 1_200_000
# An ethics record's wording, as the bureau's decision names the violation.
MAX_ETHICS_TEXT = 200


# --- cell parsers ---------------------------------------------------------------------------
_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})(?:\s*[-/.月]\s*(\d{1,2})\s*日?)?\s*月?")
_DATE8 = re.compile(r"(\d{4})(\d{2})(\d{2})?")
_EXCEL_EPOCH = dt.date(1899, 12, 30)
# Five-digit Excel serial numbers: 1927-05-18 to 2173-10-14. A date column that reaches the
# parser as such a number is a date Excel kept as a number (a cell formatted as 常规).
_SERIAL = re.compile(r"[1-9]\d{4}")


@lru_cache(maxsize=65536)
def parse_date(text: str) -> dt.date:
    """A full date as officers type it (2015-09-01, 2015/9/1, 2015.09.01, 2015年9月1日,
    20150901); a year and month alone (2015.09, 2015年9月) is the first of that month,
    the way personnel forms record 取得时间 and 参加工作时间."""
    m = _DATE.fullmatch(text) or _DATE8.fullmatch(text)
    if m is None:
        if _SERIAL.fullmatch(text):
            return _EXCEL_EPOCH + dt.timedelta(days=int(text))
        raise ValueError(f"日期格式无法识别：{text}（应如 2015-09-01）")
    try:
        return dt.date(int(m[1]), int(m[2]), int(m[3] or 1))
    except ValueError:
        raise ValueError(f"日期无效：{text}") from None


_SUBJECT_ALIASES = {
    "道德与法治": "政治",
    "思想品德": "政治",
    "思想政治": "政治",
    "思品": "政治",
    "信息科技": "信息技术",
    "计算机": "信息技术",
    "生物学": "生物",
    "学前": "学前教育",
    "幼教": "学前教育",
    "幼儿教育": "学前教育",
    "外语": "英语",
    "体育与健康": "体育",
}
_SUBJECTS = frozenset(SUBJECTS)


@lru_cache(maxsize=256)
def parse_subject(text: str) -> str:
    key = text.replace(" ", "")
    subject = key if key in _SUBJECTS else _SUBJECT_ALIASES.get(key)
    if subject is None:
        raise ValueError(f"任教学科无法识别：{text}（应为 {'、'.join(SUBJECTS)} 之一）")
    return subject


_LEVELS = {
    **{code: code for code in SCHOOL_LEVELS},
    **{label: code for code, label in SCHOOL_LEVELS.items()},
    "幼儿园": "kindergarten",
    "学前": "kindergarten",
    "初级中学": "junior",
    "高级中学": "senior",
    "普通高中": "senior",
    "中等职业学校": "vocational",
    "职业高中": "vocational",
    "职高": "vocational",
}


@lru_cache(maxsize=256)
def parse_level(text: str) -> str:
    code = _LEVELS.get(text.replace(" ", "").lower()) or _LEVELS.get(text.replace(" ", ""))
    if code is None:
        raise ValueError(f"学段无法识别：{text}（应为 幼儿园、小学、初中、高中 或 中职）")
    return code


# The ladder since the 2015 reform, and the older names still found in personnel files:
# 中学高级 became 高级, 小学高级 became 一级 (中小学教师职称制度改革).
_TITLES = {
    **{code: code for code in TITLE_LABELS},
    **{label: code for code, label in TITLE_LABELS.items()},
    **{label.removesuffix("教师"): code for code, label in TITLE_LABELS.items()},
    "中学高级教师": "senior",
    "中学一级教师": "grade1",
    "中学二级教师": "grade2",
    "中学三级教师": "grade3",
    "小学高级教师": "grade1",
    "小学一级教师": "grade2",
    "小学二级教师": "grade3",
    "小学三级教师": "grade3",
}


@lru_cache(maxsize=256)
def parse_title(text: str) -> str:
    key = text.replace(" ", "")
    code = _TITLES.get(key) or _TITLES.get(key + "教师")
    if code is None:
        raise ValueError(
            f"职称无法识别：{text}（应为 三级教师、二级教师、一级教师、高级教师 或 正高级教师）"
        )
    return code


_BACKBONE = {
    **{code: code for code in BACKBONE_LEVELS},
    **{label: code for code, label in BACKBONE_LEVELS.items()},
    **{label.removesuffix("骨干"): code for code, label in BACKBONE_LEVELS.items()},
    **{label + "教师": code for code, label in BACKBONE_LEVELS.items()},
    **{label.removesuffix("级骨干") + "骨干": code for code, label in BACKBONE_LEVELS.items()},
}
_NONE = frozenset({"无", "否", "没有", "暂无", "-", "—", "/"})


@lru_cache(maxsize=256)
def parse_backbone(text: str) -> str | None:
    key = text.replace(" ", "")
    if key in _NONE:
        return None
    code = _BACKBONE.get(key)
    if code is None:
        raise ValueError(
            f"骨干教师级别无法识别：{text}（应为 无、校级骨干、县级骨干、市级骨干 或 省级骨干）"
        )
    return code


_YEARS = re.compile(r"(\d{1,2}(?:\.\d+)?)\s*年?")


@lru_cache(maxsize=4096)
def parse_years(text: str) -> float:
    m = _YEARS.fullmatch(text)
    if m is None:
        raise ValueError(f"应为年数（如 3 或 2.5）：{text}")
    years = float(m[1])
    if years > 50:
        raise ValueError(f"年数不合理：{text}（不能超过50年）")
    return round(years, 1)


_CERT_NO = re.compile(r"[0-9A-Za-z-]{1,32}")


def parse_cert_no(text: str) -> str:
    number = text.lstrip("'")
    if "e+" in number.lower():
        raise ValueError(
            "证书编号被 Excel 存成了数字，后几位已丢失；请将该列设置为“文本”格式后重新录入"
        )
    if not _CERT_NO.fullmatch(number):
        raise ValueError(f"资格证书编号应为数字或字母，不超过32位：{text}")
    return number


_ETHICS_ITEM = re.compile(r"(\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?|\d{8})\s*(.*)")
_ETHICS_SPLIT = re.compile(r"[；;\n]+")
Ethics = tuple[tuple[dt.date, str], ...]


def parse_ethics(text: str) -> Ethics:
    """师德记录: each violation as its date and what it was, several separated by ；
    ("2024-03-01 组织有偿补课；2025-06-10 体罚学生"); 无 for none."""
    if text.replace(" ", "") in _NONE:
        return ()
    out: list[tuple[dt.date, str]] = []
    for item in _ETHICS_SPLIT.split(text):
        item = item.strip()
        if not item:
            continue
        m = _ETHICS_ITEM.fullmatch(item)
        if m is None:
            raise ValueError(
                f"师德记录应写成“日期 事由”，多条用；分隔（如 2024-03-01 组织有偿补课）：{item}"
            )
        when = parse_date(re.sub(r"\s", "", m[1]))
        what = m[2].strip(" ，,:：")
        if not what:
            raise ValueError(f"师德记录缺少事由：{item}")
        if len(what) > MAX_ETHICS_TEXT:
            raise ValueError(f"师德记录事由不能超过{MAX_ETHICS_TEXT}个字：{item[:20]}…")
        out.append((when, what))
    return tuple(sorted(set(out)))


def ethics_text(items: Iterable[tuple[dt.date, str]]) -> str:
    """Ethics records as the roster writes them (and reads them back)."""
    return "；".join(f"{d.isoformat()} {what}" for d, what in sorted(items))


def ethics_keys(items: Iterable[tuple[dt.date, str]]) -> list[str]:
    """Ethics records as the history keeps them: one line each, oldest first."""
    return [f"{d.isoformat()} {what}" for d, what in sorted(set(items))]


_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
# The weighted sum over the digits' character codes less what the codes add to it (each digit
# is its code less 48): no int() per digit.
_ZERO = 48 * sum(_WEIGHTS)


def parse_id(text: str) -> str:
    """``columns.parse_id_number``, quicker for the valid numbers a roster is made of: the
    checks in one pass over the digits; any number that fails one goes to the full check,
    whose first reason is the one reported."""
    number = text[:17] + text[17:].upper()
    if len(number) == 18 and number.isascii() and number[:17].isdigit() and number[0] != "0":
        last = number[17]
        total = sum(map(mul, number[:17].encode(), _WEIGHTS)) - _ZERO
        if _CHECK[total % 11] == last:
            try:
                born = id_birth(number[6:14])
            except ValueError:
                born = None
            if born is not None and born.year >= 1900:
                return number
    checked: str = ID_NUMBER.parse(text)
    return checked


_MOBILE = frozenset(f"1{d}" for d in "3456789")


def parse_mobile(text: str) -> str:
    """``columns.parse_phone``, quicker for the plain 11 digits nearly every row has."""
    if len(text) == 11 and text.isascii() and text.isdigit() and text[:2] in _MOBILE:
        return text
    checked: str = parse_phone(text)
    return checked


_GENDER = lru_cache(maxsize=64)(parse_gender)
_EDUCATION = lru_cache(maxsize=64)(parse_education)
_CERT_LEVEL = lru_cache(maxsize=256)(parse_cert_level)
_BIRTH = lru_cache(maxsize=65536)(parse_birth)
_SCHOOL_CODE = text_up_to(32, "学校代码")


# --- the schema -----------------------------------------------------------------------------
# Record fields in the order the file, the pages and the history show them.
COLUMNS: tuple[Column, ...] = (
    dataclasses.replace(ID_NUMBER, parse=parse_id),
    Column("name", "姓名", ("教师姓名",), True, parse_name),
    Column("gender", "性别", (), False, _GENDER),
    Column("birth_date", "出生日期", ("出生年月",), False, _BIRTH),
    Column("school_code", "学校代码", ("单位代码", "学校编码", "任教学校代码"), True, _SCHOOL_CODE),
    Column("subject", "任教学科", ("学科", "所教学科"), True, parse_subject),
    Column("school_level", "学段", ("任教学段",), True, parse_level),
    Column(
        "title",
        "现专业技术职务",
        ("职称", "现职称", "专业技术职务", "现任职称"),
        True,
        parse_title,
    ),
    Column(
        "title_date",
        "取得时间",
        ("职称取得时间", "现职称取得时间", "取得职称时间", "任职时间"),
        False,
        parse_date,
    ),
    Column("education", "学历", ("最高学历",), True, _EDUCATION),
    Column("started_teaching_on", "参加工作时间", ("参加工作日期", "工作时间"), True, parse_date),
    Column(
        "joined_school_on",
        "调入本校时间",
        ("到本校时间", "进入本校时间", "来校时间", "到校时间"),
        False,
        parse_date,
    ),
    Column(
        "rural_years",
        "农村或薄弱学校任教年限",
        ("农村任教年限", "乡村任教年限", "农村学校任教年限", "薄弱学校任教年限"),
        False,
        parse_years,
    ),
    Column("backbone_level", "骨干教师级别", ("骨干级别", "骨干教师"), False, parse_backbone),
    Column(
        "cert_level",
        "教师资格种类",
        ("教师资格证种类", "资格种类", "教师资格", "教师资格证"),
        False,
        _CERT_LEVEL,
    ),
    Column(
        "cert_no",
        "资格证书编号",
        ("教师资格证书编号", "教师资格证号", "证书编号"),
        False,
        parse_cert_no,
    ),
    Column(
        "cert_registered_on",
        "注册日期",
        ("资格注册日期", "定期注册日期", "教师资格注册日期"),
        False,
        parse_date,
    ),
    Column("phone", "手机号", ("手机号码", "手机", "联系电话"), False, parse_mobile),
    Column("ethics", "师德记录", ("师德违规记录", "师德问题记录"), False, parse_ethics),
)
LABELS: dict[str, str] = {c.name: c.label for c in COLUMNS}
DATE_FIELDS = ("title_date", "started_teaching_on", "joined_school_on", "cert_registered_on")
# Fields a blank cell leaves as they are on a re-import (rather than clearing): a contact
# number and the ethics records are never erased by omission; the two below default on a
# new record (调入本校时间 to 参加工作时间, 年限 to 0) and keep their value on an old one.
KEEP_WHEN_BLANK = frozenset({"phone", "ethics", "joined_school_on", "rural_years"})


def roster_schema(today: dt.date | None = None) -> Schema:
    """The roster's schema, its cross-field check judging dates against ``today`` (the
    import's clock, never the machine's): nothing may lie in the future."""
    return Schema("roster", "教师名册", COLUMNS, key="id_number", check=_checker(today))


def _checker(today: dt.date | None) -> Callable[[dict[str, Any]], list[tuple[str, str]]]:
    def check(row: dict[str, Any]) -> list[tuple[str, str]]:
        return row_problems(row, today)

    return check


def row_problems(row: Mapping[str, Any], today: dt.date | None) -> list[tuple[str, str]]:
    """(field, reason) for what is wrong across a row's cells (each cell parsed alone is
    fine): the ID number against the birth date and gender given, dates in the future or
    before birth, a school joined before teaching began, more rural years than years.

    Runs once per row of a province's roster: plain type tests and locals, no helpers."""
    out: list[tuple[str, str]] = []
    date = dt.date
    number = row.get("id_number")
    born: dt.date | None = None
    if type(number) is str:
        born = id_birth(number[6:14])
        if today is not None and born > today:
            out.append(("id_number", f"身份证号中的出生日期（{born.isoformat()}）晚于今天"))
        birth = row.get("birth_date")
        if (
            birth is not None
            and birth is not INVALID
            and birth != born
            and (type(birth) is not tuple or (born.year, born.month) != birth)
        ):
            out.append(("birth_date", f"出生日期与身份证号不符（身份证号中为{born.isoformat()}）"))
        gender = row.get("gender")
        if gender is not None and gender is not INVALID:
            said = "M" if number[16] in "13579" else "F"
            if gender != said:
                out.append(("gender", f"性别与身份证号不符（身份证号第17位表示{GENDERS[said]}）"))
    for name in DATE_FIELDS:
        value = row.get(name)
        if type(value) is not date:
            continue
        if today is not None and value > today:
            out.append((name, f"{LABELS[name]}晚于今天（{today.isoformat()}）"))
        elif born is not None and value <= born:
            out.append((name, f"{LABELS[name]}早于出生日期（{born.isoformat()}）"))
    started, joined = row.get("started_teaching_on"), row.get("joined_school_on")
    if type(started) is date and type(joined) is date and joined < started:
        out.append(("joined_school_on", "调入本校时间早于参加工作时间"))
    rural = row.get("rural_years")
    if rural and type(rural) is float and type(started) is date and today is not None:
        served = (today - started).days / 365.2425
        if rural > served + 0.1:
            out.append(
                ("rural_years", f"农村或薄弱学校任教年限（{rural:g}年）超过教龄（{served:.1f}年）")
            )
    ethics = row.get("ethics")
    if ethics and type(ethics) is tuple and today is not None:
        late = [d for d, _ in ethics if d > today]
        if late:
            out.append(("ethics", f"师德记录的日期{late[0].isoformat()}晚于今天"))
    return out


ROSTER = roster_schema()


# --- writing --------------------------------------------------------------------------------
_CERT_LABELS = {
    "kindergarten": "幼儿园",
    "primary": "小学",
    "junior": "初级中学",
    "senior": "高级中学",
    "vocational": "中等职业学校",
}
# Stored codes as the roster writes them, in the words the parsers above read back.
_SHOWN: dict[str, Mapping[str, str]] = {
    "gender": GENDERS,
    "school_level": SCHOOL_LEVELS,
    "title": TITLE_LABELS,
    "education": EDUCATION_LABELS,
    "backbone_level": BACKBONE_LEVELS,
    "cert_level": _CERT_LABELS,
}


def shown(row: Mapping[str, Any]) -> dict[str, Any]:
    """A record (stored codes, dates, an ethics tuple) as a roster row a bureau writes:
    labels for codes, 无 for no backbone level, the ethics records as text."""
    out: dict[str, Any] = {}
    for c in COLUMNS:
        value = row.get(c.name)
        vocabulary = _SHOWN.get(c.name)
        if vocabulary is not None and isinstance(value, str):
            value = vocabulary.get(value, value)
        elif c.name == "ethics" and value is not None and not isinstance(value, str):
            value = ethics_text(value) or "无"
        elif c.name == "backbone_level" and value is None:
            value = "无"
        out[c.name] = value
    return out


def write_roster(
    target: str | os.PathLike[str] | BinaryIO,
    rows: Iterable[Mapping[str, Any]],
    *,
    title: str = "教师名册",
    mask: tuple[str, ...] = (),
) -> None:
    """Write a roster .xlsx that ``import_roster`` reads back, row by row in bounded memory
    (600,000 teachers in well under a minute). ``rows`` hold a record's stored values by
    column name (``school_code`` for the school); see ``shown``."""
    write_xlsx_to(
        target,
        [(c.name, c.label) for c in COLUMNS],
        (shown(r) for r in rows),
        title=title,
        mask=mask,
    )
