"""What every registry import hands back (the org tree, quotas, expert pools): how many rows
it created and changed, and every refused row with its reason, so that a page, the API and
the command line report an import the same way.

An import is all or nothing unless the officer asks for the valid rows only: with any error
and no ``valid_only``, nothing is written and the report says so (``refused``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from states.errors import FormError
from states.sheets import MAX_ERRORS, CellError, Schema, Validated

T = TypeVar("T")
CHUNK = 500  # ids or codes per IN list: inside every database's bound-parameter limit


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


@dataclass
class ImportReport:
    """The outcome of one import: ``created``/``updated``/``unchanged`` rows written (or
    that would have been, when ``refused``), the errors by row and column (capped; the real
    total in ``error_count``), and the columns the file had that no field reads."""

    valid_only: bool = False
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[CellError] = field(default_factory=list)
    error_count: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    written: bool = False

    @classmethod
    def of(cls, checked: Validated, *, valid_only: bool) -> ImportReport:
        return cls(
            valid_only=valid_only,
            errors=list(checked.errors),
            error_count=checked.error_count,
            ignored_columns=list(checked.ignored_columns),
        )

    def add(self, error: CellError) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(error)

    @property
    def refused(self) -> bool:
        """Errors and nothing written, because the officer did not ask for the valid rows."""
        return self.error_count > 0 and not self.written

    @property
    def imported(self) -> int:
        return (self.created + self.updated) if self.written else 0

    def summary(self) -> str:
        """One line an officer reads after the import."""
        if self.refused:
            return (
                f"文件中有{self.error_count}处错误，未导入任何数据；"
                "请改正后重新导入，或选择仅导入有效行"
            )
        text = f"新增{self.created}条，更新{self.updated}条，未变{self.unchanged}条"
        if self.error_count:
            text += f"；{self.error_count}处错误所在的行未导入"
        return text


def row_error(schema: Schema, row: dict[str, Any], name: str, reason: str) -> CellError:
    """A refusal found after parsing (an unknown parent, a unit out of scope), named by the
    column the officer sees; the cell as parsed stands in for the cell as typed."""
    value = row.get(name)
    shown = (
        "" if value is None else ("是" if value is True else "否" if value is False else str(value))
    )
    return CellError(int(row.get("row", 0)), schema.column(name).label, shown, reason)


def first_error(schema: Schema, errors: Iterable[CellError]) -> FormError | None:
    """The first error of a one-row 'import' (a single unit added in a form) as the field
    error the form shows beside that field."""
    labels = {c.label: c.name for c in schema.columns}
    for e in errors:
        return FormError(labels.get(e.column, e.column), e.reason)
    return None
