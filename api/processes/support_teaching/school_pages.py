"""A school's support-teaching page (``/support/school``) and its check-in inbox
(``/support/checkins``), where a filed month is also corrected (更正, until the term is
assessed).

One page for both sides a school stands on. As a receiving school (rural, weak, or in a paired
region) it declares needs, follows them, and files each month's check-in of every teacher
on site — one short form per open month, made to be filled in on a phone. As a sending school
it puts its teachers forward for the approved needs of its area, confirms those who
volunteered, and follows where its teachers serve.

Only the school's own lines are on it: its needs (``needs.needs`` under the officer's scope),
its candidates (``applications.school_applications``), the dispatch list cut to the terms it
sends or receives, its check-ins (``checkins.school_checkins``, refused for a school out of
scope)."""

from __future__ import annotations

import dataclasses
import secrets
from typing import Annotated, Final

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import select

from api import webkit
from api.processes.support_teaching import reads
from api.processes.support_teaching.pages import (
    buttons,
    oversees,
    school_ids,
    teaches,
    unit_names,
    year_of,
)
from api.webkit import Posted, Problem, SignedIn, Who
from states.errors import FormError, RenshiError
from states.org import SCHOOL_OFFICER
from states.processes.support_teaching import checkins, needs, terms
from states.processes.support_teaching.facts import region_of
from states.processes.support_teaching.machine import APPLICATION, NEED
from states.processes.support_teaching.spec import CHECKIN, CORRECTION, NEED_FORM
from states.store.db import reader
from states.store.models import OrgUnit

school_pages = APIRouter(include_in_schema=False)

# How many months of filed check-ins the inbox shows under the open ones.
HISTORY: Final = 60


def school_of(request: Request, who: Who, raw: str | None) -> tuple[int, dict[int, str]]:
    """The school the page is about: the one asked for if it is the person's, else their first."""
    with reader(who.svc.db).connect() as conn:
        mine = unit_names(conn, school_ids(who.actor))
    if not mine:
        raise webkit.Halt(webkit.redirect("/support"))
    asked = webkit.parse_id(raw)
    return (asked if asked in mine else next(iter(mine))), mine


def _receives(who: Who, school_id: int) -> str | None:
    """Why the school may declare needs (农村学校, 薄弱学校, a paired region's), or None."""
    with reader(who.svc.db).connect() as conn:
        unit = conn.execute(
            select(OrgUnit.is_rural, OrgUnit.is_weak, OrgUnit.path).where(OrgUnit.id == school_id)
        ).one()
        region = region_of(conn, unit.path)
    kinds = [k for k, on in (("农村学校", unit.is_rural), ("薄弱学校", unit.is_weak)) if on]
    if region is not None:
        kinds.append(f"对口支援地区（{region[1]}）学校")
    return "、".join(kinds) or None


def school_page_for(
    request: Request,
    who: Who,
    school_id: int,
    schools: dict[int, str],
    year: int,
    *,
    problem: Problem | None = None,
    status: int = 200,
) -> Response:
    actor = who.actor
    acts = actor.holds(SCHOOL_OFFICER, school_id)
    today = who.svc.today()
    with reader(who.svc.db).connect() as conn:
        ours = [
            n
            for y in (year, year + 1)
            for n in needs.needs(conn, actor, y)
            if n.school_id == school_id
        ]
        open_ = [n for n in needs.open_needs(conn, actor, today=today) if n.school_id != school_id]
        put = reads.school_applications(conn, actor, school_id)
        listed = [r for y in (year, year + 1) for r in terms.dispatch_list(conn, actor, y)]
        waiting = checkins.school_checkins(conn, actor, school_id, status="open")
    receives = _receives(who, school_id)
    kept = problem.values if problem is not None and problem.where == "declare" else {}
    fields = [
        webkit.field_view(f, "need", problem, "declare", kept.get(f.name, ""))
        for f in NEED_FORM.fields
    ]
    return webkit.render(
        request,
        "support/school.html",
        who,
        {
            "nav": "/support",
            "once": secrets.token_urlsafe(12),
            "school_id": school_id,
            "school": schools[school_id],
            "schools": schools,
            "year": year,
            "acts": acts,
            "receives": receives,
            "fields": fields,
            "needs": [(n, buttons(who, n.case_id, n.version, NEED) if acts else []) for n in ours],
            "open_needs": open_,
            "candidates": [
                (a, buttons(who, a.case_id, a.version, APPLICATION) if acts else []) for a in put
            ],
            "sent": [r for r in listed if r["sending_school_id"] == school_id],
            "received": [r for r in listed if r["receiving_school_id"] == school_id],
            "waiting": len(waiting),
            "board": oversees(actor),
            "teacher_too": teaches(actor),
            "problem": problem,
        },
        status=status,
    )


@school_pages.get("/support/school")
def school_page(
    request: Request, who: SignedIn, school: str | None = None, year: str | None = None
) -> Response:
    if not school_ids(who.actor):
        return webkit.redirect("/support")
    school_id, schools = school_of(request, who, school)
    return school_page_for(request, who, school_id, schools, year_of(who, year))


OnSchool = Annotated[Who, Depends(webkit.guarded("/support/school"))]


@school_pages.post("/support/needs")
def declare(request: Request, form: Posted, who: OnSchool) -> Response:
    """A need through its form: every field checked by the need's own form and rules, the
    input kept beside the field at fault; nothing is written when any is."""
    school_id, schools = school_of(request, who, webkit.text(form, "school"))
    payload, values = webkit.payload(NEED_FORM, form, comment=False)
    try:
        fired = needs.declare_need(who.svc.engine, who.actor, payload, school_id=school_id)
    except RenshiError as exc:
        problem = webkit.problem(exc, "declare", [f.name for f in NEED_FORM.fields], values)
        y = year_of(who, None)
        return school_page_for(
            request, who, school_id, schools, y, problem=problem, status=exc.status
        )
    return webkit.redirect(
        f"/support/school?school={school_id}",
        f"支教需求已提交（事项{fired.case_id}），待审批",
        secure_cookie=who.svc.secure_cookies,
    )


# --- the check-in inbox -------------------------------------------------------------------------
def _inbox(
    request: Request,
    who: Who,
    school_id: int,
    schools: dict[int, str],
    *,
    problem: Problem | None = None,
    status: int = 200,
) -> Response:
    with reader(who.svc.db).connect() as conn:
        rows = checkins.school_checkins(conn, who.actor, school_id)
    waiting = [c for c in rows if c.status == "open"]
    done = [c for c in rows if c.status != "open"][:HISTORY]
    acts = who.actor.holds(SCHOOL_OFFICER, school_id)
    return webkit.render(
        request,
        "support/checkins.html",
        who,
        {
            "nav": "/support",
            "once": secrets.token_urlsafe(12),
            "school_id": school_id,
            "school": schools[school_id],
            "schools": schools,
            "acts": acts,
            "waiting": [(c, _form(c, problem)) for c in waiting],
            "done": [(c, _correction(c, problem) if acts and c.correctable else []) for c in done],
            "problem": problem,
        },
        status=status,
    )


def _form(c: checkins.CheckinRow, problem: Problem | None) -> list[webkit.FieldView]:
    """One month's form (the month itself is fixed): the last attempt kept if it was this one."""
    where = f"checkin:{c.term_case_id}:{c.month_label}"
    prefix = f"ci-{c.term_case_id}-{c.month_label}"
    return [
        dataclasses.replace(webkit.field_view(f, prefix, problem, where), id=f"{prefix}-{f.name}")
        for f in CHECKIN.fields
        if f.name != "month"
    ]


def _correction(c: checkins.CheckinRow, problem: Problem | None) -> list[webkit.FieldView]:
    """A filed month's correction form, drawn with what the month says now (or the last
    attempt, if it was this one): the values to change and the reason."""
    where = f"correct:{c.term_case_id}:{c.month_label}"
    prefix = f"cc-{c.term_case_id}-{c.month_label}"
    now = {
        "attendance_days": "" if c.attendance_days is None else str(c.attendance_days),
        "teaching_hours": "" if c.teaching_hours is None else str(c.teaching_hours),
        "assessment": c.assessment or "",
    }
    return [
        webkit.field_view(f, prefix, problem, where, now.get(f.name, ""))
        for f in CORRECTION.fields
        if f.name != "month"
    ]


@school_pages.get("/support/checkins")
def inbox(request: Request, who: SignedIn, school: str | None = None) -> Response:
    if not school_ids(who.actor):
        return webkit.redirect("/support")
    school_id, schools = school_of(request, who, school)
    return _inbox(request, who, school_id, schools)


OnCheckins = Annotated[Who, Depends(webkit.guarded("/support/checkins"))]


@school_pages.post("/support/checkins")
def submit(request: Request, form: Posted, who: OnCheckins) -> Response:
    """One month filed: the term's ``check_in`` event, at the version the page was drawn at."""
    school_id, schools = school_of(request, who, webkit.text(form, "school"))
    term_id = webkit.parse_id(webkit.text(form, "term_id"))
    month = webkit.text(form, "month").strip()
    payload, values = webkit.payload(CHECKIN, form, comment=False)
    payload["month"] = month
    version = webkit.parse_id(webkit.text(form, "expected_version")) or 0
    try:
        if term_id is None:
            raise FormError("term_id", "请选择要填报的支教教师")
        fired = who.svc.engine.fire(
            term_id, "check_in", who.actor, payload, expected_version=version,
            idempotency_key=webkit.once_key(who, form, f"check_in:{term_id}:{month}"),
        )  # fmt: skip
    except RenshiError as exc:
        problem = webkit.problem(
            exc, f"checkin:{term_id}:{month}", [f.name for f in CHECKIN.fields], values
        )
        return _inbox(request, who, school_id, schools, problem=problem, status=exc.status)
    teacher = _teacher_of(who, fired.case_id)
    return webkit.redirect(
        f"/support/checkins?school={school_id}",
        f"已填报{teacher}{month}的月度考勤",
        secure_cookie=who.svc.secure_cookies,
    )


@school_pages.post("/support/checkins/corrections")
def correct(request: Request, form: Posted, who: OnCheckins) -> Response:
    """A filed month corrected: the term's ``correct_checkin`` event at the version the page
    was drawn at; a refusal (no reason, nothing changed, the term assessed) beside the form
    with the input kept."""
    school_id, schools = school_of(request, who, webkit.text(form, "school"))
    term_id = webkit.parse_id(webkit.text(form, "term_id"))
    month = webkit.text(form, "month").strip()
    payload, values = webkit.payload(CORRECTION, form, comment=False)
    payload["month"] = month
    version = webkit.parse_id(webkit.text(form, "expected_version")) or 0
    try:
        if term_id is None:
            raise FormError("term_id", "请选择要更正的支教教师")
        checkins.correct(
            who.svc.engine, who.actor, term_id, payload, expected_version=version,
            idempotency_key=webkit.once_key(who, form, f"correct_checkin:{term_id}:{month}"),
        )  # fmt: skip
    except RenshiError as exc:
        problem = webkit.problem(
            exc, f"correct:{term_id}:{month}", [f.name for f in CORRECTION.fields], values
        )
        return _inbox(request, who, school_id, schools, problem=problem, status=exc.status)
    teacher = _teacher_of(who, term_id)
    return webkit.redirect(
        f"/support/checkins?school={school_id}#done-checkins",
        f"已更正{teacher}{month}的月度考勤",
        secure_cookie=who.svc.secure_cookies,
    )


def _teacher_of(who: Who, term_id: int) -> str:
    with reader(who.svc.db).connect() as conn:
        t = terms.term(conn, term_id)
    return t.teacher if t is not None else ""


__all__ = ["school_of", "school_page_for", "school_pages"]
