"""The columns of an import: what a column is, and the cell parsers every import of people
shares (ID number, name, mobile, gender, birth date, education, a teacher qualification
certificate's level, yes/no). Each raises ValueError with a Chinese reason an officer
understands; the row report names the row and the column."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from states.identity import validate_id_number, validate_phone
from states.org import EDUCATION_LABELS, SCHOOL_LEVELS


# --- schemas --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Column:
    """One field of an import.

    ``required`` means the column must be in the file and every cell filled; ``blank_ok``
    relaxes the second half for a column that must be present but whose cells may be blank
    when another column explains why (a score next to 缺考=是). ``parse`` gets the trimmed,
    non-empty text and raises ValueError with a Chinese reason.
    """

    name: str
    label: str
    aliases: tuple[str, ...]
    required: bool
    parse: Callable[[str], Any]
    blank_ok: bool = False


RowCheck = Callable[[dict[str, Any]], list[tuple[str, str]]]

# Stands in a row for a cell whose parse failed, so that a cross-field check can tell "blank"
# from "already reported" and not pile a second error on the same cell.
INVALID: Any = object()


@dataclass(frozen=True)
class Schema:
    """The columns of one kind of import, the column that must be unique within a file, and
    an optional cross-field check returning (column name, reason) pairs."""

    name: str
    label: str
    columns: tuple[Column, ...]
    key: str | None = "id_number"
    check: RowCheck | None = None

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


def parse_id_number(text: str) -> str:
    if "e+" in text.lower():
        raise ValueError(
            "身份证号被 Excel 存成了数字，后几位已丢失；请将该列设置为“文本”格式后重新录入"
        )
    return validate_id_number(text.lstrip("'"))


def parse_name(text: str) -> str:
    if len(text) > 30:
        raise ValueError(f"姓名不能超过30个字，实际为{len(text)}个字")
    return text


def parse_phone(text: str) -> str:
    return validate_phone(text.lstrip("'"))


_GENDERS = {"男": "M", "女": "F", "m": "M", "f": "F", "male": "M", "female": "F"}


def parse_gender(text: str) -> str:
    code = _GENDERS.get(text.lower())
    if code is None:
        raise ValueError(f"性别应为“男”或“女”：{text}")
    return code


_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})(?:\s*[-/.月]\s*(\d{1,2})\s*日?)?\s*月?")
_DATE8 = re.compile(r"(\d{4})(\d{2})(\d{2})?")


def parse_birth(text: str) -> date | tuple[int, int]:
    """A date, or (year, month) for the 出生年月 column many forms use ("1990.05")."""
    m = _DATE.fullmatch(text) or _DATE8.fullmatch(text)
    if m is None:
        raise ValueError(f"出生日期格式无法识别：{text}（应如 1990-05-01）")
    year, month = int(m[1]), int(m[2])
    try:
        if m[3] is None:
            date(year, month, 1)
            return (year, month)
        return date(year, month, int(m[3]))
    except ValueError:
        raise ValueError(f"出生日期无效：{text}") from None


def _vocabulary(codes: Mapping[str, str], extra: Mapping[str, str]) -> dict[str, str]:
    out = {code.lower(): code for code in codes}
    out.update({label: code for code, label in codes.items()})
    out.update(extra)
    return out


_EDUCATION = _vocabulary(
    EDUCATION_LABELS,
    {
        "专科": "associate",
        "大学专科": "associate",
        "本科": "bachelor",
        "大学本科": "bachelor",
        "硕士": "master",
        "研究生": "master",
        "硕士研究生": "master",
        "博士": "doctor",
        "博士研究生": "doctor",
    },
)


def parse_education(text: str) -> str:
    code = _EDUCATION.get(text.lower().replace(" ", ""))
    if code is None:
        raise ValueError(f"学历无法识别：{text}（应为 大专、本科、硕士研究生 或 博士研究生）")
    return code


_CERT_LEVELS = _vocabulary(
    SCHOOL_LEVELS,
    {
        "幼儿园": "kindergarten",
        "小学": "primary",
        "初中": "junior",
        "初级中学": "junior",
        "高中": "senior",
        "高级中学": "senior",
        "中职": "vocational",
        "中等职业学校": "vocational",
        "中职专业课": "vocational",
        "中等职业学校专业课": "vocational",
        "中职实习指导": "vocational",
        "中等职业学校实习指导": "vocational",
    },
)
_CERT_SUFFIX = re.compile(r"(教师)?(资格)?(证书|证)?$")
_NONE = frozenset({"无", "没有", "暂无", "none", "-", "—"})


def parse_cert_level(text: str) -> str | None:
    """The school level of the teacher qualification certificate, or None for none yet.

    Officers write the certificate's full name as often as its level ("高级中学教师资格证"),
    so the common suffixes are dropped before matching.
    """
    key = text.lower().replace(" ", "")
    if key in _NONE:
        return None
    code = _CERT_LEVELS.get(key) or _CERT_LEVELS.get(_CERT_SUFFIX.sub("", key, count=1))
    if code is None:
        raise ValueError(
            f"教师资格证学段无法识别：{text}（应为 幼儿园、小学、初级中学、高级中学 或 中职）"
        )
    return code


def text_up_to(limit: int, what: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if len(text) > limit:
            raise ValueError(f"{what}不能超过{limit}个字符，实际为{len(text)}个")
        return text

    return parse


_YES = frozenset({"是", "缺考", "y", "yes", "true", "1", "√"})
_NO = frozenset({"否", "n", "no", "false", "0", "×"})


def parse_yes_no(text: str) -> bool:
    t = text.lower()
    if t in _YES:
        return True
    if t in _NO:
        return False
    raise ValueError(f"应填“是”或“否”：{text}")


@lru_cache(maxsize=65536)
def id_birth(digits: str) -> date:
    return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))


ID_NUMBER = Column(
    "id_number",
    "身份证号",
    ("身份证号码", "证件号码", "证件号", "公民身份号码", "身份证", "idnumber", "id"),
    True,
    parse_id_number,
)


def aliases(schema: Schema) -> Iterator[str]:
    """Every name a header may carry for the schema's columns, normalised."""
    for col in schema.columns:
        for alias in (col.name, col.label, *col.aliases):
            yield normalise(alias)


def normalise(header: str) -> str:
    """Templates decorate headers ("*身份证号", "笔试成绩（分）", "ID Number")."""
    h = re.sub(r"[\s_*＊]", "", header).lower()
    return re.sub(r"[（(][^（()）]*[)）]$", "", h) or h
