"""Title review's printed documents over HTTP: the 申报表 of a case (PDF and .xlsx), its
认定通知 (PDF), and a committee's result list of a year (PDF and .xlsx, and as JSON), for the
API (``/api/v1/title-review/...``) and for the pages (``/title-review/...``, signed in by
the session). Both serve the same bytes from ``documents``; a case out of the reader's scope
is "not found" exactly as every case read is.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from api import typeset, webkit
from api.deps import ApiActor, Services, Svc
from api.errors import ERRORS
from api.processes import Row
from api.processes.title_review import documents as docs
from api.webkit import Posted, SignedIn, Who
from states.errors import NotFound, RenshiError
from states.processes.title_review.spec import SPEC
from states.registry.scope import is_manager
from states.sheets.write import write_xlsx

CaseId = Annotated[int, Path(ge=1, le=2**53, description="事项编号")]
UnitId = Annotated[int, Path(ge=1, le=2**53, description="评审委员会组织单位编号")]
Year = Annotated[int, Query(ge=2000, le=2100, description="年度，如 2026")]

PDF_ANSWER: Final = typeset.PDF_ANSWER
XLSX_ANSWER: Final[dict[int | str, dict[str, Any]]] = {
    200: {"content": {typeset.XLSX_MEDIA: {}}, "description": "Excel 文件（.xlsx）"},
}

api = APIRouter(prefix="/api/v1/title-review", tags=["职称评审"], responses=ERRORS)
pages = APIRouter(include_in_schema=False)
PAGE: Final = "/title-review"


# --- the bytes ----------------------------------------------------------------------------------
_file = typeset.download  # a download named in Chinese; a PDF opens inline


def _pdf(svc: Services, document: typeset.Document) -> Response:
    data = typeset.pdf(document, svc.now())
    return _file(data, typeset.PDF_MEDIA, f"{document.filename}.pdf", inline=True)


def _xlsx(document: typeset.Document) -> Response:
    data = typeset.xlsx(document)
    return _file(data, typeset.XLSX_MEDIA, f"{document.filename}.xlsx", inline=False)


def _results_xlsx(results: docs.Results) -> Response:
    title = docs.result_title(results)
    data = write_xlsx(docs.RESULT_COLUMNS, docs.result_dicts(results), title=title, mask=())
    return _file(data, typeset.XLSX_MEDIA, f"{title}.xlsx", inline=False)


# --- what the case page links to -------------------------------------------------------------
def case_documents(case: Row) -> list[tuple[str, str]]:
    """The case page's print links: the 申报表 always, the 认定通知 once appointed."""
    base = f"{PAGE}/cases/{int(case['id'])}"
    out = [
        ("打印申报表（PDF）", f"{base}/declaration.pdf"),
        ("导出申报表（Excel）", f"{base}/declaration.xlsx"),
    ]
    if case.get("state") == "appointed":
        out.append(("打印认定通知（PDF）", f"{base}/appointment.pdf"))
    return out


# --- JSON API -----------------------------------------------------------------------------------
class CommitteeOut(BaseModel):
    unit_id: int
    name: str
    decided: int
    passed: int


class ResultRowOut(BaseModel):
    case_id: int
    applicant: str
    school: str
    title: str
    subject: str
    yes: int
    no: int
    abstain: int
    drawn: int
    result: str
    note: str


class ResultsOut(BaseModel):
    year: int
    title: str
    committee: CommitteeOut
    rows: list[ResultRowOut]


def _committee_out(c: docs.Committee) -> CommitteeOut:
    return CommitteeOut(unit_id=c.unit_id, name=c.name, decided=c.decided, passed=c.passed)


@api.get(
    "/cases/{case_id}/declaration.pdf",
    summary="打印申报表（PDF）",
    response_class=Response,
    responses=PDF_ANSWER,
)
def declaration_pdf(case_id: CaseId, svc: Svc, actor: ApiActor) -> Response:
    """事项的《中小学教师职称评审申报表》PDF：教师档案、申报内容、各环节审核意见和签章栏，
    只含阅读人可见的内容（如评委看到的身份证号已脱敏）。管辖范围以外的事项返回404。"""
    return _pdf(svc, docs.declaration(svc, actor, case_id))


@api.get(
    "/cases/{case_id}/declaration.xlsx",
    summary="导出申报表（Excel）",
    response_class=Response,
    responses=XLSX_ANSWER,
)
def declaration_xlsx(case_id: CaseId, svc: Svc, actor: ApiActor) -> Response:
    """与PDF内容相同的申报表，按纸质表格排版的 Excel 文件。"""
    return _xlsx(docs.declaration(svc, actor, case_id))


@api.get(
    "/cases/{case_id}/appointment.pdf",
    summary="打印认定通知（PDF）",
    response_class=Response,
    responses=PDF_ANSWER,
)
def appointment_pdf(case_id: CaseId, svc: Svc, actor: ApiActor) -> Response:
    """已发文认定事项的认定通知（含文号和发文日期）；尚未认定的返回409。"""
    return _pdf(svc, docs.appointment_notice(svc, actor, case_id))


@api.get("/results", summary="评审委员会列表（结果名单）", response_model=list[CommitteeOut])
def list_committees(year: Year, svc: Svc, actor: ApiActor) -> list[CommitteeOut]:
    """本人管辖范围内该年度各评审委员会（县、市、省或自主评审学校）评审的人数和通过人数。"""
    return [_committee_out(c) for c in docs.committees(svc, actor, year)]


@api.get(
    "/results/{unit_id}.pdf",
    summary="打印评审结果名单（PDF）",
    response_class=Response,
    responses=PDF_ANSWER,
)
def results_pdf(unit_id: UnitId, year: Year, svc: Svc, actor: ApiActor) -> Response:
    """该评审委员会该年度评审的全部人员：姓名、单位、申报职称、表决票数（同意、不同意、
    弃权）和评审结果。仅限管理该组织单位的人事干部，其他返回404。"""
    return _pdf(svc, docs.results_document(svc, docs.results(svc, actor, year, unit_id)))


@api.get(
    "/results/{unit_id}.xlsx",
    summary="导出评审结果名单（Excel）",
    response_class=Response,
    responses=XLSX_ANSWER,
)
def results_xlsx(unit_id: UnitId, year: Year, svc: Svc, actor: ApiActor) -> Response:
    """与PDF内容相同的结果名单，首行为表头的 Excel 文件，便于排序和汇总。"""
    return _results_xlsx(docs.results(svc, actor, year, unit_id))


@api.get("/results/{unit_id}", summary="评审结果名单", response_model=ResultsOut)
def results_json(unit_id: UnitId, year: Year, svc: Svc, actor: ApiActor) -> ResultsOut:
    """该评审委员会该年度的评审结果（同PDF、Excel）。"""
    found = docs.results(svc, actor, year, unit_id)
    return ResultsOut(
        year=found.year,
        title=docs.result_title(found),
        committee=_committee_out(found.committee),
        rows=[ResultRowOut(**r) for r in docs.result_dicts(found)],
    )


# --- pages ------------------------------------------------------------------------------------
def _refused(request: Request, who: Who, exc: RenshiError, what: str) -> Response:
    if isinstance(exc, NotFound):
        return webkit.not_found(request, who, what)
    return webkit.message(request, who, "无法生成文件", exc.message, exc.status)


def _case_page_file(request: Request, who: Who, case_id: str, kind: str) -> Response:
    cid = webkit.parse_id(case_id)
    if cid is None:
        return webkit.not_found(request, who)
    svc, actor = who.svc, who.actor
    try:
        if kind == "declaration.pdf":
            return _pdf(svc, docs.declaration(svc, actor, cid))
        if kind == "declaration.xlsx":
            return _xlsx(docs.declaration(svc, actor, cid))
        return _pdf(svc, docs.appointment_notice(svc, actor, cid))
    except RenshiError as exc:
        return _refused(request, who, exc, "事项不存在")


@pages.get(PAGE + "/cases/{case_id}/declaration.pdf")
def declaration_pdf_page(request: Request, case_id: str, who: SignedIn) -> Response:
    return _case_page_file(request, who, case_id, "declaration.pdf")


@pages.get(PAGE + "/cases/{case_id}/declaration.xlsx")
def declaration_xlsx_page(request: Request, case_id: str, who: SignedIn) -> Response:
    return _case_page_file(request, who, case_id, "declaration.xlsx")


@pages.get(PAGE + "/cases/{case_id}/appointment.pdf")
def appointment_pdf_page(request: Request, case_id: str, who: SignedIn) -> Response:
    return _case_page_file(request, who, case_id, "appointment.pdf")


def _page_year(raw: str) -> int | None:
    value = webkit.parse_id(raw.strip())
    return value if value is not None and 2000 <= value <= 2100 else None


# The 发文认定 form of the results page: one document appoints every case ticked.
APPOINT = SPEC.events["appoint"].form.fields
APPOINT_PAGE: Final = PAGE + "/results/appoint"
OnResults = Annotated[Who, Depends(webkit.guarded(PAGE + "/results"))]


@pages.get(PAGE + "/results")
def results_page(request: Request, who: SignedIn, year: str = "") -> Response:
    """The committees of a year the officer manages, each with its list to print or export,
    and the cases waiting for the appointing document."""
    if not is_manager(who.actor):
        return webkit.not_found(request, who, "评审结果名单")
    return _results_page(request, who, _page_year(year) or who.svc.today().year)


def _results_page(
    request: Request,
    who: Who,
    chosen: int,
    *,
    problem: webkit.Problem | None = None,
    ticked: frozenset[int] = frozenset(),
    status: int = 200,
) -> Response:
    found = docs.committees(who.svc, who.actor, chosen)
    waiting = docs.awaiting(who.svc, who.actor, chosen)
    defaults = {"doc_date": who.svc.today().isoformat()}
    return webkit.render(
        request,
        "title_review/results.html",
        who,
        {
            "nav": "/title-review/years",
            "year": chosen,
            "awaiting": waiting,
            "ticked": ticked,
            "once": secrets.token_urlsafe(12),
            "limit": docs.AWAITING_LIMIT,
            "appoint_fields": [
                webkit.field_view(f, "appoint", problem, "appoint", defaults.get(f.name, ""))
                for f in APPOINT
            ],
            "appoint_error": problem.message
            if problem is not None and problem.field is None
            else None,
            "committees": [
                {
                    "committee": c,
                    "pdf": f"{PAGE}/results/{c.unit_id}.pdf?{urlencode({'year': chosen})}",
                    "xlsx": f"{PAGE}/results/{c.unit_id}.xlsx?{urlencode({'year': chosen})}",
                }
                for c in found
            ],
        },
        status=status,
    )


@pages.post(APPOINT_PAGE)
def appoint(request: Request, form: Posted, who: OnResults) -> Response:
    """发文认定 of every ticked case by one document, each through the engine in its own
    transaction (a case that moved on, or whose teacher the ethics veto stops, does not stop
    the others). A 文号 or date the form refuses is shown beside its field with nothing
    written."""
    chosen = _page_year(webkit.text(form, "year")) or who.svc.today().year
    values = {f.name: webkit.text(form, f.name) for f in APPOINT}
    picked: list[tuple[int, int]] = []
    for raw in form.getlist("case")[: docs.AWAITING_LIMIT]:
        case_text, _, version_text = str(raw).partition(":")
        if webkit.parse_id(case_text) is not None and version_text.isdigit():
            picked.append((int(case_text), int(version_text[:9])))
    ticked = frozenset(c for c, _ in picked)
    if not picked:
        problem = webkit.Problem("appoint", "请勾选要认定的人员", None, values)
        return _results_page(request, who, chosen, problem=problem, status=422)
    payload = {k: v.strip() for k, v in values.items()}
    names = {a.case_id: a.applicant for a in docs.awaiting(who.svc, who.actor, chosen)}
    done, failed = 0, list[str]()
    for cid, version in picked:
        name = names.get(cid) or f"事项{cid}"
        try:
            moved = who.svc.engine.fire(
                cid, "appoint", who.actor, payload, expected_version=version,
                idempotency_key=webkit.once_key(who, form, f"appoint:{cid}"),
            )  # fmt: skip
        except RenshiError as exc:
            if done == 0 and not failed and exc.field in values:
                # the document itself is wrong, for every case alike: say where
                problem = webkit.problem(exc, "appoint", values, values)
                return _results_page(
                    request, who, chosen, problem=problem, ticked=ticked, status=exc.status
                )
            failed.append(f"{name}（{exc.message}）")
            continue
        if moved.to_state == "appointed":
            done += 1
        else:  # the ethics veto turned the appointment into a rejection
            failed.append(f"{name}（{moved.reason or '未通过'}）")
    said = f"已按{payload['doc_number']}发文认定{done}人"
    if failed:
        said += f"；{len(failed)}人未认定：" + "；".join(failed)
    back = f"{PAGE}/results?{urlencode({'year': chosen})}"
    return webkit.redirect(back, said, secure_cookie=who.svc.secure_cookies)


def _results_file(request: Request, who: Who, unit_id: str, year: str, kind: str) -> Response:
    uid, chosen = webkit.parse_id(unit_id), _page_year(year)
    if uid is None or chosen is None:
        return webkit.not_found(request, who, "评审结果名单")
    svc, actor = who.svc, who.actor
    try:
        found = docs.results(svc, actor, chosen, uid)
        if kind == "pdf":
            return _pdf(svc, docs.results_document(svc, found))
        return _results_xlsx(found)
    except RenshiError as exc:
        return _refused(request, who, exc, "评审结果名单")


@pages.get(PAGE + "/results/{unit_id}.pdf")
def results_pdf_page(request: Request, unit_id: str, who: SignedIn, year: str = "") -> Response:
    return _results_file(request, who, unit_id, year, "pdf")


@pages.get(PAGE + "/results/{unit_id}.xlsx")
def results_xlsx_page(request: Request, unit_id: str, who: SignedIn, year: str = "") -> Response:
    return _results_file(request, who, unit_id, year, "xlsx")


__all__ = ["api", "case_documents", "pages"]
