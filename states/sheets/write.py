"""Writing .xlsx directly as SpreadsheetML (openpyxl takes ~17 s for 200,000 rows): exports
with masking, the error report of an import, an empty template with a schema's headers."""

from __future__ import annotations

import io
import math
import os
import re
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, time
from decimal import Decimal
from itertools import chain, islice
from typing import Any, BinaryIO

# openpyxl ships no type information; "unused-ignore" keeps mypy quiet either way should
# types-openpyxl or an ignore_missing_imports override be added to the project later.
from openpyxl.utils import (  # type: ignore[import-untyped, unused-ignore]
    get_column_letter,
)

from states.clock import BUREAU_TZ
from states.identity import mask_id_number
from states.sheets.columns import Schema
from states.sheets.validate import CellError

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
            value = value.astimezone(BUREAU_TZ).replace(tzinfo=None)
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
    buf = io.BytesIO()
    write_xlsx_to(buf, columns, rows, title=title, mask=mask)
    return buf.getvalue()


def write_xlsx_to(
    target: str | os.PathLike[str] | BinaryIO,
    columns: Sequence[tuple[str, str]],
    rows: Iterable[Mapping[str, Any]],
    *,
    title: str,
    mask: Sequence[str] = ("id_number", "phone"),
) -> None:
    """``write_xlsx`` into a file (a path or an open binary file) rather than memory: the
    rows are consumed as they are written, so a province's 600,000-teacher roster is
    written in bounded memory."""
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

    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=5) as zf:
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
