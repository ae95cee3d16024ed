"""The inbox: what waits for the signed-in person (to do, done, copied to them), batch
handling, and their notices.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from api import webkit
from api.webkit import Posted, Problem, SignedIn, Who
from states.errors import RenshiError
from states.process.package import Catalogue
from states.store import queries
from states.store.db import reader

INBOX_PAGE: Final = 50

TASK_KINDS: Final = {"act": "办理", "sign": "加签", "window": "公示期"}
BOXES: Final = {"todo": "待办", "done": "已办", "cc": "抄送我的"}

# Signed in, with the form's CSRF token right; otherwise off to sign in and back to the page
# the form was on (or the 403 page).
OnInbox = Annotated[Who, Depends(webkit.guarded("/inbox"))]

inbox_pages = APIRouter(include_in_schema=False)


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
            "process_label": webkit.catalogue(request)[item["process"]].label,
            "state_label": webkit.catalogue(request)[item["process"]].state_label(item["state"]),
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
            "pages": pages_total,
            "events": _batch_events(webkit.catalogue(request), items) if box == "todo" else [],
            "outcome": outcome,
            "problem": problem,
            "once": secrets.token_urlsafe(12),
            "today": today,
            "notes": [{**n, "at": webkit.local(n["created_at"])} for n in notes.items],
            "notes_total": notes.total,
        },
        status=status,
    )


@inbox_pages.get("/inbox")
def inbox(request: Request, who: SignedIn, box: str = "todo", page: str = "1") -> Response:
    return _inbox_page(
        request, who, box if box in BOXES else "todo", min(webkit.parse_id(page) or 1, 100_000)
    )


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
        problem = Problem("batch", "请选择办理事项", "event", values)
        return _inbox_page(request, who, "todo", 1, problem=problem, status=422)
    if not items or len(items) > webkit.MAX_BATCH:
        text = "请先勾选要办理的案件" if not items else f"一次最多办理{webkit.MAX_BATCH}件"
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


@inbox_pages.post("/notifications/{notification_id}/read")
def read_notification(request: Request, notification_id: str, who: OnInbox) -> Response:
    nid = webkit.parse_id(notification_id)
    if nid is None or not who.svc.engine.read_notification(nid, who.actor):
        return webkit.not_found(request, who, "通知不存在")
    return webkit.redirect("/inbox", secure_cookie=who.svc.secure_cookies)
