"""Printed documents: one document model, set as a PDF by Typst or laid out as an .xlsx.

Every PDF Renshi prints goes through here: title review's 申报表, result list and 认定通知
(``api/processes/title_review/documents.py``) and any case's audit dossier (``api/dossier.py``).
A document is a title and a list of blocks (headings, label-value grids, tables, codes,
paragraphs, signature lines, right-aligned lines). The builders decide what a reader may see
and put it into blocks; this module only sets them, the same way for every document.

PDF: Typst compiles in-process (the ``typst`` wheel, no system libraries) one template,
``typst/document.typ``, with the document passed as JSON through ``sys.inputs`` — the words
are data to the template, never markup, so a name holding ``#``, ``*`` or ``]`` prints as
itself. The Chinese fonts are the machine's own (Noto CJK SC, or another the list below
names), found once per process and embedded in every PDF (PDF/A-2b, for the archive); a
machine without any is refused with a message saying so, never answered with a PDF of empty
boxes. ``RENSHI_FONT_DIRS`` (folders, separated as ``PATH`` is) adds fonts of the bureau's
own, such as a licensed 仿宋. Hashes and checksums are set in Typst's own monospaced face
(DejaVu Sans Mono, inside the wheel), so a reader compares them character by character.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final, Literal
from urllib.parse import quote

import typst
from fastapi.responses import Response
from openpyxl import Workbook  # type: ignore[import-untyped, unused-ignore]
from openpyxl.styles import (  # type: ignore[import-untyped, unused-ignore]
    Alignment,
    Border,
    Font,
    PatternFill,
    Side,
)
from openpyxl.utils import get_column_letter  # type: ignore[import-untyped, unused-ignore]

from api import webkit
from states.errors import RenshiError

TEMPLATE = Path(__file__).resolve().parent / "typst" / "document.typ"
# Chinese families in the order a bureau's printed forms prefer them: a Song (serif) face
# for the text, then a Hei (sans) face; the first of each found is used.
SERIF = ("Noto Serif CJK SC", "Source Han Serif SC", "Source Han Serif CN", "SimSun", "宋体")
SANS = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Micro Hei",
    "Microsoft YaHei",
    "SimHei",
    "黑体",
)
PDF_MEDIA = "application/pdf"
XLSX_MEDIA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# What a route serving a PDF says of it in the OpenAPI document.
PDF_ANSWER: Final[dict[int | str, dict[str, Any]]] = {
    200: {"content": {PDF_MEDIA: {}}, "description": "PDF 文件（内嵌中文字体）"},
    503: {"description": "服务器未安装中文字体，无法生成 PDF"},
}


class FontMissing(RenshiError):
    """No Chinese font on the server: a PDF would print every character as an empty box."""

    status = 503
    code = "font_missing"


# --- the document ---------------------------------------------------------------------------
Kind = Literal["heading", "fields", "table", "codes", "paragraph", "plain", "signatures", "right"]


@dataclass(frozen=True)
class Block:
    """One block of a document. ``fields``: ``rows`` of one or two (label, value) pairs (one
    pair spans the line); ``table``: ``columns`` with their ``widths`` in centimetres (0:
    what is left), ``rows`` of texts and the columns in ``mono`` set in the monospaced face;
    ``codes``: ``rows`` of (label, code) pairs, the code monospaced (a hash, a fingerprint);
    ``heading``, ``paragraph``, ``plain``: ``text``; ``signatures``, ``right``: ``lines``."""

    kind: Kind
    text: str = ""
    rows: Sequence[Sequence[Any]] = ()
    columns: Sequence[str] = ()
    widths: Sequence[float] = ()
    lines: Sequence[str] = ()
    mono: Sequence[int] = ()


def heading(text: str) -> Block:
    return Block("heading", text=text)


def fields(rows: Sequence[Sequence[tuple[str, str]]]) -> Block:
    return Block("fields", rows=[[list(pair) for pair in row] for row in rows])


def pairs(rows: Sequence[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """Two short items to a line, as a paper form sets them; a long or several-line value
    (a school with its flags, the ethics record) gets a line of its own."""
    out: list[list[tuple[str, str]]] = []
    waiting: tuple[str, str] | None = None
    for label, value in rows:
        if len(value) > 18 or "\n" in value:
            out.append([(label, value)])
            continue
        if waiting is None:
            waiting = (label, value)
        else:
            out.append([waiting, (label, value)])
            waiting = None
    if waiting is not None:
        out.append([waiting])
    return out


def table(
    columns: Sequence[tuple[str, float]],
    rows: Sequence[Sequence[str]],
    *,
    mono: Sequence[int] = (),
) -> Block:
    return Block(
        "table",
        columns=[c for c, _ in columns],
        widths=[w for _, w in columns],
        rows=[list(r) for r in rows],
        mono=list(mono),
    )


def codes(rows: Sequence[tuple[str, str]]) -> Block:
    return Block("codes", rows=[list(pair) for pair in rows])


def paragraph(text: str, *, indent: bool = True) -> Block:
    return Block("paragraph" if indent else "plain", text=text)


def signatures(*lines: str) -> Block:
    return Block("signatures", lines=list(lines))


def right(*lines: str) -> Block:
    return Block("right", lines=list(lines))


@dataclass(frozen=True)
class Document:
    title: str
    filename: str  # without extension: what the download is saved as
    subtitle: str = ""
    footer: str = ""
    blocks: Sequence[Block] = field(default_factory=list)
    landscape: bool = False


# --- PDF ------------------------------------------------------------------------------------
_lock = threading.Lock()
_found: tuple[typst.Fonts, list[str]] | None = None


def _font_dirs() -> list[str]:
    raw = os.environ.get("RENSHI_FONT_DIRS", "")
    return [p for p in raw.split(os.pathsep) if p]


def fonts() -> tuple[typst.Fonts, list[str]]:
    """The fonts Typst may use and the Chinese families to set text in, found once; refused
    with ``FontMissing`` (and looked for again next time) when there is no Chinese font."""
    global _found
    with _lock:
        if _found is None:
            found = typst.Fonts(include_system_fonts=True, font_paths=_font_dirs())
            families = set(found.families())
            chosen = [next((f for f in choice if f in families), None) for choice in (SERIF, SANS)]
            names = [f for f in chosen if f is not None]
            if not names:
                raise FontMissing(
                    "服务器未安装中文字体（如思源宋体、Noto Serif CJK SC），无法生成PDF文件；"
                    "请系统管理员安装中文字体后重试（可先导出Excel）"
                )
            _found = (found, names)
        return _found


def pdf(document: Document, at: dt.datetime) -> bytes:
    """The document as a PDF/A-2b with its Chinese fonts embedded, dated ``at``."""
    found, families = fonts()
    data = {
        "title": document.title,
        "subtitle": document.subtitle,
        "footer": document.footer,
        "landscape": document.landscape,
        "fonts": families,
        "blocks": [asdict(b) for b in document.blocks],
    }
    out = typst.compile(
        TEMPLATE,
        format="pdf",
        font_paths=found,
        sys_inputs={"data": json.dumps(data, ensure_ascii=False)},
        pdf_standards="a-2b",
        timestamp=int(at.timestamp()),
    )
    assert isinstance(out, bytes)
    return out


def download(data: bytes, media: str, name: str, *, inline: bool) -> Response:
    """A file named in Chinese (RFC 5987); a PDF opens in the browser to be printed, the
    rest are saved."""
    how = "inline" if inline else "attachment"
    disposition = f"{how}; filename*=UTF-8''{quote(name)}"
    return webkit.secure(
        Response(data, media_type=media, headers={"Content-Disposition": disposition})
    )


# --- .xlsx ----------------------------------------------------------------------------------
_THIN = Side(style="thin", color="808080")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_LABEL = PatternFill("solid", fgColor="EFEFEF")
_WRAP = Alignment(wrap_text=True, vertical="top")
_FONT = "宋体"


def xlsx(document: Document) -> bytes:
    """The document laid out on one sheet as the paper form is: the title across the top,
    labels shaded beside their values, tables with their headers, borders where the paper
    has lines, set to print on A4 one page wide."""
    width = max(
        [4] + [len(b.columns) for b in document.blocks if b.kind == "table"],
    )
    book = Workbook()
    sheet = book.active
    sheet.title = document.title[:31]
    plain = Font(name=_FONT, size=11)
    bold = Font(name=_FONT, size=11, bold=True)
    row = 1

    def across(text: str, font: Font, align: Alignment, height: float | None = None) -> None:
        nonlocal row
        sheet.merge_cells(start_row=row, start_column=1, end_row=row, end_column=width)
        cell = sheet.cell(row, 1, text)
        cell.font, cell.alignment = font, align
        if height is not None:
            sheet.row_dimensions[row].height = height
        row += 1

    across(document.title, Font(name=_FONT, size=16, bold=True), Alignment(horizontal="center"), 28)
    if document.subtitle:
        across(document.subtitle, Font(name=_FONT, size=10), Alignment(horizontal="center"))
    for b in document.blocks:
        if b.kind == "heading":
            row += 1
            across(b.text, bold, Alignment())
        elif b.kind in ("fields", "codes"):
            for line in b.rows if b.kind == "fields" else [[pair] for pair in b.rows]:
                column = 1
                for i, (label, value) in enumerate(line):
                    last = i == len(line) - 1
                    end = width if last else column + 1
                    _cell(sheet, row, column, label, bold, _LABEL)
                    if end > column + 1:
                        sheet.merge_cells(
                            start_row=row, start_column=column + 1, end_row=row, end_column=end
                        )
                    _cell(sheet, row, column + 1, value, plain)
                    for c in range(column + 2, end + 1):
                        sheet.cell(row, c).border = _BOX
                    column = end + 1
                _fit(sheet, row, line, width)
                row += 1
        elif b.kind == "table":
            for c, label in enumerate(b.columns, start=1):
                _cell(sheet, row, c, label, bold, _LABEL)
            row += 1
            for values in b.rows:
                for c, value in enumerate(values, start=1):
                    _cell(sheet, row, c, value, plain)
                row += 1
        elif b.kind in ("paragraph", "plain"):
            text = ("　　" if b.kind == "paragraph" else "") + b.text
            across(text, plain, _WRAP, 15 * (1 + len(text) // 60))
        elif b.kind == "signatures":
            row += 1
            for line in b.lines:
                across(f"{line}＿＿＿＿＿＿＿＿　　　　年　　月　　日", plain, Alignment(), 30)
        elif b.kind == "right":
            row += 1
            for line in b.lines:
                across(line, plain, Alignment(horizontal="right"))
    for c in range(1, width + 1):
        sheet.column_dimensions[get_column_letter(c)].width = 14 if c % 2 else 30
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.orientation = "landscape" if document.landscape else "portrait"
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def _cell(sheet: Any, row: int, column: int, value: str, font: Font, fill: Any = None) -> None:
    cell = sheet.cell(row, column, value)
    cell.font, cell.alignment, cell.border = font, _WRAP, _BOX
    if fill is not None:
        cell.fill = fill


def _fit(sheet: Any, row: int, pairs: Sequence[Sequence[str]], width: int) -> None:
    """A long value (个人述职) gets the height its lines need: a sheet does not grow a merged
    row by itself."""
    longest = max(len(str(v)) + 30 * str(v).count("\n") for _, v in pairs)
    per_line = 60 if len(pairs) == 1 else 22
    lines = 1 + longest // per_line
    if lines > 1:
        sheet.row_dimensions[row].height = min(409, 15 * lines)
