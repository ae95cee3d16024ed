"""Spreadsheets in and out: applicant and score imports, shortlist and publicity exports.

Officers live in Excel. A recruitment round brings 100,000-300,000 applicants, typed or
pasted by people in a hurry, so every cell is checked here and a bad one is reported by row,
column label and reason (in Chinese, in the officer's own terms) instead of failing the whole
import with a stack trace or, worse, quietly creating a second person.

A province-sized file must go through in seconds, and openpyxl alone cannot do that here
(no lxml; an object per cell: ~25 s to read and ~17 s to write 200,000 rows). So the sheet
is read with expat as a stream, keeping openpyxl's read-only mode as the fallback for any
package the stream reader does not understand, and written as SpreadsheetML directly.
Both are checked against openpyxl in the tests.

Pure: openpyxl and the standard library only; the import itself (the database write) and the
upload endpoint live in the adapters.
"""

from __future__ import annotations

import csv
import io
import math
import posixpath
import random
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from itertools import chain, islice
from typing import Any
from xml.etree import ElementTree
from xml.parsers import expat
from zoneinfo import ZoneInfo

# openpyxl ships no type information; "unused-ignore" keeps mypy quiet either way should
# types-openpyxl or an ignore_missing_imports override be added to the project later.
from openpyxl import load_workbook  # type: ignore[import-untyped, unused-ignore]
from openpyxl.styles.numbers import (  # type: ignore[import-untyped, unused-ignore]
    BUILTIN_FORMATS,
    is_date_format,
    is_timedelta_format,
)
from openpyxl.utils import (  # type: ignore[import-untyped, unused-ignore]
    column_index_from_string,
    get_column_letter,
)
from openpyxl.utils.datetime import (  # type: ignore[import-untyped, unused-ignore]
    MAC_EPOCH,
    WINDOWS_EPOCH,
    from_excel,
    from_ISO8601,
)

from states.identity import make_id_number, mask_id_number, validate_id_number, validate_phone
from states.org import EDUCATION_LABELS, SCHOOL_LEVELS, SUBJECTS

__all__ = [
    "APPLICANTS",
    "INTERVIEW_SCORES",
    "INVALID",
    "MAX_ERRORS",
    "MAX_ROWS",
    "SCHEMAS",
    "WRITTEN_SCORES",
    "CellError",
    "Column",
    "Schema",
    "SheetError",
    "Table",
    "Validated",
    "make_applicants_xlsx",
    "mask_phone",
    "read_table",
    "report_xlsx",
    "synthetic_applicants",
    "template_xlsx",
    "validate",
    "write_xlsx",
]

# A province round is at most ~300,000 applicants; anything far beyond is not a real import
# (or is a sheet with a million formatted blank rows) and would only exhaust memory.
MAX_ROWS = 500_000
# Enough for an officer to see the pattern of what went wrong; a broken 200k-row file must not
# produce a 200k-line report.
MAX_ERRORS = 1000

NOT_A_SHEET = "文件不是有效的 Excel（.xlsx）或 CSV 文件"
_BUREAU_TZ = ZoneInfo("Asia/Shanghai")


class SheetError(ValueError):
    """The upload cannot be read as a table at all (as opposed to bad cells in a good table)."""


# --- reading ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Table:
    """A sheet as text: headers as written (trimmed) and each data row keyed by header.

    Values are strings because the validators own the meaning of a cell; whether Excel
    thought "0101" was a number is exactly the kind of thing they must see. ``row_number``
    is the row the officer sees in Excel (1-based, header included), so a report can send
    them straight to it. Fully blank rows are skipped. A header that appears twice keeps
    its first column; the later ones are listed in ``duplicate_columns`` so validation can
    refuse to guess which one is meant.
    """

    columns: list[str]
    rows: list[tuple[int, dict[str, str]]]
    duplicate_columns: tuple[str, ...] = ()


def read_table(
    data: bytes, filename: str, *, schema: Schema | None = None, max_rows: int = MAX_ROWS
) -> Table:
    """The first visible worksheet of an .xlsx, or a CSV file, as a ``Table``.

    The extension picks the reader, but the content must agree: a PNG renamed .xlsx or a
    binary renamed .csv is a ``SheetError`` with a message the officer can act on. Hidden
    sheets are skipped because import templates keep their drop-down lists in them.

    The header is the first non-blank row, unless ``schema`` is given: then it is the row,
    among the first ten, that names the most of the schema's columns, because bureau sheets
    usually open with a title row ("某县2025年公开招聘教师笔试成绩表") above the header.
    """
    known = None if schema is None else frozenset(_aliases(schema))
    name = filename.strip().lower()
    if name.endswith((".xlsx", ".xlsm")):
        return _read_xlsx(data, max_rows, known)
    if name.endswith(".csv"):
        return _read_csv(data, max_rows, known)
    if name.endswith(".xls"):
        raise SheetError(f"{NOT_A_SHEET}：不支持旧版 .xls 格式，请在 Excel 中另存为 .xlsx 后再上传")
    raise SheetError(f"{NOT_A_SHEET}：文件扩展名应为 .xlsx 或 .csv")


# Excel and web pages leave these around cell text; none is ever meaningful at the edges.
_EDGE = " \t\r\n\v\f\u3000\xa0\u200b\u200c\u200d\ufeff"


def _text(value: object) -> str:
    """A cell value as the officer would read it in Excel.

    Floats get Excel's own 15 significant digits, so a formula's 42.300000000000004 reads
    as 42.3 and an 18-digit ID number stored as a number shows up as '1.10105194912310e+17'
    (its last digits are already gone) for the ID check to name.
    """
    if value is None:
        return ""
    if type(value) is str:
        return value.strip(_EDGE)
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.15g}"
    if isinstance(value, datetime):
        if value.time() == time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value).strip(_EDGE)


def _header(names: Sequence[str]) -> tuple[list[str], list[tuple[int, str]], tuple[str, ...]]:
    """Column names, the (position, name) pairs worth reading, and repeated names."""
    seen: set[str] = set()
    kept: list[tuple[int, str]] = []
    duplicates: list[str] = []
    for i, n in enumerate(names):
        if not n:
            continue
        if n in seen:
            duplicates.append(n)
            continue
        seen.add(n)
        kept.append((i, n))
    return [n for _, n in kept], kept, tuple(duplicates)


# How far down a title block may push the header row.
_HEADER_SEARCH = 10


def _table(
    rows: Iterable[tuple[int, Sequence[object]]],
    max_rows: int,
    known: frozenset[str] | None = None,
) -> Table:
    """Header = the first non-blank row, or the one naming most ``known`` headers among the
    first few; data = the non-blank rows after it."""
    it = iter(rows)
    candidates: list[tuple[int, Sequence[object], list[str]]] = []
    for number, cells in it:
        names = [_text(c) for c in cells]
        if any(names):
            candidates.append((number, cells, names))
            if known is None or len(candidates) >= _HEADER_SEARCH:
                break
    if not candidates:
        return Table([], [], ())
    best = 0
    if known is not None:
        hits = [sum(_normalise(n) in known for n in names if n) for _, _, names in candidates]
        best = max(range(len(hits)), key=lambda i: (hits[i], -i))
    columns, kept, duplicates = _header(candidates[best][2])
    # Rows looked at below the header are data after all.
    it = chain(((n, cells) for n, cells, _ in candidates[best + 1 :]), it)
    out: list[tuple[int, dict[str, str]]] = []
    text = _text
    for number, cells in it:
        width = len(cells)
        row = {name: (text(cells[i]) if i < width else "") for i, name in kept}
        if not any(row.values()):
            continue
        if len(out) >= max_rows:
            raise SheetError(f"数据行超过{max_rows}行上限，请拆分文件后分批导入")
        out.append((number, row))
    return Table(columns, out, duplicates)


def _read_xlsx(data: bytes, max_rows: int, known: frozenset[str] | None = None) -> Table:
    """The streaming reader first; openpyxl for whatever it does not understand.

    openpyxl alone needs ~25 s for 200,000 rows here (no lxml, an object per cell); the
    streaming reader below does the same in a few seconds. Anything unexpected in the
    package sends the file to openpyxl, which then has the last word (and the error).
    """
    if data[:4] == _OLE_MAGIC:
        raise SheetError(
            f"{NOT_A_SHEET}：文件是旧版 .xls 格式或设置了打开密码，"
            "请在 Excel 中取消密码并另存为 .xlsx 后再上传"
        )
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise SheetError(f"{NOT_A_SHEET}：文件内容不是 .xlsx 格式（可能是改了扩展名的其他文件）")
    try:
        return _table(_fast_rows(data), max_rows, known)
    except SheetError:
        raise
    except Exception:
        return _openpyxl_table(data, max_rows, known)


def _openpyxl_table(data: bytes, max_rows: int, known: frozenset[str] | None = None) -> Table:
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises anything from KeyError to XML errors here
        raise SheetError(f"{NOT_A_SHEET}：无法打开工作簿（{type(e).__name__}）") from e
    try:
        sheets = wb.worksheets
        visible = [ws for ws in sheets if getattr(ws, "sheet_state", "visible") == "visible"]
        if not sheets:
            raise SheetError(f"{NOT_A_SHEET}：工作簿中没有数据表")
        ws = (visible or sheets)[0]
        # Some exporters write a wrong <dimension> (e.g. "A1"); trusting it would silently
        # drop every row after the first, so read the rows that are actually there.
        ws.reset_dimensions()
        try:
            rows = enumerate(ws.iter_rows(min_row=1, values_only=True), start=1)
            return _table(rows, max_rows, known)
        except SheetError:
            raise
        except Exception as e:
            raise SheetError(f"{NOT_A_SHEET}：工作表内容已损坏（{type(e).__name__}）") from e
    finally:
        wb.close()


class _Unsupported(Exception):
    """The streaming reader met something it leaves to openpyxl."""


# A 300,000-row sheet is ~150 MB of XML; a part declaring gigabytes is a zip bomb.
_MAX_PART_BYTES = 1 << 30
# Number formats Excel leaves implicit for East Asian locales: 年/月/日 dates and 时/分 times.
# openpyxl reads these as bare serial numbers (a birth date comes out as 32874).
_CJK_DATE_FORMATS = frozenset((*range(27, 37), *range(50, 59)))
_DIGITS = "0123456789"
# Compound documents: a real .xls, or an .xlsx encrypted with an opening password.
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"


def _local(tag: str) -> str:
    return tag.rpartition("}")[2].rpartition(":")[2]


def _no_dtd(*_: object) -> None:
    # Spreadsheet parts never carry a DTD; one is only ever there to expand entities.
    raise SheetError(f"{NOT_A_SHEET}：文件中含有不允许的 XML 声明")


def _read_part(zf: zipfile.ZipFile, path: str) -> bytes:
    info = zf.getinfo(path)
    if info.file_size > _MAX_PART_BYTES:
        raise SheetError(f"{NOT_A_SHEET}：文件解压后过大")
    raw = zf.read(info)
    if b"<!DOCTYPE" in raw:
        _no_dtd()
    return raw


def _xml(zf: zipfile.ZipFile, path: str) -> ElementTree.Element:
    return ElementTree.fromstring(_read_part(zf, path))


def _relations(zf: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """Relationship id -> (type's last segment, target part path) for ``part``."""
    folder, name = posixpath.split(part)
    path = posixpath.join(folder, "_rels", f"{name}.rels")
    if path not in zf.NameToInfo:
        return {}
    out: dict[str, tuple[str, str]] = {}
    for el in _xml(zf, path):
        if _local(el.tag) != "Relationship" or el.get("TargetMode") == "External":
            continue
        target = el.get("Target", "")
        if target.startswith("/"):
            target = target[1:]
        else:
            target = posixpath.normpath(posixpath.join(folder, target))
        out[el.get("Id", "")] = (el.get("Type", "").rpartition("/")[2], target)
    return out


def _fast_rows(data: bytes) -> Iterator[tuple[int, list[object]]]:
    """(row number, values) of the first visible worksheet, streamed with expat.

    Values are what openpyxl's read-only, data-only mode gives (cached formula results,
    dates for date-formatted numbers), so ``_text`` treats both readers alike.
    """
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        package = _relations(zf, "")
        book = next((p for kind, p in package.values() if kind == "officeDocument"), None)
        if book is None or book not in zf.NameToInfo:
            raise _Unsupported("no workbook part")
        parts = _relations(zf, book)
        epoch = WINDOWS_EPOCH
        sheets: list[tuple[bool, str]] = []
        for el in _xml(zf, book).iter():
            tag = _local(el.tag)
            if tag == "workbookPr" and el.get("date1904") in ("1", "true"):
                epoch = MAC_EPOCH
            elif tag == "sheet":
                rid = next((v for k, v in el.attrib.items() if _local(k) == "id"), "")
                kind, path = parts.get(rid, ("", ""))
                if kind == "worksheet":
                    sheets.append((el.get("state", "visible") == "visible", path))
        sheet = next((p for visible, p in sheets if visible), None)
        if sheet is None or sheet not in zf.NameToInfo:
            raise _Unsupported("no visible worksheet")
        strings: list[str] = []
        dates: dict[int, bool] = {}
        for kind, path in parts.values():
            if kind == "sharedStrings" and path in zf.NameToInfo:
                strings = _shared_strings(_read_part(zf, path))
            elif kind == "styles" and path in zf.NameToInfo:
                dates = _date_styles(_xml(zf, path))
        info = zf.getinfo(sheet)
        if info.file_size > _MAX_PART_BYTES:
            raise SheetError(f"{NOT_A_SHEET}：文件解压后过大")
        rows: list[tuple[int, list[object]]] = []
        parser = _sheet_parser(strings, dates, epoch, rows)
        with zf.open(info) as stream:
            while chunk := stream.read(1 << 20):
                parser.Parse(chunk, False)
                yield from rows
                rows.clear()
            parser.Parse(b"", True)
        yield from rows


def _shared_strings(raw: bytes) -> list[str]:
    """The shared string table; rich text runs joined, phonetic guides (rPh) left out."""
    out: list[str] = []
    buf: list[str] = []
    state = {"collect": False, "phonetic": 0}

    def start(name: str, _attrs: dict[str, str]) -> None:
        tag = _local(name)
        if tag == "t":
            state["collect"] = not state["phonetic"]
        elif tag == "si":
            buf.clear()
        elif tag == "rPh":
            state["phonetic"] += 1

    def end(name: str) -> None:
        tag = _local(name)
        if tag == "t":
            state["collect"] = False
        elif tag == "si":
            out.append("".join(buf))
        elif tag == "rPh":
            state["phonetic"] -= 1

    def chars(text: str) -> None:
        if state["collect"]:
            buf.append(text)

    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    parser.StartDoctypeDeclHandler = _no_dtd
    parser.Parse(raw, True)
    return out


def _date_styles(root: ElementTree.Element) -> dict[int, bool]:
    """Cell style index -> True for durations, False for dates/times, absent otherwise."""
    custom: dict[int, str] = {}
    formats: list[int] = []
    for el in root:
        tag = _local(el.tag)
        if tag == "numFmts":
            for f in el:
                custom[int(f.get("numFmtId", "-1"))] = f.get("formatCode", "")
        elif tag == "cellXfs":
            formats = [int(xf.get("numFmtId", "0")) for xf in el if _local(xf.tag) == "xf"]
    out: dict[int, bool] = {}
    for i, fid in enumerate(formats):
        code = custom.get(fid)
        if code is None:
            if fid in _CJK_DATE_FORMATS:
                out[i] = False
                continue
            code = BUILTIN_FORMATS.get(fid)
        if is_date_format(code):
            out[i] = bool(is_timedelta_format(code))
    return out


def _sheet_parser(
    strings: list[str],
    dates: dict[int, bool],
    epoch: datetime,
    rows: list[tuple[int, list[object]]],
) -> Any:
    """An expat parser appending (row number, values) of one worksheet to ``rows``.

    Closures rather than a class because these callbacks run ~5 times per cell (9 million
    times for a 200,000-row sheet), and local cell variables are markedly cheaper than
    attribute lookups. Column letters are resolved once per distinct letters.
    """
    names: dict[str, str] = {}
    letters: dict[str, int] = {}
    number = 0
    cells: dict[int, object] = {}
    col = -1
    kind = "n"
    style: str | None = None
    text = ""
    collect = False
    inline = False
    phonetic = 0

    def tag_of(name: str) -> str:
        tag = names[name] = _local(name)
        return tag

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal number, cells, col, kind, style, text, collect, inline, phonetic
        tag = names.get(name) or tag_of(name)
        if tag == "c":
            ref = attrs.get("r")
            if ref:
                key = ref.rstrip(_DIGITS)
                found = letters.get(key)
                if found is None:
                    found = letters[key] = column_index_from_string(key) - 1
                col = found
            else:
                col += 1
            kind = attrs.get("t", "n")
            style = attrs.get("s")
            text = ""
        elif tag == "v":
            collect = True
        elif tag == "t":
            collect = inline and not phonetic
        elif tag == "row":
            ref = attrs.get("r")
            number = int(ref) if ref else number + 1
            cells = {}
            col = -1
        elif tag == "is":
            inline = True
        elif tag == "rPh":
            phonetic += 1

    def end(name: str) -> None:
        nonlocal collect, inline, phonetic
        tag = names.get(name) or tag_of(name)
        if tag == "c":
            if kind == "s":  # by far the most common: Excel keeps all text in the shared table
                if text:
                    cells[col] = strings[int(text)]
            elif text or kind == "inlineStr":
                value = _cell_value_of(kind, text, style, strings, dates, epoch)
                if value is not None:
                    cells[col] = value
        elif tag == "v" or tag == "t":
            collect = False
        elif tag == "row":
            if cells:
                values: list[object] = [None] * (max(cells) + 1)
                for i, v in cells.items():
                    values[i] = v
                rows.append((number, values))
        elif tag == "is":
            inline = False
        elif tag == "rPh":
            phonetic -= 1

    def chars(data: str) -> None:
        nonlocal text
        if collect:
            text += data

    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.buffer_size = 1 << 16
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    parser.StartDoctypeDeclHandler = _no_dtd
    return parser


def _cell_value_of(
    kind: str,
    text: str,
    style: str | None,
    strings: list[str],
    dates: dict[int, bool],
    epoch: datetime,
) -> object:
    """A cell's value as openpyxl (read-only, data-only) would give it."""
    if kind == "s":
        return strings[int(text)]
    if kind == "inlineStr" or kind == "str" or kind == "e":
        return text  # inline text, a formula's text result, #N/A and friends
    if kind == "n":
        number: float = float(text) if ("." in text or "e" in text or "E" in text) else int(text)
        if style is not None and dates:
            duration = dates.get(int(style))
            if duration is not None:
                try:
                    return from_excel(number, epoch, timedelta=duration)
                except (OverflowError, ValueError):
                    return number
        return number
    if kind == "b":
        return text == "1" or text == "true"
    if kind == "d":
        return from_ISO8601(text)
    raise _Unsupported(f"cell type {kind}")


def _read_csv(data: bytes, max_rows: int, known: frozenset[str] | None = None) -> Table:
    if data[:4] == b"PK\x03\x04":
        raise SheetError(f"{NOT_A_SHEET}：文件实际是 Excel 工作簿，请将扩展名改为 .xlsx")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        # Excel's "Unicode 文本" export: UTF-16 with a byte order mark, tab-separated.
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise SheetError(f"{NOT_A_SHEET}：UTF-16 编码损坏") from None
        return _parse_csv(text, max_rows, known)
    if b"\x00" in data[:65536]:
        raise SheetError(f"{NOT_A_SHEET}：文件内容是二进制数据，不是 CSV 文本")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Chinese Excel saves "CSV" in the ANSI code page, i.e. GBK; GB18030 is its superset.
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            raise SheetError(f"{NOT_A_SHEET}：无法识别文件编码（应为 UTF-8 或 GBK）") from None
    return _parse_csv(text, max_rows, known)


def _parse_csv(text: str, max_rows: int, known: frozenset[str] | None) -> Table:
    first = text[: text.find("\n")] if "\n" in text else text
    delimiter = max(",\t;", key=first.count) if first else ","
    try:
        rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        return _table(((n, _unexcel(r)) for n, r in enumerate(rows, start=1)), max_rows, known)
    except csv.Error as e:
        raise SheetError(f"{NOT_A_SHEET}：CSV 格式错误（{e}）") from None


def _unexcel(cells: list[str]) -> list[str]:
    """Undo ="0123", the trick people use to keep Excel from eating leading zeros in a CSV."""
    for i, c in enumerate(cells):
        if c[:2] == '="' and c[-1:] == '"':
            cells[i] = c[2:-1]
    return cells


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


def _id_number(text: str) -> str:
    if "e+" in text.lower():
        raise ValueError(
            "身份证号被 Excel 存成了数字，后几位已丢失；请将该列设置为“文本”格式后重新录入"
        )
    return validate_id_number(text.lstrip("'"))


def _name(text: str) -> str:
    if len(text) > 30:
        raise ValueError(f"姓名不能超过30个字，实际为{len(text)}个字")
    return text


def _phone(text: str) -> str:
    return validate_phone(text.lstrip("'"))


_GENDERS = {"男": "M", "女": "F", "m": "M", "f": "F", "male": "M", "female": "F"}


def _gender(text: str) -> str:
    code = _GENDERS.get(text.lower())
    if code is None:
        raise ValueError(f"性别应为“男”或“女”：{text}")
    return code


_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})(?:\s*[-/.月]\s*(\d{1,2})\s*日?)?\s*月?")
_DATE8 = re.compile(r"(\d{4})(\d{2})(\d{2})?")


def _birth(text: str) -> date | tuple[int, int]:
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


def _education(text: str) -> str:
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


def _cert_level(text: str) -> str | None:
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


def _text_up_to(limit: int, what: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if len(text) > limit:
            raise ValueError(f"{what}不能超过{limit}个字符，实际为{len(text)}个")
        return text

    return parse


_TWO_PLACES = Decimal("0.01")
_HUNDRED = Decimal(100)
# Many exam offices mark absence in the score cell itself rather than in a 缺考 column.
_ABSENT = "缺考"


def _score(text: str) -> Decimal | str:
    """A 0-100 score with at most two decimals, or ``_ABSENT``."""
    if text == _ABSENT:
        return _ABSENT
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


_YES = frozenset({"是", "缺考", "y", "yes", "true", "1", "√"})
_NO = frozenset({"否", "n", "no", "false", "0", "×"})


def _yes_no(text: str) -> bool:
    t = text.lower()
    if t in _YES:
        return True
    if t in _NO:
        return False
    raise ValueError(f"应填“是”或“否”：{text}")


@lru_cache(maxsize=65536)
def _id_birth(digits: str) -> date:
    return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))


def _check_applicant(row: dict[str, Any]) -> list[tuple[str, str]]:
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
    born = _id_birth(number[6:14])
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


def _check_score(row: dict[str, Any]) -> list[tuple[str, str]]:
    """A blank score needs an explanation (缺考); an absent candidate cannot have one, except
    a 0 that some offices type for absentees, which is read as absent."""
    score, absent = row.get("score"), row.get("absent")
    if score is INVALID or absent is INVALID:
        return []
    if score == _ABSENT:
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


_ID_COLUMN = Column(
    "id_number",
    "身份证号",
    ("身份证号码", "证件号码", "证件号", "公民身份号码", "身份证", "idnumber", "id"),
    True,
    _id_number,
)

APPLICANTS = Schema(
    "applicants",
    "报名人员",
    (
        _ID_COLUMN,
        Column("name", "姓名", ("名字", "考生姓名", "name"), True, _name),
        Column(
            "phone",
            "手机号码",
            ("手机号", "手机", "联系电话", "电话", "联系方式", "phone", "mobile"),
            True,
            _phone,
        ),
        Column("gender", "性别", ("gender", "sex"), False, _gender),
        Column("birth_date", "出生日期", ("出生年月", "生日", "birthday", "dob"), False, _birth),
        Column("education", "学历", ("最高学历", "education"), True, _education),
        Column(
            "degree_subject",
            "所学专业",
            ("专业", "学位专业", "毕业专业", "major"),
            False,
            _text_up_to(64, "所学专业"),
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
            _cert_level,
        ),
        Column(
            "post_code",
            "岗位代码",
            ("报考岗位代码", "岗位编码", "职位代码", "报考岗位", "岗位", "post"),
            True,
            _text_up_to(32, "岗位代码"),
        ),
    ),
    check=_check_applicant,
)


def _score_schema(name: str, label: str, kind: str) -> Schema:
    return Schema(
        name,
        label,
        (
            _ID_COLUMN,
            Column(
                "score",
                f"{kind}成绩",
                ("成绩", "分数", f"{kind}分数", f"{kind}得分", "score", f"{name}_score"),
                True,
                _score,
                blank_ok=True,
            ),
            Column("absent", "缺考", ("是否缺考", "absent"), False, _yes_no),
        ),
        check=_check_score,
    )


WRITTEN_SCORES = _score_schema("written", "笔试成绩", "笔试")
INTERVIEW_SCORES = _score_schema("interview", "面试成绩", "面试")
SCHEMAS = {s.name: s for s in (APPLICANTS, WRITTEN_SCORES, INTERVIEW_SCORES)}


# --- validation -----------------------------------------------------------------------------
@dataclass(frozen=True)
class CellError:
    """One bad cell. ``row`` 0 means the header (a missing or repeated column)."""

    row: int
    column: str
    value: str
    reason: str

    def __str__(self) -> str:
        where = "表头" if self.row == 0 else f"第{self.row}行"
        shown = f"“{self.value}”" if self.value else ""
        return f"{where}【{self.column}】{shown}：{self.reason}"


@dataclass
class Validated:
    """Parsed rows (each with its ``row`` number) and the errors, capped at ``max_errors``;
    ``error_count`` is the real total so the officer knows how much is left to fix."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    errors: list[CellError] = field(default_factory=list)
    error_count: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)
    max_errors: int = MAX_ERRORS

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def add(self, error: CellError) -> None:
        self.error_count += 1
        if len(self.errors) < self.max_errors:
            self.errors.append(error)


def _aliases(schema: Schema) -> Iterator[str]:
    for col in schema.columns:
        for alias in (col.name, col.label, *col.aliases):
            yield _normalise(alias)


def _normalise(header: str) -> str:
    """Templates decorate headers ("*身份证号", "笔试成绩（分）", "ID Number")."""
    h = re.sub(r"[\s_*＊]", "", header).lower()
    return re.sub(r"[（(][^（()）]*[)）]$", "", h) or h


def _match_columns(table: Table, schema: Schema, result: Validated) -> dict[str, str] | None:
    """Schema column name -> header in the file, or None after recording header errors."""
    lookup: dict[str, Column] = {}
    for col in schema.columns:
        for alias in (col.name, col.label, *col.aliases):
            lookup.setdefault(_normalise(alias), col)
    found: dict[str, str] = {}
    bad = False
    for header in table.columns:
        matched = lookup.get(_normalise(header))
        if matched is None:
            result.ignored_columns.append(header)
        elif matched.name in found:
            bad = True
            reason = f"与“{found[matched.name]}”列重复，请只保留一列"
            result.add(CellError(0, matched.label, header, reason))
        else:
            found[matched.name] = header
    for header in table.duplicate_columns:
        repeated = lookup.get(_normalise(header))
        if repeated is None:
            result.ignored_columns.append(header)
        else:
            bad = True
            result.add(CellError(0, repeated.label, header, "该列出现了多次，请只保留一列"))
    for col in schema.columns:
        if col.required and col.name not in found:
            bad = True
            names = "、".join((col.label, *col.aliases[:2]))
            reason = f"缺少必填列“{col.label}”（表头可写作：{names}）"
            result.add(CellError(0, col.label, "", reason))
    result.columns = found
    return None if bad else found


def validate(table: Table, schema: Schema, *, max_errors: int = MAX_ERRORS) -> Validated:
    """Every row parsed and checked; rows with any error are left out of ``rows``.

    Header problems stop validation before any row: with a column missing every row would
    fail the same way, and one clear message beats 200,000 copies of it.
    """
    result = Validated(max_errors=max_errors)
    found = _match_columns(table, schema, result)
    if found is None:
        return result
    if not table.rows:
        result.add(CellError(0, schema.label, "", "文件中没有数据行"))
        return result
    plan = [
        (c.name, c.label, found.get(c.name), c.required and not c.blank_ok, c.parse)
        for c in schema.columns
    ]
    labels = {c.name: c.label for c in schema.columns}
    key, check = schema.key, schema.check
    seen: dict[Any, int] = {}
    out_rows = result.rows
    add = result.add
    for number, raw in table.rows:
        out: dict[str, Any] = {"row": number}
        bad = False
        for name, label, header, must, parse in plan:
            text = raw[header] if header is not None else ""
            if not text:
                out[name] = None
                if must:
                    add(CellError(number, label, "", f"{label}不能为空"))
                    bad = True
                continue
            try:
                out[name] = parse(text)
            except ValueError as e:
                out[name] = INVALID
                add(CellError(number, label, text, str(e)))
                bad = True
        if check is not None:
            for name, reason in check(out):
                header = found.get(name)
                add(CellError(number, labels[name], raw[header] if header else "", reason))
                bad = True
        if key is not None and (value := out.get(key)) is not None and value is not INVALID:
            first = seen.setdefault(value, number)
            if first != number:
                add(CellError(number, labels[key], raw[found[key]], f"与第{first}行重复"))
                bad = True
        if not bad:
            out_rows.append(out)
    return result


# --- writing --------------------------------------------------------------------------------
# The package is written directly rather than through openpyxl: its write-only mode builds
# an object and an XML element per cell and needs ~17 s for 200,000 rows here; the parts
# below are what it would write (inline strings, one style sheet), in a fraction of that.
_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_DOC_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_CONTENT_TYPES = (
    _DECL + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType='
    '"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType='
    '"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" ContentType='
    '"application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    "</Types>"
)
_PACKAGE_RELS = (
    _DECL + f'<Relationships xmlns="{_PKG_REL}">'
    f'<Relationship Id="rId1" Type="{_DOC_REL}/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
_WORKBOOK_RELS = (
    _DECL + f'<Relationships xmlns="{_PKG_REL}">'
    f'<Relationship Id="rId1" Type="{_DOC_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_DOC_REL}/styles" Target="styles.xml"/>'
    "</Relationships>"
)
_FONT = '<sz val="11"/><name val="等线"/><family val="2"/><charset val="134"/>'
_XF = 'fontId="{}" fillId="0" borderId="0" xfId="0"'
_STYLES = (
    _DECL + f'<styleSheet xmlns="{_MAIN_NS}">'
    '<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/>'
    '<numFmt numFmtId="165" formatCode="yyyy-mm-dd hh:mm:ss"/></numFmts>'
    f'<fonts count="2"><font>{_FONT}</font><font><b/>{_FONT}</font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="5">'
    f'<xf numFmtId="0" {_XF.format(0)}/>'
    f'<xf numFmtId="0" {_XF.format(1)} applyFont="1"/>'
    f'<xf numFmtId="164" {_XF.format(0)} applyNumberFormat="1"/>'
    f'<xf numFmtId="165" {_XF.format(0)} applyNumberFormat="1"/>'
    f'<xf numFmtId="21" {_XF.format(0)} applyNumberFormat="1"/>'
    "</cellXfs>"
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
# Indexes into the cellXfs above.
_S_BOLD, _S_DATE, _S_DATETIME, _S_TIME = 1, 2, 3, 4
_EXCEL_EPOCH = datetime(1899, 12, 30)
_LEAP_BUG_END = date(1900, 3, 1)  # Excel counts a 29 February 1900 that never was
# Characters XML 1.0 cannot carry at all; dropped rather than failing the whole export.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_SHEET_TITLE_BAD = re.compile(r"[\[\]:*?/\\]")


def mask_phone(value: str) -> str:
    """138****1234: the shape officers and applicants recognise from every Chinese site."""
    phone = value.strip()
    if len(phone) < 8:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def _masker(key: str) -> Callable[[str], str]:
    return mask_phone if "phone" in key or "mobile" in key else mask_id_number


def _sheet_title(title: str) -> str:
    """Excel refuses some characters in sheet names and anything over 31 characters."""
    name = _SHEET_TITLE_BAD.sub("_", title).strip().strip("'")[:31]
    return name if name and name.lower() != "history" else "Sheet1"


def _width(text: str) -> int:
    """Display width in Excel's units, where a CJK character takes two."""
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def _escape(text: str) -> str:
    if _XML_ILLEGAL.search(text):
        text = _XML_ILLEGAL.sub("", text)
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if '"' in text:
        text = text.replace('"', "&quot;")
    return text


def _text_cell(ref: str, text: str, style: str = "") -> str:
    """An inline string: always text, so an applicant named "=HYPERLINK(...)" stays a name
    and never becomes a formula in an officer's Excel."""
    space = ' xml:space="preserve"' if text[:1].isspace() or text[-1:].isspace() else ""
    return f'<c r="{ref}"{style} t="inlineStr"><is><t{space}>{_escape(text)}</t></is></c>'


def _other_cell(ref: str, value: object) -> str:
    """Anything but a string: numbers as numbers, dates as dates, the rest as text.

    Integers beyond 15 digits go out as text, because Excel keeps 15 significant digits and
    would silently change the rest (the very way ID numbers get ruined).
    """
    if isinstance(value, bool):
        return _text_cell(ref, "是" if value else "否")
    if isinstance(value, int):
        if abs(value) < 10**15:
            return f'<c r="{ref}"><v>{value}</v></c>'
        return _text_cell(ref, str(value))
    if isinstance(value, float):
        if not math.isfinite(value):
            return _text_cell(ref, str(value))
        return f'<c r="{ref}"><v>{value!r}</v></c>'
    if isinstance(value, Decimal):
        if not value.is_finite():
            return _text_cell(ref, str(value))
        return f'<c r="{ref}"><v>{value:f}</v></c>'
    if isinstance(value, datetime):
        if value.tzinfo is not None:  # Excel has no time zones: Beijing wall time
            value = value.astimezone(_BUREAU_TZ).replace(tzinfo=None)
        serial = (value - _EXCEL_EPOCH).total_seconds() / 86400
        if value.date() < _LEAP_BUG_END:
            return _text_cell(ref, value.isoformat(sep=" "))
        return f'<c r="{ref}" s="{_S_DATETIME}"><v>{serial!r}</v></c>'
    if isinstance(value, date):
        if value < _LEAP_BUG_END:
            return _text_cell(ref, value.isoformat())
        days = (value - _EXCEL_EPOCH.date()).days
        return f'<c r="{ref}" s="{_S_DATE}"><v>{days}</v></c>'
    if isinstance(value, time):
        fraction = (value.hour * 3600 + value.minute * 60 + value.second) / 86400
        return f'<c r="{ref}" s="{_S_TIME}"><v>{fraction!r}</v></c>'
    return _text_cell(ref, str(value))


def _sheet_head(widths: Sequence[int], frozen: bool) -> str:
    pane = (
        '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
        '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/>'
        if frozen
        else ""
    )
    cols = "".join(
        f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>'
        for i, w in enumerate(widths, start=1)
    )
    return (
        _DECL + f'<worksheet xmlns="{_MAIN_NS}" xmlns:r="{_DOC_REL}">'
        f'<sheetViews><sheetView workbookViewId="0">{pane}</sheetView></sheetViews>'
        '<sheetFormatPr defaultRowHeight="15"/>'
        + (f"<cols>{cols}</cols>" if cols else "")
        + "<sheetData>"
    )


def write_xlsx(
    columns: Sequence[tuple[str, str]],
    rows: Iterable[Mapping[str, Any]],
    *,
    title: str,
    mask: Sequence[str] = ("id_number", "phone"),
) -> bytes:
    """An .xlsx of ``rows`` under Chinese headers (bold, frozen), streamed row by row so a
    province's 200,000 applicants export in a few seconds.

    Keys in ``mask`` are masked on the way out: phone-like keys as 138****1234, the rest as
    ID numbers (region and last four). Dates are real dates (yyyy-mm-dd); booleans read
    是/否; every string stays text.
    """
    keys = [k for k, _ in columns]
    maskers = {k: _masker(k) for k in mask}
    plan = [(k, maskers.get(k), get_column_letter(i)) for i, k in enumerate(keys, start=1)]
    it = iter(rows)
    head = list(islice(it, 200))
    widths = [_width(label) for _, label in columns]
    for row in head:
        for i, k in enumerate(keys):
            v = row.get(k)
            if v is not None:
                w = 10 if isinstance(v, date) else _width(str(v))
                widths[i] = max(widths[i], w)
    widths = [min(max(w, 6) + 2, 60) for w in widths]

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=5) as zf:
        zf.writestr("[Content_Types].xml", _CONTENT_TYPES)
        zf.writestr("_rels/.rels", _PACKAGE_RELS)
        zf.writestr(
            "xl/workbook.xml",
            _DECL + f'<workbook xmlns="{_MAIN_NS}" xmlns:r="{_DOC_REL}"><sheets>'
            f'<sheet name="{_escape(_sheet_title(title))}" sheetId="1" r:id="rId1"/>'
            "</sheets></workbook>",
        )
        zf.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        zf.writestr("xl/styles.xml", _STYLES)
        with zf.open("xl/worksheets/sheet1.xml", "w") as out:
            out.write(_sheet_head(widths, bool(columns)).encode())
            bold = f' s="{_S_BOLD}"'
            header = "".join(
                _text_cell(f"{letter}1", label, bold)
                for (_, label), (_, _, letter) in zip(columns, plan, strict=True)
            )
            parts = [f'<row r="1">{header}</row>']
            number = 1
            for row in chain(head, it):
                number += 1
                cells = []
                for key, masker, letter in plan:
                    v = row.get(key)
                    if v is None:
                        continue
                    if masker is not None:
                        v = masker(v if type(v) is str else str(v))
                    if type(v) is str:
                        if v:
                            cells.append(_text_cell(f"{letter}{number}", v))
                    else:
                        cells.append(_other_cell(f"{letter}{number}", v))
                parts.append(f'<row r="{number}">{"".join(cells)}</row>')
                if len(parts) >= 2000:
                    out.write("".join(parts).encode())
                    parts.clear()
            parts.append("</sheetData></worksheet>")
            out.write("".join(parts).encode())
    return buf.getvalue()


_REPORT_COLUMNS = (("row", "行号"), ("column", "列"), ("value", "内容"), ("reason", "原因"))


def report_xlsx(errors: Sequence[CellError], *, total: int | None = None) -> bytes:
    """The validation report for the officer to download, fix the source file by, and
    re-upload. ``total`` (``Validated.error_count``) adds a closing line when the list was
    capped, so nobody mistakes the first 1,000 for all of them."""
    rows: list[dict[str, Any]] = [
        {"row": e.row or "表头", "column": e.column, "value": e.value, "reason": e.reason}
        for e in errors
    ]
    if total is not None and total > len(errors):
        rows.append({"reason": f"另有{total - len(errors)}处错误未列出，请修正以上错误后重新导入"})
    return write_xlsx(_REPORT_COLUMNS, rows, title="导入错误报告", mask=())


def template_xlsx(schema: Schema) -> bytes:
    """An empty import file with the canonical headers, for officers to fill in."""
    return write_xlsx([(c.name, c.label) for c in schema.columns], [], title=schema.label, mask=())


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
