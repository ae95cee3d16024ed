"""Task books' web twin: the JSON API (``routes``), the pages (``pages``: the officers' list,
books, tasks, the leaders' board with its SVG charts, scoring), the inbox's line for each of
its cases and the link from a case's page to the task book's own page of it."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import Connection, select

from api.processes import Row, WebPackage
from api.processes.task_book import pages, routes
from states.processes.task_book.machine import BOOK, ROUND, SHEET, TASK
from states.processes.task_book.tables import WorkTask


def task_asks(conn: Connection, rows: Sequence[Row]) -> dict[int, str]:
    """What a task asks, as the inbox says it: 任务“…”（完成时限2026-10-31，进度40%）."""
    found = conn.execute(
        select(WorkTask.case_id, WorkTask.title, WorkTask.deadline, WorkTask.progress).where(
            WorkTask.case_id.in_([int(r["case_id"]) for r in rows])
        )
    ).all()
    return {
        int(f.case_id): f"任务“{f.title}”（完成时限{f.deadline.isoformat()}，进度{f.progress}%）"
        for f in found
    }


def titled(conn: Connection, rows: Sequence[Row]) -> dict[int, str]:
    """A book, a round or a sheet says its title."""
    return {int(r["case_id"]): str((r["data"] or {}).get("title", "")) for r in rows}


def _link(label: str, key: str, base: str) -> Callable[[Row], list[tuple[str, str]]]:
    """The link a case's page offers to the task book's own page of the case."""

    def documents(case: Row) -> list[tuple[str, str]]:
        data = case.get("data") or {}
        if key == "case":
            return [(label, f"{base}{case['id']}")]
        return [(label, f"{base}{data[key]}")] if key in data else []

    return documents


WEB = WebPackage(
    routers=(routes.router, pages.task_pages),
    asks={TASK: task_asks, BOOK: titled, ROUND: titled, SHEET: titled},
    documents={
        TASK: _link("任务详情、进展与时间线", "case", "/tasks/by-case/"),
        BOOK: _link("任务书（任务清单）", "book_id", "/tasks/books/"),
        ROUND: _link("考核评分进度与结果", "round_id", "/tasks/scoring/"),
        SHEET: _link("填写评分表", "sheet_id", "/tasks/scoring/sheets/"),
    },
)
