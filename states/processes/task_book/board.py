"""The leaders' board (督办看板): every issued task of the units under one unit, counted by
status for each unit one level down, listed overdue and stagnant first, with the
completions of the year against the plan; filtered by source, lead unit, status and
deadline month; exported.

A task's status is decided here and nowhere else (:func:`standing`), as one SQL expression:

- 已办结 (done): closed;
- 逾期 (red): its deadline, or one of its milestones, has passed;
- 预警 (yellow): stagnant (no report for the configured working days, flagged by the
  sweep), or the deadline is within the configured working days while the progress is
  behind the share of the time gone;
- 正常推进 (green): otherwise.

The expression is worked out into ``work_tasks.standing`` by the morning's sweep for every
open task (only the rows that changed are written, and the day is recorded in
``task_standing_days``) and by each step that changes a task (a report, an extension, a
split, a close); a board reads the column while it is current and the expression itself
otherwise (the morning before the sweep has run), so a province's board is a scan of one
index, and a status is never stale.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    case,
    delete,
    extract,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)

from states.calendar import UnknownCalendarYear, WorkingCalendar
from states.clock import local_date
from states.errors import FormError, NotFound
from states.org import Actor, path_ids
from states.process.spec import policy_for
from states.processes.task_book.rules import SOURCES, STATUSES
from states.processes.task_book.spec import TASK_SPEC
from states.processes.task_book.store import books_t, pairs, units_t, work_t
from states.processes.task_book.tables import TaskStandingDay
from states.store.models import table_of

days_t = table_of(TaskStandingDay)
# A standing (the order lists take) and the status it shows.
RED, STAGNANT, AT_RISK, ON_TRACK, DONE = 0, 1, 2, 3, 4
STATUS_OF = ("red", "yellow", "yellow", "green", "done")
CODES = {"red": (RED,), "yellow": (STAGNANT, AT_RISK), "green": (ON_TRACK,), "done": (DONE,)}
LIST_LIMIT = 200
EPOCH = dt.date(2000, 1, 1)


def _days(col: Any, dialect: str) -> ColumnElement[Any]:
    """Days since 2000-01-01 of a date column or value, on either database."""
    if dialect == "sqlite":
        return func.julianday(col) - func.julianday(literal(EPOCH.isoformat()))
    return col - literal(EPOCH)  # type: ignore[no-any-return]


def _month(col: Any, dialect: str) -> ColumnElement[Any]:
    if dialect == "sqlite":  # dates are ISO text: cheaper than strftime per row
        return func.substr(col, 6, 2)
    return extract("month", col)


@dataclass(frozen=True)
class Clock:
    """The day a board is drawn and the day until which a deadline counts as near."""

    today: dt.date
    near: dt.date


def clock_for(
    calendar: WorkingCalendar, today: dt.date, settings: Mapping[str, Any] | None
) -> Clock:
    """``near``: the configured working days ahead of today (calendar days at seven for five
    in a year whose holidays are not loaded: early rather than late)."""
    days = int(policy_for(TASK_SPEC, settings)["at_risk_days"])
    try:
        near = calendar.add_working_days(today, days)
    except UnknownCalendarYear:
        near = today + dt.timedelta(days=math.ceil(days * 7 / 5))
    return Clock(today, near)


def clock_of(engine: Any, conn: Connection, path: str) -> Clock:
    """Today for the boards of the province ``path`` lies in, with its settings."""
    today = local_date(engine.clock.now())
    return clock_for(engine.calendar(conn), today, province_settings(conn, path))


def standing(when: Clock, dialect: str) -> ColumnElement[int]:
    """A task's standing (see the module's docstring): the one definition of its status."""
    w = work_t
    today = literal(when.today)
    elapsed = _days(today, dialect) - _days(w.c.issued_on, dialect)
    span = _days(w.c.deadline, dialect) - _days(w.c.issued_on, dialect)
    return case(
        (w.c.closed_on.is_not(None), DONE),
        (or_(w.c.deadline < today, w.c.next_due < today), RED),
        (w.c.stagnant_since.is_not(None), STAGNANT),
        (and_(w.c.deadline <= literal(when.near), w.c.progress * span < 100 * elapsed), AT_RISK),
        else_=ON_TRACK,
    )


def status_expr(code: ColumnElement[int]) -> ColumnElement[str]:
    return case(*((code == i, s) for i, s in enumerate(STATUS_OF)), else_="green")


def current(conn: Connection, today: dt.date) -> bool:
    """Whether the stored standings were worked out today."""
    day = conn.execute(select(days_t.c.computed_on).where(days_t.c.id == 1)).scalar()
    return day == today


def code_column(conn: Connection, when: Clock) -> ColumnElement[int]:
    """The standing as a board reads it: the column when current, the expression otherwise."""
    if current(conn, when.today):
        return work_t.c.standing
    return standing(when, conn.dialect.name)


def restand(conn: Connection, when: Clock, ids: Iterable[int] | None = None) -> int:
    """Work the standing out again: of ``ids`` (a step changed them), or of every open
    issued task whose standing changed (the morning's sweep, which then records the day).
    Returns how many rows were written."""
    expr = standing(when, conn.dialect.name)
    if ids is not None:
        wanted = list(ids)
        if not wanted:
            return 0
        return int(
            conn.execute(
                update(work_t).where(work_t.c.id.in_(wanted)).values(standing=expr)
            ).rowcount
        )
    written = conn.execute(
        update(work_t)
        .where(
            work_t.c.closed_on.is_(None),
            work_t.c.case_id.is_not(None),
            work_t.c.standing.is_distinct_from(expr),
        )
        .values(standing=expr)
    ).rowcount
    conn.execute(delete(days_t).where(days_t.c.id == 1))
    conn.execute(insert(days_t).values(id=1, computed_on=when.today))
    return int(written)


def subtree(path: str) -> ColumnElement[bool]:
    """Tasks led inside the unit at ``path``: a range over the indexed path ('/' sorts just
    before '0', so every path under '/1/4/' lies in ['/1/4/', '/1/40'))."""
    return and_(work_t.c.lead_path >= path, work_t.c.lead_path < path[:-1] + "0")


# --- filters ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Filters:
    year: int
    source: str | None = None
    lead: int | None = None
    status: str | None = None
    month: int | None = None  # the deadline's month in the year

    def where(self, code: ColumnElement[int]) -> list[ColumnElement[bool]]:
        out: list[ColumnElement[bool]] = [work_t.c.year == self.year]
        if self.source:
            out.append(work_t.c.source == self.source)
        if self.lead:
            out.append(work_t.c.lead_unit_id == self.lead)
        if self.status:
            out.append(code.in_(CODES[self.status]))
        if self.month:
            first = dt.date(self.year, self.month, 1)
            nxt = dt.date(self.year + self.month // 12, self.month % 12 + 1, 1)
            out.append(and_(work_t.c.deadline >= first, work_t.c.deadline < nxt))
        return out

    def query(self) -> dict[str, str]:
        """The filters as a page's address carries them."""
        out = {"year": str(self.year)}
        if self.source:
            out["source"] = self.source
        if self.lead:
            out["lead"] = str(self.lead)
        if self.status:
            out["status"] = self.status
        if self.month:
            out["month"] = f"{self.year}-{self.month:02d}"
        return out


def filters_from(
    year: int,
    *,
    source: str | None = None,
    lead: int | None = None,
    status: str | None = None,
    month: str | None = None,
) -> Filters:
    """The filters a page or the API was given, checked: each refused by name."""
    if source and source not in SOURCES:
        raise FormError("source", f"任务来源应为：{'、'.join(SOURCES.values())}")
    if status and status not in STATUSES:
        raise FormError("status", f"状态应为：{'、'.join(STATUSES.values())}")
    m: int | None = None
    if month:
        try:
            y, mm = (int(x) for x in month.split("-"))
            dt.date(y, mm, 1)
        except ValueError:
            raise FormError("month", "完成时限月份应写作 YYYY-MM，如 2026-06") from None
        year, m = y, mm
    if not 2000 <= year <= 2100:
        raise FormError("year", "年度应为2000至2100之间的年份")
    return Filters(year, source or None, lead or None, status or None, m)


# --- the board --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Place:
    id: int
    name: str
    tier: str
    path: str
    parent_id: int | None


@dataclass
class Group:
    unit_id: int | None  # None: the unit's own tasks (本级)
    name: str
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUSES, 0))
    leaf: bool = False  # a school: its tasks are listed, not drilled into

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class Board:
    unit: Place
    trail: list[Place]  # from the actor's top unit down to this one
    filters: Filters
    groups: list[Group]
    totals: dict[str, int]
    tasks: list[dict[str, Any]]
    listed: int  # how many tasks match (the list shows the first LIST_LIMIT)
    months: list[tuple[int, int, int]]  # (month, planned by then, done by then)
    today: dt.date


def _place(conn: Connection, unit_id: int) -> Place:
    row = conn.execute(
        select(units_t.c.id, units_t.c.name, units_t.c.tier, units_t.c.path, units_t.c.parent_id)
        .where(units_t.c.id == unit_id)
    )  # fmt: skip
    found = row.one_or_none()
    if found is None:
        raise NotFound("单位不存在")
    return Place(*found)


def top_unit(conn: Connection, actor: Actor) -> int:
    """Where the actor's board opens: the highest unit their scope covers."""
    paths = sorted(actor.scopes(), key=lambda p: (len(path_ids(p)), p))
    if not paths:
        raise NotFound("没有可查看的单位")
    ids = path_ids(paths[0])
    if not ids:  # the system's "/": the root of the tree
        root = conn.execute(select(units_t.c.id).where(units_t.c.parent_id.is_(None))).scalar()
        if root is None:
            raise NotFound("没有可查看的单位")
        return int(root)
    return ids[-1]


def visible_unit(conn: Connection, actor: Actor, unit_id: int) -> Place:
    unit = _place(conn, unit_id)
    if not actor.sees(unit.path):
        raise NotFound("单位不存在或不在您的查看范围内")
    return unit


def _group_column(depth: int) -> Any:
    return {0: work_t.c.unit1_id, 1: work_t.c.unit2_id, 2: work_t.c.unit3_id}.get(
        depth, work_t.c.lead_unit_id
    )


def issued(unit: Place, *, scan: bool = False) -> list[ColumnElement[bool]]:
    """The unit's issued tasks. ``scan``: read through the board's covering index (its path
    range, whatever the unit); otherwise a root's are every task, with no range to look up,
    so that its list is read off the standing index in order."""
    out: list[ColumnElement[bool]] = [work_t.c.standing.is_not(None)]
    if scan or unit.parent_id is not None:
        out.append(subtree(unit.path))
    return out


def counts_query(unit: Place, filters: Filters, code: ColumnElement[int], dialect: str) -> Any:
    """The board's one scan: tasks by unit one level down, standing, deadline month and the
    month they closed in (that year)."""
    key = _group_column(len(path_ids(unit.path)) - 1)
    start, end = dt.date(filters.year, 1, 1), dt.date(filters.year, 12, 31)
    closed = case(
        (work_t.c.closed_on.between(start, end), _month(work_t.c.closed_on, dialect)), else_=None
    )
    due = _month(work_t.c.deadline, dialect)
    return (
        select(key.label("unit_id"), code.label("code"), due.label("due"),
               closed.label("closed"), func.count().label("n"))
        .where(*issued(unit, scan=True), *filters.where(code))
        .group_by(key, code, due, closed)
    )  # fmt: skip


def list_query(unit: Place, filters: Filters, code: ColumnElement[int]) -> Select[Any]:
    return (
        select(
            work_t.c.id, work_t.c.case_id, work_t.c.title, work_t.c.source, work_t.c.deadline,
            work_t.c.progress, work_t.c.next_due, work_t.c.stagnant_since, work_t.c.closed_on,
            work_t.c.parent_id, work_t.c.lead_unit_id, units_t.c.name.label("lead_name"),
            code.label("code"),
        )
        .join(units_t, units_t.c.id == work_t.c.lead_unit_id)
        .where(*issued(unit), *filters.where(code))
        .order_by(code, work_t.c.deadline)
    )  # fmt: skip


def board(
    conn: Connection,
    actor: Actor,
    unit_id: int | None,
    filters: Filters,
    when: Clock,
    *,
    limit: int = LIST_LIMIT,
) -> Board:
    unit = visible_unit(conn, actor, unit_id or top_unit(conn, actor))
    dialect = conn.dialect.name
    depth = len(path_ids(unit.path)) - 1
    code = code_column(conn, when)
    rows = conn.execute(counts_query(unit, filters, code, dialect)).all()
    keys = {r.unit_id for r in rows if r.unit_id is not None}
    children = pairs(
        conn.execute(select(units_t.c.id, units_t.c.name).where(units_t.c.id.in_(keys)))
    )
    groups: dict[int | None, Group] = {}
    due, done = dict.fromkeys(range(1, 13), 0), dict.fromkeys(range(1, 13), 0)
    for r in rows:
        key = r.unit_id if r.unit_id != unit.id else None
        if key is None:
            group = groups.setdefault(None, Group(None, f"{unit.name}（本级）", leaf=True))
        else:
            group = groups.setdefault(key, Group(key, children.get(key, str(key)), leaf=depth >= 2))
        group.counts[STATUS_OF[int(r.code)]] += int(r.n)
        due[int(r.due)] += int(r.n)
        if r.closed is not None:
            done[int(r.closed)] += int(r.n)
    ordered = sorted(
        groups.values(), key=lambda g: (g.unit_id is not None, -g.counts["red"], g.name)
    )
    totals = dict.fromkeys(STATUSES, 0)
    for g in ordered:
        for k, n in g.counts.items():
            totals[k] += n
    listed = [
        {**r, "status": STATUS_OF[int(r["code"])]}
        for r in conn.execute(list_query(unit, filters, code).limit(limit)).mappings()
    ]
    months, plan, actual = [], 0, 0
    for m in range(1, 13):
        plan, actual = plan + due[m], actual + done[m]
        months.append((m, plan, actual))
    return Board(
        unit=unit,
        trail=_trail(conn, actor, unit),
        filters=filters,
        groups=ordered,
        totals=totals,
        tasks=listed,
        listed=sum(totals.values()),
        months=months,
        today=when.today,
    )


def _trail(conn: Connection, actor: Actor, unit: Place) -> list[Place]:
    ids = path_ids(unit.path)
    rows = {
        u.id: Place(*u)
        for u in conn.execute(
            select(units_t.c.id, units_t.c.name, units_t.c.tier, units_t.c.path,
                   units_t.c.parent_id).where(units_t.c.id.in_(ids))
        )
    }  # fmt: skip
    return [rows[i] for i in ids if i in rows and actor.sees(rows[i].path)]


EXPORT_COLUMNS = (
    ("title", "任务名称"),
    ("lead_name", "牵头单位"),
    ("source_label", "任务来源"),
    ("deadline", "完成时限"),
    ("next_due", "下一时间节点"),
    ("progress", "完成进度（%）"),
    ("status_label", "状态"),
    ("stagnant_since", "停滞起始日"),
    ("closed_on", "办结日期"),
    ("split", "已分解到下级"),
    ("book_title", "任务书"),
)


def export_rows(
    conn: Connection, unit: Place, filters: Filters, when: Clock
) -> Iterator[dict[str, Any]]:
    """Every task the board counts, in the list's order, as the export's rows."""
    code = code_column(conn, when)
    query = (
        list_query(unit, filters, code)
        .add_columns(books_t.c.title.label("book_title"))
        .join(books_t, books_t.c.id == work_t.c.book_id)
    )
    parents = set(
        conn.execute(
            select(work_t.c.parent_id)
            .where(work_t.c.parent_id.is_not(None), *issued(unit))
            .distinct()
        ).scalars()
    )
    for r in conn.execute(query).mappings():
        yield {
            **r,
            "source_label": SOURCES.get(r["source"], r["source"]),
            "status_label": STATUSES[STATUS_OF[int(r["code"])]],
            "split": r["id"] in parents,
        }


def statuses(conn: Connection, task_ids: list[int], when: Clock) -> dict[int, str]:
    """Tasks' statuses worked out now (a page of one task and its parts)."""
    if not task_ids:
        return {}
    expr = standing(when, conn.dialect.name)
    return {
        i: STATUS_OF[int(c)]
        for i, c in conn.execute(select(work_t.c.id, expr).where(work_t.c.id.in_(task_ids)))
    }


def task_status(conn: Connection, task_id: int, when: Clock) -> str:
    return statuses(conn, [task_id], when)[task_id]


def province_settings(conn: Connection, unit_path: str) -> Mapping[str, Any] | None:
    """The settings of the province a unit lies in (where a province sets its policy)."""
    ids = path_ids(unit_path)
    if not ids:
        return None
    found: Mapping[str, Any] | None = conn.execute(
        select(units_t.c.settings).where(units_t.c.id == ids[0])
    ).scalar()
    return found


__all__ = ["Board", "Filters", "board", "restand", "standing", "status_expr"]
