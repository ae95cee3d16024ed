"""The public's pages: the publicity list (公示) and the objection form (异议) with its SMS
code. No sign-in; every post checks its origin, and an objection goes through the same
engine, rules and code check as the API's (``states.blocks.publicity.store``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from api import webkit
from api.deps import client_address
from api.present import mask_phone, masked_publicity
from api.processes import web_of
from api.webkit import Posted, Problem
from states.blocks.publicity import code_purpose, objector_phone
from states.blocks.publicity.store import file_objection
from states.errors import Conflict, FormError, RenshiError
from states.process.forms import Field
from states.process.spec import ProcessSpec
from states.store import queries
from states.store.db import reader
from states.verification import issue_code

# No SMS channel configured (states.notifications config): a code could never arrive.
NO_SMS: Final = "本系统暂未开通短信验证码，无法网上提出异议，请按公示通知所列电话或地址反映"

PUBLIC_PAGE: Final = 50
public_pages = APIRouter(include_in_schema=False)


# --- public ----------------------------------------------------------------------------------
# The objection form's second step: the code sent to the mobile the objector typed.
OBJECTION_CODE: Final = Field(
    "code", "短信验证码", max_length=6, help="先点“获取验证码”；6位数字，10分钟内有效"
)


@dataclass(frozen=True)
class _Sent:
    """An objection form drawn again once its code was sent: what was typed, and the news."""

    case_id: int
    values: Mapping[str, str]
    message: str


def _publicity_page(
    request: Request,
    page: int,
    *,
    problem: Problem | None = None,
    sent: _Sent | None = None,
    status: int = 200,
) -> Response:
    svc = webkit.services(request)
    with reader(svc.db).connect() as conn:
        board = web_of(request).board
        result = queries.publicity(conn, board.windows, page=page, page_size=PUBLIC_PAGE)
    entries = []
    for row in result.items:
        spec = webkit.catalogue(request)[row["process"]]
        item = masked_publicity(spec, row, board.detail(row))
        where = f"objection:{item.case_id}"
        objecting = spec.public_event(row["state"])
        ev = spec.events[objecting] if objecting is not None else None
        open_for_objection = (row["process"], row["state"]) in board.objections
        mine = problem if problem is not None and problem.where == where else None
        news = sent if sent is not None and sent.case_id == item.case_id else None
        typed = news.values if news is not None else {}
        fields = (
            [
                webkit.field_view(f, f"obj{item.case_id}", problem, where, typed.get(f.name, ""))
                for f in (*ev.form.fields, OBJECTION_CODE)
            ]
            if open_for_objection and ev is not None
            else []
        )
        entries.append(
            {
                "item": item,
                "fields": fields[:-1],
                "code": fields[-1] if fields else None,
                "open": mine is not None or news is not None,
                "error": mine.message if mine is not None and mine.field is None else None,
                "sent": news.message if news is not None else None,
            }
        )
    return webkit.render(
        request,
        "publicity.html",
        webkit.who(request),
        {
            "nav": "public",
            "entries": entries,
            "total": result.total,
            "page": page,
            "pages": max(1, -(-result.total // PUBLIC_PAGE)),
            "problem": problem,
        },
        status=status,
    )


@public_pages.get("/public/publicity")
def publicity(request: Request, page: str = "1") -> Response:
    return _publicity_page(request, min(webkit.parse_id(page) or 1, 100_000))


def _objection_target(request: Request, case_id: str) -> tuple[int, ProcessSpec, str, int] | None:
    """(case, its process, the objection event, its version) of a case open for objection
    now; None for anything else."""
    cid = webkit.parse_id(case_id)
    if cid is None:
        return None
    svc = webkit.services(request)
    with reader(svc.db).connect() as conn:
        listed = queries.publicity(conn, web_of(request).board.objections, case_id=cid)
    if not listed.items:
        return None
    row = listed.items[0]
    spec = webkit.catalogue(request)[row["process"]]
    objecting = spec.public_event(row["state"])
    assert objecting is not None
    return cid, spec, objecting, int(row["version"])


def _not_open(request: Request) -> Response:
    text = "该人员不在异议受理期内的公示名单中"
    return _publicity_page(request, 1, problem=Problem("top", text), status=404)


def _typed(form: FormData, fields: Iterable[Field]) -> dict[str, str]:
    return {f.name: webkit.text(form, f.name) for f in fields}


@public_pages.post("/public/publicity/{case_id}/objection/code")
def objection_code(request: Request, case_id: str, form: Posted) -> Response:
    """The "获取验证码" button: a plain form post (no script needed) that sends the code and
    draws the page again with what was typed kept."""
    if not webkit.same_origin(request):
        return webkit.forbidden(request, None)
    target = _objection_target(request, case_id)
    if target is None:
        return _not_open(request)
    cid, spec, objecting, _ = target
    fields = (*spec.events[objecting].form.fields, OBJECTION_CODE)
    values = _typed(form, fields)
    page = min(webkit.parse_id(webkit.text(form, "page")) or 1, 100_000)
    svc = webkit.services(request)
    try:
        phone = objector_phone(values["contact_phone"])
        if not svc.sms:  # nothing could carry the code: say so rather than "sent"
            raise FormError("contact_phone", NO_SMS)
        issue_code(
            svc.db, svc.clock, phone, address=client_address(request),
            purpose=code_purpose(cid), throttle=svc.throttle,
        )  # fmt: skip
    except RenshiError as exc:
        if exc.field is None:  # a limit on sending: say so beside the number
            exc = FormError("contact_phone", exc.message)
        problem = webkit.problem(exc, f"objection:{cid}", [f.name for f in fields], values)
        return _publicity_page(request, page, problem=problem, status=exc.status)
    news = f"验证码已发送至{mask_phone(phone)}，10分钟内有效"
    return _publicity_page(request, page, sent=_Sent(cid, {**values, "code": ""}, news))


@public_pages.post("/public/publicity/{case_id}/objection")
def objection(request: Request, case_id: str, form: Posted) -> Response:
    """No session, so no CSRF token: the cookie-less form is protected by the browser's
    Origin/Referer, and the objector proves the mobile by the code sent to it; the engine
    only accepts objections during the window."""
    if not webkit.same_origin(request):
        return webkit.forbidden(request, None)
    target = _objection_target(request, case_id)
    if target is None:
        return _not_open(request)
    cid, spec, objecting, version = target
    svc = webkit.services(request)
    ev = spec.events[objecting]
    payload, values = webkit.payload(ev.form, form, comment=False)
    values["code"] = webkit.text(form, "code")
    page = min(webkit.parse_id(webkit.text(form, "page")) or 1, 100_000)
    try:
        receipt = file_objection(
            svc.engine, spec, cid, objecting, payload, values["code"].strip(),
            expected_version=version,
        )  # fmt: skip
    except RenshiError as exc:
        if isinstance(exc, Conflict):
            exc = Conflict("公示信息刚刚有更新，请重新提交")
        names = [f.name for f in (*ev.form.fields, OBJECTION_CODE)]
        problem = webkit.problem(exc, f"objection:{cid}", names, values)
        return _publicity_page(request, page, problem=problem, status=exc.status)
    return webkit.redirect(
        "/public/publicity",
        f"异议已受理，回执编号：{receipt}（请记下，查询或补充材料时提供）。"
        "公示暂停，主管部门将核查处理",
        secure_cookie=svc.secure_cookies,
    )
