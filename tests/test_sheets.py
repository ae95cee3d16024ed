"""Spreadsheet import and export: every bad cell is reported by row, column and reason, both
readers agree, and exports mask what a publicity list must not show."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont

from states import sheets
from states.identity import make_id_number
from states.processes.recruitment.sheets import (
    APPLICANTS,
    INTERVIEW_SCORES,
    WRITTEN_SCORES,
    make_applicants_xlsx,
    synthetic_applicants,
)
from states.sheets import (
    NOT_A_SHEET,
    CellError,
    SheetError,
    Table,
    mask_phone,
    read_table,
    report_xlsx,
    template_xlsx,
    validate,
    write_xlsx,
)
from states.sheets import read as sheet_read

# The worked example of GB 11643-1999: a woman (even sequence 002) born 1949-12-31.
ID_A = "11010519491231002X"
ID_B = make_id_number("440305", date(1995, 6, 18), 42, "F")
ID_C = make_id_number("510107", date(1998, 1, 2), 7, "M")
ID_D = make_id_number("440305", date(1995, 6, 18), 44, "F")
ID_E = make_id_number("510107", date(1998, 1, 2), 9, "M")
HEADER = ["身份证号", "姓名", "手机号码", "性别", "出生日期", "学历", "教师资格证", "岗位代码"]


def xlsx(rows: list[list[Any]], *, title: str = "报名", hidden_first: bool = False) -> bytes:
    """A workbook as Excel itself would write it (shared strings), built with openpyxl."""
    wb = Workbook()
    ws = wb.active
    if hidden_first:
        ws.title = "字典"
        ws.append(["本科", "硕士研究生"])
        ws.sheet_state = "hidden"
        ws = wb.create_sheet(title)
    else:
        ws.title = title
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def errors_of(data: bytes, schema: sheets.Schema, filename: str = "x.xlsx") -> set[tuple[int, str]]:
    return {(e.row, e.column) for e in validate(read_table(data, filename), schema).errors}


# --- the round trip ---------------------------------------------------------------------------
def test_each_kind_of_applicant_error_names_row_column_and_reason() -> None:
    bad_check = ID_B[:-1] + ("0" if ID_B[-1] != "0" else "1")
    data = xlsx(
        [
            HEADER,
            [ID_A, "张三", "13812345678", "女", "1949-12-31", "本科", "高级中学", "P001"],
            [bad_check, "李四", "13812345679", "", "", "本科", "", "P001"],
            [ID_C, "王五", "1381234567", "", "", "硕士", "初中", "P002"],
            [ID_B, "", "13912345678", "", "", "本科", "", "P002"],
            [ID_C[:-4] + "0000", "赵六", "13712345678", "", "", "大专", "", "P002"],
            [ID_E, "孙七", "13612345678", "", "1990-01-01", "本科", "", "P003"],
            [ID_A.lower(), "周八", "13512345678", "", "", "本科", "", "P003"],
            [ID_D, "吴九", "+86 139-1234-5678", "女", "1995/6/18", "博士研究生", "无", "P004"],
        ]
    )
    result = validate(read_table(data, "报名.xlsx"), APPLICANTS)
    by_row = {e.row: e for e in result.errors}
    assert set(by_row) == {3, 4, 5, 6, 7, 8}
    assert (by_row[3].column, by_row[3].value) == ("身份证号", bad_check)
    assert "校验码错误" in by_row[3].reason
    assert (by_row[4].column, by_row[4].value) == ("手机号码", "1381234567")
    assert "手机号码无效" in by_row[4].reason
    assert (by_row[5].column, by_row[5].reason) == ("姓名", "姓名不能为空")
    assert by_row[6].column == "身份证号"  # sequence 0000 fails the check digit
    assert by_row[7].column == "出生日期"
    assert "身份证号中为1998-01-02" in by_row[7].reason
    assert (by_row[8].column, by_row[8].reason) == ("身份证号", "与第2行重复")
    assert result.error_count == len(result.errors) == 6
    assert str(by_row[8]) == f"第8行【身份证号】“{ID_A.lower()}”：与第2行重复"

    good = {r["row"]: r for r in result.rows}
    assert set(good) == {2, 9}
    assert good[2] == {
        "row": 2,
        "id_number": ID_A,
        "name": "张三",
        "phone": "13812345678",
        "gender": "F",
        "birth_date": date(1949, 12, 31),
        "education": "bachelor",
        "degree_subject": None,
        "cert_level": "senior",
        "post_code": "P001",
    }
    assert good[9]["phone"] == "13912345678"
    assert good[9]["gender"] == "F" and good[9]["birth_date"] == date(1995, 6, 18)
    assert good[9]["education"] == "doctor" and good[9]["cert_level"] is None


def test_gender_and_birth_are_derived_from_the_id_when_absent_and_checked_when_given() -> None:
    table = Table(
        ["证件号码", "姓名", "手机", "性别", "出生年月", "最高学历", "报考岗位代码"],
        [
            (2, _row(ID_B, "女", "1995.06")),
            (3, _row(ID_C, "女", "")),
            (4, _row(make_id_number("330106", date(1990, 5, 1), 3, "M"), "", "1990年5月")),
            (5, _row(make_id_number("330106", date(1990, 5, 2), 5, "M"), "M", "1990.04")),
        ],
    )
    result = validate(table, APPLICANTS)
    assert [(e.row, e.column) for e in result.errors] == [(3, "性别"), (5, "出生日期")]
    assert "身份证号显示为男" in result.errors[0].reason
    assert "1990年5月" in result.errors[1].reason
    assert [r["gender"] for r in result.rows] == ["F", "M"]
    assert result.rows[1]["birth_date"] == date(1990, 5, 1)


def _row(number: str, gender: str, born: str) -> dict[str, str]:
    return {
        "证件号码": number,
        "姓名": "测试",
        "手机": "13800000000",
        "性别": gender,
        "出生年月": born,
        "最高学历": "本科",
        "报考岗位代码": "P1",
    }


def test_score_errors_name_the_value() -> None:
    data = xlsx(
        [
            ["身份证号", "笔试成绩（分）", "是否缺考", "备注"],
            [ID_A, 85.5, "", "x"],
            [ID_B, 101, "", ""],
            [ID_C, "abc", "", ""],
            [make_id_number("110101", date(1990, 1, 1), 1, "M"), "85.555", "", ""],
            [make_id_number("110101", date(1990, 1, 1), 3, "M"), "", "", ""],
            [make_id_number("110101", date(1990, 1, 1), 5, "M"), "", "是", ""],
            [make_id_number("110101", date(1990, 1, 1), 7, "M"), "缺考", "", ""],
            [make_id_number("110101", date(1990, 1, 1), 9, "M"), 0, "是", ""],
            [make_id_number("110101", date(1990, 1, 1), 11, "M"), 60, "是", ""],
            [make_id_number("110101", date(1990, 1, 1), 13, "M"), "-1", "", ""],
        ]
    )
    result = validate(read_table(data, "scores.xlsx"), WRITTEN_SCORES)
    reasons = {e.row: (e.column, e.value, e.reason) for e in result.errors}
    assert reasons == {
        3: ("笔试成绩", "101", "成绩应在0到100之间：101"),
        4: ("笔试成绩", "abc", "成绩应为数字：abc"),
        5: ("笔试成绩", "85.555", "成绩最多保留两位小数：85.555"),
        6: ("笔试成绩", "", "成绩不能为空（缺考请填写“缺考”）"),
        10: ("笔试成绩", "60", "标记为缺考的考生不应填写成绩"),
        11: ("笔试成绩", "-1", "成绩应在0到100之间：-1"),
    }
    good = {r["row"]: (r["score"], r["absent"]) for r in result.rows}
    assert good == {
        2: (Decimal("85.5"), False),
        7: (None, True),
        8: (None, True),
        9: (None, True),
    }
    assert result.ignored_columns == ["备注"]


def test_interview_scores_accept_their_own_header_but_not_the_written_one() -> None:
    ok = Table(["证件号码", "面试成绩"], [(2, {"证件号码": ID_A, "面试成绩": "90"})])
    assert validate(ok, INTERVIEW_SCORES).rows[0]["score"] == Decimal(90)
    wrong = Table(["证件号码", "笔试成绩"], [(2, {"证件号码": ID_A, "笔试成绩": "90"})])
    result = validate(wrong, INTERVIEW_SCORES)
    assert [(e.row, e.column) for e in result.errors] == [(0, "面试成绩")]
    assert result.ignored_columns == ["笔试成绩"]


# --- header problems ----------------------------------------------------------------------
def test_a_missing_column_is_a_row_zero_error_naming_it_and_no_row_is_read() -> None:
    data = xlsx([["身份证号", "姓名", "学历", "岗位代码"], [ID_A, "张三", "本科", "P1"]])
    result = validate(read_table(data, "x.xlsx"), APPLICANTS)
    assert result.rows == []
    assert [(e.row, e.column) for e in result.errors] == [(0, "手机号码")]
    assert "缺少必填列“手机号码”" in result.errors[0].reason
    assert str(result.errors[0]).startswith("表头【手机号码】")


def test_the_same_column_twice_is_refused_rather_than_guessed() -> None:
    data = xlsx([["身份证号", "证件号码", "笔试成绩"], [ID_A, ID_B, 80]])
    assert errors_of(data, WRITTEN_SCORES) == {(0, "身份证号")}
    data = xlsx([["身份证号", "笔试成绩", "身份证号"], [ID_A, 80, ID_B]])
    table = read_table(data, "x.xlsx")
    assert table.duplicate_columns == ("身份证号",)
    assert errors_of(data, WRITTEN_SCORES) == {(0, "身份证号")}


def test_english_and_decorated_headers_are_recognised() -> None:
    table = Table(
        ["ID Number", "*Score", "Absent"],
        [(2, {"ID Number": ID_A, "*Score": "77.25", "Absent": "N"})],
    )
    result = validate(table, WRITTEN_SCORES)
    assert result.ok
    assert result.columns == {"id_number": "ID Number", "score": "*Score", "absent": "Absent"}


def test_an_empty_sheet_reports_missing_columns_and_a_header_only_sheet_no_data() -> None:
    assert read_table(xlsx([]), "x.xlsx") == Table([], [], ())
    assert errors_of(xlsx([]), WRITTEN_SCORES) == {(0, "身份证号"), (0, "笔试成绩")}
    result = validate(read_table(xlsx([["身份证号", "成绩"]]), "x.xlsx"), WRITTEN_SCORES)
    assert [e.reason for e in result.errors] == ["文件中没有数据行"]


def test_errors_are_capped_but_counted() -> None:
    rows = [(n, {"身份证号": "123", "成绩": "50"}) for n in range(2, 1502)]
    result = validate(Table(["身份证号", "成绩"], rows), WRITTEN_SCORES)
    assert len(result.errors) == 1000
    assert result.error_count == 1500
    assert not result.ok


# --- reading ------------------------------------------------------------------------------
def test_csv_in_gbk_and_in_utf8_with_bom_read_the_same_as_xlsx() -> None:
    lines = [
        ["身份证号", "姓名", "手机号码", "学历", "岗位代码"],
        [ID_A, "张三", "13812345678", "本科", "P001"],
        ["", "", "", "", ""],
        [ID_B, "欧阳·娜仁", "13912345678", "硕士研究生", "P002"],
    ]
    text = "\r\n".join(",".join(line) for line in lines) + "\r\n"
    gbk = read_table(text.encode("gbk"), "报名.csv")
    bom = read_table(text.encode("utf-8-sig"), "报名.CSV")
    book = read_table(xlsx(lines), "报名.xlsx")
    assert gbk == bom == book
    assert [n for n, _ in gbk.rows] == [2, 4]
    assert validate(gbk, APPLICANTS).ok


def test_a_title_row_above_the_header_is_skipped_when_the_schema_is_known() -> None:
    data = xlsx(
        [
            ["某县2025年公开招聘教师笔试成绩表"],
            ["填报单位：某县教育局", "", "填报日期：2025-07-01"],
            [],
            ["序号", "身份证号", "笔试成绩"],
            [1, ID_A, 80],
            [2, ID_B, 90],
        ]
    )
    assert read_table(data, "x.xlsx").columns == ["某县2025年公开招聘教师笔试成绩表"]
    table = read_table(data, "x.xlsx", schema=WRITTEN_SCORES)
    assert table.columns == ["序号", "身份证号", "笔试成绩"]
    assert [n for n, _ in table.rows] == [5, 6]
    result = validate(table, WRITTEN_SCORES)
    assert result.ok and result.ignored_columns == ["序号"]


def test_excel_unicode_text_export_reads_as_csv() -> None:
    text = "身份证号\t笔试成绩\r\n11010519491231002X\t80\r\n"
    table = read_table(b"\xff\xfe" + text.encode("utf-16-le"), "成绩.csv")
    assert table.rows == [(2, {"身份证号": ID_A, "笔试成绩": "80"})]


def test_csv_keeps_the_leading_zero_trick_and_tab_separated_files() -> None:
    text = '身份证号\t成绩\n="11010519491231002X"\t80\n'
    table = read_table(text.encode(), "x.csv")
    assert table.rows == [(2, {"身份证号": ID_A, "成绩": "80"})]


@pytest.mark.parametrize(
    ("data", "filename", "hint"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64), "照片.xlsx", "不是 .xlsx 格式"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64), "old.xlsx", "旧版 .xls"),
        (b"PK\x03\x04 truncated zip", "broken.xlsx", "不是 .xlsx 格式"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "照片.csv", "二进制"),
        (b"a,b\n", "名单.xls", "旧版 .xls"),
        (b"a,b\n", "名单.txt", "扩展名"),
    ],
)
def test_anything_but_a_spreadsheet_is_a_sheet_error(data: bytes, filename: str, hint: str) -> None:
    with pytest.raises(SheetError) as caught:
        read_table(data, filename)
    assert str(caught.value).startswith(NOT_A_SHEET)
    assert hint in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_a_zip_that_is_no_workbook_is_a_sheet_error() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(SheetError, match="无法打开工作簿"):
        read_table(buf.getvalue(), "x.xlsx")


def test_an_xml_entity_declaration_is_refused() -> None:
    data = _replace_part(
        xlsx([["身份证号"], [ID_A]]),
        "xl/worksheets/sheet1.xml",
        lambda xml: b'<!DOCTYPE x [<!ENTITY a "aaaa">]>' + xml,
    )
    with pytest.raises(SheetError, match="XML"):
        read_table(data, "x.xlsx")


def test_too_many_rows_is_a_sheet_error() -> None:
    data = xlsx([["身份证号"], *([ID_A] for _ in range(5))])
    assert len(read_table(data, "x.xlsx", max_rows=5).rows) == 5
    with pytest.raises(SheetError, match="上限"):
        read_table(data, "x.xlsx", max_rows=4)


def _varied_workbook() -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "字典"
    ws.sheet_state = "hidden"
    ws = wb.create_sheet("数据")
    ws["B3"] = "  身份证号 "
    ws["C3"] = "出生日期"
    ws["D3"] = "成绩"
    ws["E3"] = "在编"
    ws["F3"] = "姓名"
    ws["H3"] = "电话"
    ws["B4"] = ID_A
    ws["C4"] = datetime(1990, 5, 1)
    ws["C4"].number_format = 'yyyy"年"m"月"d"日"'
    ws["D4"] = 42.300000000000004
    ws["E4"] = True
    ws["F4"] = CellRichText(["欧阳", TextBlock(InlineFont(b=True), "娜仁")])
    ws["H4"] = 13812345678
    ws["B6"] = 1.1010519491231e17  # an ID typed into a number cell
    ws["D6"] = 85
    ws["F6"] = "=1+1"  # a formula without a cached value reads as blank
    ws["B7"] = "\u200b11010519491231002X\u3000"
    wb.active = 1
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_stream_reader_and_openpyxl_read_the_same_table() -> None:
    data = _varied_workbook()
    fast = sheet_read._table(sheet_read._fast_rows(data), 100)
    slow = sheet_read._openpyxl_table(data, 100)
    assert fast == slow
    assert fast.columns == ["身份证号", "出生日期", "成绩", "在编", "姓名", "电话"]
    assert fast.rows[0] == (
        4,
        {
            "身份证号": ID_A,
            "出生日期": "1990-05-01",
            "成绩": "42.3",
            "在编": "是",
            "姓名": "欧阳娜仁",
            "电话": "13812345678",
        },
    )
    assert fast.rows[1][0] == 6
    assert fast.rows[1][1]["身份证号"] == "1.1010519491231e+17"
    assert fast.rows[1][1]["姓名"] == ""
    assert fast.rows[2] == (7, {**dict.fromkeys(fast.columns, ""), "身份证号": ID_A})


def test_an_id_number_stored_as_a_number_is_explained() -> None:
    result = validate(read_table(_varied_workbook(), "x.xlsx"), WRITTEN_SCORES)
    reasons = {e.row: e.reason for e in result.errors}
    assert "文本" in reasons[6]


def test_the_stream_reader_falls_back_to_openpyxl(monkeypatch: pytest.MonkeyPatch) -> None:
    def unsupported(data: bytes) -> Any:
        raise sheet_read._Unsupported("test")

    data = _varied_workbook()
    expected = read_table(data, "x.xlsx")
    monkeypatch.setattr(sheet_read, "_fast_rows", unsupported)
    assert read_table(data, "x.xlsx") == expected


def test_east_asian_builtin_date_formats_read_as_dates() -> None:
    """Chinese Excel stores 1990年5月1日 under built-in format 31 without defining it."""
    data = _replace_part(
        xlsx([["出生日期"], [datetime(1990, 5, 1)]]),
        "xl/styles.xml",
        lambda xml: xml.replace(b'numFmtId="22"', b'numFmtId="31"').replace(
            b'numFmtId="14"', b'numFmtId="31"'
        ),
    )
    assert read_table(data, "x.xlsx").rows == [(2, {"出生日期": "1990-05-01"})]


def _replace_part(data: bytes, part: str, change: Any) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            body = src.read(info)
            dst.writestr(info, change(body) if info.filename == part else body)
    return out.getvalue()


# --- writing ------------------------------------------------------------------------------
def test_write_xlsx_masks_ids_and_phones_and_keeps_dates_and_text() -> None:
    columns = [
        ("id_number", "身份证号"),
        ("name", "姓名"),
        ("phone", "手机号码"),
        ("birth_date", "出生日期"),
        ("score", "综合成绩"),
        ("rank", "名次"),
    ]
    rows = [
        {
            "id_number": ID_A,
            "name": "张三",
            "phone": "13812345678",
            "birth_date": date(1949, 12, 31),
            "score": Decimal("85.25"),
            "rank": 1,
        },
        {"id_number": ID_B, "name": '=HYPERLINK("http://x")', "phone": None, "rank": 2},
    ]
    data = write_xlsx(columns, rows, title="拟聘用人员公示名单：2025年[第一批]新任教师招聘")
    wb = load_workbook(io.BytesIO(data))
    ws = wb.worksheets[0]
    assert ws.title == "拟聘用人员公示名单：2025年_第一批_新任教师招聘"
    assert [c.value for c in ws[1]] == [label for _, label in columns]
    assert all(c.font.b for c in ws[1])
    assert ws.freeze_panes == "A2"
    assert ws.column_dimensions["A"].width >= 18
    assert [c.value for c in ws[2]] == [
        "110105********002X",
        "张三",
        "138****5678",
        datetime(1949, 12, 31),
        85.25,
        1,
    ]
    assert ws["D2"].is_date and ws["D2"].number_format == "yyyy-mm-dd"
    assert ws["B3"].value == '=HYPERLINK("http://x")' and ws["B3"].data_type == "s"
    assert ws["C3"].value is None
    # and the stream reader agrees with openpyxl on our own output
    table = read_table(data, "out.xlsx")
    assert table.rows[0][1]["出生日期"] == "1949-12-31"
    assert table.rows[1][1]["姓名"] == '=HYPERLINK("http://x")'


def test_write_xlsx_without_masking_and_with_awkward_values() -> None:
    rows = [
        {"a": ID_A, "b": True, "c": datetime(2025, 3, 1, 9, 30), "d": 123456789012345678},
        {"a": " 前后空格 ", "b": "A&B <C>\x07", "c": float("nan"), "d": 0.1},
    ]
    columns = [("a", "甲"), ("b", "乙"), ("c", "丙"), ("d", "丁")]
    ws = load_workbook(io.BytesIO(write_xlsx(columns, rows, title="x", mask=()))).active
    assert [c.value for c in ws[2]] == [
        ID_A,
        "是",
        datetime(2025, 3, 1, 9, 30),
        "123456789012345678",
    ]
    assert [c.value for c in ws[3]] == [" 前后空格 ", "A&B <C>", "nan", 0.1]


def test_mask_phone() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("123") == "***"


def test_report_xlsx_has_the_four_headers_and_says_how_many_were_left_out() -> None:
    errors = [
        CellError(0, "手机号码", "", "缺少必填列“手机号码”"),
        CellError(5, "身份证号", "123", "身份证号长度应为18位，实际为3位"),
    ]
    ws = load_workbook(io.BytesIO(report_xlsx(errors, total=1502))).active
    assert [c.value for c in ws[1]] == ["行号", "列", "内容", "原因"]
    assert [c.value for c in ws[2]] == ["表头", "手机号码", None, "缺少必填列“手机号码”"]
    assert [c.value for c in ws[3]] == [5, "身份证号", "123", "身份证号长度应为18位，实际为3位"]
    assert "另有1500处错误未列出" in ws["D4"].value


def test_template_reads_back_as_the_schema_headers() -> None:
    table = read_table(template_xlsx(APPLICANTS), "模板.xlsx")
    assert table.columns == [c.label for c in APPLICANTS.columns]
    assert table.rows == []


def test_synthetic_applicants_are_distinct_and_valid() -> None:
    posts = ["P001", "P002", "P003"]
    people = synthetic_applicants(300, posts, seed=7)
    assert people == synthetic_applicants(300, posts, seed=7)
    assert len({p["id_number"] for p in people}) == 300
    result = validate(read_table(make_applicants_xlsx(300, posts, seed=7), "a.xlsx"), APPLICANTS)
    assert result.ok, result.errors[:3]
    assert len(result.rows) == 300
    assert {r["post_code"] for r in result.rows} == set(posts)
