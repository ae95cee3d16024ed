"""What the task book's pages and JSON API both read: the board with its filters, its
export, the results of a scoring round and their export. One reading for both doors."""

from __future__ import annotations

import threading
import time
import weakref
from collections import OrderedDict
from typing import Any

from api.deps import Services
from states.errors import NotFound
from states.org import Actor
from states.processes.task_book import board, scoring
from states.processes.task_book.rules import PARTIES
from states.sheets import write_xlsx
from states.store.db import reader

# A board is read by many leaders at once (the morning meeting, a phone in each hand) and
# changes by the hour, not the second: each worker keeps the boards it drew for half a
# minute, per unit, filters, day and reader's scope. Who may see the unit is asked anew on
# every request; only the reading is kept.
BOARD_SECONDS = 30.0
BOARD_KEPT = 256
Kept = OrderedDict[tuple[Any, ...], tuple[float, board.Board]]
_boards: weakref.WeakKeyDictionary[Any, Kept] = weakref.WeakKeyDictionary()  # per database
_lock = threading.Lock()


def board_for(
    svc: Services,
    actor: Actor,
    *,
    unit: int | None = None,
    year: int | None = None,
    source: str | None = None,
    lead: int | None = None,
    status: str | None = None,
    month: str | None = None,
    fresh: bool = False,
) -> board.Board:
    """The board of ``unit`` (by default the reader's highest), read at most every
    BOARD_SECONDS per worker unless ``fresh`` (an export reads it anew)."""
    filters = board.filters_from(
        year or svc.today().year, source=source, lead=lead, status=status, month=month
    )
    with reader(svc.db).connect() as conn:
        place = board.visible_unit(conn, actor, unit or board.top_unit(conn, actor))
        key = (place.id, filters, svc.today(), tuple(sorted(actor.scopes())))
        now = time.monotonic()
        with _lock:
            mine = _boards.setdefault(svc.db, OrderedDict())
            kept = mine.get(key)
        if kept is not None and not fresh and now - kept[0] < BOARD_SECONDS:
            return kept[1]
        when = board.clock_of(svc.engine, conn, place.path)
        found = board.board(conn, actor, place.id, filters, when)
    with _lock:
        mine[key] = (now, found)
        mine.move_to_end(key)
        while len(mine) > BOARD_KEPT:
            mine.popitem(last=False)
    return found


def board_xlsx(svc: Services, actor: Actor, **filters: Any) -> tuple[str, bytes]:
    """Every task the board counts (not only the first page), in the list's order."""
    found = board_for(svc, actor, fresh=True, **filters)
    with reader(svc.db).connect() as conn:
        when = board.clock_of(svc.engine, conn, found.unit.path)
        rows = list(board.export_rows(conn, found.unit, found.filters, when))
    title = f"{found.unit.name}{found.filters.year}年度任务督办表"
    return title, write_xlsx(board.EXPORT_COLUMNS, rows, title=title, mask=())


def round_view(svc: Services, actor: Actor, round_id: int) -> dict[str, Any]:
    """A scoring round as its reader may see it: who has scored (never the scores), and
    the totals and ranking once the round is closed (to those who answer for it) or
    published (to the units scored too)."""
    with reader(svc.db).connect() as conn:
        r = scoring.round_row(conn, round_id)
        answers = actor.sees(r.path)
        readable = scoring.may_read_results(conn, actor, r)
        if not (answers or readable):
            raise NotFound("考核评分不存在")
        return {
            "round": r,
            "answers": answers,
            "sheets": scoring.progress(conn, round_id) if answers else [],
            "results": scoring.results(conn, round_id) if readable else [],
            "tasks": scoring.round_tasks(conn, r),
        }


RESULT_COLUMNS = (
    ("rank", "排名"),
    ("unit_name", "单位"),
    ("total", "总分"),
    ("tasks", "考核任务数"),
    ("note", "说明"),
)


def results_xlsx(svc: Services, actor: Actor, round_id: int) -> tuple[str, bytes]:
    found = round_view(svc, actor, round_id)
    if not found["results"]:
        raise NotFound("考核结果尚未产生")
    r = found["round"]
    weights = "，".join(f"{PARTIES[p]}{float(w):g}%" for p, w in r.weights.items())
    rows = [
        {
            "rank": x.rank,
            "unit_name": x.unit_name,
            "total": round(x.total, 2),
            "tasks": x.tasks,
            "note": x.note or "",
        }
        for x in found["results"]
    ]
    rows.append({"unit_name": f"权重：{weights}"})
    return f"{r.title}结果", write_xlsx(RESULT_COLUMNS, rows, title=r.title, mask=())
