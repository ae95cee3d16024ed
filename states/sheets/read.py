"""Reading an upload as a table: .xlsx as a stream (expat), openpyxl's read-only mode as the
fallback for any package the stream reader does not understand, and CSV (UTF-8 or GB18030).

A province-sized file must go through in seconds, and openpyxl alone cannot do that here
(no lxml; an object per cell: ~25 s to read 200,000 rows). The stream reader is checked
against openpyxl in the tests."""

from __future__ import annotations

import csv
import io
import os
import posixpath
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from itertools import chain
from typing import Any, BinaryIO
from xml.etree import ElementTree
from xml.parsers import expat

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
)
from openpyxl.utils.datetime import (  # type: ignore[import-untyped, unused-ignore]
    MAC_EPOCH,
    WINDOWS_EPOCH,
    from_excel,
    from_ISO8601,
)
from python_calamine import CalamineWorkbook, SheetVisibleEnum

from states.sheets.columns import Schema, aliases, normalise

# A province round is at most ~300,000 applicants; anything far beyond is not a real import
# (or is a sheet with a million formatted blank rows) and would only exhaust memory.
MAX_ROWS = 500_000

NOT_A_SHEET = "文件不是有效的 Excel（.xlsx）或 CSV 文件"


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


@dataclass(frozen=True)
class TableStream:
    """A ``Table`` whose data rows are read as they are consumed, once: a province's roster
    (600,000 rows and more) is validated and written in chunks without ever being held as a
    whole. The header is known as soon as the stream is opened."""

    columns: list[str]
    rows: Iterator[tuple[int, dict[str, str]]]
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
    known = None if schema is None else frozenset(aliases(schema))
    name = filename.strip().lower()
    if name.endswith((".xlsx", ".xlsm")):
        return _read_xlsx(data, max_rows, known)
    if name.endswith(".csv"):
        return _read_csv(data, max_rows, known)
    if name.endswith(".xls"):
        raise SheetError(f"{NOT_A_SHEET}：不支持旧版 .xls 格式，请在 Excel 中另存为 .xlsx 后再上传")
    raise SheetError(f"{NOT_A_SHEET}：文件扩展名应为 .xlsx 或 .csv")


# Where an upload may come from: its bytes, a file on disk, or an open binary file.
Source = bytes | str | os.PathLike[str] | BinaryIO
READERS = ("calamine", "stream")


def open_table(
    source: Source,
    filename: str,
    *,
    schema: Schema | None = None,
    max_rows: int = MAX_ROWS,
    reader: str = "calamine",
) -> TableStream:
    """``read_table`` for imports too big to hold as text: the rows come as they are read.

    An .xlsx is read by python-calamine (Rust; ``reader="calamine"``), about three times as
    fast as the expat stream reader on a province's roster (benchmarks/roster.py measures
    both); the stream reader, and through it openpyxl, stays the reader of whatever
    calamine cannot open. ``reader="stream"`` asks for the expat reader. A CSV is decoded
    whole, as ``read_table`` does.
    """
    if reader not in READERS:
        raise ValueError(f"unknown reader {reader!r}")
    known = None if schema is None else frozenset(aliases(schema))
    name = filename.strip().lower()
    if name.endswith((".xlsx", ".xlsm")):
        if reader == "calamine":
            found = _calamine_stream(source, max_rows, known)
            if found is not None:
                return found
        data = _bytes(source)
        _check_package(data)
        if reader == "stream":
            return _stream(_fast_rows(data), max_rows, known)
        return _as_stream(_read_xlsx(data, max_rows, known))
    return _as_stream(read_table(_bytes(source), filename, schema=schema, max_rows=max_rows))


def _as_stream(table: Table) -> TableStream:
    return TableStream(table.columns, iter(table.rows), table.duplicate_columns)


def _bytes(source: Source) -> bytes:
    if isinstance(source, bytes):
        return source
    if isinstance(source, str | os.PathLike):
        with open(source, "rb") as f:
            return f.read()
    source.seek(0)
    return source.read()


def _check_package(data: bytes | BinaryIO) -> None:
    """What ``_read_xlsx`` refuses before reading: an .xls or an encrypted workbook, and
    anything that is no zip package at all."""
    head = data[:4] if isinstance(data, bytes) else _peek(data, 4)
    if head == _OLE_MAGIC:
        raise SheetError(
            f"{NOT_A_SHEET}：文件是旧版 .xls 格式或设置了打开密码，"
            "请在 Excel 中取消密码并另存为 .xlsx 后再上传"
        )
    if not zipfile.is_zipfile(io.BytesIO(data) if isinstance(data, bytes) else data):
        raise SheetError(f"{NOT_A_SHEET}：文件内容不是 .xlsx 格式（可能是改了扩展名的其他文件）")


def _peek(f: BinaryIO, n: int) -> bytes:
    f.seek(0)
    head = f.read(n)
    f.seek(0)
    return head


def _calamine_stream(
    source: Source, max_rows: int, known: frozenset[str] | None
) -> TableStream | None:
    """The first visible sheet through python-calamine, or None to leave the file to the
    project's own reader (which then gives the error, if there is one)."""
    data: bytes | None = None
    path = ""
    if isinstance(source, str | os.PathLike):
        path = os.fspath(source)
        with open(path, "rb") as f:
            _check_package(f)
    else:
        data = _bytes(source)
        _check_package(data)
    try:
        if data is None:
            book = CalamineWorkbook.from_path(path)
        else:
            book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        visible = [m.name for m in book.sheets_metadata if m.visible == SheetVisibleEnum.Visible]
        if not visible:
            return None
        sheet = book.get_sheet_by_name(visible[0])
        # calamine gives every row from the first, leading blank ones included
        rows = enumerate(sheet.iter_rows(), start=1)
    except Exception:  # any error of the Rust reader: the own reader has the last word
        return None
    return _stream(rows, max_rows, known)


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
    stream = _stream(rows, max_rows, known)
    return Table(stream.columns, list(stream.rows), stream.duplicate_columns)


def _stream(
    rows: Iterable[tuple[int, Sequence[object]]],
    max_rows: int,
    known: frozenset[str] | None = None,
) -> TableStream:
    """``_table`` as it goes: the header is found at once, the data rows as they are read."""
    it = iter(rows)
    candidates: list[tuple[int, Sequence[object], list[str]]] = []
    for number, cells in it:
        names = [_text(c) for c in cells]
        if any(names):
            candidates.append((number, cells, names))
            if known is None or len(candidates) >= _HEADER_SEARCH:
                break
    if not candidates:
        return TableStream([], iter(()), ())
    best = 0
    if known is not None:
        hits = [sum(normalise(n) in known for n in names if n) for _, _, names in candidates]
        best = max(range(len(hits)), key=lambda i: (hits[i], -i))
    columns, kept, duplicates = _header(candidates[best][2])
    # Rows looked at below the header are data after all.
    it = chain(((n, cells) for n, cells, _ in candidates[best + 1 :]), it)

    def data() -> Iterator[tuple[int, dict[str, str]]]:
        text, edge = _text, _EDGE
        count = 0
        for number, cells in it:
            width = len(cells)
            # text cells (most of them) trimmed in line: a call per cell costs seconds here
            row = {
                name: (
                    "" if i >= width else c.strip(edge) if type(c := cells[i]) is str else text(c)
                )
                for i, name in kept
            }
            if not any(row.values()):
                continue
            if count >= max_rows:
                raise SheetError(f"数据行超过{max_rows}行上限，请拆分文件后分批导入")
            count += 1
            yield number, row

    return TableStream(columns, data(), duplicates)


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
