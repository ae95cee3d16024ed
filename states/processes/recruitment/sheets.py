"""Recruitment's spreadsheets: the applicant import, the written and interview score imports,
and synthetic applicants for benchmarks and demos. Built on the generic sheet reading,
validation and writing of ``states.sheets``."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from states.identity import make_id_number
from states.org import SUBJECTS
from states.sheets.columns import (
    ID_NUMBER,
    INVALID,
    Column,
    Schema,
    id_birth,
    parse_birth,
    parse_cert_level,
    parse_education,
    parse_gender,
    parse_name,
    parse_phone,
    parse_yes_no,
    text_up_to,
)
from states.sheets.write import write_xlsx

_TWO_PLACES = Decimal("0.01")
_HUNDRED = Decimal(100)
# Many exam offices mark absence in the score cell itself rather than in a 缺考 column.
ABSENT = "缺考"


def parse_score(text: str) -> Decimal | str:
    """A 0-100 score with at most two decimals, or ``ABSENT``."""
    if text == ABSENT:
        return ABSENT
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"成绩应为数字：{text}") from None
    if not value.is_finite():
        raise ValueError(f"成绩应为数字：{text}")
    if not 0 <= value <= _HUNDRED:
        raise ValueError(f"成绩应在0到100之间：{text}")
    if value != value.quantize(_TWO_PLACES):
        raise ValueError(f"成绩最多保留两位小数：{text}")
    return value


def check_applicant(row: dict[str, Any]) -> list[tuple[str, str]]:
    """Gender and birth date are encoded in the ID number; fill them in when absent and
    refuse a contradiction, which almost always means a mistyped ID (another person's)."""
    number = row.get("id_number")
    if number is None or number is INVALID:
        return []
    problems: list[tuple[str, str]] = []
    id_gender = "M" if int(number[16]) & 1 else "F"
    gender = row.get("gender")
    if gender is None:
        row["gender"] = id_gender
    elif gender is not INVALID and gender != id_gender:
        shown = "男" if id_gender == "M" else "女"
        problems.append(("gender", f"性别与身份证号不符（身份证号显示为{shown}）"))
    born = id_birth(number[6:14])
    given = row.get("birth_date")
    if isinstance(given, tuple):
        if given != (born.year, born.month):
            problems.append(
                ("birth_date", f"出生年月与身份证号不符（身份证号中为{born.year}年{born.month}月）")
            )
    elif given is not None and given is not INVALID and given != born:
        problems.append(("birth_date", f"出生日期与身份证号不符（身份证号中为{born.isoformat()}）"))
    if given is not INVALID:
        row["birth_date"] = born
    return problems


def check_score(row: dict[str, Any]) -> list[tuple[str, str]]:
    """A blank score needs an explanation (缺考); an absent candidate cannot have one, except
    a 0 that some offices type for absentees, which is read as absent."""
    score, absent = row.get("score"), row.get("absent")
    if score is INVALID or absent is INVALID:
        return []
    if score == ABSENT:
        row["score"], row["absent"] = None, True
        return []
    if absent:
        row["score"] = None
        if score is not None and score != 0:
            return [("score", "标记为缺考的考生不应填写成绩")]
        return []
    row["absent"] = False
    if score is None:
        return [("score", "成绩不能为空（缺考请填写“缺考”）")]
    return []


APPLICANTS = Schema(
    "applicants",
    "报名人员",
    (
        ID_NUMBER,
        Column("name", "姓名", ("名字", "考生姓名", "name"), True, parse_name),
        Column(
            "phone",
            "手机号码",
            ("手机号", "手机", "联系电话", "电话", "联系方式", "phone", "mobile"),
            True,
            parse_phone,
        ),
        Column("gender", "性别", ("gender", "sex"), False, parse_gender),
        Column(
            "birth_date", "出生日期", ("出生年月", "生日", "birthday", "dob"), False, parse_birth
        ),
        Column("education", "学历", ("最高学历", "education"), True, parse_education),
        Column(
            "degree_subject",
            "所学专业",
            ("专业", "学位专业", "毕业专业", "major"),
            False,
            text_up_to(64, "所学专业"),
        ),
        Column(
            "cert_level",
            "教师资格证学段",
            (
                "教师资格证",
                "教师资格",
                "教师资格证种类",
                "教师资格种类",
                "教师资格证类别",
                "资格证学段",
                "资格证",
            ),
            False,
            parse_cert_level,
        ),
        Column(
            "post_code",
            "岗位代码",
            ("报考岗位代码", "岗位编码", "职位代码", "报考岗位", "岗位", "post"),
            True,
            text_up_to(32, "岗位代码"),
        ),
    ),
    check=check_applicant,
)


def _score_schema(name: str, label: str, kind: str) -> Schema:
    return Schema(
        name,
        label,
        (
            ID_NUMBER,
            Column(
                "score",
                f"{kind}成绩",
                ("成绩", "分数", f"{kind}分数", f"{kind}得分", "score", f"{name}parse_score"),
                True,
                parse_score,
                blank_ok=True,
            ),
            Column("absent", "缺考", ("是否缺考", "absent"), False, parse_yes_no),
        ),
        check=check_score,
    )


WRITTEN_SCORES = _score_schema("written", "笔试成绩", "笔试")
INTERVIEW_SCORES = _score_schema("interview", "面试成绩", "面试")
SCHEMAS = {s.name: s for s in (APPLICANTS, WRITTEN_SCORES, INTERVIEW_SCORES)}


# --- synthetic data (benchmarks, demos) -----------------------------------------------------
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
    "于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江"
    "尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
_GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华玉萍红娥玲芬燕彬斌宇浩凯"
    "鹏辉欣怡雪梅琳晨阳子涵思雨佳一博文轩诗梓萱然俊"
)
_REGIONS = (
    "110101", "120103", "130102", "140105", "210102", "310104", "320102", "330106",
    "340102", "350102", "360102", "370102", "410102", "420102", "430102", "440305",
    "450102", "500103", "510107", "520102", "530102", "610102", "620102",
)  # fmt: skip
_SUBJECT_MAJORS = {
    "语文": "汉语言文学",
    "数学": "数学与应用数学",
    "英语": "英语",
    "物理": "物理学",
    "化学": "化学",
    "生物": "生物科学",
    "历史": "历史学",
    "地理": "地理科学",
    "政治": "思想政治教育",
    "音乐": "音乐学",
    "体育": "体育教育",
    "美术": "美术学",
    "信息技术": "计算机科学与技术",
    "学前教育": "学前教育",
}


def synthetic_applicants(n: int, posts: Sequence[str], seed: int = 1) -> list[dict[str, str]]:
    """``n`` valid, distinct applicants as an officer's sheet would hold them (text, Chinese
    labels), spread over ``posts``: realistic enough that benchmarks exercise every parser."""
    if not posts:
        raise ValueError("岗位代码列表不能为空")
    rng = random.Random(seed)
    seen: set[str] = set()
    out: list[dict[str, str]] = []
    education = ("大专", "本科", "本科", "本科", "硕士研究生", "博士研究生")
    certs = ("幼儿园", "小学", "初级中学", "高级中学", "中职", "")
    first = date(1988, 1, 1).toordinal()
    span = date(2003, 12, 31).toordinal() - first
    while len(out) < n:
        gender = "M" if rng.random() < 0.35 else "F"
        born = date.fromordinal(first + rng.randrange(span))
        number = make_id_number(rng.choice(_REGIONS), born, rng.randrange(1000), gender)
        if number in seen:
            continue
        seen.add(number)
        subject = rng.choice(SUBJECTS)
        given = rng.choice(_GIVEN) + (rng.choice(_GIVEN) if rng.random() < 0.7 else "")
        out.append(
            {
                "id_number": number,
                "name": rng.choice(_SURNAMES) + given,
                "phone": f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}",
                "gender": "男" if gender == "M" else "女",
                "birth_date": born.isoformat(),
                "education": rng.choice(education),
                "degree_subject": _SUBJECT_MAJORS[subject],
                "cert_level": rng.choice(certs),
                "post_code": rng.choice(posts),
            }
        )
    return out


def make_applicants_xlsx(n: int, posts: Sequence[str], seed: int = 1) -> bytes:
    """``synthetic_applicants`` as the .xlsx an officer would upload (Chinese headers)."""
    return write_xlsx(
        [(c.name, c.label) for c in APPLICANTS.columns],
        synthetic_applicants(n, posts, seed),
        title="报名信息",
        mask=(),
    )
