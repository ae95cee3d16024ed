"""The qualification check's identity claims (资格审查：身份冲突核实): an ID number registered
from one phone and asked for from another. The officer sees both people, calls them in,
checks the ID card, and settles the claim on the existing registration through the engine —
``void_registration`` (注销冒名报名: the ID number is freed for its holder) or
``confirm_identity`` (核实报名无误) — so that each settlement is an audited move of the case,
with the officer's account of it as the reason."""

from __future__ import annotations

import secrets
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from api import webkit
from api.processes.recruitment import claims
from api.processes.recruitment.pages import Viewing, round_for
from api.webkit import Posted, Problem, Who
from states.errors import NotFound, RenshiError
from states.processes.recruitment.spec import APPLICANT_SPEC

claim_pages = APIRouter(include_in_schema=False)

# The page's two buttons, and the engine event each fires on the claimed registration.
SETTLE: Final = {"void": "void_registration", "confirm": "confirm_identity"}
DONE: Final = {"void": "已注销冒名报名", "confirm": "已核实报名无误"}

OnClaims = Annotated[Who, Depends(webkit.guarded("/recruitment/{round_id}/conflicts"))]


def _settling(request: Request, round_id: str, who: OnClaims) -> Any:
    """A settlement posted on the claims page, by someone allowed on the round."""
    return round_for(request, who, round_id)


Settling = Annotated[Any, Depends(_settling)]


def _claims_page(
    request: Request,
    who: Who,
    round_id: int,
    rnd: Any,
    *,
    problem: Problem | None = None,
    status: int = 200,
) -> Response:
    found = claims.claims(who.svc, who.actor, round_id)
    forms = {
        c.id: {
            action: {
                "label": APPLICANT_SPEC.events[event].label,
                "style": APPLICANT_SPEC.events[event].style,
                "reason": webkit.field_view(
                    APPLICANT_SPEC.events[event].form.fields[0],
                    f"claim-{c.id}-{action}",
                    problem,
                    f"claim:{c.id}:{action}",
                ),
            }
            for action, event in SETTLE.items()
        }
        for c in found
        if c.settleable
    }
    return webkit.render(
        request,
        "recruitment/claims.html",
        who,
        {
            "nav": "/recruitment",
            "round": rnd,
            "round_id": round_id,
            "claims": found,
            "forms": forms,
            "problem": problem,
            # a double click replays the first settlement instead of failing on its version
            "once": secrets.token_urlsafe(12),
        },
        status=status,
    )


@claim_pages.get("/recruitment/{round_id}/conflicts")
def claims_list(request: Request, at: Viewing) -> Response:
    return _claims_page(request, *at)


@claim_pages.post("/recruitment/{round_id}/conflicts/{claim_id}")
def settle(request: Request, claim_id: str, form: Posted, at: Settling) -> Response:
    who, rid, rnd = at
    cid = webkit.parse_id(claim_id)
    claim = next((c for c in claims.claims(who.svc, who.actor, rid) if c.id == cid), None)
    action = webkit.text(form, "action")
    if claim is None or action not in SETTLE:
        return webkit.not_found(request, who, "身份冲突记录不存在")
    event = SETTLE[action]
    reason = webkit.text(form, "reason")
    try:
        who.svc.engine.fire(
            claim.case_id,
            event,
            who.actor,
            {"reason": reason},
            expected_version=webkit.parse_id(webkit.text(form, "expected_version")) or 0,
            idempotency_key=webkit.once_key(who, form, event),
        )
    except NotFound:
        return webkit.not_found(request, who, "身份冲突记录不存在")
    except RenshiError as exc:
        where = f"claim:{claim.id}:{action}"
        problem = webkit.problem(exc, where, ["reason"], {"reason": reason})
        return _claims_page(request, who, rid, rnd, problem=problem, status=exc.status)
    return webkit.redirect(
        f"/recruitment/{rid}/conflicts",
        f"{DONE[action]}：{claim.name}（{claim.id_number}）",
        secure_cookie=who.svc.secure_cookies,
    )


__all__ = ["claim_pages"]
