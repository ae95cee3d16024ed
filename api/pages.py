"""Server-rendered pages (Jinja2, zh-CN) for bureau staff, teachers and the public.

The pages offer what the JSON API offers, through the same engine and the same scoped
queries. What they add is only what a browser needs: a session cookie, a CSRF token in every
form, a redirect after each successful POST, and each error shown beside the field that
caused it, with the person's input kept.

Handlers are plain functions run in the threadpool (the engine and the queries block on the
database); the request body is read by an async dependency first, so one handler serves every
event form without declaring each event's fields as parameters. Parameters come in as text and
are parsed here, so a malformed id gives the Chinese 404 page rather than a JSON 422.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import re
import secrets
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Final
from urllib.parse import quote, unquote, urlencode, urlsplit

import jinja2
from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from sqlalchemy import Connection, select
from starlette.datastructures import FormData, UploadFile

from api.auth import (
    BAD_CREDENTIALS,
    SESSION_COOKIE,
    AuthError,
    Session,
    check_csrf,
    cookie_kwargs,
    issue_session,
    sign_in,
)
from api.deps import Services, page_session
from api.files import UploadRejected
from api.present import event_label, masked_publicity
from api.processes import web_of
from api.routes import case_detail
from states.clock import BUREAU_TZ
from states.engine import OPINIONS, SIGN_POSITIONS, FireResult
from states.errors import Conflict, FormError, NotFound, RenshiError
from states.org import (
    PUBLIC_ACTOR,
    ROLE_LABELS,
    SCOPE_ROLES,
    SYSTEM,
    TEACHER,
    Actor,
    path_ids,
)
from states.process.diagram import diagram_svg
from states.process.forms import COMMENT, Field, Form
from states.process.package import Catalogue
from states.process.spec import ProcessSpec
from states.store import queries
from states.store.db import reader
from states.store.models import OrgUnit, Person, RoleBinding

HERE = Path(__file__).resolve().parent
FLASH_COOKIE: Final = "renshi_flash"
MAX_ID: Final = 2**53
INBOX_PAGE: Final = 50
CASES_PAGE: Final = 20
PUBLIC_PAGE: Final = 50
MAX_BATCH: Final = 500

TASK_KINDS: Final = {"act": "办理", "sign": "加签", "window": "公示期"}
BOXES: Final = {"todo": "待办", "done": "已办", "cc": "抄送我的"}

# The case page's smaller forms, declared like an event's form so they draw the same way.
OPINION: Final = Field("opinion", "签署意见", "choice", choices=OPINIONS)
POSITION: Final = Field("position", "加签方式", "choice", choices=SIGN_POSITIONS)
REMARK: Final = Field("comment", "意见", max_length=1000)

# Security headers for every page. No page needs anything from another origin, inline
# script or inline style, so the policy can forbid them all.
CSP: Final = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)

_env = jinja2.Environment(
    # the generic templates, then each process's own (api/processes/<name>/templates)
    loader=jinja2.FileSystemLoader(
        [HERE / "templates", *sorted((HERE / "processes").glob("*/templates"))]
    ),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
templates = Jinja2Templates(env=_env)


def _local(at: dt.datetime | None) -> str:
    """A stored instant as the bureau reads it: Beijing time, to the minute."""
    return at.astimezone(BUREAU_TZ).strftime("%Y-%m-%d %H:%M") if at is not None else "—"


def _size(n: int) -> str:
    return (
        f"{n} B" if n < 1024 else (f"{n / 1024:.0f} KB" if n < 1024**2 else f"{n / 1024**2:.1f} MB")
    )


_env.filters["local"] = _local
_env.filters["size"] = _size

pages = APIRouter(include_in_schema=False)
# Mounted on the router so that the application module needs no change for the pages.
pages.mount("/static", StaticFiles(directory=HERE / "static"), name="static")


# --- who is asking ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Who:
    svc: Services
    actor: Actor
    session: Session


def _services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


def _catalogue(request: Request) -> Catalogue:
    return _services(request).engine.processes


def _who(request: Request) -> Who | None:
    svc = _services(request)
    found = page_session(request, svc)
    return None if found is None else Who(svc, found[0], found[1])


async def _posted(request: Request) -> AsyncIterator[FormData]:
    """The submitted form, parsed on the event loop and closed (temporary upload files
    included) once the handler is done with it."""
    async with request.form(max_files=1, max_fields=MAX_BATCH + 50) as form:
        yield form


Posted = Annotated[FormData, Depends(_posted)]


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _id(raw: str | None) -> int | None:
    if raw is None or not raw.isascii() or not raw.isdigit() or len(raw) > 16:
        return None
    value = int(raw)
    return value if 1 <= value <= MAX_ID else None


def _safe_next(raw: str | None) -> str:
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


def _to_login(request: Request, back: str | None = None) -> RedirectResponse:
    if back is None:
        back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse("/login?" + urlencode({"next": _safe_next(back)}), 303)


def _same_origin(request: Request) -> bool:
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
def _secure(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"
    # Pages show personal data: a shared computer's back button must not show them again.
    response.headers["Cache-Control"] = "no-store"
    return response


def _me(who: Who | None) -> dict[str, Any] | None:
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
        "links": [
            (entry.href, entry.label)
            for entry in who.svc.engine.processes.nav()
            if any(actor.holds(role) for role in entry.roles)
        ],
    }


def _render(
    request: Request,
    template: str,
    who: Who | None,
    context: Mapping[str, Any],
    *,
    status: int = 200,
) -> Response:
    flash = request.cookies.get(FLASH_COOKIE)
    base = {
        "me": _me(who),
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
    return _secure(response)


def _redirect(to: str, flash: str | None = None, *, secure_cookie: bool = False) -> Response:
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
    return _secure(response)


def _message(request: Request, who: Who | None, title: str, text: str, status: int) -> Response:
    return _render(request, "message.html", who, {"title": title, "text": text}, status=status)


def not_found_page(request: Request) -> Response:
    """An address no page answers, typed or followed from an old link: the site's own page
    in Chinese rather than the API's JSON."""
    return _message(request, _who(request), "页面不存在", "您访问的网址不存在，请检查后重试。", 404)


def _not_found(request: Request, who: Who | None, text: str = "案件不存在") -> Response:
    """The same page whether the thing is absent or outside the person's scope."""
    return _message(request, who, "未找到", f"{text}，或您无权查看。", 404)


def _forbidden(request: Request, who: Who | None) -> Response:
    return _message(
        request,
        who,
        "安全校验未通过",
        "页面已过期或请求来源无法确认，本次提交未生效。请返回并刷新页面后重试。",
        403,
    )


def _guard(request: Request, form: FormData, back: str) -> Who | Response:
    """A signed-in person whose form carries their CSRF token, or the response that refuses."""
    who = _who(request)
    if who is None:
        return _to_login(request, back)
    if not check_csrf(who.session, _text(form, "csrf") or None):
        return _forbidden(request, who)
    return who


_ONCE = re.compile(r"[A-Za-z0-9_-]{8,32}")


def _once_key(who: Who, form: FormData, event: str) -> str | None:
    """An idempotency key from the token the page was rendered with: a double click or a
    resubmitted page replays the first result instead of failing on a stale version."""
    token = _text(form, "once")
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


def _problem(
    exc: RenshiError, where: str, fields: Iterable[str], values: Mapping[str, str]
) -> Problem:
    """A FormError's reason already names the field by its label ("个人述职为必填项"); its
    message would name it by its code, which means nothing to the person."""
    at = exc.field if exc.field in set(fields) else None
    text = exc.reason if isinstance(exc, FormError) else exc.message
    return Problem(where, text, at, values)


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


def _coerce(f: Field, raw: str) -> Any:
    """A form's text as the type the field declares; text that does not parse is passed on
    as it is, so that the engine names the field and the reason in its usual words."""
    text = raw.strip()
    if f.kind == "int":
        try:
            return int(text)
        except ValueError:
            return raw
    if f.kind == "float":
        try:
            number = float(text)
        except ValueError:
            return raw
        return number if math.isfinite(number) else raw
    if f.kind == "bool":
        return {"true": True, "false": False}.get(text, raw)
    return raw


def _payload(
    form_spec: Form, form: FormData, *, comment: bool = True
) -> tuple[dict[str, Any], dict[str, str]]:
    """The payload for the engine and the raw values to redraw the form with. Blank fields
    are left out, so that a required one is reported as missing."""
    payload: dict[str, Any] = {}
    values: dict[str, str] = {}
    for f in form_spec.fields:
        raw = _text(form, f.name)
        values[f.name] = raw
        if raw.strip():
            payload[f.name] = _coerce(f, raw)
    if comment:
        text = _text(form, "comment")
        values["comment"] = text
        if text.strip():
            payload["comment"] = text
    return payload, values


def _show(f: Field, value: Any) -> str:
    if f.kind == "choice" and f.choices:
        return str(f.choices.get(str(value), value))
    if f.kind == "bool":
        return "是" if value else "否"
    return str(value)


# --- sign-in ---------------------------------------------------------------------------------
@pages.get("/")
def home() -> Response:
    return _redirect("/inbox")


@pages.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:
    target = _safe_next(next)
    if _who(request) is not None:
        return _redirect(target)
    return _render(request, "login.html", None, {"next": target, "username": "", "error": None})


@pages.post("/login")
def login(request: Request, form: Posted) -> Response:
    svc = _services(request)
    target = _safe_next(_text(form, "next"))
    if not _same_origin(request):
        return _forbidden(request, None)
    username, password = _text(form, "username").strip(), _text(form, "password")
    context = {"next": target, "username": username[:64]}
    if not username or not password:
        return _render(
            request, "login.html", None, {**context, "error": "请输入用户名和密码"}, status=401
        )
    try:
        if len(username) > 64 or len(password) > 256:
            raise AuthError(BAD_CREDENTIALS, reason="credentials")
        person_id = sign_in(svc.db, username, password, svc.now(), svc.auth)
    except AuthError as exc:
        return _render(
            request, "login.html", None, {**context, "error": exc.message}, status=exc.status
        )
    session = issue_session(person_id, svc.now(), svc.auth)
    response = _redirect(target)
    response.set_cookie(
        SESSION_COOKIE, session.cookie, **cookie_kwargs(svc.auth, svc.secure_cookies)
    )
    return response


@pages.post("/logout")
def logout(request: Request, form: Posted) -> Response:
    guard = _guard(request, form, "/inbox")
    if isinstance(guard, Response):
        return guard
    response = _redirect("/login", "您已退出登录")
    kwargs = cookie_kwargs(guard.svc.auth, guard.svc.secure_cookies)
    response.delete_cookie(
        SESSION_COOKIE,
        path=kwargs["path"],
        secure=kwargs["secure"],
        httponly=kwargs["httponly"],
        samesite=kwargs["samesite"],
    )
    return response


# --- inbox -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class BatchOutcome:
    event_label: str
    succeeded: int
    failures: list[tuple[int, str]]


def _batch_events(
    catalogue: Catalogue, items: Sequence[Mapping[str, Any]]
) -> list[tuple[str, str]]:
    """Events an officer can fire on many cases at once: those of the states in the list
    that the state's own handler fires and that ask for nothing but an optional comment."""
    out: dict[str, str] = {}
    for item in items:
        if item.get("kind") != "act":
            continue
        spec = catalogue[item["process"]]
        for name in spec.allowed_events(item["state"]):
            ev = spec.events[name]
            by = ev.by
            if by.applicant or by.panel or by.public or by.system:
                continue
            if any(f.required for f in ev.form.fields):
                continue
            out.setdefault(name, ev.label)
    return list(out.items())


def _inbox_page(
    request: Request,
    who: Who,
    box: str,
    page: int,
    *,
    outcome: BatchOutcome | None = None,
    problem: Problem | None = None,
    status: int = 200,
) -> Response:
    svc, actor = who.svc, who.actor
    today = svc.today()
    with reader(svc.db).connect() as conn:
        result = queries.inbox(conn, actor, box, today, page=page, page_size=INBOX_PAGE)
        counts = queries.inbox_counts(conn, actor, today)
        notes = queries.notifications(conn, actor, unread=True, page_size=5)
        done = (
            result.total
            if box == "done"
            else queries.inbox(conn, actor, "done", today, page_size=1).total
        )
    items = [
        {
            **item,
            "process_label": _catalogue(request)[item["process"]].label,
            "state_label": _catalogue(request)[item["process"]].state_label(item["state"]),
            "kind_label": TASK_KINDS.get(item["kind"] or "", ""),
        }
        for item in result.items
    ]
    tabs = [
        ("todo", BOXES["todo"], counts["todo"]),
        ("done", BOXES["done"], done),
        ("cc", BOXES["cc"], counts["cc_unread"]),
    ]
    pages_total = max(1, -(-result.total // INBOX_PAGE))
    return _render(
        request,
        "inbox.html",
        who,
        {
            "nav": "inbox",
            "box": box,
            "box_label": BOXES[box],
            "tabs": tabs,
            "overdue": counts["overdue"],
            "items": items,
            "total": result.total,
            "page": page,
            "pages": pages_total,
            "events": _batch_events(_catalogue(request), items) if box == "todo" else [],
            "outcome": outcome,
            "problem": problem,
            "once": secrets.token_urlsafe(12),
            "today": today,
            "notes": [{**n, "at": _local(n["created_at"])} for n in notes.items],
            "notes_total": notes.total,
        },
        status=status,
    )


@pages.get("/inbox")
def inbox(request: Request, box: str = "todo", page: str = "1") -> Response:
    who = _who(request)
    if who is None:
        return _to_login(request)
    return _inbox_page(request, who, box if box in BOXES else "todo", min(_id(page) or 1, 100_000))


_ITEM = re.compile(r"(\d{1,16}):(\d{1,16})")


@pages.post("/inbox/batch")
def batch(request: Request, form: Posted) -> Response:
    guard = _guard(request, form, "/inbox")
    if isinstance(guard, Response):
        return guard
    who = guard
    event = _text(form, "event")
    label = next(
        (p.events[event].label for p in _catalogue(request).values() if event in p.events), None
    )
    items: dict[int, int] = {}
    for raw in form.getlist("item"):
        match = _ITEM.fullmatch(raw) if isinstance(raw, str) else None
        if match:
            items.setdefault(int(match[1]), int(match[2]))
    values = {"event": event, "comment": _text(form, "comment")}
    if label is None:
        problem = Problem("batch", "请选择办理事项", "event", values)
        return _inbox_page(request, who, "todo", 1, problem=problem, status=422)
    if not items or len(items) > MAX_BATCH:
        text = "请先勾选要办理的案件" if not items else f"一次最多办理{MAX_BATCH}件"
        problem = Problem("batch", text, "item", values)
        return _inbox_page(request, who, "todo", 1, problem=problem, status=422)
    payload = {"comment": values["comment"]} if values["comment"].strip() else {}
    succeeded, failures = 0, []
    for case_id, version in items.items():
        try:
            who.svc.engine.fire(
                case_id,
                event,
                who.actor,
                payload,
                expected_version=version,
                idempotency_key=_once_key(who, form, event),
            )
            succeeded += 1
        except RenshiError as exc:
            failures.append((case_id, exc.message))
    outcome = BatchOutcome(label, succeeded, failures)
    return _inbox_page(request, who, "todo", 1, outcome=outcome)


# --- case list -------------------------------------------------------------------------------
def _state_options(catalogue: Catalogue) -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    for spec in catalogue.values():
        for state in spec.states:
            seen.setdefault(state, spec.state_label(state))
    return list(seen.items())


@pages.get("/cases")
def cases(
    request: Request,
    state: str = "",
    year: str = "",
    applicant: str = "",
    process: str = "",
    page: str = "1",
) -> Response:
    who = _who(request)
    if who is None:
        return _to_login(request)
    states = _state_options(_catalogue(request))
    state = state if state in dict(states) else ""
    process = process if process in _catalogue(request) else ""
    year_value = _id(year.strip())
    year_value = year_value if year_value is not None and 2000 <= year_value <= 2100 else None
    applicant = applicant.strip()
    applicant = applicant[:32] if all(ord(c) >= 32 for c in applicant) else ""
    page_no = min(_id(page) or 1, 100_000)
    with reader(who.svc.db).connect() as conn:
        result = queries.list_cases(
            conn,
            who.actor,
            process=process or None,
            state=state or None,
            year=year_value,
            applicant=applicant or None,
            page=page_no,
            page_size=CASES_PAGE,
        )
    items = [
        {
            **row,
            "process_label": _catalogue(request)[row["process"]].label,
            "state_label": _catalogue(request)[row["process"]].state_label(row["state"]),
            "updated": _local(row["updated_at"]),
        }
        for row in result.items
    ]
    query = {
        k: v
        for k, v in {
            "state": state,
            "year": str(year_value or ""),
            "applicant": applicant,
            "process": process,
        }.items()
        if v
    }
    return _render(
        request,
        "cases.html",
        who,
        {
            "nav": "cases",
            "items": items,
            "total": result.total,
            "page": page_no,
            "pages": max(1, -(-result.total // CASES_PAGE)),
            "states": states,
            "processes": [(n, p.label) for n, p in _catalogue(request).items()],
            "filters": {
                "state": state,
                "year": str(year_value or ""),
                "applicant": applicant,
                "process": process,
            },
            "query": urlencode(query),
        },
    )


# --- one case --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    at: str
    actor: str
    label: str
    move: str | None
    notes: list[tuple[str, str]]


@dataclass(frozen=True)
class Action:
    event: str
    label: str
    tone: str
    fields: list[FieldView]
    comment: FieldView
    error: str | None  # an error of this form that no field of it owns
    open: bool  # drawn unfolded: the usual decision, or the form the last error came from


def _names(conn: Connection, ids: Iterable[int]) -> dict[int, str]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = conn.execute(select(Person.id, Person.name).where(Person.id.in_(wanted)))
    return {r.id: r.name for r in rows}


def _people_in(payload: Mapping[str, Any]) -> list[int]:
    out: list[int] = []
    for key in ("signer", "to"):
        value = payload.get(key)
        if isinstance(value, int):
            out.append(value)
        elif isinstance(value, list):
            out.extend(v for v in value if isinstance(v, int))
    return out


def _notes(
    spec: ProcessSpec,
    event: str,
    payload: Mapping[str, Any],
    names: Mapping[int, str],
    officer: bool,
) -> list[tuple[str, str]]:
    """What a timeline row says besides who and what: opinions, reasons and the like.

    An objector's name and telephone never appear here, and the objection's content only to
    the officers who handle it. A vote's choice is not on the record until the sitting
    closes; the engine already keeps it out of the audit row.
    """
    ev = spec.events.get(event)
    fields = {f.name: f for f in ev.form.fields} if ev is not None else {}

    def person(pid: Any) -> str:
        return names.get(pid, f"人员{pid}") if isinstance(pid, int) else str(pid)

    out: list[tuple[str, str]] = []
    for key, value in payload.items():
        if value is None or value == "":
            continue
        if ev is not None and ev.by.public:  # an objection: its content to officers only
            if key == "content" and officer:
                out.append(("异议内容", str(value)))
            continue
        if key in fields:
            out.append((fields[key].label, _show(fields[key], value)))
        elif key == "comment":
            out.append(("意见", str(value)))
        elif key == "reason":
            out.append(("否决理由" if event == spec.reject_event else "理由", str(value)))
        elif key == "opinion":
            out.append(("签署意见", OPINIONS.get(str(value), str(value))))
        elif key == "position":
            out.append(("加签方式", SIGN_POSITIONS.get(str(value), str(value))))
        elif key == "signer":
            out.append(("加签人", person(value)))
        elif key == "to":
            people = value if isinstance(value, list) else [value]
            word = "转交给" if event == "transfer" else "抄送给"
            out.append((word, "、".join(person(p) for p in people) or "无"))
        elif key == "filename":
            out.append(("文件", str(value)))
        elif key == "event":
            out.append(("待生效决定", event_label(spec, str(value))))
        elif key == "requested":
            out.append(("原办理事项", event_label(spec, str(value))))
    return out


def _signer_candidates(conn: Connection, org_path: str, actor: Actor) -> list[tuple[str, str]]:
    """Staff who could be added as a signer: the engine accepts only people whose unit-wide
    role covers the case, which means a binding at one of the units on the case's path."""
    rows = conn.execute(
        select(Person.id, Person.name, RoleBinding.role, OrgUnit.name.label("unit"))
        .join(RoleBinding, RoleBinding.person_id == Person.id)
        .join(OrgUnit, OrgUnit.id == RoleBinding.org_unit_id)
        .where(
            OrgUnit.id.in_(path_ids(org_path)),
            RoleBinding.role.in_(sorted(SCOPE_ROLES - {SYSTEM})),
            Person.active.is_(True),
            Person.id != (actor.person_id or -1),
        )
        .order_by(OrgUnit.path.desc(), Person.id)
        .limit(200)
    ).all()
    out: dict[str, str] = {}
    for r in rows:
        out.setdefault(str(r.id), f"{r.name}（{r.unit}·{ROLE_LABELS.get(r.role, r.role)}）")
    return list(out.items())


def _case_page(
    request: Request,
    who: Who,
    case_id: int,
    *,
    problem: Problem | None = None,
    status: int = 200,
) -> Response:
    svc, actor = who.svc, who.actor
    try:
        detail = case_detail(svc, actor, case_id)
    except NotFound:
        return _not_found(request, who)
    spec = _catalogue(request)[detail.process]
    with reader(svc.db).connect() as conn:
        row = queries.get_case(conn, actor, case_id)
        if row is None:
            return _not_found(request, who)
        trail = queries.audit_trail(conn, case_id)
        files = queries.attachments(conn, case_id)
        candidates = (
            _signer_candidates(conn, row["org_path"], actor) if detail.may_add_signer else []
        )
        payloads = [_json(e["payload"]) for e in trail]
        names = _names(conn, (p for pl in payloads for p in _people_in(pl)))
    officer = actor.sees(row["org_path"])
    data = row["data"] or {}
    facts = [
        (f.label, _show(f, data[f.name]))
        for f in spec.start_form.fields
        if data.get(f.name) not in (None, "")
    ]
    back_with = spec.states[detail.state].actor
    if data.get("return_reason") and back_with is not None and back_with.applicant:
        facts.append(("退回原因", str(data["return_reason"])))
    pending = data.get("pending_decision")
    steps = [
        Step(
            at=_local(e["at"]),
            actor=e["actor_label"],
            label=event_label(_catalogue(request)[detail.process], e["event"]),
            move=(
                f"{spec.state_label(e['from_state'])} → {spec.state_label(e['to_state'])}"
                if e["from_state"] and e["from_state"] != e["to_state"]
                else (spec.state_label(e["to_state"]) if not e["from_state"] else None)
            ),
            notes=[] if e["event"] == "create" else _notes(spec, e["event"], pl, names, officer),
        )
        for e, pl in zip(trail, payloads, strict=True)
    ]
    actions = []
    for name in detail.may:
        ev = spec.events[name]
        where = f"event:{name}"
        mine = problem if problem is not None and problem.where == where else None
        actions.append(
            Action(
                event=name,
                label=ev.label,
                # ending a case is red, sending it back is plain (each event's declared style)
                tone="" if ev.style == "primary" else ev.style,
                fields=[field_view(f, name, problem, where) for f in ev.form.fields],
                comment=field_view(COMMENT, name, problem, where),
                error=mine.message if mine is not None and mine.field is None else None,
                open=mine is not None or ev.style == "primary",
            )
        )
    objections = data.get("objections", []) if officer else []
    return _render(
        request,
        "case.html",
        who,
        {
            "nav": "cases",
            "case": detail,
            "spec_label": spec.label,
            "facts": facts,
            "pending": event_label(_catalogue(request)[detail.process], pending["event"])
            if pending
            else None,
            "tasks": [
                {
                    **t.model_dump(),
                    "state_label": spec.state_label(t.state),
                    "kind_label": TASK_KINDS.get(t.kind, t.kind),
                    "role_label": ROLE_LABELS.get(t.role or "", t.role or ""),
                }
                for t in detail.tasks
            ],
            # diagram_svg escapes every label it draws, so its markup is safe to embed.
            "diagram": Markup(diagram_svg(spec, current=detail.state)),
            "steps": steps,
            "files": files,
            "actions": actions,
            "countersign_fields": (
                [field_view(f, "countersign", problem, "countersign") for f in (OPINION, COMMENT)]
                if detail.may_countersign
                else []
            ),
            "signer_fields": (
                [
                    field_view(
                        Field("person_id", "加签人", "choice", choices=dict(candidates)),
                        "signers",
                        problem,
                        "signers",
                    ),
                    *(field_view(f, "signers", problem, "signers") for f in (POSITION, COMMENT)),
                ]
                if detail.may_add_signer
                else []
            ),
            "comment_field": field_view(REMARK, "remark", problem, "comment"),
            "upload_error": problem.message if problem and problem.where == "upload" else None,
            "may_upload": officer or actor.person_id == row["applicant_id"],
            # 催办: an officer over the case may press whoever holds its open work
            "may_urge": officer
            and any(
                t.kind in ("act", "sign") and t.assignee_id != actor.person_id for t in detail.tasks
            )
            and not detail.may,
            "objections": objections,
            "problem": problem,
            "once": secrets.token_urlsafe(12),
            "closed": detail.closed_at is not None,
        },
        status=status,
    )


def _json(text: Any) -> dict[str, Any]:
    value = json.loads(text) if isinstance(text, str) else text
    return value if isinstance(value, dict) else {}


@pages.get("/cases/{case_id}")
def case(request: Request, case_id: str) -> Response:
    who = _who(request)
    if who is None:
        return _to_login(request)
    cid = _id(case_id)
    if cid is None:
        return _not_found(request, who)
    return _case_page(request, who, cid)


def _fired_message(spec: ProcessSpec, result: FireResult) -> str:
    if result.event == "hold":
        return "您的决定已记录，待加签人签署意见后生效"
    if result.event == spec.reject_event:
        return f"案件因规则否决未通过：{result.reason or ''}"
    return (
        f"已办理「{event_label(spec, result.event)}」，"
        f"案件当前状态：{spec.state_label(result.to_state)}"
    )


def _version(form: FormData) -> int:
    """The version the page was drawn at; a missing one counts as stale (version 0)."""
    return _id(_text(form, "expected_version")) or 0


@pages.post("/cases/{case_id}/fire")
def fire(request: Request, case_id: str, form: Posted) -> Response:
    guard = _guard(request, form, f"/cases/{case_id}")
    if isinstance(guard, Response):
        return guard
    who, cid = guard, _id(case_id)
    if cid is None:
        return _not_found(request, who)
    with reader(who.svc.db).connect() as conn:
        row = queries.get_case(conn, who.actor, cid)
    if row is None:
        return _not_found(request, who)
    spec = _catalogue(request)[row["process"]]
    event = _text(form, "event")
    ev = spec.events.get(event)
    payload, values = _payload(ev.form if ev is not None else Form(), form)
    try:
        result = who.svc.engine.fire(
            cid,
            event,
            who.actor,
            payload,
            expected_version=_version(form),
            idempotency_key=_once_key(who, form, event),
        )
    except NotFound:
        return _not_found(request, who)
    except RenshiError as exc:
        names = [f.name for f in ev.form.fields] if ev is not None else []
        problem = _problem(exc, f"event:{event}", [*names, "comment"], values)
        return _case_page(request, who, cid, problem=problem, status=exc.status)
    return _redirect(
        f"/cases/{cid}", _fired_message(spec, result), secure_cookie=who.svc.secure_cookies
    )


def _annotation(
    request: Request,
    case_id: str,
    form: Posted,
    where: str,
    fields: Sequence[str],
    act: Callable[[Who, int, Mapping[str, str]], None],
    done: str,
) -> Response:
    """The shared shape of the smaller case forms: guard, act, redirect or redraw."""
    guard = _guard(request, form, f"/cases/{case_id}")
    if isinstance(guard, Response):
        return guard
    who, cid = guard, _id(case_id)
    if cid is None:
        return _not_found(request, who)
    values = {name: _text(form, name) for name in fields}
    try:
        act(who, cid, values)
    except NotFound:
        return _not_found(request, who)
    except RenshiError as exc:
        problem = _problem(exc, where, fields, values)
        return _case_page(request, who, cid, problem=problem, status=exc.status)
    return _redirect(f"/cases/{cid}", done, secure_cookie=who.svc.secure_cookies)


@pages.post("/cases/{case_id}/urge")
def urge(request: Request, case_id: str, form: Posted) -> Response:
    def act(who: Who, cid: int, values: Mapping[str, str]) -> None:
        who.svc.engine.urge(cid, who.actor, values["note"] or None)

    return _annotation(request, case_id, form, "urge", ["note"], act, "已催办，办理人将收到提醒")


@pages.post("/notifications/{notification_id}/read")
def read_notification(request: Request, notification_id: str, form: Posted) -> Response:
    guard = _guard(request, form, "/inbox")
    if isinstance(guard, Response):
        return guard
    nid = _id(notification_id)
    if nid is None or not guard.svc.engine.read_notification(nid, guard.actor):
        return _not_found(request, guard, "通知不存在")
    return _redirect("/inbox", secure_cookie=guard.svc.secure_cookies)


@pages.post("/cases/{case_id}/comment")
def comment(request: Request, case_id: str, form: Posted) -> Response:
    def act(who: Who, cid: int, values: Mapping[str, str]) -> None:
        who.svc.engine.comment(cid, who.actor, values["comment"])

    return _annotation(request, case_id, form, "comment", ["comment"], act, "意见已发表")


@pages.post("/cases/{case_id}/signers")
def add_signer(request: Request, case_id: str, form: Posted) -> Response:
    def act(who: Who, cid: int, values: Mapping[str, str]) -> None:
        person = _id(values["person_id"])
        if person is None:
            raise FormError("person_id", "请选择加签人")
        who.svc.engine.add_signer(
            cid,
            who.actor,
            person,
            values["position"],
            expected_version=_version(form),
            comment=values["comment"].strip() or None,
        )

    return _annotation(
        request,
        case_id,
        form,
        "signers",
        ["person_id", "position", "comment"],
        act,
        "已加签，待加签人签署意见",
    )


@pages.post("/cases/{case_id}/countersign")
def countersign(request: Request, case_id: str, form: Posted) -> Response:
    def act(who: Who, cid: int, values: Mapping[str, str]) -> None:
        who.svc.engine.countersign(
            cid,
            who.actor,
            values["opinion"],
            expected_version=_version(form),
            comment=values["comment"].strip() or None,
        )

    return _annotation(
        request, case_id, form, "countersign", ["opinion", "comment"], act, "加签意见已签署"
    )


@pages.post("/cases/{case_id}/attachments")
def upload(request: Request, case_id: str, form: Posted) -> Response:
    upload_file = form.get("file")

    def act(who: Who, cid: int, values: Mapping[str, str]) -> None:
        if not isinstance(upload_file, UploadFile) or not upload_file.filename:
            raise FormError("file", "请选择要上传的文件")
        with reader(who.svc.db).connect() as conn:
            if queries.get_case(conn, who.actor, cid) is None:
                raise NotFound("案件不存在")
        try:
            stored = who.svc.files.save(upload_file.filename, upload_file.file)
        except UploadRejected as exc:
            raise FormError("file", str(exc)) from None
        who.svc.engine.record_attachment(
            cid,
            who.actor,
            filename=stored.filename,
            content_type=stored.content_type,
            size=stored.size,
            sha256=stored.sha256,
        )

    return _annotation(request, case_id, form, "upload", ["file"], act, "附件已上传")


@pages.get("/cases/{case_id}/attachments/{attachment_id}")
def download(request: Request, case_id: str, attachment_id: str) -> Response:
    who = _who(request)
    if who is None:
        return _to_login(request)
    cid, aid = _id(case_id), _id(attachment_id)
    row = None
    if cid is not None and aid is not None:
        with reader(who.svc.db).connect() as conn:
            row = queries.attachment(conn, who.actor, aid)
    if row is None or row["case_id"] != cid:
        return _not_found(request, who, "附件不存在")
    path = who.svc.files.path(row["sha256"])
    if not path.is_file():
        return _not_found(request, who, "附件文件不存在")
    response = FileResponse(path, media_type=row["content_type"], filename=row["filename"])
    return _secure(response)


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
    spec = _catalogue(request)[process]
    defaults = _declare_defaults(request, who, spec) if problem is None else {}
    fields = [
        field_view(f, "declare", problem, "declare", defaults.get(f.name, ""))
        for f in spec.start_form.fields
    ]
    return _render(
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
def declare_form(request: Request, process: str) -> Response:
    who = _who(request)
    if who is None:
        return _to_login(request)
    if process not in _catalogue(request) or _catalogue(request)[process].opened_by != "teacher":
        return _not_found(request, who, "业务流程不存在")
    return _declare_page(request, who, process)


@pages.post("/declare/{process}")
def declare(request: Request, process: str, form: Posted) -> Response:
    guard = _guard(request, form, f"/declare/{process}")
    if isinstance(guard, Response):
        return guard
    who = guard
    spec = _catalogue(request).get(process)
    if spec is None or spec.opened_by != "teacher":
        return _not_found(request, who, "业务流程不存在")
    payload, values = _payload(spec.start_form, form, comment=False)
    names = [f.name for f in spec.start_form.fields]
    try:
        # Created and submitted in one transaction: a refused declaration leaves no draft.
        result = who.svc.engine.start(process, who.actor, payload, submit=True)
    except RenshiError as exc:
        problem = _problem(exc, "declare", names, values)
        return _declare_page(request, who, process, problem=problem, status=exc.status)
    return _redirect(
        f"/cases/{result.case_id}",
        f"{spec.label}申报已提交，当前状态：{spec.state_label(result.to_state)}",
        secure_cookie=who.svc.secure_cookies,
    )


# --- public ----------------------------------------------------------------------------------
def _publicity_page(
    request: Request,
    page: int,
    *,
    problem: Problem | None = None,
    status: int = 200,
) -> Response:
    svc = _services(request)
    with reader(svc.db).connect() as conn:
        board = web_of(request).board
        result = queries.publicity(conn, board.windows, page=page, page_size=PUBLIC_PAGE)
    entries = []
    for row in result.items:
        spec = _catalogue(request)[row["process"]]
        item = masked_publicity(spec, row, board.detail(row))
        where = f"objection:{item.case_id}"
        objecting = spec.public_event(row["state"])
        ev = spec.events[objecting] if objecting is not None else None
        open_for_objection = (row["process"], row["state"]) in board.objections
        mine = problem if problem is not None and problem.where == where else None
        entries.append(
            {
                "item": item,
                "fields": (
                    [field_view(f, f"obj{item.case_id}", problem, where) for f in ev.form.fields]
                    if open_for_objection and ev is not None
                    else []
                ),
                "open": mine is not None,
                "error": mine.message if mine is not None and mine.field is None else None,
            }
        )
    return _render(
        request,
        "publicity.html",
        _who(request),
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


@pages.get("/public/publicity")
def publicity(request: Request, page: str = "1") -> Response:
    return _publicity_page(request, min(_id(page) or 1, 100_000))


@pages.post("/public/publicity/{case_id}/objection")
def objection(request: Request, case_id: str, form: Posted) -> Response:
    """No session, so no CSRF token: the cookie-less form is protected by the browser's
    Origin/Referer and by the engine, which only accepts objections during the window."""
    if not _same_origin(request):
        return _forbidden(request, None)
    svc = _services(request)
    cid = _id(case_id)
    where = f"objection:{cid}"
    listed = None
    if cid is not None:
        with reader(svc.db).connect() as conn:
            listed = queries.publicity(conn, web_of(request).board.objections, case_id=cid)
    if listed is None or not listed.items:
        text = "该人员不在异议受理期内的公示名单中"
        return _publicity_page(request, 1, problem=Problem("top", text), status=404)
    assert cid is not None
    spec = _catalogue(request)[listed.items[0]["process"]]
    objecting = spec.public_event(listed.items[0]["state"])
    assert objecting is not None
    ev = spec.events[objecting]
    payload, values = _payload(ev.form, form, comment=False)
    try:
        svc.engine.fire(
            cid,
            objecting,
            PUBLIC_ACTOR,
            payload,
            expected_version=int(listed.items[0]["version"]),
        )
    except RenshiError as exc:
        if isinstance(exc, Conflict):
            exc = Conflict("公示信息刚刚有更新，请重新提交")
        problem = _problem(exc, where, [f.name for f in ev.form.fields], values)
        return _publicity_page(request, 1, problem=problem, status=exc.status)
    return _redirect(
        "/public/publicity",
        "异议已受理，公示暂停，主管部门将核查处理",
        secure_cookie=svc.secure_cookies,
    )
