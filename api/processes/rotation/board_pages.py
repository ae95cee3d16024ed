"""The county's campaign board (``/rotation/{id}``) and the matching result: the campaign's
step and dates, the buttons its officers may press now, each sending school's numbers with
the targets' status, the receiving posts (imported from a spreadsheet, with the row report),
and the result with the reason for each placement, a re-run and the masked export.

Every button is a step of the campaign's case (``campaigns.step``, the engine authorizes
it and runs its rules); the numbers are ``results.check``'s, the posts ``posts``'s, the
result ``results.result``'s — the functions the JSON API calls."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Final
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from api import webkit
from api.processes.rotation.pages import (
    KINDS,
    At,
    campaign_for,
    home_of,
    kinds_of,
    oversees,
    runs,
    teaches_in,
)
from api.processes.rotation.routes import MAX_UPLOAD, STEPS, XLSX
from api.webkit import FieldView, Posted, Problem, SignedIn, Who
from states.errors import FormError, RenshiError
from states.org import SCHOOL_LEVELS
from states.process.forms import Field
from states.processes.rotation import campaigns, exemptions, posts, results
from states.processes.rotation.machine import CAMPAIGN
from states.processes.rotation.rules import share
from states.registry.imports import ImportReport
from states.sheets import write_xlsx
from states.store.db import reader

board_pages = APIRouter(include_in_schema=False)

# The campaign's events as the steps' addresses say them (the API's words).
SLUG: Final = {event: slug for slug, event in STEPS.items()}
# Fields a step's form may carry, by step.
STEP_FIELDS: Final = {"publish": "shortfall_reason", "cancel": "reason"}
PER_PAGE: Final = 200


def _viewing(request: Request, campaign_id: str, who: SignedIn) -> At:
    return campaign_for(request, who, campaign_id)


OnBoard = Annotated[Who, Depends(webkit.guarded("/rotation/{campaign_id}"))]


def _posting(request: Request, campaign_id: str, who: OnBoard) -> At:
    return campaign_for(request, who, campaign_id)


Viewing = Annotated[At, Depends(_viewing)]
Posting = Annotated[At, Depends(_posting)]


def _overseen(request: Request, at: At) -> None:
    """The board, the result and its export are the county's (and the tiers' above)."""
    if not oversees(at.who.actor, at.c):
        raise webkit.Halt(webkit.not_found(request, at.who, "交流轮岗工作不存在"))


# --- the board --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Button:
    slug: str
    label: str
    style: str
    field: str | None  # the one text the step asks for (a reason), if any
    required: bool


def _buttons(who: Who, c: campaigns.Campaign, shortfalls: bool) -> list[Button]:
    """The steps the officer may take now, as the engine answers for the campaign's case."""
    if not runs(who.actor, c):
        return []
    spec = who.svc.engine.processes[CAMPAIGN]
    out = []
    for event in who.svc.engine.available(c.case_id, who.actor)["events"]:
        slug = SLUG.get(event)
        if slug is None:
            continue
        field = STEP_FIELDS.get(slug)
        if slug == "publish" and not shortfalls:
            field = None  # a reason is asked for only when a target is unmet
        label = "重新匹配" if slug == "match" and c.run else spec.events[event].label
        out.append(Button(slug, label, spec.events[event].style, field, slug == "cancel"))
    return out


def _numbers(c: campaigns.Campaign, counts: list[Any]) -> dict[str, Any]:
    """The county's totals and the backbone share: against those placed once matching has
    run, against those the schools send before."""
    matched = bool(c.run)
    sent = sum(s.placed if matched else s.selected for s in counts)
    backbone = sum(s.backbone_placed if matched else s.backbone_selected for s in counts)
    need = share(sent, c.backbone_percent)
    return {
        "matched": matched,
        "eligible": sum(s.eligible for s in counts),
        "exempted": sum(s.exempted for s in counts),
        "volunteers": sum(s.volunteers for s in counts),
        "nominated": sum(s.nominated for s in counts),
        "required": sum(s.required for s in counts),
        "backbone_required": sum(s.backbone_required for s in counts),
        "sent": sent,
        "backbone": backbone,
        "backbone_need": need,
        "backbone_short": max(0, need - backbone),
        "short_schools": sum(1 for s in counts if s.short(matched)),
    }


# --- the campaign's settings -----------------------------------------------------------------
@dataclass(frozen=True)
class Settings:
    """The settings form as the last attempt left it: what was typed, each field's reason,
    and what the top of the form says."""

    values: Mapping[str, str]
    errors: Mapping[str, str]
    top_error: str


def _settings_fields(c: campaigns.Campaign) -> list[Field]:
    """What the officer may still change: everything but the year before the list is
    published, then only the name, the dates and the terms (``campaigns.LATE_FIELDS``)."""
    shown = [f for f in campaigns.FIELDS if f.name != "year"] + [KINDS]
    if c.state != "opened":
        shown = [f for f in shown if f.name in campaigns.LATE_FIELDS]
    return shown


def _current(c: campaigns.Campaign) -> dict[str, str]:
    """The campaign's settings as the form shows them."""
    out = {}
    for f in campaigns.FIELDS:
        value = getattr(c.row, f.name)
        out[f.name] = value.isoformat() if isinstance(value, dt.date) else str(value)
    out[KINDS.name] = "\n".join(c.row.exemption_kinds or ())
    return out


def _settings(who: Who, c: campaigns.Campaign, last: Settings | None) -> list[FieldView]:
    """The settings form's fields, for the county's officers while ``change_campaign``
    accepts a change (until the result is published); none otherwise."""
    if not runs(who.actor, c) or c.state in campaigns.SETTLED:
        return []
    kept = last.values if last is not None else _current(c)
    errors = last.errors if last is not None else {}
    return [
        dataclasses.replace(
            webkit.field_view(f, "settings", None, "settings", kept.get(f.name, "")),
            error=errors.get(f.name),
        )
        for f in _settings_fields(c)
    ]


def _board(
    request: Request,
    at: At,
    *,
    problem: Problem | None = None,
    report: ImportReport | None = None,
    settings: Settings | None = None,
    status: int = 200,
) -> Response:
    who, c = at.who, at.c
    engine = who.svc.engine
    with reader(who.svc.db).connect() as conn:
        counts, missed, changed = results.check(conn, c)
    matched = bool(c.run)
    lines = posts.post_lines(engine, who.actor, at.cid)
    applied = exemptions.exemptions(engine, who.actor, at.cid)
    return webkit.render(
        request,
        "rotation/board.html",
        who,
        {
            "nav": "/rotation",
            "c": c,
            "runs": runs(who.actor, c),
            "teacher_too": teaches_in(who.actor, c),
            "buttons": _buttons(who, c, bool(missed)),
            "schools": [(s, s.short(matched)) for s in counts],
            "totals": _numbers(c, counts),
            "shortfalls": missed,
            "changed": changed,
            "posts": lines,
            "levels": SCHOOL_LEVELS,
            "places": sum(p.places for p in lines),
            "exemptions": applied,
            "report": report,
            "settings": _settings(who, c, settings),
            "settings_version": c.row.version,
            "settings_error": settings.top_error if settings is not None else None,
            "problem": problem,
            "top_error": problem.message if problem is not None and problem.field is None else None,
        },
        status=status,
    )


@board_pages.get("/rotation/{campaign_id}")
def board(request: Request, at: Viewing) -> Response:
    """The county's board; a school's officer or a teacher is sent to their own page."""
    if not oversees(at.who.actor, at.c):
        home = home_of(at.who.actor, at.c)
        if home is None:
            return webkit.not_found(request, at.who, "交流轮岗工作不存在")
        return webkit.redirect(home)
    return _board(request, at)


def _done(who: Who, cid: int, slug: str, label: str) -> str:
    """What the next page says a step did."""
    with reader(who.svc.db).connect() as conn:
        c = campaigns.read(who.svc.engine, conn, who.actor, cid)
        counts, missed, _ = (
            results.check(conn, c) if slug in ("eligibility", "match") else ([], (), None)
        )
    if slug == "eligibility":
        listed = sum(s.eligible + s.exempted for s in counts)
        return f"已按档案计算符合条件名单：共{listed}人（{len(counts)}所学校）"
    if slug == "match":
        placed = sum(s.placed for s in counts)
        short = f"；{len(missed)}项未达标，见各校情况" if missed else "；各项比例均已达标"
        return f"已完成第{c.run}次匹配：安排{placed}人{short}"
    return f"已办理「{label}」，当前环节：{c.state_label}"


@board_pages.post("/rotation/{campaign_id}/steps/{step}")
def take_step(request: Request, step: str, form: Posted, at: Posting) -> Response:
    who, c = at.who, at.c
    back = "result" if webkit.text(form, "back") == "result" else "board"
    if step not in STEPS or not oversees(who.actor, c):
        return webkit.not_found(request, who, "办理操作不存在")
    field = STEP_FIELDS.get(step)
    payload: dict[str, Any] = {}
    values: dict[str, str] = {}
    if field is not None:
        values[field] = webkit.text(form, field)
        if values[field].strip():
            payload[field] = values[field].strip()
    version = webkit.parse_id(webkit.text(form, "expected_version"))
    event = STEPS[step]
    label = who.svc.engine.processes[CAMPAIGN].events[event].label
    try:
        campaigns.step(who.svc.engine, who.actor, at.cid, event, payload, expected_version=version)
    except RenshiError as exc:
        at_field = exc.field if exc.field == field else None
        problem = Problem(f"step:{step}", webkit.said(exc), at_field, values)
        if back == "result":
            return _result(request, at, problem=problem, status=exc.status)
        return _board(request, at, problem=problem, status=exc.status)
    to = (
        f"/rotation/{at.cid}/result"
        if step == "match" or back == "result"
        else f"/rotation/{at.cid}"
    )
    return webkit.redirect(
        to, _done(who, at.cid, step, label), secure_cookie=who.svc.secure_cookies
    )


@board_pages.post("/rotation/{campaign_id}/settings")
def change_settings(request: Request, form: Posted, at: Posting) -> Response:
    """The settings form: the fields the officer changed go to ``campaigns.change_campaign``
    (what ``PATCH /api/v1/rotation/campaigns/{id}`` calls) with the settings' version the
    page was drawn with; a refusal comes back beside its field, the input kept."""
    who, c = at.who, at.c
    if not runs(who.actor, c):
        return webkit.not_found(request, who, "办理操作不存在")
    shown = _settings_fields(c)
    values = {f.name: webkit.text(form, f.name) for f in shown}
    current = _current(c)
    changes: dict[str, Any] = {}
    for f in shown:
        raw = values[f.name]
        if f.name == KINDS.name:
            kinds = kinds_of(raw)
            if kinds is not None and kinds != list(c.row.exemption_kinds or ()):
                changes[f.name] = kinds
        elif raw.strip() != current[f.name] and (raw.strip() or f.required):
            changes[f.name] = webkit.coerce(f, raw)
    version = webkit.parse_id(webkit.text(form, "settings_version")) or 0
    try:
        if changes:
            campaigns.change_campaign(
                who.svc.engine, who.actor, at.cid, changes, expected_version=version
            )
    except RenshiError as exc:
        errors, top = webkit.field_errors(exc, values)
        return _board(request, at, settings=Settings(values, errors, top), status=exc.status)
    labels = "、".join(f.label for f in shown if f.name in changes)
    said = f"已调整工作设置：{labels}" if labels else "工作设置没有改动"
    return webkit.redirect(f"/rotation/{at.cid}", said, secure_cookie=who.svc.secure_cookies)


# --- receiving posts --------------------------------------------------------------------------
@board_pages.post("/rotation/{campaign_id}/posts")
def import_posts(request: Request, form: Posted, at: Posting) -> Response:
    """The posts' sheet: every row checked, the report shown, nothing written while a row
    is wrong unless the officer asked for the valid rows only."""
    who = at.who
    _overseen(request, at)
    upload = form.get("file")
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise FormError("file", "请选择要导入的 .xlsx 或 .csv 文件")
        data = upload.file.read(MAX_UPLOAD + 1)
        table = webkit.read_upload(data, upload.filename, posts.POSTS, MAX_UPLOAD)
        report = posts.import_posts(
            who.svc.engine, who.actor, at.cid, table,
            valid_only=webkit.text(form, "valid_only") == "1",
        )  # fmt: skip
    except RenshiError as exc:
        at_field = "file" if exc.field == "file" else None
        return _board(
            request, at, problem=Problem("posts", webkit.said(exc), at_field), status=exc.status
        )
    if report.error_count:
        return _board(request, at, report=report, status=422 if report.refused else 200)
    return webkit.redirect(
        f"/rotation/{at.cid}#posts",
        f"接收岗位已导入：{report.summary()}",
        secure_cookie=who.svc.secure_cookies,
    )


def _sheet(data: bytes, title: str) -> Response:
    return webkit.secure(
        Response(
            data,
            media_type=XLSX,
            headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(title)}.xlsx"},
        )
    )


@board_pages.get("/rotation/{campaign_id}/posts-template")
def posts_template(request: Request, at: Viewing) -> Response:
    _overseen(request, at)
    return _sheet(posts.template(), "接收岗位导入模板")


# --- the result -------------------------------------------------------------------------------
def _result(
    request: Request, at: At, *, problem: Problem | None = None, status: int = 200
) -> Response:
    who, c = at.who, at.c
    found = results.result(who.svc.engine, who.actor, at.cid)
    lines: list[Mapping[str, Any]] = found["lines"]
    placed = [x for x in lines if x["placed"]]
    unplaced = [x for x in lines if not x["placed"]]
    page = webkit.parse_id(request.query_params.get("page")) or 1
    pages = max(1, -(-len(placed) // PER_PAGE))
    page = min(page, pages)
    missed = found["shortfalls"]
    return webkit.render(
        request,
        "rotation/result.html",
        who,
        {
            "nav": "/rotation",
            "c": c,
            "found": found,
            "placed": placed[(page - 1) * PER_PAGE : page * PER_PAGE],
            "placed_total": len(placed),
            "adjusted": sum(1 for x in placed if x["step"] == "调剂"),
            "unplaced": unplaced,
            "page": page,
            "pages": pages,
            "buttons": [
                b for b in _buttons(who, c, bool(missed)) if b.slug in ("match", "publish")
            ],
            "problem": problem,
            "top_error": problem.message if problem is not None and problem.field is None else None,
        },
        status=status,
    )


@board_pages.get("/rotation/{campaign_id}/result")
def result(request: Request, at: Viewing) -> Response:
    _overseen(request, at)
    return _result(request, at)


@board_pages.get("/rotation/{campaign_id}/result.xlsx")
def export(request: Request, at: Viewing) -> Response:
    """The result as a spreadsheet, the ID numbers masked (the result's visibility)."""
    who = at.who
    _overseen(request, at)
    try:
        title, rows = results.export_rows(who.svc.engine, who.actor, at.cid)
    except RenshiError as exc:
        return webkit.message(request, who, "无法导出", exc.message, exc.status)
    return _sheet(write_xlsx(results.EXPORT_COLUMNS, rows, title=title, mask=()), title)


__all__ = ["board_pages"]
