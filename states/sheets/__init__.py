"""Spreadsheets in and out: imports with a row-by-row report, exports with masking.

Officers live in Excel. An import brings up to hundreds of thousands of rows typed or pasted
by people in a hurry, so every cell is checked and a bad one is reported by row, column
label and reason (in Chinese, in the officer's own terms) instead of failing the whole
import with a stack trace or, worse, quietly creating a second person.

- ``read``: an upload as a ``Table`` (.xlsx streamed, openpyxl as fallback, CSV), or as a
  ``TableStream`` read as it goes (python-calamine first) for a province's roster;
- ``columns``: ``Column``, ``Schema`` and the cell parsers imports of people share;
- ``validate``: a table against a schema, with the report;
- ``write``: .xlsx exports, the report as a sheet, a template.

A process's own schemas live in its package (recruitment's applicants and scores). Pure:
openpyxl and the standard library only; the database write and the upload endpoint live in
the process steps and the adapters.
"""

from states.sheets.columns import INVALID, Column, Schema
from states.sheets.read import (
    MAX_ROWS,
    NOT_A_SHEET,
    SheetError,
    Table,
    TableStream,
    open_table,
    read_table,
)
from states.sheets.validate import MAX_ERRORS, CellError, Validated, Validation, validate
from states.sheets.write import (
    mask_phone,
    report_xlsx,
    template_xlsx,
    write_xlsx,
    write_xlsx_to,
)

__all__ = [
    "INVALID",
    "MAX_ERRORS",
    "MAX_ROWS",
    "NOT_A_SHEET",
    "CellError",
    "Column",
    "Schema",
    "SheetError",
    "Table",
    "TableStream",
    "Validated",
    "Validation",
    "mask_phone",
    "open_table",
    "read_table",
    "report_xlsx",
    "template_xlsx",
    "validate",
    "write_xlsx",
    "write_xlsx_to",
]
