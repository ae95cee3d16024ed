"""The candidate's status page, ``/recruitment/status``: no account, no session. The
candidate types their ID number and the mobile they registered with, asks for a code (a plain
form post, no script needed; the page comes back with what was typed), types the code and
reads each of their registrations — where it stands, their scores, what comes next and by
when. The same lookup as ``POST /api/v1/recruitment/status``
(``states.processes.recruitment.candidates``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api import webkit
from api.deps import client_address
from api.present import mask_phone
from api.webkit import Posted, Problem
from states.errors import FormError, NotFound, RenshiError
from states.process.forms import Field
from states.processes.recruitment import candidates
from states.verification import issue_code

status_pages = APIRouter(include_in_schema=False)

STATUS: Final = "/recruitment/status"
WHERE: Final = "status"
ID_NUMBER = Field("id_number", "身份证号", max_length=18, help="18位居民身份证号，末位X请大写")
PHONE = Field("phone", "手机号码", max_length=11, help="报名时填写的手机号码")
CODE = Field("code", "短信验证码", max_length=6, help="6位数字，10分钟内有效，只能查询一次")
FIELDS: Final = (ID_NUMBER, PHONE, CODE)


def _page(
    request: Request,
    *,
    values: Mapping[str, str] | None = None,
    problem: Problem | None = None,
    sent: str | None = None,
    found: list[candidates.Standing] | None = None,
    status: int = 200,
) -> Response:
    svc = webkit.services(request)
    kept = values or {}
    fields = {
        f.name: webkit.field_view(f, WHERE, problem, WHERE, kept.get(f.name, "")) for f in FIELDS
    }
    return webkit.render(
        request,
        "recruitment/status.html",
        webkit.who(request),
        {
            "nav": "recruitment-status",
            "sms": svc.sms,
            "no_sms": candidates.NO_SMS,
            "fields": fields,
            "problem": problem,
            "top_error": problem.message if problem and problem.field is None else None,
            "sent": sent,
            "found": found,
        },
        status=status,
    )


def _values(form: Posted) -> dict[str, str]:
    return {f.name: webkit.text(form, f.name).strip() for f in FIELDS}


def _problem(exc: RenshiError, values: Mapping[str, str]) -> Problem:
    return webkit.problem(exc, WHERE, (f.name for f in FIELDS), values)


@status_pages.get(STATUS)
def status_form(request: Request) -> Response:
    return _page(request)


@status_pages.post(f"{STATUS}/code")
def send_code(request: Request, form: Posted) -> Response:
    """The "获取验证码" button: the code goes to the mobile typed, registered or not; the
    answer is the same either way."""
    if not webkit.same_origin(request):
        return webkit.forbidden(request, None)
    values = _values(form)
    svc = webkit.services(request)
    try:
        candidates.checked_id_number(values["id_number"])
        phone = candidates.checked_phone(values["phone"])
        if not svc.sms:
            raise FormError("phone", candidates.NO_SMS)
        issue_code(
            svc.db,
            svc.clock,
            phone,
            address=client_address(request),
            purpose=candidates.STATUS,
            throttle=svc.throttle,
        )
    except RenshiError as exc:
        if exc.field is None:  # sent less than a minute ago: say so beside the number
            exc = FormError("phone", exc.message)
        return _page(request, values=values, problem=_problem(exc, values), status=exc.status)
    text = f"验证码已发送至{mask_phone(phone)}，10分钟内有效"
    return _page(request, values={**values, "code": ""}, sent=text)


@status_pages.post(STATUS)
def look_up(request: Request, form: Posted) -> Response:
    """No session, so no CSRF token: the browser's Origin/Referer must name this site; the
    code proves the mobile. The answer is drawn on this response, never put in an address."""
    if not webkit.same_origin(request):
        return webkit.forbidden(request, None)
    values = _values(form)
    svc = webkit.services(request)
    try:
        found = candidates.lookup(
            svc.db, svc.clock, values["id_number"], values["phone"], values["code"]
        )
    except NotFound as exc:
        problem = Problem(WHERE, exc.message, None, {**values, "code": ""})
        return _page(request, values={**values, "code": ""}, problem=problem, status=404)
    except RenshiError as exc:
        return _page(request, values=values, problem=_problem(exc, values), status=exc.status)
    return _page(request, found=found)


__all__ = ["status_pages"]
