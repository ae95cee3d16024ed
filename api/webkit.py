"""The web kit: what every page module needs, generic pages and a process's web twin alike.

Every page is drawn and guarded the same way: a session cookie says who is asking, every
signed-in form carries a CSRF token, an error is shown beside the field that caused it with the
person's input kept, a POST that worked redirects, and every response carries the same security
headers. This module is that one way, public, so that a page module — ``api.pages`` or
``api/processes/<name>/pages.py`` — never reaches into another page module's private names,
and a fix here (a header, a cookie, a refusal's wording) reaches every page at once.

A page that cannot go on (nobody signed in, a form without its token, something not found)
answers with a response, not an error. Handlers return it; a dependency cannot return one, so
it raises ``Halt`` carrying it, and the handler ``install`` puts on the app sends it as it is.
That is what lets the repeated preambles ("signed in, or off to the login page"; "and the
form's token is right") be dependencies (``SignedIn``, ``guarded``) instead of copied lines.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Final
from urllib.parse import quote, unquote, urlencode, urlsplit

import jinja2
from fastapi import Depends, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData

from api.auth import Session, check_csrf
from api.deps import Services, page_session
from api.hygiene import refusal
from states.clock import BUREAU_TZ
from states.errors import FormError, RenshiError
from states.org import ROLE_LABELS, TEACHER, Actor
from states.process.forms import Field, Form
from states.process.package import Catalogue
from states.registry.scope import is_manager
from states.sheets import Schema, SheetError, Table, read_table
from states.store.db import reader

HERE = Path(__file__).resolve().parent
FLASH_COOKIE: Final = "renshi_flash"
MAX_ID: Final = 2**53
# The most cases one form may name (the inbox's batch); a form may carry that many fields
# and a few more, so that a forged form cannot make the server parse without end.
MAX_BATCH: Final = 500

# Security headers for every page. No page needs anything from another origin, inline
# script or inline style, so the policy can forbid them all.
CSP: Final = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)

env = jinja2.Environment(
    # the generic templates, then each process's own (api/processes/<name>/templates)
    loader=jinja2.FileSystemLoader(
        [HERE / "templates", *sorted((HERE / "processes").glob("*/templates"))]
    ),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
templates = Jinja2Templates(env=env)


def local(at: dt.datetime | None) -> str:
    """A stored instant as the bureau reads it: Beijing time, to the minute."""
    return at.astimezone(BUREAU_TZ).strftime("%Y-%m-%d %H:%M") if at is not None else "—"


def size(n: int) -> str:
    """A file's size the way people read it, for the attachment lists."""
    return (
        f"{n} B" if n < 1024 else (f"{n / 1024:.0f} KB" if n < 1024**2 else f"{n / 1024**2:.1f} MB")
    )


env.filters["local"] = local
env.filters["size"] = size


# --- stopping early ---------------------------------------------------------------------------
class Halt(Exception):
    """A page's answer given before its handler runs: a dependency cannot return a response,
    so it raises one of these, and the handler ``install`` adds sends ``response`` as it is."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def install(app: FastAPI) -> None:
    """Let the pages' dependencies answer with ``Halt``; without this it would be a 500."""

    @app.exception_handler(Halt)
    async def _halted(request: Request, exc: Halt) -> Response:
        return exc.response


# --- who is asking ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Who:
    svc: Services
    actor: Actor
    session: Session


def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


def catalogue(request: Request) -> Catalogue:
    return services(request).engine.processes


def who(request: Request) -> Who | None:
    """The signed-in person, or None: for pages anyone may see (the public ones, sign-in)."""
    svc = services(request)
    found = page_session(request, svc)
    return None if found is None else Who(svc, found[0], found[1])


async def _posted(request: Request) -> AsyncIterator[FormData]:
    """The submitted form, parsed on the event loop and closed (temporary upload files
    included) once the handler is done with it. A field carrying invisible or broken
    characters (``api.hygiene.refusal``) stops the post here, before anything reads it: the
    page says which field and why, with 422, and nothing is written."""
    async with request.form(max_files=1, max_fields=MAX_BATCH + 50) as form:
        for name, value in form.multi_items():
            reason = refusal(name) or (refusal(value) if isinstance(value, str) else None)
            if reason is not None:
                raise Halt(refused(request, name, reason))
        yield form


def refused(request: Request, name: str, reason: str) -> Response:
    """The page for a form field the service refuses to read (see ``_posted``)."""
    label = "".join(c if refusal(c) is None else "?" for c in name)
    text = f"您填写的“{label}”{reason}（可能是从其他文档复制带入的），本次提交未生效。"
    return message(request, who(request), "输入有误", text + "请返回修改后重新提交。", 422)


Posted = Annotated[FormData, Depends(_posted)]


def text(form: FormData, name: str) -> str:
    """A form field as text; absent, or a file where text was expected, reads as blank."""
    value = form.get(name)
    return value if isinstance(value, str) else ""


def parse_id(raw: str | None) -> int | None:
    """Parameters come in as text and are parsed here, so that a malformed id gives the
    Chinese 404 page rather than the API's JSON 422."""
    if raw is None or not raw.isascii() or not raw.isdigit() or len(raw) > 16:
        return None
    value = int(raw)
    return value if 1 <= value <= MAX_ID else None


def safe_next(raw: str | None) -> str:
    """Only a path on this site: an absolute or protocol-relative URL would turn the login
    page into an open redirect."""
    if (
        not raw
        or len(raw) > 500
        or not raw.startswith("/")
        or raw.startswith("//")
        or "\\" in raw
        or any(ord(c) < 32 for c in raw)
        or raw.startswith(("/login", "/logout"))
    ):
        return "/inbox"
    return raw


def to_login(request: Request, back: str | None = None) -> RedirectResponse:
    """Off to sign in, and back to ``back`` (by default the page asked for) afterwards."""
    if back is None:
        back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse("/login?" + urlencode({"next": safe_next(back)}), 303)


def same_origin(request: Request) -> bool:
    """For forms that have no session to bind a CSRF token to (sign-in, public objections):
    a browser names the page a POST came from, and another site cannot pretend to be this one.
    Clients that send neither header (scripts) are let through; they are not a CSRF risk."""
    host = request.headers.get("host", "")
    origin = request.headers.get("origin")
    if origin is not None:
        return origin != "null" and urlsplit(origin).netloc == host
    referer = request.headers.get("referer")
    if referer is not None:
        return urlsplit(referer).netloc == host
    return True


# --- rendering -------------------------------------------------------------------------------
def secure(response: Response) -> Response:
    """The security headers every page carries, for responses not drawn by ``render``
    (downloads, exports)."""
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"
    # Pages show personal data: a shared computer's back button must not show them again.
    response.headers["Cache-Control"] = "no-store"
    return response


def registry_links() -> tuple[tuple[str, str], ...]:
    """The registry's pages (api/registry), imported when first drawn: they use this kit."""
    from api.registry import LINKS

    return LINKS


def ops_links(actor: Actor) -> tuple[tuple[str, str], ...]:
    """The operations page (api/ops_pages.py), imported when first drawn: it uses this kit."""
    from api.ops_pages import links

    return links(actor)


def nav_links(who: Who) -> list[tuple[str, str]]:
    """The installed processes' links for this person: those whose roles they hold, and of
    those with a ``shows`` only the ones it says concern them now. One read connection, and
    only when some entry held asks (the navigation is drawn on every page)."""
    actor = who.actor
    held = [
        entry
        for entry in who.svc.engine.processes.nav()
        if any(actor.holds(role) for role in entry.roles)
    ]
    if all(entry.shows is None for entry in held):
        return [(entry.href, entry.label) for entry in held]
    today = who.svc.today()
    with reader(who.svc.db).connect() as conn:
        return [
            (entry.href, entry.label)
            for entry in held
            if entry.shows is None or entry.shows(conn, actor, today)
        ]


def me(who: Who | None) -> dict[str, Any] | None:
    """The signed-in person as the page header shows them: name, roles, and the links to
    what they may start or work on."""
    if who is None:
        return None
    actor = who.actor
    roles = dict.fromkeys(ROLE_LABELS.get(b.role, b.role) for b in actor.bindings)
    declare = (
        [(n, p.label) for n, p in who.svc.engine.processes.items() if p.opened_by == "teacher"]
        if actor.holds(TEACHER)
        else []
    )
    return {
        "name": actor.name,
        "roles": "、".join(roles),
        "declare": declare,
        # the installed processes' links, to those who work there (招聘: officers of rounds)
        "links": nav_links(who)
        # the bureau's own data (机构、名册、账号 …), to the officers who manage it
        + (list(registry_links()) if is_manager(actor) else [])
        # 系统运行 (api/ops_pages.py), to the province's officers
        + list(ops_links(actor)),
    }


def render(
    request: Request,
    template: str,
    who: Who | None,
    context: Mapping[str, Any],
    *,
    status: int = 200,
) -> Response:
    """A page, with what every template expects (the header, the CSRF token, the one-time
    message of the last redirect) and the security headers."""
    flash = request.cookies.get(FLASH_COOKIE)
    base = {
        "me": me(who),
        "csrf": who.session.csrf if who else "",
        "flash": unquote(flash)[:300] if flash else None,
        "nav": "",
        "problem": None,
    }
    response = templates.TemplateResponse(
        request, template, {**base, **context}, status_code=status
    )
    if flash:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return secure(response)


def redirect(to: str, flash: str | None = None, *, secure_cookie: bool = False) -> Response:
    """303 after a POST that worked, with a one-time message for the next page, so that
    reloading that page never submits the form again."""
    response = RedirectResponse(to, 303)
    if flash:
        response.set_cookie(
            FLASH_COOKIE,
            quote(flash[:300]),
            max_age=60,
            path="/",
            httponly=True,
            samesite="lax",
            secure=secure_cookie,
        )
    return secure(response)


def message(request: Request, who: Who | None, title: str, text: str, status: int) -> Response:
    """A page that only says something: why a request was refused, or what was not found."""
    return render(request, "message.html", who, {"title": title, "text": text}, status=status)


def not_found_page(request: Request) -> Response:
    """An address no page answers, typed or followed from an old link: the site's own page
    in Chinese rather than the API's JSON."""
    return message(request, who(request), "页面不存在", "您访问的网址不存在，请检查后重试。", 404)


def not_found(request: Request, who: Who | None, text: str = "事项不存在") -> Response:
    """The same page whether the thing is absent or outside the person's scope."""
    return message(request, who, "未找到", f"{text}，或您无权查看。", 404)


def forbidden(request: Request, who: Who | None) -> Response:
    """A form whose CSRF token or origin does not check out: nothing it asked for was done."""
    return message(
        request,
        who,
        "安全校验未通过",
        "页面已过期或请求来源无法确认，本次提交未生效。请返回并刷新页面后重试。",
        403,
    )


def guard(request: Request, form: FormData, back: str) -> Who:
    """A signed-in person whose form carries their CSRF token; otherwise ``Halt`` with the
    refusal: the login page (and ``back`` after it), or the 403 page."""
    found = who(request)
    if found is None:
        raise Halt(to_login(request, back))
    if not check_csrf(found.session, text(form, "csrf") or None):
        raise Halt(forbidden(request, found))
    return found


def signed_in(request: Request) -> Who:
    """The signed-in person, or ``Halt`` with the login page, and this page again after it."""
    found = who(request)
    if found is None:
        raise Halt(to_login(request))
    return found


SignedIn = Annotated[Who, Depends(signed_in)]


def guarded(back: str) -> Callable[[Request, FormData], Who]:
    """A dependency for a signed-in form post (``guard``). ``back`` is the page to return to
    after signing in; ``{name}`` in it is the request's path parameter of that name, so
    ``Annotated[Who, Depends(guarded("/cases/{case_id}"))]`` returns to the case's page.

    Name that type at module level (``OnCase = Annotated[...]``): the page modules postpone
    their annotations, and FastAPI reads a parameter's type from the module's globals, so a
    type built inside a function would be taken for a query parameter."""

    def dependency(request: Request, form: Posted) -> Who:
        return guard(request, form, back.format_map(request.path_params))

    return dependency


_ONCE = re.compile(r"[A-Za-z0-9_-]{8,32}")


def once_key(who: Who, form: FormData, event: str) -> str | None:
    """An idempotency key from the token the page was rendered with: a double click or a
    resubmitted page replays the first result instead of failing on a stale version."""
    token = text(form, "once")
    if not _ONCE.fullmatch(token):
        return None
    return f"page:{who.actor.person_id}:{token}:{event}"[:128]


# --- forms -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Problem:
    """An error to show: at the top of the page, and beside the field it names if the form
    ``where`` has that field."""

    where: str
    message: str
    field: str | None = None
    values: Mapping[str, str] = dataclasses.field(default_factory=dict)


def read_upload(data: bytes, filename: str, schema: Schema, limit: int) -> Table:
    """An uploaded sheet as a table (``data`` read up to ``limit`` + 1 bytes, so that a larger
    file shows as one); a file that is not one is a form error on ``file``."""
    if len(data) > limit:
        raise FormError("file", f"文件过大：不能超过{limit // (1024 * 1024)}MB")
    if not data:
        raise FormError("file", "文件是空的")
    try:
        return read_table(data, filename, schema=schema)
    except SheetError as exc:
        raise FormError("file", str(exc)) from None


def said(exc: RenshiError) -> str:
    """What a refusal says to a person: a FormError's reason already names the field by its
    label ("个人述职为必填项"); its message would name it by its code, which means nothing to
    the person."""
    return exc.reason if isinstance(exc, FormError) else exc.message


def _listed(exc: RenshiError) -> list[tuple[str, str]]:
    listed = getattr(exc, "problems", None) or [(exc.field or "", said(exc))]
    return [(str(field or ""), str(reason)) for field, reason in listed]


def problems(exc: RenshiError) -> dict[str, str]:
    """Each field's first reason: a form shows one line under each field, however many rules
    the field broke."""
    out: dict[str, str] = {}
    for field, reason in _listed(exc):
        out.setdefault(field, reason)
    return out


def field_errors(exc: RenshiError, known: Iterable[str]) -> tuple[dict[str, str], str]:
    """The reasons a form can mark in red beside its fields, and what the top of the form says:
    how many places to mend, and every reason no field on the form owns."""
    fields = set(known)
    errors: dict[str, str] = {}
    rest: list[str] = []
    for field, reason in _listed(exc):
        if field in fields:
            errors.setdefault(field, reason)
        else:
            rest.append(reason)
    if not errors:
        return {}, "；".join(rest) or said(exc)
    return errors, f"有{len(errors)}处需要修改，见下方标红处" + (
        "；" + "；".join(rest) if rest else ""
    )


def problem(
    exc: RenshiError, where: str, fields: Iterable[str], values: Mapping[str, str]
) -> Problem:
    at = exc.field if exc.field in set(fields) else None
    return Problem(where, said(exc), at, values)


@dataclass(frozen=True)
class FieldView:
    id: str
    name: str
    label: str
    widget: str  # select | radio | textarea | text | tel | number | date
    required: bool
    options: tuple[tuple[str, str], ...] = ()
    value: str = ""
    error: str | None = None
    max_length: int | None = None
    min: str | None = None
    max: str | None = None
    step: str | None = None
    help: str = ""


def _widget(f: Field) -> str:
    if f.kind == "choice":
        return "radio" if f.choices is not None and len(f.choices) <= 4 else "select"
    if f.kind == "bool":
        return "radio"
    if f.kind in ("int", "float"):
        return "number"
    if f.kind == "date":
        return "date"
    if "phone" in f.name:
        return "tel"
    return "textarea" if f.max_length > 200 else "text"


def field_view(
    f: Field, prefix: str, problem: Problem | None, where: str, default: str = ""
) -> FieldView:
    """How one declared field is drawn, with the value and the error of the last attempt."""
    mine = problem if problem is not None and problem.where == where else None
    value = mine.values.get(f.name, "") if mine is not None else default
    options: tuple[tuple[str, str], ...] = ()
    if f.kind == "choice" and f.choices:
        options = tuple(f.choices.items())
    elif f.kind == "bool":
        options = (("true", "是"), ("false", "否"))
    return FieldView(
        id=f"{prefix}-{f.name}",
        name=f.name,
        label=f.label,
        widget=_widget(f),
        required=f.required,
        options=options,
        value=value,
        error=mine.message if mine is not None and mine.field == f.name else None,
        max_length=f.max_length if f.kind == "text" else None,
        min=f"{f.min_value:g}" if f.min_value is not None else None,
        max=f"{f.max_value:g}" if f.max_value is not None else None,
        step="1" if f.kind == "int" else ("any" if f.kind == "float" else None),
        help=f.help,
    )


def coerce(f: Field, raw: str) -> Any:
    """A form's text as the type the field declares; text that does not parse is passed on
    as it is, so that the engine names the field and the reason in its usual words."""
    stripped = raw.strip()
    if f.kind == "int":
        try:
            return int(stripped)
        except ValueError:
            return raw
    if f.kind == "float":
        try:
            number = float(stripped)
        except ValueError:
            return raw
        return number if math.isfinite(number) else raw
    if f.kind == "bool":
        return {"true": True, "false": False}.get(stripped, raw)
    return raw


def payload(
    form_spec: Form, form: FormData, *, comment: bool = True
) -> tuple[dict[str, Any], dict[str, str]]:
    """The payload for the engine and the raw values to redraw the form with. Blank fields
    are left out, so that a required one is reported as missing."""
    out: dict[str, Any] = {}
    values: dict[str, str] = {}
    for f in form_spec.fields:
        raw = text(form, f.name)
        values[f.name] = raw
        if raw.strip():
            out[f.name] = coerce(f, raw)
    if comment:
        remark = text(form, "comment")
        values["comment"] = remark
        if remark.strip():
            out["comment"] = remark
    return out, values


def show(f: Field, value: Any) -> str:
    """A stored value as the form's field names it: a choice's label, 是/否 for a yes-no."""
    if f.kind == "choice" and f.choices:
        return str(f.choices.get(str(value), value))
    if f.kind == "bool":
        return "是" if value else "否"
    return str(value)
