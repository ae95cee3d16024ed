"""The supervision pages (专项督查): the campaigns and opening one (the organiser), a
campaign's page with its draw and steps, the report and its export, an inspector's targets
with the finding form (a phone in the hand, a photo from its camera), and a unit's
rectification report with its evidence. The pages call the same package functions as the
JSON API (``routes``), through the web kit (CSRF in every form, errors beside the field
with the input kept, redirect after a POST that worked)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Final
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import select
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException

from api import webkit
from api.processes.supervision.routes import XLSX, evidence_limits, stored_evidence, summary
from api.webkit import Posted, Problem, SignedIn, Who
from states.engine.visibility import case_file
from states.errors import NotFound, RenshiError
from states.org import CITY_OFFICER, COUNTY_OFFICER, PROVINCE_OFFICER
from states.process.forms import Field
from states.processes.supervision import campaigns, findings, report
from states.processes.supervision.findings import Evidence
from states.processes.supervision.machine import CAMPAIGN, RECTIFICATION
from states.processes.supervision.store import findings_t
from states.sheets import write_xlsx
from states.store.db import reader
from states.store.models import Case, OrgUnit, table_of

supervision_pages = APIRouter(include_in_schema=False)

PAGE: Final = "/supervision"
NEW: Final = "/supervision/new"
OPENERS: Final = frozenset({COUNTY_OFFICER, CITY_OFFICER, PROVINCE_OFFICER})
SLUG: Final = {event: slug for slug, event in campaigns.STEPS.items()}
ENDED: Final = ("concluded", "withdrawn_campaign")
NOT_FOUND: Final = "专项督查不存在"

CHECKLIST = Field(
    campaigns.CHECKLIST,
    "检查清单",
    max_length=8000,
    help="每行一项：编码|检查内容|是否须佐证（是/否，不填为否），如：A1|在职教师有偿补课|是",
)
COUNTIES = Field(campaigns.COUNTIES, "限定的县（区）", required=False)
UNIT = Field("unit_id", "组织单位", "choice", choices={})


@dataclass(frozen=True)
class At:
    who: Who
    c: campaigns.Campaign


def campaign_for(request: Request, who: Who, campaign_id: str) -> At:
    """The campaign if the person may read it; the same 404 page whether it does not exist
    or is someone else's (a target of an unannounced campaign learns nothing)."""
    cid = webkit.parse_id(campaign_id)
    if cid is None:
        raise webkit.Halt(webkit.not_found(request, who, NOT_FOUND))
    try:
        with reader(who.svc.db).connect() as conn:
            c = campaigns.read(conn, who.actor, cid)
    except NotFound:
        raise webkit.Halt(webkit.not_found(request, who, NOT_FOUND)) from None
    return At(who, c)


def _viewing(request: Request, campaign_id: str, who: SignedIn) -> At:
    return campaign_for(request, who, campaign_id)


OnCampaign = Annotated[Who, Depends(webkit.guarded("/supervision/{campaign_id}"))]
OnMine = Annotated[Who, Depends(webkit.guarded("/supervision/{campaign_id}/mine"))]
OnNew = Annotated[Who, Depends(webkit.guarded(NEW))]
OnRectification = Annotated[Who, Depends(webkit.guarded("/supervision/rectifications/{case_id}"))]
Viewing = Annotated[At, Depends(_viewing)]


# --- the list ---------------------------------------------------------------------------------
@supervision_pages.get(PAGE)
def campaigns_page(request: Request, who: SignedIn) -> Response:
    """The campaigns the person organises, oversees or was drawn for. An inspector drawn
    for one campaign under way, and nothing else, goes straight to their targets."""
    actor = who.actor
    found = campaigns.campaigns_for(who.svc.engine, actor)
    return webkit.render(
        request,
        "supervision/campaigns.html",
        who,
        {
            "nav": PAGE,
            "campaigns": found,
            "opener": any(actor.holds(r) for r in OPENERS),
        },
    )


@supervision_pages.get("/supervision/mine")
def my_campaign(request: Request, who: SignedIn) -> Response:
    """An inspector's way in (a notice, the navigation): the newest campaign they were
    drawn for that is under way."""
    mine = [
        c
        for c in campaigns.campaigns_for(who.svc.engine, who.actor)
        if c.drawn and c.state not in ENDED
    ]
    if not mine:
        return webkit.message(request, who, "我的检查对象", "您目前没有被抽取的检查任务。", 200)
    return webkit.redirect(f"/supervision/{mine[0].id}/mine")


# --- opening ----------------------------------------------------------------------------------
def _units(who: Who) -> dict[int, str]:
    ids = sorted({b.unit_id for b in who.actor.bindings if b.role in OPENERS})
    if not ids:
        return {}
    with reader(who.svc.db).connect() as conn:
        rows = conn.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.id.in_(ids))).all()
    return {int(i): str(n) for i, n in rows}


def _counties(who: Who, unit_ids: list[int]) -> dict[int, str]:
    out: dict[int, str] = {}
    with reader(who.svc.db).connect() as conn:
        for u in unit_ids:
            path = conn.execute(select(OrgUnit.path).where(OrgUnit.id == u)).scalar_one()
            out.update(campaigns.counties_under(conn, str(path)))
    return out


def _new_page(
    request: Request,
    who: Who,
    *,
    values: Mapping[str, str] | None = None,
    picked: list[str] | None = None,
    errors: Mapping[str, str] | None = None,
    top_error: str | None = None,
    status: int = 200,
) -> Response:
    today = who.svc.today()
    kept = values or {
        "year": str(today.year),
        "per_target": "2",
        "rectify_days": "20",
        "announced": "false",
    }
    errs = errors or {}
    units = _units(who)
    shown: list[Field] = [*campaigns.FIELDS, CHECKLIST]
    if len(units) > 1:
        shown.insert(0, dataclasses.replace(UNIT, choices={str(k): v for k, v in units.items()}))
    fields = [
        dataclasses.replace(
            webkit.field_view(f, "campaign", None, "open", kept.get(f.name, "")),
            error=errs.get(f.name),
        )
        for f in shown
    ]
    return webkit.render(
        request,
        "supervision/campaign_new.html",
        who,
        {
            "nav": PAGE,
            "fields": fields,
            "top_error": top_error,
            "unit": next(iter(units.values())) if len(units) == 1 else None,
            "counties": sorted(_counties(who, list(units)).items()),
            "picked": set(picked or ()),
            "counties_error": errs.get(campaigns.COUNTIES),
        },
        status=status,
    )


@supervision_pages.get(NEW)
def new_campaign(request: Request, who: SignedIn) -> Response:
    if not any(who.actor.holds(r) for r in OPENERS):
        return webkit.not_found(request, who, "页面不存在")
    return _new_page(request, who)


@supervision_pages.post(NEW)
def open_campaign(request: Request, form: Posted, who: OnNew) -> Response:
    if not any(who.actor.holds(r) for r in OPENERS):
        return webkit.not_found(request, who, "页面不存在")
    names = [f.name for f in campaigns.FIELDS] + [CHECKLIST.name, UNIT.name]
    values = {name: webkit.text(form, name) for name in names}
    payload: dict[str, Any] = {
        f.name: webkit.coerce(f, values[f.name]) for f in campaigns.FIELDS if values[f.name].strip()
    }
    payload[CHECKLIST.name] = campaigns.parse_checklist(values[CHECKLIST.name])
    picked = [v for v in form.getlist(COUNTIES.name) if isinstance(v, str)]
    ids = [webkit.parse_id(v) for v in picked]
    payload[COUNTIES.name] = [i if i is not None else 0 for i in ids] or None
    unit_id = webkit.parse_id(values[UNIT.name].strip() or None)
    try:
        cid = campaigns.open_campaign(who.svc.engine, who.actor, payload, unit_id=unit_id)
    except RenshiError as exc:
        errors, top = webkit.field_errors(exc, set(names) | {COUNTIES.name})
        return _new_page(
            request, who, values=values, picked=picked, errors=errors, top_error=top,
            status=exc.status,
        )  # fmt: skip
    return webkit.redirect(
        f"/supervision/{cid}",
        f"已开启「{values['title'].strip()}」。下一步：双随机抽取检查对象和检查人员。",
        secure_cookie=who.svc.secure_cookies,
    )


# --- a campaign -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Button:
    slug: str
    label: str
    style: str
    reason: bool  # the step asks for a reason


def _buttons(who: Who, c: campaigns.Campaign) -> list[Button]:
    """The steps the officer may take now, as the engine answers for the campaign's case."""
    if not c.runs:
        return []
    spec = who.svc.engine.processes[CAMPAIGN]
    out = []
    for event in who.svc.engine.available(c.case_id, who.actor)["events"]:
        slug = SLUG.get(event)
        if slug is not None:
            ev = spec.events[event]
            out.append(Button(slug, ev.label, ev.style, slug == "call-off"))
    return out


def _scope_names(who: Who, c: campaigns.Campaign) -> str:
    if not c.scope_counties:
        return f"{c.organiser}所辖全部学校"
    with reader(who.svc.db).connect() as conn:
        names = conn.execute(
            select(OrgUnit.name).where(OrgUnit.id.in_(list(c.scope_counties)))
        ).scalars()
        return "、".join(names) + "的学校"


def _campaign_page(
    request: Request, at: At, *, problem: Problem | None = None, status: int = 200,
    verified: campaigns.Verified | None = None,
) -> Response:  # fmt: skip
    who, c = at.who, at.c
    with reader(who.svc.db).connect() as conn:
        count = campaigns.findings_count(conn, c.id)
    return webkit.render(
        request,
        "supervision/campaign.html",
        who,
        {
            "nav": PAGE,
            "c": c,
            "scope": _scope_names(who, c),
            "targets": campaigns.targets(who.svc.engine, who.actor, c.id),
            "seeds": c.target_seed is not None and (c.full or c.visited),
            "buttons": _buttons(who, c),
            "findings": count,
            "problem": problem,
            "verified": verified,
        },
        status=status,
    )


@supervision_pages.get("/supervision/{campaign_id}")
def campaign_page(request: Request, at: Viewing, verify: str = "") -> Response:
    verified = None
    if verify == "1" and at.c.target_seed is not None and (at.c.full or at.c.visited):
        verified = campaigns.verify_draw(at.who.svc.engine, at.who.actor, at.c.id)
    return _campaign_page(request, at, verified=verified)


@supervision_pages.post("/supervision/{campaign_id}/steps/{slug}")
def take_step(
    request: Request, campaign_id: str, slug: str, form: Posted, who: OnCampaign
) -> Response:
    at = campaign_for(request, who, campaign_id)
    event = campaigns.STEPS.get(slug)
    if event is None:
        return webkit.not_found(request, who, "页面不存在")
    reason = webkit.text(form, "reason")
    payload = {"reason": reason} if slug == "call-off" else {}
    version = webkit.parse_id(webkit.text(form, "expected_version") or None)
    try:
        campaigns.step(who.svc.engine, who.actor, at.c.id, event, payload, expected_version=version)
    except RenshiError as exc:
        problem = webkit.problem(exc, f"step:{slug}", ["reason"], {"reason": reason})
        return _campaign_page(request, at, problem=problem, status=exc.status)
    spec = who.svc.engine.processes[CAMPAIGN]
    return webkit.redirect(
        f"/supervision/{at.c.id}",
        f"已办理：{spec.events[event].label}",
        secure_cookie=who.svc.secure_cookies,
    )


# --- the report -------------------------------------------------------------------------------
def _report(request: Request, at: At) -> report.Report:
    try:
        return report.report(at.who.svc.engine, at.who.actor, at.c.id)
    except RenshiError as exc:
        raise webkit.Halt(
            webkit.message(request, at.who, "督查报告", webkit.said(exc), exc.status)
        ) from None


@supervision_pages.get("/supervision/{campaign_id}/report")
def report_page(request: Request, at: Viewing) -> Response:
    r = _report(request, at)
    return webkit.render(
        request,
        "supervision/report.html",
        at.who,
        {
            "nav": PAGE,
            "c": at.c,
            "r": r,
            "summary": summary(r),
            "title": report.report_title(r.campaign.title),
        },
    )


@supervision_pages.get("/supervision/{campaign_id}/report.xlsx")
def report_export(request: Request, at: Viewing) -> Response:
    title, columns, rows = report.export(_report(request, at))
    data = write_xlsx(columns, rows, title=title, mask=())
    response = Response(
        data,
        media_type=XLSX,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(title)}.xlsx"},
    )
    return webkit.secure(response)


# --- an inspector's targets and the finding form ----------------------------------------------
FINDING_FIELDS: Final = ("target_id", "item", "text", "clue", "evidence")


def _mine(at: At) -> list[campaigns.Target]:
    me = at.who.actor.person_id
    return [
        t
        for t in campaigns.targets(at.who.svc.engine, at.who.actor, at.c.id)
        if any(p == me for p, _ in t.inspectors)
    ]


def _recorded(at: At) -> list[Any]:
    """What this inspector has recorded in the campaign, with the rectifications' states."""
    cases_t = table_of(Case)
    with reader(at.who.svc.db).connect() as conn:
        return list(
            conn.execute(
                select(
                    findings_t.c.id, findings_t.c.unit_id, findings_t.c.item_code,
                    findings_t.c.text, findings_t.c.case_id, cases_t.c.state,
                )
                .join(cases_t, cases_t.c.id == findings_t.c.case_id)
                .where(
                    findings_t.c.campaign_id == at.c.id,
                    findings_t.c.inspector_id == at.who.actor.person_id,
                )
                .order_by(findings_t.c.id.desc())
            )
        )  # fmt: skip


def _mine_page(
    request: Request, at: At, *, problem: Problem | None = None, status: int = 200
) -> Response:
    mine = _mine(at)
    names = {t.unit_id: t.unit for t in mine}
    return webkit.render(
        request,
        "supervision/mine.html",
        at.who,
        {
            "nav": PAGE,
            "c": at.c,
            "targets": mine,
            "items": list(at.c.checklist),
            "recorded": [
                {
                    "unit": names.get(int(r.unit_id), ""),
                    "item": r.item_code,
                    "text": r.text,
                    "case_id": int(r.case_id),
                    "state": findings.state_label(r.state),
                }
                for r in _recorded(at)
            ],
            "open": at.c.state == "inspecting",
            "limits": evidence_limits(at.who.svc.files.max_bytes),
            "problem": problem,
        },
        status=status,
    )


@supervision_pages.get("/supervision/{campaign_id}/mine")
def mine_page(request: Request, at: Viewing) -> Response:
    if not at.c.drawn:
        return webkit.not_found(request, at.who, "您未被抽取为本次督查的检查人员")
    return _mine_page(request, at)


# The web kit reads a form with one file at most; the two forms here take several evidence
# files (``<input type="file" multiple>``). ``_several`` reads the form first with room for
# them (the request keeps the form it read: ``Posted`` then gets it, checks it and closes
# it). The package's limit is checked with the files (``stored_evidence``, a refusal beside
# the field); a submit far beyond it stops here, before anything is stored.
UPLOAD_ROOM: Final = 5 * findings.MAX_FILES


async def _several(request: Request) -> None:
    try:
        await request.form(max_files=UPLOAD_ROOM, max_fields=webkit.MAX_BATCH + 50)
    except HTTPException as exc:
        if not str(exc.detail).startswith("Too many files"):
            raise
        said = (
            f"一次最多上传{findings.MAX_FILES}个佐证材料，本次提交未生效。"
            "请返回减少文件后重新提交。"
        )
        page = webkit.message(request, webkit.who(request), "佐证材料过多", said, 413)
        raise webkit.Halt(page) from None


Several = Annotated[None, Depends(_several)]


def _evidence(who: Who, form: FormData) -> list[Evidence]:
    return stored_evidence(form.getlist("evidence"), who.svc)


@supervision_pages.post("/supervision/{campaign_id}/findings")
def record_finding(
    request: Request, campaign_id: str, several: Several, form: Posted, who: OnMine
) -> Response:
    at = campaign_for(request, who, campaign_id)
    values = {name: webkit.text(form, name) for name in FINDING_FIELDS}
    where = f"finding:{values['target_id']}"
    try:
        files = _evidence(who, form)
        result = findings.record_finding(
            who.svc.engine, who.actor, at.c.id,
            target_id=webkit.parse_id(values["target_id"]) or 0, item=values["item"],
            text=values["text"], clue=values["clue"], evidence=files,
        )  # fmt: skip
    except RenshiError as exc:
        problem = webkit.problem(exc, where, FINDING_FIELDS, values)
        return _mine_page(request, at, problem=problem, status=exc.status)
    _, case_id = findings.made_by(who.svc.engine, result)
    return webkit.redirect(
        f"/supervision/{at.c.id}/mine",
        f"问题已记录（整改事项编号{case_id}），已通知被检查单位整改",
        secure_cookie=who.svc.secure_cookies,
    )


# --- a unit's rectification report ------------------------------------------------------------
def _rectification(request: Request, who: Who, case_id: str) -> Any:
    cid = webkit.parse_id(case_id)
    row = None
    if cid is not None:
        with reader(who.svc.db).connect() as conn:
            try:
                row = who.svc.engine.ensure_visible(conn, cid, who.actor)
            except NotFound:
                row = None
    if row is None or row.process != RECTIFICATION:
        raise webkit.Halt(webkit.not_found(request, who, "整改事项不存在"))
    return row


def _rectify_page(
    request: Request, who: Who, row: Any, *, problem: Problem | None = None, status: int = 200
) -> Response:
    with reader(who.svc.db).connect() as conn:
        shown = case_file(conn, who.svc.engine.processes, who.actor, int(row.id))
    data = shown.data if shown is not None else {}
    may = who.svc.engine.available(int(row.id), who.actor)["events"]
    return webkit.render(
        request,
        "supervision/rectify.html",
        who,
        {
            "nav": "",
            "case": row,
            "data": data,
            "state_label": findings.state_label(row.state),
            "may_report": "report_rectification" in may,
            "limits": evidence_limits(who.svc.files.max_bytes),
            "problem": problem,
        },
        status=status,
    )


@supervision_pages.get("/supervision/rectifications/{case_id}")
def rectify_page(request: Request, case_id: str, who: SignedIn) -> Response:
    return _rectify_page(request, who, _rectification(request, who, case_id))


@supervision_pages.post("/supervision/rectifications/{case_id}")
def report_rectification(
    request: Request, case_id: str, several: Several, form: Posted, who: OnRectification
) -> Response:
    row = _rectification(request, who, case_id)
    values = {"text": webkit.text(form, "text")}
    version = webkit.parse_id(webkit.text(form, "expected_version") or None)
    try:
        files = _evidence(who, form)
        findings.report_rectification(
            who.svc.engine, who.actor, int(row.id), values["text"], files,
            expected_version=version,
        )  # fmt: skip
    except RenshiError as exc:
        problem = webkit.problem(exc, "report", ["text", "evidence"], values)
        return _rectify_page(request, who, row, problem=problem, status=exc.status)
    return webkit.redirect(
        f"/cases/{row.id}", "整改情况已报告，待督查组复查", secure_cookie=who.svc.secure_cookies
    )


__all__ = ["supervision_pages"]
