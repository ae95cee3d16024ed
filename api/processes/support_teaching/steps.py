"""A button pressed on a support page (``POST /support/cases/{id}/steps/{event}``): approving
or rejecting a need, a school confirming its volunteer, the county selecting or passing over a
candidate, withdrawing. The event is fired through the engine at the version the page was
drawn at (a page drawn before someone else's step is refused as stale, never written over);
a refusal — a rule's, a form's — is shown beside the button on the page it was pressed on:
the board, the school's page, or the need's page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import select

from api import webkit
from api.processes.support_teaching.board_pages import board_for, need_page_for, seen_for
from api.processes.support_teaching.pages import STEPS, year_of
from api.processes.support_teaching.school_pages import school_of, school_page_for
from api.webkit import Posted, Who
from states.errors import NotFound, RenshiError
from states.processes.support_teaching.machine import NEED
from states.store.db import reader
from states.store.models import Case

step_pages = APIRouter(include_in_schema=False)

OnStep = Annotated[Who, Depends(webkit.guarded("/support"))]


@step_pages.post("/support/cases/{case_id}/steps/{event}")
def step(request: Request, case_id: str, event: str, form: Posted, who: OnStep) -> Response:
    cid = webkit.parse_id(case_id)
    with reader(who.svc.db).connect() as conn:
        row = (
            conn.execute(select(Case.process, Case.data).where(Case.id == cid)).first()
            if cid is not None
            else None
        )
    # only the support cases' own buttons; anything else is not an address of these pages
    if cid is None or row is None or event not in STEPS.get(row.process, ()):
        return webkit.not_found(request, who, "事项不存在")
    spec = who.svc.engine.processes[row.process]
    ev = spec.events[event]
    payload, values = webkit.payload(ev.form, form)
    version = webkit.parse_id(webkit.text(form, "expected_version")) or 0
    need_id = cid if row.process == NEED else int((row.data or {}).get("need_id") or 0)
    back = webkit.text(form, "back")
    year = year_of(who, webkit.text(form, "year"))
    school = webkit.text(form, "school") or None
    try:
        fired = who.svc.engine.fire(
            cid, event, who.actor, payload, expected_version=version,
            idempotency_key=webkit.once_key(who, form, event),
        )  # fmt: skip
    except NotFound:
        return webkit.not_found(request, who, "事项不存在")
    except RenshiError as exc:
        problem = webkit.problem(
            exc, f"step:{cid}:{event}", [f.name for f in ev.form.fields], values
        )
        if back == "board":
            return board_for(request, who, year, problem=problem, status=exc.status)
        if back == "school":
            school_id, schools = school_of(request, who, school)
            return school_page_for(
                request, who, school_id, schools, year, problem=problem, status=exc.status
            )
        seen = seen_for(request, who, str(need_id))
        return need_page_for(request, who, seen, problem=problem, status=exc.status)
    done = f"已办理「{ev.label}」（事项{cid}），当前状态：{spec.state_label(fired.to_state)}"
    if event == "select_teacher":
        done += "；已进入公示，公示期满后派出"
    if back == "board":
        to = f"/support/board?year={year}"
    elif back == "school" or (row.process == NEED and fired.to_state == "withdrawn"):
        to = "/support/school" + (f"?school={school}" if school else "")
    else:
        to = f"/support/needs/{need_id}"
    return webkit.redirect(to, done, secure_cookie=who.svc.secure_cookies)


__all__ = ["step_pages"]
