"""One's own account: signing out everywhere and changing one's password, over the API and as
a page.

Both end every session and bearer token the person holds at once, by raising their session
generation (``states.store.people.end_sessions``) in the same transaction as the change. A
password change hands the browser or client that made it one fresh credential, so the person
who changed it goes on working while every other copy of the old ones stops.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from pydantic import Field

from api import schemas as s
from api import webkit
from api.auth import SESSION_COOKIE, cookie_kwargs, issue_session, issue_token, token_expires_in
from api.deps import Address, ApiActor, Svc, client_address
from api.errors import ERRORS
from api.signin import (
    MAX_PASSWORD,
    MIN_PASSWORD,
    MUST_CHANGE,
    AuthError,
    change_initial_password,
    change_password,
)
from api.webkit import Posted, SignedIn, Who
from states.errors import FormError, TooMany
from states.org import Actor
from states.store.people import end_sessions

account_api = APIRouter(prefix="/api/v1", responses=ERRORS, tags=["登录"])
account_pages = APIRouter(include_in_schema=False)

TOO_MANY: dict[int | str, dict[str, Any]] = {
    429: {"model": s.Error, "description": "尝试过于频繁（见 Retry-After）"}
}
Secret = Annotated[s.Text, Field(min_length=1, max_length=MAX_PASSWORD)]


class PasswordIn(s.In):
    current_password: Secret
    new_password: Secret


class InitialPasswordIn(s.In):
    username: Annotated[s.Text, Field(min_length=1, max_length=64)]
    current_password: Secret
    new_password: Secret


def _me(actor: Actor) -> int:
    """A bearer token always names a person; the system and the public have none."""
    if actor.person_id is None:
        raise HTTPException(401, "请先登录")
    return actor.person_id


# --- API ------------------------------------------------------------------------------------
@account_api.post("/auth/logout", summary="退出登录", status_code=204, response_class=Response)
def api_logout(svc: Svc, actor: ApiActor) -> Response:
    """退出登录：本人所有的访问令牌和网页登录立即失效（所有设备）。"""
    with svc.db.begin() as conn:
        end_sessions(conn, _me(actor))
    return Response(status_code=204)


@account_api.post(
    "/auth/password",
    summary="修改本人密码",
    response_model=s.TokenOut,
    responses=TOO_MANY,
)
def api_change_password(
    body: PasswordIn, svc: Svc, actor: ApiActor, address: Address
) -> s.TokenOut:
    """修改本人密码：需当前密码；新密码至少8个字符，不能与用户名或当前密码相同。

    修改成功后，本人此前的所有访问令牌和网页登录立即失效，返回一个新的访问令牌。当前密码
    输错与登录输错一并计数，超限返回 429 和 Retry-After（秒）。"""
    fresh = change_password(
        svc.db, svc.throttle, _me(actor), body.current_password, body.new_password, address
    )
    return s.TokenOut(
        access_token=issue_token(fresh, svc.now(), svc.auth),
        expires_in=token_expires_in(svc.auth),
    )


@account_api.post(
    "/auth/initial-password",
    response_model=s.TokenOut,
    responses=TOO_MANY,
    summary="首次登录设置本人密码",
)
def api_initial_password(body: InitialPasswordIn, svc: Svc, address: Address) -> s.TokenOut:
    """首次登录设置本人密码：管理员开通账号或重置密码后，用户名和管理员告知的密码换取访问令牌
    之前，须先以此设置本人密码（/auth/token 此时答复 403「须先修改密码」）。

    新密码至少8个字符，不能与用户名或当前密码相同。当前密码输错与登录输错一并计数，超限返回
    429 和 Retry-After（秒）。成功后返回访问令牌。"""
    try:
        fresh = change_initial_password(
            svc.db, svc.throttle, body.username, body.current_password, body.new_password, address
        )
    except AuthError as exc:
        raise HTTPException(exc.status, exc.message) from None
    return s.TokenOut(
        access_token=issue_token(fresh, svc.now(), svc.auth),
        expires_in=token_expires_in(svc.auth),
    )


# --- the page -------------------------------------------------------------------------------
OnPassword = Annotated[Who, Depends(webkit.guarded("/account/password"))]


def _page(
    request: Request,
    who: Who,
    *,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    context = {
        "nav": "account",
        "errors": errors or {},
        "error": error,
        "min_length": MIN_PASSWORD,
        "max_length": MAX_PASSWORD,
    }
    return webkit.render(request, "password.html", who, context, status=status)


@account_pages.get("/account/password")
def password_form(request: Request, who: SignedIn) -> Response:
    return _page(request, who)


@account_pages.post("/account/password")
def password_change(request: Request, who: OnPassword, form: Posted) -> Response:
    current = webkit.text(form, "current_password")
    new = webkit.text(form, "new_password")
    confirm = webkit.text(form, "confirm_password")
    errors: dict[str, str] = {}
    if not current:
        errors["current_password"] = "请输入当前密码"
    if not new:
        errors["new_password"] = "请输入新密码"
    elif confirm != new:
        errors["confirm_password"] = "两次输入的新密码不一致"
    if len(current) > MAX_PASSWORD:
        errors["current_password"] = "当前密码不正确"
    if errors:
        return _page(request, who, errors=errors, error="修改未成功，请按标红处修改", status=422)
    svc = who.svc
    try:
        fresh = change_password(
            svc.db, svc.throttle, who.session.person_id, current, new, client_address(request)
        )
    except FormError as exc:
        field = exc.field or "current_password"
        return _page(
            request,
            who,
            errors={field: exc.reason},
            error="修改未成功，请按标红处修改",
            status=422,
        )
    except TooMany as exc:
        page = _page(request, who, error=exc.message, status=exc.status)
        page.headers["Retry-After"] = str(exc.retry_after)
        return page
    session = issue_session(fresh, svc.now(), svc.auth)
    response = webkit.redirect(
        "/inbox",
        "密码已修改；您在其他设备上的登录已全部退出",
        secure_cookie=svc.secure_cookies,
    )
    response.set_cookie(
        SESSION_COOKIE, session.cookie, **cookie_kwargs(svc.auth, svc.secure_cookies)
    )
    return response


# --- the first sign-in ----------------------------------------------------------------------
def _first_page(
    request: Request,
    *,
    username: str,
    target: str,
    errors: dict[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    context = {
        "nav": "account",
        "username": username[:64],
        "next": target,
        "errors": errors or {},
        "error": error,
        "min_length": MIN_PASSWORD,
        "max_length": MAX_PASSWORD,
        "why": MUST_CHANGE,
    }
    return webkit.render(
        request, "registry/account_first_password.html", None, context, status=status
    )


@account_pages.get("/account/first-password")
def first_password_form(
    request: Request, username: str | None = None, next: str | None = None
) -> Response:
    """Where the sign-in page sends an account whose password an officer handed over."""
    return _first_page(request, username=(username or "").strip(), target=webkit.safe_next(next))


@account_pages.post("/account/first-password")
def first_password(request: Request, form: Posted) -> Response:
    """No session yet, so no CSRF token to check: like the sign-in form, the page must come
    from this site, and the username and handed-over password prove who it is."""
    svc = webkit.services(request)
    if not webkit.same_origin(request):
        return webkit.forbidden(request, None)
    username = webkit.text(form, "username").strip()
    target = webkit.safe_next(webkit.text(form, "next"))
    current = webkit.text(form, "current_password")
    new = webkit.text(form, "new_password")
    confirm = webkit.text(form, "confirm_password")
    errors: dict[str, str] = {}
    if not username or len(username) > 64:
        errors["username"] = "请输入用户名"
    if not current or len(current) > MAX_PASSWORD:
        errors["current_password"] = "请输入管理员告知的密码"
    if not new:
        errors["new_password"] = "请输入新密码"
    elif confirm != new:
        errors["confirm_password"] = "两次输入的新密码不一致"
    again = "设置未成功，请按标红处修改"
    if errors:
        return _first_page(
            request, username=username, target=target, errors=errors, error=again, status=422
        )
    try:
        fresh = change_initial_password(
            svc.db, svc.throttle, username, current, new, client_address(request)
        )
    except FormError as exc:
        field = exc.field or "current_password"
        return _first_page(
            request, username=username, target=target, errors={field: exc.reason}, error=again,
            status=422,
        )  # fmt: skip
    except AuthError as exc:
        return _first_page(
            request, username=username, target=target, error=exc.message, status=exc.status
        )
    except TooMany as exc:
        page = _first_page(
            request, username=username, target=target, error=exc.message, status=exc.status
        )
        page.headers["Retry-After"] = str(exc.retry_after)
        return page
    session = issue_session(fresh, svc.now(), svc.auth)
    response = webkit.redirect(target, "密码已设置，欢迎使用", secure_cookie=svc.secure_cookies)
    response.set_cookie(
        SESSION_COOKIE, session.cookie, **cookie_kwargs(svc.auth, svc.secure_cookies)
    )
    return response
