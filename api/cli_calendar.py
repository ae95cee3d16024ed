"""``renshi calendar``: load a year's official holiday schedule, and count working days.

An administrator loads the State Council notice for a new year here (usually in November,
when it is published); ``add`` lets anyone check a deadline against the same calendar the
engine uses — built-in years plus the loaded ones in the database.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any

import click
from sqlalchemy.exc import SQLAlchemyError

from states.calendar import UnknownCalendarYear, builtin_calendar, parse_schedule
from states.store.calendar_store import calendar_from_db, load_schedule
from states.store.db import make_engine

__all__ = ["calendar"]


class CalendarError(click.ClickException):
    """Exit 1 with a Chinese message on stderr (click's own prefix would be English)."""

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"错误：{self.format_message()}", err=file is None, file=file)


class _BadArgument(click.BadParameter):
    """A usage error (exit 2) that names the argument in Chinese."""

    def format_message(self) -> str:
        hint = self.param.get_error_hint(self.ctx) if self.param is not None else "参数"
        return f"参数 {hint} 无效：{self.message}"


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class _DateType(click.ParamType[date]):
    name = "date"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        text = str(value).strip()
        if _ISO_DATE.fullmatch(text):
            try:
                return date.fromisoformat(text)
            except ValueError:
                pass
        raise _BadArgument(f"{value!r} 不是 YYYY-MM-DD 格式的有效日期", ctx, param)


class _CountType(click.ParamType[int]):
    name = "n"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        try:
            n = int(str(value).strip())
        except ValueError:
            raise _BadArgument(f"{value!r} 不是整数", ctx, param) from None
        if n < 0:
            raise _BadArgument(f"工作日天数不能为负数：{n}", ctx, param)
        return n


def _db_failure(exc: SQLAlchemyError) -> CalendarError:
    cause: object = getattr(exc, "orig", None) or exc
    detail = (str(cause).splitlines() or [type(cause).__name__])[0]
    return CalendarError(
        f"数据库操作失败（{detail}）；请确认 RENSHI_DATABASE_URL 正确并已运行 renshi db upgrade"
    )


@click.group("calendar")
def calendar() -> None:
    """工作日日历：导入国务院公布的节假日安排，按工作日推算期限。"""


@calendar.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path))
@click.option("--year", type=int, default=None, help="年份；CSV 文件不写时取文件中日期的年份。")
def calendar_load(file: Path, year: int | None) -> None:
    """导入一年的法定节假日与调休安排（JSON 或 CSV 文件）。

    同一年份重复导入时以新文件为准；导入内置年份（2004–2026）则覆盖内置安排。

    \b
    JSON：{"year": 2027, "holidays": {"2027-01-01": "元旦"}, "workdays": {...}}
    CSV ：表头 date,kind,name；kind 为 holiday/休 或 workday/班
    """
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise CalendarError(f"{file}：文件不是 UTF-8 编码") from None
    except OSError as exc:
        raise CalendarError(f"{file}：无法读取（{exc.strerror}）") from None
    try:
        schedule = parse_schedule(text, year)
    except ValueError as exc:
        raise CalendarError(f"{file}：{exc}") from None

    engine = make_engine()
    try:
        with engine.begin() as conn:
            load_schedule(conn, schedule, str(file.resolve()), datetime.now(UTC))
    except SQLAlchemyError as exc:
        raise _db_failure(exc) from None
    finally:
        engine.dispose()

    note = "（覆盖内置安排）" if builtin_calendar().is_known(schedule.year) else ""
    click.echo(
        f"已导入{schedule.year}年节假日安排{note}：法定节假日 {len(schedule.holidays)} 天，"
        f"调休上班 {len(schedule.workdays)} 天。"
    )


@calendar.command("add", context_settings={"ignore_unknown_options": True})
@click.argument("start", metavar="DATE", type=_DateType())
@click.argument("n", metavar="N", type=_CountType())
def calendar_add(start: date, n: int) -> None:
    """输出 DATE 之后第 N 个工作日（YYYY-MM-DD，DATE 当天不计）。"""
    engine = make_engine()
    try:
        with engine.connect() as conn:
            cal = calendar_from_db(conn)
    except SQLAlchemyError as exc:
        raise _db_failure(exc) from None
    except ValueError as exc:  # a corrupt row in calendar_years
        raise CalendarError(str(exc)) from None
    finally:
        engine.dispose()
    try:
        result = cal.add_working_days(start, n)
    except UnknownCalendarYear as exc:
        raise CalendarError(str(exc)) from None
    click.echo(result.isoformat())
