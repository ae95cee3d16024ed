"""The inbox: what waits for the signed-in person (to do, done, copied to them), searched and
filtered, batch handling, and their notices (the few unread ones here, all of them on their
own page).
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import Connection

from api import webkit
from api.processes import Web, web_of
from api.webkit import Posted, Problem, SignedIn, Who
from states.errors import RenshiError
from states.process.package import Catalogue
from states.store import queries
from states.store.db import reader

INBOX_PAGE: Final = 50
NOTICES_PAGE: Final = 30
INBOX_NOTES: Final = 5  # unread notices the inbox shows; the rest are on the notices page

TASK_KINDS: Final = {"act": "办理", "sign": "加签", "window": "公示期", "supervise": "督办"}
BOXES: Final = {"todo": "待办", "done": "已办", "cc": "抄送我的"}
SETTLED: Final = {"done": "已办结", "handed": "已转他人办理"}

# Signed in, with the form's CSRF token right; otherwise off to sign in and back to the page
# the form was on (or the 403 page).
OnInbox = Annotated[Who, Depends(webkit.guarded("/inbox"))]

inbox_pages = APIRouter(include_in_schema=False)


# --- shared with the JSON API ------------------------------------------------------------------
def what_is_asked(web: Web, conn: Connection, items: Sequence[Mapping[str, Any]]) -> dict[int, str]:
    """Case id → what the case asks for, in its process's words (WebPackage.asks): one read
    per process on the page."""
    by_process: dict[str, list[Mapping[str, Any]]] = {}
    for item in items:
        by_process.setdefault(str(item["process"]), []).append(item)
    out: dict[int, str] = {}
    for process, rows in by_process.items():
        asks = web.asks(process)
        if asks is not None:
            out.update(asks(conn, rows))
    return out


def applicant_names(
    catalogue: Catalogue,
    conn: Connection,
    items: Sequence[Mapping[str, Any]],
    key: str = "case_id",
) -> dict[int, str]:
    """Case id (``item[key]``) → the name of an applicant without an account (whom the search
    finds through their process's finder), from the process's contact loader: one read per
    process on the page. Account holders' names come with the items (``applicant_name``)."""
    by_process: dict[str, list[int]] = {}
    for item in items:
        if not item.get("applicant_name"):
            by_process.setdefault(str(item["process"]), []).append(int(item[key]))
    out: dict[int, str] = {}
    for process, ids in by_process.items():
        contacts = catalogue.contacts.get(process)
        if contacts is not None:
            out.update((cid, name) for cid, (name, _) in contacts(conn, ids).items())
    return out


def step_options(catalogue: Catalogue, process: str = "") -> list[tuple[str, str]]:
    """The steps the step filter offers: the chosen process's, or every process's."""
    seen: dict[str, str] = {}
    for name, spec in catalogue.items():
        if process and name != process:
            continue
        for state in spec.states:
            seen.setdefault(state, spec.state_label(state))
    return list(seen.items())


# --- inbox -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class BatchOutcome:
    event_label: str
    succeeded: int
    failures: list[tuple[int, str]]


@dataclass(frozen=True)
class Query:
    """The inbox's search and filters as the page's form sends them, already checked: what
    could not be read is dropped and its reason kept for the field."""

    filters: queries.InboxFilter
    values: dict[str, str]  # as typed, for the form and the pager's links
    errors: dict[str, str]

    def link(self, box: str) -> str:
        """The inbox at ``box`` with these filters, ready for ``page=`` to be appended."""
        return "/inbox?" + urlencode({"box": box, **{k: v for k, v in self.values.items() if v}})


def _query(catalogue: Catalogue, params: Mapping[str, str]) -> Query:
    def value(name: str, limit: int) -> str:
        raw = params.get(name, "").strip()
        return raw[:limit] if all(ord(c) >= 32 for c in raw) else ""

    values = {
        "q": value("q", 32),
        "process": value("process", 32),
        "state": value("state", 32),
        "unit": value("unit", 16),
        "due_before": value("due_before", 10),
        "overdue": "1" if params.get("overdue") in ("1", "on") else "",
    }
    errors: dict[str, str] = {}
    process = values["process"] if values["process"] in catalogue else ""
    state = values["state"] if values["state"] in dict(step_options(catalogue, process)) else ""
    due_before = None
    if values["due_before"]:
        try:
            due_before = dt.date.fromisoformat(values["due_before"])
        except ValueError:
            errors["due_before"] = "应为有效日期（YYYY-MM-DD）"
    filters = queries.InboxFilter(
        search=values["q"],
        process=process or None,
        state=state or None,
        unit_id=webkit.parse_id(values["unit"]),
        due_before=due_before,
        overdue=bool(values["overdue"]),
    )
    try:
        filters.terms()
    except ValueError as exc:
        errors["q"] = str(exc)
    values.update(process=process, state=state)
    return Query(filters, values, errors)


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
    query: Query | None = None,
    *,
    outcome: BatchOutcome | None = None,
    problem: Problem | None = None,
    status: int = 200,
) -> Response:
    svc, actor = who.svc, who.actor
    catalogue = webkit.catalogue(request)
    query = query or _query(catalogue, {})
    today = svc.today()
    drafts = queries.draft_states(catalogue.values())
    with reader(svc.db).connect() as conn:
        if query.errors:
            result = queries.Page([], 0, page, INBOX_PAGE)  # what cannot be read finds nothing
        else:
            result = queries.inbox(
                conn, actor, box, today, filters=query.filters, drafts=drafts,
                finders=catalogue.finders, page=page, page_size=INBOX_PAGE,
            )  # fmt: skip
        counts = queries.inbox_counts(conn, actor, today)
        notes = queries.notifications(conn, actor, unread=True, page_size=INBOX_NOTES)
        all_notes = queries.notification_count(conn, actor)
        done = queries.inbox(conn, actor, "done", today, page_size=1).total
        asks = what_is_asked(web_of(request), conn, result.items)
        names = applicant_names(catalogue, conn, result.items)
        units = queries.inbox_units(conn, actor, box)
    items = [
        {
            **item,
            "applicant_name": item["applicant_name"] or names.get(item["case_id"]),
            "process_label": catalogue[item["process"]].label,
            "state_label": catalogue[item["process"]].state_label(item["state"]),
            "kind_label": TASK_KINDS.get(item["kind"] or "", ""),
            "asks": asks.get(item["case_id"], ""),
            "submitted": webkit.local(item["submitted_at"])[:10] if item["submitted_at"] else "",
        }
        for item in result.items
    ]
    tabs = [
        ("todo", BOXES["todo"], counts["todo"]),
        ("done", BOXES["done"], done),
        ("cc", BOXES["cc"], counts["cc_unread"]),
    ]
    filtered = any(v for k, v in query.values.items())
    return webkit.render(
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
            "pages": max(1, -(-result.total // INBOX_PAGE)),
            "events": _batch_events(catalogue, items) if box == "todo" else [],
            "outcome": outcome,
            "problem": problem,
            "once": secrets.token_urlsafe(12),
            "today": today,
            "notes": [{**n, "when": webkit.local(n["at"])} for n in notes.items],
            "notes_unread": notes.total,
            "notes_total": all_notes,
            "query": query,
            "filtered": filtered,
            "processes": [(n, p.label) for n, p in catalogue.items()],
            "steps": step_options(catalogue, query.values["process"]),
            "units": units,
            "pager_base": query.link(box) + "&",
        },
        status=422 if query.errors else status,
    )


@inbox_pages.get("/inbox")
def inbox(request: Request, who: SignedIn, box: str = "todo", page: str = "1") -> Response:
    box = box if box in BOXES else "todo"
    query = _query(webkit.catalogue(request), request.query_params)
    return _inbox_page(request, who, box, min(webkit.parse_id(page) or 1, 100_000), query)


_ITEM = re.compile(r"(\d{1,16}):(\d{1,16})")


@inbox_pages.post("/inbox/batch")
def batch(request: Request, form: Posted, who: OnInbox) -> Response:
    event = webkit.text(form, "event")
    label = next(
        (p.events[event].label for p in webkit.catalogue(request).values() if event in p.events),
        None,
    )
    items: dict[int, int] = {}
    for raw in form.getlist("item"):
        match = _ITEM.fullmatch(raw) if isinstance(raw, str) else None
        if match:
            items.setdefault(int(match[1]), int(match[2]))
    values = {"event": event, "comment": webkit.text(form, "comment")}
    if label is None:
        problem = Problem("batch", "请选择办理操作", "event", values)
        return _inbox_page(request, who, "todo", 1, problem=problem, status=422)
    if not items or len(items) > webkit.MAX_BATCH:
        text = "请先勾选要办理的事项" if not items else f"一次最多办理{webkit.MAX_BATCH}件"
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
                idempotency_key=webkit.once_key(who, form, event),
            )
            succeeded += 1
        except RenshiError as exc:
            failures.append((case_id, exc.message))
    outcome = BatchOutcome(label, succeeded, failures)
    return _inbox_page(request, who, "todo", 1, outcome=outcome)


# --- notices ---------------------------------------------------------------------------------
def _notice_view(n: Mapping[str, Any]) -> dict[str, Any]:
    settled = SETTLED.get(n["settled"] or "")
    return {
        **n,
        "when": webkit.local(n["at"]),
        "status": settled or ("未读" if n["read_at"] is None else "已读"),
        "unread": n["read_at"] is None and settled is None,
    }


@inbox_pages.get("/notifications")
def notifications(request: Request, who: SignedIn, unread: str = "", page: str = "1") -> Response:
    only_unread = unread == "1"
    page_no = min(webkit.parse_id(page) or 1, 100_000)
    with reader(who.svc.db).connect() as conn:
        result = queries.notifications(
            conn, who.actor, unread=only_unread, page=page_no, page_size=NOTICES_PAGE
        )
        unread_count = queries.unread_notifications(conn, who.actor)
        total = queries.notification_count(conn, who.actor)
    return webkit.render(
        request,
        "notifications.html",
        who,
        {
            "nav": "inbox",
            "notes": [_notice_view(n) for n in result.items],
            "only_unread": only_unread,
            "unread_count": unread_count,
            "total": total,
            "listed": result.total,
            "page": page_no,
            "pages": max(1, -(-result.total // NOTICES_PAGE)),
            "pager_base": "/notifications?" + ("unread=1&" if only_unread else ""),
        },
    )


@inbox_pages.get("/notifications/{notification_id}")
def open_notification(request: Request, notification_id: str, who: SignedIn) -> Response:
    """Following a notice marks it read, then shows what it is about: its case, or the
    notices page for a notice about no case."""
    nid = webkit.parse_id(notification_id)
    with reader(who.svc.db).connect() as conn:
        note = queries.notification(conn, who.actor, nid) if nid is not None else None
    if nid is None or note is None or not who.svc.engine.read_notification(nid, who.actor):
        return webkit.not_found(request, who, "通知不存在")
    to = f"/cases/{note['case_id']}" if note["case_id"] else "/notifications"
    return webkit.redirect(to, secure_cookie=who.svc.secure_cookies)


@inbox_pages.post("/notifications/read-all")
def read_all(request: Request, form: Posted, who: OnInbox) -> Response:
    marked = who.svc.engine.read_all_notifications(who.actor)
    back = webkit.text(form, "back")
    to = back if back in ("/inbox", "/notifications") else "/inbox"
    flash = f"已将{marked}条通知标为已读" if marked else "没有未读的通知"
    return webkit.redirect(to, flash, secure_cookie=who.svc.secure_cookies)


@inbox_pages.post("/notifications/{notification_id}/read")
def read_notification(request: Request, notification_id: str, who: OnInbox) -> Response:
    nid = webkit.parse_id(notification_id)
    if nid is None or not who.svc.engine.read_notification(nid, who.actor):
        return webkit.not_found(request, who, "通知不存在")
    return webkit.redirect("/inbox", secure_cookie=who.svc.secure_cookies)
