"""Server-rendered pages (Jinja2, zh-CN) for bureau staff, teachers and the public.

The pages offer what the JSON API offers, through the same engine and the same scoped
queries. What they add is only what a browser needs: a session cookie, a CSRF token in every
form, a redirect after each successful POST, and each error shown beside the field that
caused it, with the person's input kept. How that is done is the web kit's (``api.webkit``),
shared with the processes' own pages. This module holds signing in and declaring; the
inbox is ``api.inbox_pages`` and the case list and case page ``api.case_pages``.

Handlers are plain functions run in the threadpool (the engine and the queries block on the
database); the request body is read by an async dependency first, so one handler serves every
event form without declaring each event's fields as parameters. Parameters come in as text and
are parsed here, so a malformed id gives the Chinese 404 page rather than a JSON 422.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from api import webkit
from api.auth import SESSION_COOKIE, cookie_kwargs, issue_session
from api.deps import client_address
from api.processes import web_of
from api.signin import BAD_CREDENTIALS, MUST_CHANGE, AuthError, MustChangePassword, sign_in
from api.webkit import Posted, Problem, SignedIn, Who
from states.errors import RenshiError, TooMany
from states.process.spec import ProcessSpec
from states.store import queries
from states.store.db import reader
from states.store.people import end_sessions, load_actor

HERE = Path(__file__).resolve().parent


# Signed in, with the form's CSRF token right; otherwise off to sign in and back to the page
# the form was on (or the 403 page).
OnInbox = Annotated[Who, Depends(webkit.guarded("/inbox"))]
OnDeclare = Annotated[Who, Depends(webkit.guarded("/declare/{process}"))]

pages = APIRouter(include_in_schema=False)
# Mounted on the router so that the application module needs no change for the pages.
pages.mount("/static", StaticFiles(directory=HERE / "static"), name="static")


# --- sign-in ---------------------------------------------------------------------------------
@pages.get("/")
def home(request: Request) -> Response:
    """The inbox; a leader's or an inspector's board, when a package declares one for them."""
    found = webkit.who(request)
    landing = webkit.catalogue(request).landing(found.actor.roles()) if found else None
    return webkit.redirect(landing or "/inbox")


def _landing(request: Request, person_id: int) -> str | None:
    """Where someone who just signed in lands when they asked for no page in particular."""
    svc = webkit.services(request)
    with reader(svc.db).connect() as conn:
        roles = load_actor(conn, person_id=person_id).roles()
    return svc.engine.processes.landing(roles)


@pages.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:
    target = webkit.safe_next(next)
    if webkit.who(request) is not None:
        return webkit.redirect(target)
    return webkit.render(
        request, "login.html", None, {"next": target, "username": "", "error": None}
    )


@pages.post("/login")
def login(request: Request, form: Posted) -> Response:
    svc = webkit.services(request)
    target = webkit.safe_next(webkit.text(form, "next"))
    if not webkit.same_origin(request):
        return webkit.forbidden(request, None)
    username, password = webkit.text(form, "username").strip(), webkit.text(form, "password")
    context = {"next": target, "username": username[:64]}
    if not username or not password:
        return webkit.render(
            request, "login.html", None, {**context, "error": "请输入用户名和密码"}, status=401
        )
    try:
        if len(username) > 64 or len(password) > 256:
            raise AuthError(BAD_CREDENTIALS, reason="credentials")
        signed = sign_in(svc.db, svc.throttle, username, password, client_address(request))
    except MustChangePassword:  # a password an officer handed over: set one's own first
        query = urlencode({"username": username, "next": target})
        return webkit.redirect(f"/account/first-password?{query}", MUST_CHANGE)
    except AuthError as exc:
        return webkit.render(
            request, "login.html", None, {**context, "error": exc.message}, status=exc.status
        )
    except TooMany as exc:
        page = webkit.render(
            request, "login.html", None, {**context, "error": exc.message}, status=exc.status
        )
        page.headers["Retry-After"] = str(exc.retry_after)
        return page
    session = issue_session(signed, svc.now(), svc.auth)
    if target == "/inbox":
        target = _landing(request, signed.person_id) or target
    response = webkit.redirect(target)
    response.set_cookie(
        SESSION_COOKIE, session.cookie, **cookie_kwargs(svc.auth, svc.secure_cookies)
    )
    return response


@pages.post("/logout")
def logout(who: OnInbox) -> Response:
    """Signing out ends every session and token of the person, on every device: a cookie
    copied off this browser before is worth nothing afterwards."""
    with who.svc.db.begin() as conn:
        end_sessions(conn, who.session.person_id)
    response = webkit.redirect("/login", "您已退出登录（所有设备上的登录均已失效）")
    kwargs = cookie_kwargs(who.svc.auth, who.svc.secure_cookies)
    response.delete_cookie(
        SESSION_COOKIE,
        path=kwargs["path"],
        secure=kwargs["secure"],
        httponly=kwargs["httponly"],
        samesite=kwargs["samesite"],
    )
    return response


# --- declaring -------------------------------------------------------------------------------
def _declare_defaults(request: Request, who: Who, spec: ProcessSpec) -> dict[str, str]:
    """Start the form from the teacher's record, as the process's web twin says."""
    start = web_of(request).declare_defaults(spec.name)
    if start is None:
        return {}
    with reader(who.svc.db).connect() as conn:
        found = queries.teachers(conn, who.actor, person_id=who.actor.person_id or -1)
    if not found.items:
        return {}
    names = {f.name for f in spec.start_form.fields}
    return {k: v for k, v in start(found.items[0]).items() if k in names}


def _declare_page(
    request: Request,
    who: Who,
    process: str,
    *,
    problem: Problem | None = None,
    status: int = 200,
) -> Response:
    spec = webkit.catalogue(request)[process]
    defaults = _declare_defaults(request, who, spec) if problem is None else {}
    fields = [
        webkit.field_view(f, "declare", problem, "declare", defaults.get(f.name, ""))
        for f in spec.start_form.fields
    ]
    return webkit.render(
        request,
        "declare.html",
        who,
        {
            "nav": "declare",
            "process": process,
            "spec_label": spec.label,
            "fields": fields,
            "problem": problem,
            "top_error": problem.message if problem and problem.field is None else None,
        },
        status=status,
    )


@pages.get("/declare/{process}")
def declare_form(request: Request, process: str, who: SignedIn) -> Response:
    if (
        process not in webkit.catalogue(request)
        or webkit.catalogue(request)[process].opened_by != "teacher"
    ):
        return webkit.not_found(request, who, "业务流程不存在")
    return _declare_page(request, who, process)


@pages.post("/declare/{process}")
def declare(request: Request, process: str, form: Posted, who: OnDeclare) -> Response:
    spec = webkit.catalogue(request).get(process)
    if spec is None or spec.opened_by != "teacher":
        return webkit.not_found(request, who, "业务流程不存在")
    payload, values = webkit.payload(spec.start_form, form, comment=False)
    names = [f.name for f in spec.start_form.fields]
    try:
        # Created and submitted in one transaction: a refused declaration leaves no draft.
        result = who.svc.engine.start(process, who.actor, payload, submit=True)
    except RenshiError as exc:
        problem = webkit.problem(exc, "declare", names, values)
        return _declare_page(request, who, process, problem=problem, status=exc.status)
    return webkit.redirect(
        f"/cases/{result.case_id}",
        f"{spec.label}申报已提交，当前状态：{spec.state_label(result.to_state)}",
        secure_cookie=who.svc.secure_cookies,
    )
