"""The title-review year's page (职称评审年度): everyone signed in reads when their
province's teachers declare; the province's teacher-affairs office opens a year, moves its
window and closes it. Same web kit and the same operations (``years``) as the JSON API."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Annotated, Final

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from api import webkit
from api.webkit import Posted, Problem, SignedIn, Who
from states.clock import local_date
from states.errors import FormError, RenshiError
from states.process.forms import Field
from states.processes.title_review import years
from states.registry.scope import is_manager

year_pages = APIRouter(include_in_schema=False)

PAGE: Final = "/title-review/years"
YEAR = Field("year", "年度", "int", min_value=2000, max_value=2100)
OPENS = Field("opens_on", "申报开始日期", "date")
CLOSES = Field("closes_on", "申报截止日期", "date", help="含当天；须与开始日期在同一年度")

OnYears = Annotated[Who, Depends(webkit.guarded(PAGE))]


def _page(
    request: Request, who: Who, *, problem: Problem | None = None, status: int = 200
) -> Response:
    today = local_date(who.svc.now())
    found = years.years_for(who.svc.engine, who.actor)
    opener = years.may_open(who.actor)
    opening = [
        webkit.field_view(f, "open", problem, "open", default)
        for f, default in (
            (YEAR, str(today.year)),
            (OPENS, ""),
            (CLOSES, ""),
        )
    ]
    rows = []
    for y in found:
        where = f"window:{y.id}"
        rows.append(
            {
                "year": y,
                "window": [
                    webkit.field_view(OPENS, f"w{y.id}", problem, where, y.opens_on.isoformat()),
                    webkit.field_view(CLOSES, f"w{y.id}", problem, where, y.closes_on.isoformat()),
                ]
                if opener and y.closed_at is None
                else None,
                # beside the row; a field's own error is drawn beside the field
                "error": problem.message
                if problem is not None
                and problem.where in (where, f"close:{y.id}")
                and problem.field is None
                else None,
            }
        )
    return webkit.render(
        request,
        "title_review/years.html",
        who,
        {
            "nav": PAGE,
            "rows": rows,
            "opener": opener,
            # the committees' result lists, for the officers who manage a unit (prints.py)
            "results": is_manager(who.actor),
            "opening": opening,
            "open_error": problem.message
            if problem is not None and problem.where == "open" and problem.field is None
            else None,
        },
        status=status,
    )


@year_pages.get(PAGE)
def years_page(request: Request, who: SignedIn) -> Response:
    return _page(request, who)


def _date(form: FormData, f: Field) -> dt.date:
    raw = webkit.text(form, f.name).strip()
    if not raw:
        raise FormError(f.name, f"{f.label}为必填项")
    return dt.date.fromisoformat(f.parse(raw))


def _refused(
    request: Request, who: Who, exc: RenshiError, where: str, values: Mapping[str, str]
) -> Response:
    problem = webkit.problem(exc, where, ("year", "opens_on", "closes_on"), values)
    return _page(request, who, problem=problem, status=exc.status)


@year_pages.post(PAGE)
def open_year(request: Request, form: Posted, who: OnYears) -> Response:
    values = {f.name: webkit.text(form, f.name) for f in (YEAR, OPENS, CLOSES)}
    try:
        raw = values["year"].strip()
        if not raw.isdigit():
            raise FormError("year", "年度应为整数，如2026")
        year = int(YEAR.parse(int(raw)))
        year_id = years.open_year(
            who.svc.engine,
            who.actor,
            year=year,
            opens_on=_date(form, OPENS),
            closes_on=_date(form, CLOSES),
        )
        shown = years.get_year(who.svc.engine, who.actor, year_id)
    except RenshiError as exc:
        return _refused(request, who, exc, "open", values)
    return webkit.redirect(
        PAGE,
        f"已开启{shown.year}年度职称评审，申报时间为{shown.window}",
        secure_cookie=who.svc.secure_cookies,
    )


@year_pages.post(PAGE + "/{year_id}/window")
def set_window(request: Request, year_id: str, form: Posted, who: OnYears) -> Response:
    yid = webkit.parse_id(year_id)
    if yid is None:
        return webkit.not_found(request, who, "职称评审年度不存在")
    values = {f.name: webkit.text(form, f.name) for f in (OPENS, CLOSES)}
    try:
        years.set_window(
            who.svc.engine,
            who.actor,
            yid,
            opens_on=_date(form, OPENS),
            closes_on=_date(form, CLOSES),
        )
        shown = years.get_year(who.svc.engine, who.actor, yid)
    except RenshiError as exc:
        return _refused(request, who, exc, f"window:{yid}", values)
    return webkit.redirect(
        PAGE,
        f"{shown.year}年度职称申报时间已调整为{shown.window}",
        secure_cookie=who.svc.secure_cookies,
    )


@year_pages.post(PAGE + "/{year_id}/close")
def close_year(request: Request, year_id: str, form: Posted, who: OnYears) -> Response:
    yid = webkit.parse_id(year_id)
    if yid is None:
        return webkit.not_found(request, who, "职称评审年度不存在")
    try:
        years.close_year(who.svc.engine, who.actor, yid)
        shown = years.get_year(who.svc.engine, who.actor, yid)
    except RenshiError as exc:
        return _refused(request, who, exc, f"close:{yid}", {})
    return webkit.redirect(
        PAGE, f"{shown.year}年度职称申报已截止", secure_cookie=who.svc.secure_cookies
    )


__all__ = ["year_pages"]
