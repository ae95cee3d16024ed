"""Validating a table against a schema: headers matched by label or alias, every cell
parsed, the key unique within the file, the schema's cross-field check; every error kept as
(row, column, value, reason) up to a cap an officer can still read."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from states.sheets.columns import INVALID, Column, Schema, normalise
from states.sheets.read import Table, TableStream

# Enough for an officer to see the pattern of what went wrong; a broken 200k-row file must not
# produce a 200k-line report.
MAX_ERRORS = 1000


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


def _match_columns(
    table: Table | TableStream, schema: Schema, result: Validated
) -> dict[str, str] | None:
    """Schema column name -> header in the file, or None after recording header errors."""
    lookup: dict[str, Column] = {}
    for col in schema.columns:
        for alias in (col.name, col.label, *col.aliases):
            lookup.setdefault(normalise(alias), col)
    found: dict[str, str] = {}
    bad = False
    for header in table.columns:
        matched = lookup.get(normalise(header))
        if matched is None:
            result.ignored_columns.append(header)
        elif matched.name in found:
            bad = True
            reason = f"与“{found[matched.name]}”列重复，请只保留一列"
            result.add(CellError(0, matched.label, header, reason))
        else:
            found[matched.name] = header
    for header in table.duplicate_columns:
        repeated = lookup.get(normalise(header))
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
    checking = Validation(table, schema, max_errors=max_errors)
    for chunk in checking.chunks(max(len(table.rows), 1)):
        checking.result.rows.extend(chunk)
    return checking.result


class Validation:
    """``validate`` as it goes, for a ``TableStream`` too: ``chunks`` yields the good rows a
    chunk at a time while ``result`` gathers the errors (its ``rows`` stay empty), so an
    import of a province's roster never holds every parsed row at once. The header is
    matched on construction; with a header error ``chunks`` yields nothing."""

    def __init__(
        self, table: Table | TableStream, schema: Schema, *, max_errors: int = MAX_ERRORS
    ) -> None:
        self.table = table
        self.schema = schema
        self.result = Validated(max_errors=max_errors)
        self.found = _match_columns(table, schema, self.result)
        self.seen: dict[Any, int] = {}
        self.read = 0  # data rows read so far, good and bad

    def chunks(self, size: int) -> Iterator[list[dict[str, Any]]]:
        found, schema, result = self.found, self.schema, self.result
        if found is None:
            return
        plan = [
            (c.name, c.label, found.get(c.name), c.required and not c.blank_ok, c.parse)
            for c in schema.columns
        ]
        labels = {c.name: c.label for c in schema.columns}
        key, check = schema.key, schema.check
        seen = self.seen
        add = result.add
        out_rows: list[dict[str, Any]] = []
        for number, raw in self.table.rows:
            self.read += 1
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
                if len(out_rows) >= size:
                    yield out_rows
                    out_rows = []
        if out_rows:
            yield out_rows
        if not self.read:
            result.add(CellError(0, schema.label, "", "文件中没有数据行"))
