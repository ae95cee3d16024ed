"""The title-review year (职称评审年度): the province opens it with its declaration window,
may move the window while it is open, and closes it; the declaration rule reads it.

Who: the province's teacher-affairs office (省教育厅教师工作处) for the whole province. A
city does not set a window of its own: one window per province and year keeps one date in
every notice and one answer to "may I still declare?" for every teacher of the province
(a city that needs its own timetable runs it inside the province's window).

A declaration (提交申报) outside the window, with no year open, or after the province closed
the year is refused by the ``DeclarationWindow`` rule, which names the dates. A case
already declared goes on through its steps whatever happens to the window afterwards, and
a case sent back for correction may be resubmitted after the window: correcting is not
declaring.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from states.clock import local_date
from states.engine import CaseEngine
from states.engine.context import CaseContext
from states.errors import Conflict, FormError, NotFound, PermissionDenied
from states.org import PROVINCE_OFFICER, SYSTEM, Actor, path_ids
from states.processes.title_review.rules import YearFacts, window_text
from states.processes.title_review.tables import TitleReviewYear
from states.store.models import OrgUnit, table_of

years_t, units_t = table_of(TitleReviewYear), table_of(OrgUnit)

# Built once: every declaration reads it.
YEAR_OF = select(years_t.c.opens_on, years_t.c.closes_on, years_t.c.closed_at).where(
    years_t.c.province_id == bindparam("province_id"), years_t.c.year == bindparam("year")
)

OPEN, NOT_YET, OVER = "申报中", "未开始", "已截止"


def year_facts(conn: Connection, ctx: CaseContext) -> YearFacts:
    """The year of the case in the province of its school."""
    year = int(ctx.case.year)
    province = ctx.units.get("province")
    if province is None:
        return YearFacts(year)
    row = conn.execute(YEAR_OF, {"province_id": province.id, "year": year}).one_or_none()
    if row is None:
        return YearFacts(year)
    closed = local_date(row.closed_at) if row.closed_at is not None else None
    return YearFacts(year, row.opens_on, row.closes_on, closed)


@dataclass(frozen=True)
class Year:
    """A year as the pages, the API and the CLI show it."""

    id: int
    province_id: int
    province: str
    year: int
    opens_on: dt.date
    closes_on: dt.date
    closed_at: dt.datetime | None
    status: str  # 申报中 | 未开始 | 已截止

    @property
    def window(self) -> str:
        return window_text(self.opens_on, self.closes_on)


def status(opens_on: dt.date, closes_on: dt.date, closed: bool, today: dt.date) -> str:
    if closed or today > closes_on:
        return OVER
    return NOT_YET if today < opens_on else OPEN


# --- who ----------------------------------------------------------------------------------------
def may_open(actor: Actor) -> bool:
    """Whether the actor opens and closes years (at some province)."""
    return actor.holds(PROVINCE_OFFICER) or actor.holds(SYSTEM)


def _province_of(conn: Connection, actor: Actor, province_id: int | None) -> int:
    """The province the actor opens a year for: their own, or ``province_id`` if they hold
    the office there (the system: any province)."""
    own = sorted({b.unit_id for b in actor.bindings if b.role == PROVINCE_OFFICER})
    if not own and not actor.holds(SYSTEM):
        raise PermissionDenied("职称评审年度由省教育厅教师工作处开启、调整和截止")
    if province_id is None:
        if len(own) != 1:
            raise FormError("province_id", "请指定省份")
        return own[0]
    if own and province_id not in own and not actor.holds(SYSTEM):
        raise NotFound("省份不存在或不在您的管理范围内")
    tier = conn.execute(select(units_t.c.tier).where(units_t.c.id == province_id)).scalar()
    if tier != "province":
        raise FormError("province_id", "应为省级单位")
    return province_id


def _mine(conn: Connection, actor: Actor, year_id: int) -> Any:
    """The year's row, locked, for the office of its province; for anyone else it is not
    found (404, as everything addressed outside one's scope), whoever may read it."""
    row = conn.execute(
        select(years_t).where(years_t.c.id == year_id).with_for_update()
    ).one_or_none()
    if row is None or not (
        actor.holds(SYSTEM) or actor.holds(PROVINCE_OFFICER, int(row.province_id))
    ):
        raise NotFound("职称评审年度不存在或不在您的管理范围内")
    return row


# --- checks -------------------------------------------------------------------------------------
def check_window(year: int, opens_on: dt.date, closes_on: dt.date, today: dt.date) -> None:
    """A window inside its year (a declaration belongs to the year it is made in), in
    order, and not over already."""
    if not 2000 <= year <= 2100:
        raise FormError("year", "年度应在2000至2100之间")
    if opens_on.year != year:
        raise FormError("opens_on", f"申报开始日期应在{year}年内")
    if closes_on.year != year:
        raise FormError("closes_on", f"申报截止日期应在{year}年内")
    if closes_on < opens_on:
        raise FormError("closes_on", "申报截止日期不能早于开始日期")
    if closes_on < today:
        raise FormError("closes_on", f"申报截止日期{closes_on.isoformat()}已过")


# --- operations ---------------------------------------------------------------------------------
def open_year(
    engine: CaseEngine,
    actor: Actor,
    *,
    year: int,
    opens_on: dt.date,
    closes_on: dt.date,
    province_id: int | None = None,
) -> int:
    """Open the province's title-review year with its declaration window; returns its id."""
    now = engine.clock.now()
    check_window(year, opens_on, closes_on, local_date(now))
    try:
        with engine.db.begin() as conn:
            province = _province_of(conn, actor, province_id)
            _refuse_second(conn, province, year)
            return int(
                conn.execute(
                    insert(years_t)
                    .values(
                        province_id=province,
                        year=year,
                        opens_on=opens_on,
                        closes_on=closes_on,
                        opened_by=actor.person_id,
                        opened_at=now,
                    )
                    .returning(years_t.c.id)
                ).scalar_one()
            )
    except IntegrityError:  # opened at the same moment by a colleague
        with engine.db.connect() as conn:
            _refuse_second(conn, _province_of(conn, actor, province_id), year)
        raise


def _refuse_second(conn: Connection, province: int, year: int) -> None:
    found = conn.execute(YEAR_OF, {"province_id": province, "year": year}).one_or_none()
    if found is not None:
        window = window_text(found.opens_on, found.closes_on)
        raise Conflict(f"{year}年度职称评审已开启（申报时间为{window}），如需改期请调整申报时间")


def set_window(
    engine: CaseEngine, actor: Actor, year_id: int, *, opens_on: dt.date, closes_on: dt.date
) -> None:
    """Move an open year's window (延期, or a later start): declarations made so far stand."""
    now = engine.clock.now()
    with engine.db.begin() as conn:
        row = _mine(conn, actor, year_id)
        if row.closed_at is not None:
            raise Conflict(f"{row.year}年度职称申报已截止，不能再调整申报时间")
        check_window(int(row.year), opens_on, closes_on, local_date(now))
        conn.execute(
            update(years_t)
            .where(years_t.c.id == year_id)
            .values(opens_on=opens_on, closes_on=closes_on)
        )


def close_year(engine: CaseEngine, actor: Actor, year_id: int) -> None:
    """End declarations for the year now, whatever day the window said: 申报截止."""
    now = engine.clock.now()
    with engine.db.begin() as conn:
        row = _mine(conn, actor, year_id)
        if row.closed_at is not None:
            raise Conflict(f"{row.year}年度职称申报已于{local_date(row.closed_at).isoformat()}截止")
        conn.execute(
            update(years_t)
            .where(years_t.c.id == year_id)
            .values(closed_at=now, closed_by=actor.person_id)
        )


def years_for(engine: CaseEngine, actor: Actor) -> list[Year]:
    """The years of the provinces the actor works in (the system: every province), newest
    first: anyone signed in may read when their province's teachers declare."""
    today = local_date(engine.clock.now())
    provinces = {path_ids(b.unit_path)[0] for b in actor.bindings if path_ids(b.unit_path)}
    query = (
        select(years_t, units_t.c.name.label("province"))
        .join(units_t, units_t.c.id == years_t.c.province_id)
        .order_by(years_t.c.year.desc(), years_t.c.id)
    )
    if not actor.holds(SYSTEM):
        query = query.where(years_t.c.province_id.in_(sorted(provinces)))
    with engine.db.connect() as conn:
        rows = conn.execute(query).all()
    return [
        Year(
            id=int(r.id),
            province_id=int(r.province_id),
            province=r.province,
            year=int(r.year),
            opens_on=r.opens_on,
            closes_on=r.closes_on,
            closed_at=r.closed_at,
            status=status(r.opens_on, r.closes_on, r.closed_at is not None, today),
        )
        for r in rows
    ]


def get_year(engine: CaseEngine, actor: Actor, year_id: int) -> Year:
    found = next((y for y in years_for(engine, actor) if y.id == year_id), None)
    if found is None:
        raise NotFound("职称评审年度不存在或不在您的管理范围内")
    return found


__all__ = [
    "Year",
    "close_year",
    "get_year",
    "may_open",
    "open_year",
    "set_window",
    "status",
    "year_facts",
    "years_for",
]
