"""A teacher's own support-teaching page (``/support/me``): the approved needs they may
volunteer for, their applications and where each stands, their terms — where, for how long,
dispatched when, the months the receiving school has filed, the assessment — and what the
service ledger has credited to their rural and weak-school experience.

Only the teacher's own lines are read: their applications and terms by their person id, the
check-ins of their own terms, their own ledger entries; the needs are those open to them
(``needs.open_needs``)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api import webkit
from api.processes.support_teaching import reads
from api.processes.support_teaching.pages import oversees, school_ids, teaches
from api.webkit import SignedIn
from states.processes.support_teaching import checkins, needs, terms
from states.registry import service
from states.store.db import reader

teacher_pages = APIRouter(include_in_schema=False)


@teacher_pages.get("/support/me")
def my_page(request: Request, who: SignedIn) -> Response:
    actor = who.actor
    if not teaches(actor) or actor.person_id is None:
        return webkit.redirect("/support")
    me = actor.person_id
    with reader(who.svc.db).connect() as conn:
        open_ = needs.open_needs(conn, actor, today=who.svc.today())
        mine = reads.my_applications(conn, me)
        own = terms.my_terms(conn, me)
        months = {t.case_id: checkins.term_checkins(conn, t.case_id) for t in own}
        credits = service.entries(conn, me)
        years = service.credited_years(conn, me)
    busy = {
        a.need_id
        for a in mine
        if a.state in ("draft", "school_review", "selection", "selected", "confirmed")
    }
    return webkit.render(
        request,
        "support/teacher.html",
        who,
        {
            "nav": "/support",
            "open_needs": [(n, n.case_id in busy) for n in open_],
            "applications": mine,
            "terms": own,
            "months": months,
            "credits": credits,
            "credited_years": years,
            "board": oversees(actor),
            "school_too": bool(school_ids(actor)),
        },
    )


__all__ = ["teacher_pages"]
