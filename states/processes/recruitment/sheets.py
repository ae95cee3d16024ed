"""Recruitment's spreadsheets: the applicant import, the written and interview score imports,
and synthetic applicants for benchmarks and demos. Built on the generic sheet reading,
validation and writing of ``states.sheets``."""

from __future__ import annotations

import io
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


# --- import templates ----------------------------------------------------------------------
# What each column wants, as the template's notes say it (by column name).
HOW: dict[str, str] = {
    "id_number": (
        "18位居民身份证号，末位X大写。本列已设为文本格式，请勿改成数字（否则后几位会变成0）"
    ),
    "name": "考生姓名",
    "phone": "11位手机号码，资格审查结果等通知发送到此号码",
    "gender": "男 或 女；不填则按身份证号读取",
    "birth_date": "如 1999-05-01；不填则按身份证号读取",
    "education": "中专、大专、本科、硕士研究生 或 博士研究生（最高学历）",
    "degree_subject": "如 汉语言文学",
    "cert_level": "幼儿园、小学、初级中学、高级中学 或 中职；尚未取得的填“无”或不填",
    "post_code": "本轮已批准的岗位代码，见“填写说明”中的岗位列表",
    "score": "0至100，最多保留两位小数；缺考的填“缺考”",
    "absent": "缺考的可在此填“是”（成绩栏留空）；未缺考的不填",
}
# Choices offered as a drop-down where a column has a short list of answers.
CHOICES: dict[str, tuple[str, ...]] = {
    "gender": ("男", "女"),
    "education": ("中专", "大专", "本科", "硕士研究生", "博士研究生"),
    "cert_level": ("幼儿园", "小学", "初级中学", "高级中学", "中职", "无"),
    "absent": ("是", "否"),
}
# What each import is for, who imports it and what it does, said once at the top.
PURPOSE: dict[str, tuple[str, ...]] = {
    "applicants": (
        "由省教育厅导入。导入的考生同样检查年龄、学历和教师资格，并按“每个身份证号每年限报一个岗位”核对。",
    ),
    "written": (
        "由省教育厅导入，只能为本轮“资格审查通过”的考生录入笔试成绩。",
        "全部资格审查通过的考生都有成绩或缺考标记后，市教育局才能确定入围面试人选。",
    ),
    "interview": (
        "由市教育局人事处导入，只能为本轮“入围面试”的考生录入面试成绩。",
        "全部入围考生都有成绩或缺考标记后，才能计算综合成绩并排名。",
    ),
}
TEMPLATE_FIRST_ROW = 3  # row 1 the note, row 2 the headers


def import_template(kind: str, round_name: str, posts: Sequence[tuple[str, str]] = ()) -> bytes:
    """The .xlsx an officer fills in for an import of ``kind``: the note on its first row,
    the headers the import reads on the second (each with what it wants as a comment, and a
    drop-down where the answers are few), the ID number and mobile columns formatted as
    text, and a second sheet of notes (for applicants, the round's posts). Filled in and
    uploaded as it is, it is read like any other sheet: the reader finds the header row by
    its names, below a title."""
    from openpyxl import Workbook  # type: ignore[import-untyped, unused-ignore]
    from openpyxl.comments import Comment  # type: ignore[import-untyped, unused-ignore]
    from openpyxl.styles import Alignment, Font  # type: ignore[import-untyped, unused-ignore]
    from openpyxl.utils import get_column_letter  # type: ignore[import-untyped, unused-ignore]
    from openpyxl.worksheet.datavalidation import (  # type: ignore[import-untyped, unused-ignore]
        DataValidation,
    )

    schema = SCHEMAS[kind]
    wb = Workbook()
    sheet = wb.active
    sheet.title = schema.label
    last = get_column_letter(len(schema.columns))
    sheet.merge_cells(f"A1:{last}1")
    note = sheet["A1"]
    note.value = (
        f"{round_name}{schema.label}导入模板：第2行为表头，请勿修改；从第3行起每行填写一名考生。"
        "哪些列必填、各列怎样填写，见表头的批注和“填写说明”工作表。"
    )
    note.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.row_dimensions[1].height = 36
    for i, column in enumerate(schema.columns, start=1):
        letter = get_column_letter(i)
        cell = sheet.cell(row=2, column=i, value=column.label)
        cell.font = Font(bold=True)
        how = HOW.get(column.name, "")
        need = "必填" if column.required else "选填"
        cell.comment = Comment(f"{need}。{how}" if how else need, "人事业务平台")
        sheet.column_dimensions[letter].width = 24 if column.name == "id_number" else 16
        if column.name in ("id_number", "phone", "post_code", "score"):
            # text, so Excel keeps all 18 digits (and a score typed as 缺考 stays a word)
            sheet.column_dimensions[letter].number_format = "@"
            for row in range(TEMPLATE_FIRST_ROW, TEMPLATE_FIRST_ROW + 1000):
                sheet.cell(row=row, column=i).number_format = "@"
        choices = CHOICES.get(column.name)
        if choices:
            rule = DataValidation(
                type="list", formula1='"' + ",".join(choices) + '"', allow_blank=True
            )
            rule.add(f"{letter}{TEMPLATE_FIRST_ROW}:{letter}100000")
            sheet.add_data_validation(rule)
    sheet.freeze_panes = f"A{TEMPLATE_FIRST_ROW}"

    notes = wb.create_sheet("填写说明")
    notes.column_dimensions["A"].width = 18
    notes.column_dimensions["B"].width = 10
    notes.column_dimensions["C"].width = 80
    lines: list[tuple[str, ...]] = [
        (f"{round_name}{schema.label}导入模板",),
        *((p,) for p in PURPOSE[kind]),
        ("有任何错误时整份文件不导入，系统逐行逐列列出原因；也可选择只导入无误的行。",),
        ("同一文件中同一身份证号只能出现一次；文件可保存为 .xlsx 或 .csv 上传。",),
        (),
        ("列名", "是否必填", "填写要求"),
        *((c.label, "必填" if c.required else "选填", HOW.get(c.name, "")) for c in schema.columns),
    ]
    if posts:
        lines += [(), ("本轮岗位代码", "", "岗位")]
        lines += [(code, "", label) for code, label in posts]
    for line in lines:
        notes.append(list(line))
    notes["A1"].font = Font(bold=True)
    header_row = next(i for i, line in enumerate(lines, start=1) if line[:1] == ("列名",))
    for cell in notes[header_row]:
        cell.font = Font(bold=True)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


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
