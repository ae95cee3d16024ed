"""A school's page of a campaign (``/rotation/{id}/school``): its own eligible teachers with
their exemptions and preferences, its required count and whether it is met, the forms to
nominate a teacher (or take the nomination back) and to confirm the school's list, and,
once matched, where its own teachers go.

Only the school's own teachers are on it: the list is ``lists.eligible_list`` for the
officer (their school's subtree), the exemptions and placements are cut to the teachers on
that list, the counts to the school's line."""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from api import webkit
from api.processes.rotation.pages import (
    At,
    campaign_for,
    oversees,
    school_ids,
    teaches_in,
    unit_names,
)
from api.webkit import Posted, Problem, SignedIn, Who
from states.errors import FormError, RenshiError
from states.org import SCHOOL_LEVELS, SCHOOL_OFFICER
from states.processes.rotation import campaigns, exemptions, lists, results
from states.store.db import reader

school_pages = APIRouter(include_in_schema=False)

CONFIRMING: Final = ("confirming", "matching")
BACKBONE: Final = {"school": "校级", "county": "县级", "city": "市级", "province": "省级"}


def _viewing(request: Request, campaign_id: str, who: SignedIn) -> At:
    return campaign_for(request, who, campaign_id)


OnSchool = Annotated[Who, Depends(webkit.guarded("/rotation/{campaign_id}/school"))]


def _posting(request: Request, campaign_id: str, who: OnSchool) -> At:
    return campaign_for(request, who, campaign_id)


Viewing = Annotated[At, Depends(_viewing)]
Posting = Annotated[At, Depends(_posting)]


def _schools(who: Who, c: campaigns.Campaign) -> dict[int, str]:
    """The schools whose page this person may open: their own; any school of the county
    for its officers (and those above)."""
    if oversees(who.actor, c):
        with reader(who.svc.db).connect() as conn:
            counts, _, _ = results.check(conn, c)
        return {s.school_id: s.school for s in counts}
    return unit_names(who, school_ids(who.actor, c))


def _school_of(request: Request, at: At, raw: str | None) -> tuple[int, dict[int, str]]:
    mine = _schools(at.who, at.c)
    if not mine:
        raise webkit.Halt(webkit.not_found(request, at.who, "交流轮岗工作不存在"))
    asked = webkit.parse_id(raw)
    return (asked if asked in mine else next(iter(mine))), mine


def _page(
    request: Request,
    at: At,
    school_id: int,
    schools: dict[int, str],
    *,
    problem: Problem | None = None,
    status: int = 200,
) -> Response:
    who, c = at.who, at.c
    engine = who.svc.engine
    listed = lists.eligible_list(engine, who.actor, at.cid, school_id=school_id)
    ours = {x.person_id for x in listed}
    with reader(who.svc.db).connect() as conn:
        counts, _, changed = results.check(conn, c)
    count = next((s for s in counts if s.school_id == school_id), None)
    lines: list[dict[str, Any]] = []
    if c.run:
        lines = [
            x for x in results.result(engine, who.actor, at.cid)["lines"] if x["person_id"] in ours
        ]
    applied = [x for x in exemptions.exemptions(engine, who.actor, at.cid) if x.person_id in ours]
    acts = who.actor.holds(SCHOOL_OFFICER, school_id) or campaigns.runs(who.actor, c.county_id)
    return webkit.render(
        request,
        "rotation/school.html",
        who,
        {
            "nav": "/rotation",
            "c": c,
            "school_id": school_id,
            "school": schools[school_id],
            "schools": schools,
            "listed": listed,
            "count": count,
            "matched": bool(c.run),
            "short": count.short(bool(c.run)) if count is not None else 0,
            "changed": changed,
            "lines": lines,
            "exemptions": applied,
            "levels": SCHOOL_LEVELS,
            "backbone": BACKBONE,
            "nominating": acts and c.state in lists.CHOOSING,
            "confirming": acts and c.state in CONFIRMING,
            "teacher_too": teaches_in(who.actor, c),
            "problem": problem,
        },
        status=status,
    )


@school_pages.get("/rotation/{campaign_id}/school")
def school_page(request: Request, at: Viewing, school: str | None = None) -> Response:
    if not oversees(at.who.actor, at.c) and not school_ids(at.who.actor, at.c):
        if teaches_in(at.who.actor, at.c):
            return webkit.redirect(f"/rotation/{at.cid}/me")
        return webkit.not_found(request, at.who, "交流轮岗工作不存在")
    school_id, schools = _school_of(request, at, school)
    return _page(request, at, school_id, schools)


def _back(at: At, school_id: int) -> str:
    return f"/rotation/{at.cid}/school?school={school_id}"


@school_pages.post("/rotation/{campaign_id}/nominations")
def nominate(request: Request, form: Posted, at: Posting) -> Response:
    who = at.who
    school_id, schools = _school_of(request, at, webkit.text(form, "school"))
    person = webkit.parse_id(webkit.text(form, "person_id"))
    on = webkit.text(form, "nominated") != "0"
    try:
        if person is None:
            raise FormError("person_id", "请选择教师")
        lists.nominate(who.svc.engine, who.actor, at.cid, person, nominated=on)
    except RenshiError as exc:
        return _page(
            request, at, school_id, schools, problem=Problem("nominate", webkit.said(exc)),
            status=exc.status,
        )  # fmt: skip
    name = next(
        (x.name for x in lists.eligible_list(who.svc.engine, who.actor, at.cid)
         if x.person_id == person),
        "",
    )  # fmt: skip
    done = f"已推荐{name}参加交流" if on else f"已取消推荐{name}"
    if at.c.run:
        done += "；匹配后名单有变化，须由县教育局重新匹配"
    return webkit.redirect(_back(at, school_id), done, secure_cookie=who.svc.secure_cookies)


@school_pages.post("/rotation/{campaign_id}/confirmations")
def confirm(request: Request, form: Posted, at: Posting) -> Response:
    who = at.who
    school_id, schools = _school_of(request, at, webkit.text(form, "school"))
    try:
        n = lists.confirm_list(who.svc.engine, who.actor, at.cid, school_id)
    except RenshiError as exc:
        return _page(
            request, at, school_id, schools, problem=Problem("confirm", webkit.said(exc)),
            status=exc.status,
        )  # fmt: skip
    return webkit.redirect(
        _back(at, school_id),
        f"已确认{schools[school_id]}交流名单，共{n}人",
        secure_cookie=who.svc.secure_cookies,
    )


__all__ = ["school_pages"]
