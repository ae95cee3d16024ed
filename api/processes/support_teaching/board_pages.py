"""The needs board (``/support/board``) and a need's page (``/support/needs/{id}``).

The board is the county's (and the city's and province's over it): per receiving school the
needs declared and approved, their places, how many are filled and on site; the needs
waiting for approval with their buttons; the approved ones — taking candidates (受理中) or
full (已满额, the need's own state) —, each linked to its page; the
masked dispatch list to download; the city's paired regions.

A need's page is where candidates meet it: the approver selects (the candidate's record
beside: subject, title, backbone level, earlier terms, exemptions), a sending school
nominates one of its teachers or confirms a volunteer, a teacher volunteers. Every button is
an event of a case, fired through the engine (``step``): shown when
``CaseEngine.available`` offers it, refused in the rules' own words beside its form."""

from __future__ import annotations

import secrets
from typing import Annotated, Final

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import select

from api import webkit
from api.processes.support_teaching.pages import (
    Seen,
    buttons,
    need_seen,
    officer_schools,
    oversees,
    sheet,
    teaches,
    year_of,
)
from api.webkit import Posted, Problem, SignedIn, Who
from states.errors import FormError, RenshiError
from states.org import CITY_OFFICER, TEACHER
from states.processes.support_teaching import applications, needs, regions, terms
from states.processes.support_teaching.machine import APPLICATION, NEED
from states.sheets import write_xlsx
from states.store.db import reader
from states.store.models import Person, Teacher

board_pages = APIRouter(include_in_schema=False)

# Candidates still in the running, as the need's page counts them.
PENDING: Final = ("school_review", "selection")


# --- the board ----------------------------------------------------------------------------------
def board_for(
    request: Request, who: Who, year: int, *, problem: Problem | None = None, status: int = 200
) -> Response:
    with reader(who.svc.db).connect() as conn:
        rows = needs.board(conn, who.actor, year)
        listed = needs.needs(conn, who.actor, year)
        paired = regions.regions(conn, who.actor) if who.actor.holds(CITY_OFFICER) else []
        # the units already in the org tree the city may register instead of a new one
        choices = regions.pairable(conn, who.actor) if who.actor.holds(CITY_OFFICER) else []
    waiting = [(n, buttons(who, n.case_id, n.version, NEED)) for n in listed if n.state == "review"]
    return webkit.render(
        request,
        "support/board.html",
        who,
        {
            "nav": "/support",
            "once": secrets.token_urlsafe(12),
            "year": year,
            "rows": rows,
            "totals": {
                k: sum(getattr(r, k) for r in rows)
                for k in ("declared", "approved", "places", "filled", "on_site")
            },
            "waiting": waiting,
            "approved": [n for n in listed if n.state in needs.STANDING],
            "others": [n for n in listed if n.state not in ("review", *needs.STANDING)],
            "regions": paired,
            "pairable": choices,
            "registers": who.actor.holds(CITY_OFFICER),
            "teacher_too": teaches(who.actor),
            "problem": problem,
        },
        status=status,
    )


@board_pages.get("/support/board")
def board(request: Request, who: SignedIn, year: str | None = None) -> Response:
    if not oversees(who.actor):
        return webkit.redirect("/support")
    return board_for(request, who, year_of(who, year))


@board_pages.get("/support/dispatch.xlsx")
def export(request: Request, who: SignedIn, year: str | None = None) -> Response:
    """The year's dispatch list the person may read, the ID numbers masked but their own
    (the term's declared visibility)."""
    y = year_of(who, year)
    with reader(who.svc.db).connect() as conn:
        rows = terms.dispatch_list(conn, who.actor, y)
    title = f"{y}年度支教派出名单"
    return sheet(write_xlsx(terms.DISPATCH_COLUMNS, rows, title=title, mask=()), title)


# --- a need's page ------------------------------------------------------------------------------
def _teachers(who: Who, seen: Seen) -> list[tuple[int, str]]:
    """The teachers a sending school's officer may put forward for the need: their school's
    teachers in service of the need's subject (not the receiving school's own)."""
    schools = [s for s in officer_schools(who.actor) if s != seen.row.school_id]
    if not schools or not seen.answerable:
        return []
    with reader(who.svc.db).connect() as conn:
        rows = conn.execute(
            select(Person.id, Person.name)
            .join(Teacher, Teacher.person_id == Person.id)
            .where(
                Teacher.school_id.in_(schools),
                Teacher.subject == seen.row.subject,
                Teacher.status == "active",
            )
            .order_by(Person.name, Person.id)
        ).all()
    return [(int(i), str(n)) for i, n in rows]


def need_page_for(
    request: Request,
    who: Who,
    seen: Seen,
    *,
    problem: Problem | None = None,
    status: int = 200,
) -> Response:
    n = seen.row
    with reader(who.svc.db).connect() as conn:
        found = applications.candidates(
            conn, who.actor, n.case_id, catalogue=who.svc.engine.processes
        )
    mine = [c for c in found if c.teacher_id == who.actor.person_id]
    others = [c for c in found if c.teacher_id != who.actor.person_id]
    rows = [(c, buttons(who, c.case_id, c.version, APPLICATION)) for c in others]
    volunteered = any(c.state in (*PENDING, "selected", "confirmed") for c in mine)
    return webkit.render(
        request,
        "support/need.html",
        who,
        {
            "nav": "/support",
            "once": secrets.token_urlsafe(12),
            "n": n,
            "year": n.year,
            "seen": seen,
            "need_buttons": buttons(who, n.case_id, n.version, NEED),
            "candidates": rows,
            "pending": sum(1 for c in found if c.state in PENDING),
            "mine": [(c, buttons(who, c.case_id, c.version, APPLICATION)) for c in mine],
            "teachers": _teachers(who, seen),
            "selects": oversees(who.actor),
            "may_volunteer": seen.answerable and who.actor.holds(TEACHER) and not volunteered,
            "problem": problem,
            "kept": problem.values if problem is not None else {},
        },
        status=status,
    )


def seen_for(request: Request, who: Who, need_id: str) -> Seen:
    nid = webkit.parse_id(need_id)
    seen = None
    if nid is not None:
        with reader(who.svc.db).connect() as conn:
            seen = need_seen(conn, who.actor, nid, who.svc.today())
    if seen is None:
        raise webkit.Halt(webkit.not_found(request, who, "支教需求不存在"))
    return seen


@board_pages.get("/support/needs/{need_id}")
def need_page(request: Request, need_id: str, who: SignedIn) -> Response:
    return need_page_for(request, who, seen_for(request, who, need_id))


OnNeed = Annotated[Who, Depends(webkit.guarded("/support/needs/{need_id}"))]


@board_pages.post("/support/needs/{need_id}/volunteer")
def volunteer(request: Request, need_id: str, form: Posted, who: OnNeed) -> Response:
    seen = seen_for(request, who, need_id)
    values = {"statement": webkit.text(form, "statement")}
    try:
        fired = applications.volunteer(
            who.svc.engine, who.actor, seen.row.case_id, values["statement"]
        )
    except RenshiError as exc:
        at = "statement" if exc.field == "statement" else None
        problem = Problem("volunteer", webkit.said(exc), at, values)
        return need_page_for(request, who, seen, problem=problem, status=exc.status)
    return webkit.redirect(
        "/support/me",
        f"已报名{seen.row.label}支教（事项{fired.case_id}），待本校确认",
        secure_cookie=who.svc.secure_cookies,
    )


@board_pages.post("/support/needs/{need_id}/nominations")
def nominate(request: Request, need_id: str, form: Posted, who: OnNeed) -> Response:
    seen = seen_for(request, who, need_id)
    values = {
        "teacher_id": webkit.text(form, "teacher_id"),
        "statement": webkit.text(form, "statement"),
    }
    try:
        teacher = webkit.parse_id(values["teacher_id"].strip() or None)
        if teacher is None:
            raise FormError("teacher_id", "请选择推荐的教师")
        fired = applications.nominate(
            who.svc.engine, who.actor, seen.row.case_id, teacher, values["statement"]
        )
    except RenshiError as exc:
        at = exc.field if exc.field in ("teacher_id", "statement") else None
        problem = Problem("nominate", webkit.said(exc), at, values)
        return need_page_for(request, who, seen, problem=problem, status=exc.status)
    name = dict(_teachers(who, seen)).get(teacher, "")
    return webkit.redirect(
        f"/support/needs/{seen.row.case_id}",
        f"已推荐{name}（事项{fired.case_id}），待县级遴选",
        secure_cookie=who.svc.secure_cookies,
    )


# --- paired regions -----------------------------------------------------------------------------
OnBoard = Annotated[Who, Depends(webkit.guarded("/support/board"))]


@board_pages.post("/support/regions")
def register_region(request: Request, form: Posted, who: OnBoard) -> Response:
    """The city registers a paired region: a county-tier unit already under it in the org
    tree (``unit_id``, chosen from those it may pair), or one made there now with a name and
    an optional code; the region's schools then declare needs the city approves and
    staffs."""
    values = {
        "unit_id": webkit.text(form, "unit_id"),
        "name": webkit.text(form, "name"),
        "code": webkit.text(form, "code"),
    }
    y = year_of(who, webkit.text(form, "year"))
    chosen = values["unit_id"].strip()
    try:
        unit_id = webkit.parse_id(chosen) if chosen else None
        if chosen and unit_id is None:
            raise FormError("unit_id", "请从列表中选择本市的县级单位")
        with who.svc.db.begin() as conn:
            registered = regions.register_region(
                conn, who.actor, values["name"], at=who.svc.now(),
                code=values["code"].strip() or None, unit_id=unit_id,
            )  # fmt: skip
        with reader(who.svc.db).connect() as conn:
            named = [r.name for r in regions.regions(conn, who.actor) if r.unit_id == registered]
    except RenshiError as exc:
        at = exc.field if exc.field in ("unit_id", "name", "code") else None
        problem = Problem("region", webkit.said(exc), at, values)
        return board_for(request, who, y, problem=problem, status=exc.status)
    return webkit.redirect(
        f"/support/board?year={y}#regions",
        f"已登记对口支援地区：{named[0] if named else values['name'].strip()}",
        secure_cookie=who.svc.secure_cookies,
    )


__all__ = ["board_for", "board_pages", "need_page_for", "seen_for"]
