"""Pages of the automated compliance checks: the inspectors' board (``/compliance``: counts by
check and unit, the open findings, the recently closed, filters, the masked export, and for
the province's officers 「立即检查」), a finding's own page (``/compliance/findings/<id>``:
the subject, the rule, the unit, its explanations and closing; the forms for an explanation
(情况说明) and for closing by hand (人工销号) to those who may), a teacher's ethics pledge
(``/compliance/pledge``: the text, 签署), the clauses of a school year's pledge the province
sets (``/compliance/pledge-text``), and the honour certificates the province or a city
records (``/compliance/honours``: one by hand, or a sheet). Same web kit, same operations
and the same visibility as the JSON API."""

from __future__ import annotations

from typing import Annotated, Any, Final
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import UploadFile

from api import webkit
from api.webkit import Posted, Problem, SignedIn, Who
from states.errors import FormError, NotFound, PermissionDenied, RenshiError
from states.org import PROVINCE_OFFICER, SYSTEM, TEACHER
from states.processes.compliance import checks, findings, notes, pledge, pledge_texts, records
from states.processes.compliance.records import ISSUERS
from states.registry import history
from states.registry.roster_sheet import parse_date
from states.sheets import write_xlsx
from states.store.db import reader

compliance_pages = APIRouter(include_in_schema=False)
XLSX: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_UPLOAD: Final = 16 * 1024 * 1024

OnBoard = Annotated[Who, Depends(webkit.guarded("/compliance"))]
OnPledge = Annotated[Who, Depends(webkit.guarded("/compliance/pledge"))]
OnHonours = Annotated[Who, Depends(webkit.guarded("/compliance/honours"))]
OnPledgeText = Annotated[Who, Depends(webkit.guarded("/compliance/pledge-text"))]
OnFinding = Annotated[Who, Depends(webkit.guarded("/compliance/findings/{finding_id}"))]


def _reader(who: Who) -> bool:
    return any(b.role in findings.READERS for b in who.actor.bindings)


def _operator(who: Who) -> bool:
    return who.actor.holds(PROVINCE_OFFICER) or who.actor.holds(SYSTEM)


def _issuer(who: Who) -> bool:
    return any(b.role in ISSUERS for b in who.actor.bindings)


def _id(raw: str | None) -> int | None:
    return webkit.parse_id(raw) if raw else None


# --- the board ----------------------------------------------------------------------------------
@compliance_pages.get("/compliance")
def board_page(
    request: Request,
    who: SignedIn,
    rule: str | None = None,
    status: str | None = None,
    unit: str | None = None,
) -> Response:
    if not _reader(who):
        if who.actor.holds(TEACHER):
            return RedirectResponse("/compliance/pledge", 303)
        return webkit.not_found(request, who, "页面")
    rules = who.svc.engine.processes.compliance_rules()
    unit_id = _id(unit)
    if unit and unit_id is None:
        return webkit.not_found(request, who, "单位")
    try:
        filters = findings.filters_from(rules, rule=rule, status=status, unit_id=unit_id)
        with reader(who.svc.db).connect() as conn:
            b = findings.board(conn, who.actor, rules, filters, who.svc.now())
    except FormError as exc:
        return webkit.message(request, who, "筛选条件有误", webkit.said(exc), 422)
    except RenshiError as exc:
        return webkit.not_found(request, who, webkit.said(exc).split("或")[0])

    def query(**changes: Any) -> str:
        values = {**filters.query(), **{k: str(v) for k, v in changes.items() if v is not None}}
        return urlencode({k: v for k, v in values.items() if v})

    return webkit.render(
        request,
        "compliance/board.html",
        who,
        {
            "nav": "/compliance",
            "b": b,
            "query": query,
            "export": "/compliance/export.xlsx?" + query(),
            "statuses": findings.STATUSES,
            "rule_labels": {r.code: r.label for r in rules},
            "operator": _operator(who),
        },
    )


@compliance_pages.get("/compliance/export.xlsx")
def export_page(
    request: Request,
    who: SignedIn,
    rule: str | None = None,
    status: str | None = None,
    unit: str | None = None,
) -> Response:
    if not _reader(who):
        return webkit.not_found(request, who, "页面")
    rules = who.svc.engine.processes.compliance_rules()
    unit_id = _id(unit)
    if unit and unit_id is None:
        return webkit.not_found(request, who, "单位")
    try:
        filters = findings.filters_from(rules, rule=rule, status=status, unit_id=unit_id)
        with reader(who.svc.db).connect() as conn:
            title, rows = findings.export_rows(conn, who.actor, rules, filters)
            data = write_xlsx(findings.EXPORT_COLUMNS, rows, title=title, mask=())
    except FormError as exc:
        return webkit.message(request, who, "筛选条件有误", webkit.said(exc), 422)
    except RenshiError as exc:
        return webkit.not_found(request, who, webkit.said(exc).split("或")[0])
    return webkit.secure(
        Response(
            data,
            media_type=XLSX,
            headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(title)}.xlsx"},
        )
    )


@compliance_pages.post("/compliance/run")
def run_page(request: Request, form: Posted, who: OnBoard) -> Response:
    if not _operator(who):
        return webkit.not_found(request, who, "页面")
    done = checks.run_all(who.svc.engine)
    failed = [code for code, outcome in done.items() if isinstance(outcome, str)]
    opened = sum(int(o.get("found", 0)) for o in done.values() if not isinstance(o, str))
    closed = sum(int(o.get("closed", 0)) for o in done.values() if not isinstance(o, str))
    said = f"已运行{len(done)}项检查：新发现{opened}项，销号{closed}项"
    if failed:
        said += f"；{len(failed)}项未能完成，请查看系统运行记录"
    return webkit.redirect("/compliance", said)


# --- one finding --------------------------------------------------------------------------------
def _finding_page(
    request: Request,
    who: Who,
    raw_id: str,
    *,
    problem: Problem | None = None,
    status: int = 200,
) -> Response:
    finding_id = _id(raw_id)
    if finding_id is None:
        return webkit.not_found(request, who, "问题")
    rules = who.svc.engine.processes.compliance_rules()
    try:
        with reader(who.svc.db).connect() as conn:
            page = findings.finding(conn, who.actor, rules, finding_id)
    except RenshiError:  # a teacher, another unit's finding, or none: the same answer
        return webkit.not_found(request, who, "问题")
    return webkit.render(
        request,
        "compliance/finding.html",
        who,
        {
            "nav": "/compliance",
            "page": page,
            "x": page.line,
            "problem": problem,
            "values": problem.values if problem else {},
            "field": problem.field if problem else None,
            "max_text": notes.MAX_TEXT,
        },
        status=status,
    )


@compliance_pages.get("/compliance/findings/{finding_id}")
def finding_page(request: Request, finding_id: str, who: SignedIn) -> Response:
    return _finding_page(request, who, finding_id)


def _act_on_finding(
    request: Request, who: Who, raw_id: str, where: str, values: dict[str, str], act: Any
) -> Response:
    finding_id = _id(raw_id)
    if finding_id is None:
        return webkit.not_found(request, who, "问题")
    try:
        said = act(finding_id)
    except (NotFound, PermissionDenied) as exc:
        if isinstance(exc, NotFound) or not _reader(who):
            return webkit.not_found(request, who, "问题")
        problem = Problem(where, webkit.said(exc), None, values)
        return _finding_page(request, who, raw_id, problem=problem, status=exc.status)
    except RenshiError as exc:
        field = exc.field if exc.field in values else None
        problem = Problem(where, webkit.said(exc), field, values)
        return _finding_page(request, who, raw_id, problem=problem, status=exc.status)
    return webkit.redirect(f"/compliance/findings/{finding_id}", said)


@compliance_pages.post("/compliance/findings/{finding_id}/notes")
def note_page(request: Request, finding_id: str, form: Posted, who: OnFinding) -> Response:
    values = {k: webkit.text(form, k) for k in ("text", "until")}

    def act(fid: int) -> str:
        raw = values["until"].strip()
        try:
            until = parse_date(raw) if raw else None
        except ValueError as exc:
            raise FormError("until", str(exc)) from None
        notes.note(who.svc.engine, who.actor, fid, values["text"], until)
        return "已填写情况说明"

    return _act_on_finding(request, who, finding_id, "note", values, act)


@compliance_pages.post("/compliance/findings/{finding_id}/close")
def close_page(request: Request, finding_id: str, form: Posted, who: OnFinding) -> Response:
    values = {"reason": webkit.text(form, "reason")}

    def act(fid: int) -> str:
        notes.close(who.svc.engine, who.actor, fid, values["reason"])
        return "已人工销号，已通知责任单位的人事干部"

    return _act_on_finding(request, who, finding_id, "close", values, act)


# --- the teacher's pledge -----------------------------------------------------------------------
def _pledge_page(
    request: Request, who: Who, *, problem: str | None = None, status: int = 200
) -> Response:
    today = who.svc.today()
    try:
        with reader(who.svc.db).connect() as conn:
            mine = pledge.mine(conn, who.actor, today)
    except PermissionDenied:
        return webkit.not_found(request, who, "页面")
    except RenshiError as exc:
        return webkit.message(request, who, "师德承诺书", webkit.said(exc), 404)
    return webkit.render(
        request,
        "compliance/pledge.html",
        who,
        {
            "nav": "/compliance/pledge",
            "p": mine,
            "lines": mine.text.split("\n") if mine else [],
            "year_label": pledge.year_label(pledge.school_year(today)),
            "problem": problem,
            "sign_days": pledge.SIGN_DAYS,
        },
        status=status,
    )


@compliance_pages.get("/compliance/pledge")
def pledge_page(request: Request, who: SignedIn) -> Response:
    return _pledge_page(request, who)


@compliance_pages.post("/compliance/pledge")
def sign_page(request: Request, form: Posted, who: OnPledge) -> Response:
    try:
        signed = pledge.sign(who.svc.engine, who.actor, webkit.text(form, "sha256"))
    except PermissionDenied:
        return webkit.not_found(request, who, "页面")
    except RenshiError as exc:
        return _pledge_page(request, who, problem=webkit.said(exc), status=exc.status)
    return webkit.redirect("/compliance/pledge", f"已签署{signed.year_label}师德承诺书，谢谢！")


# --- the province's pledge text ------------------------------------------------------------------
def _text_page(
    request: Request,
    who: Who,
    year: int,
    *,
    problem: Problem | None = None,
    status: int = 200,
) -> Response:
    today = who.svc.today()
    with reader(who.svc.db).connect() as conn:
        t = pledge_texts.view(conn, who.actor, year)
    current = pledge.school_year(today)
    return webkit.render(
        request,
        "compliance/pledge_text.html",
        who,
        {
            "nav": "/compliance",
            "t": t,
            "preview": t.preview.split("\n"),
            "past": year < current,
            "years": [current, current + 1],
            "problem": problem,
            "typed": problem.values.get("clauses") if problem else None,
            "field": problem.field if problem else None,
            "max_clauses": pledge_texts.MAX_CLAUSES,
            "max_clause": pledge_texts.MAX_CLAUSE,
        },
        status=status,
    )


def _text_year(who: Who, raw: str | None) -> int | None:
    """The school year asked for (default: the current one); None when it is no year."""
    if not raw:
        return pledge.school_year(who.svc.today())
    return int(raw) if raw.isdigit() and 2000 <= int(raw) <= 2100 else None


@compliance_pages.get("/compliance/pledge-text")
def pledge_text_page(request: Request, who: SignedIn, year: str | None = None) -> Response:
    if not pledge_texts.may_set(who.actor):
        return webkit.not_found(request, who, "页面")
    asked = _text_year(who, year)
    if asked is None:
        return webkit.message(request, who, "师德承诺书正文", "学年应在2000至2100之间", 422)
    return _text_page(request, who, asked)


@compliance_pages.post("/compliance/pledge-text")
def set_pledge_text_page(request: Request, form: Posted, who: OnPledgeText) -> Response:
    if not pledge_texts.may_set(who.actor):
        return webkit.not_found(request, who, "页面")
    values = {"year": webkit.text(form, "year"), "clauses": webkit.text(form, "clauses")}
    asked = _text_year(who, values["year"].strip())
    if asked is None:
        return webkit.message(request, who, "师德承诺书正文", "学年应在2000至2100之间", 422)
    try:
        done = pledge_texts.set_clauses(
            who.svc.engine, who.actor, asked, pledge_texts.from_lines(values["clauses"])
        )
    except RenshiError as exc:
        field = exc.field if exc.field in values else None
        problem = Problem("text", webkit.said(exc), field, values)
        return _text_page(request, who, asked, problem=problem, status=exc.status)
    return webkit.redirect(
        f"/compliance/pledge-text?year={done.year}",
        f"已设置{done.year_label}师德承诺书正文（{len(done.clauses)}条），教师阅读、签署的即为此正文",
    )


# --- honour certificates ------------------------------------------------------------------------
def _honours_page(
    request: Request,
    who: Who,
    *,
    problem: Problem | None = None,
    report: Any = None,
    status: int = 200,
) -> Response:
    return webkit.render(
        request,
        "compliance/honours.html",
        who,
        {
            "nav": "/compliance",
            "problem": problem,
            "report": report,
            "values": problem.values if problem else {},
            "field": problem.field if problem else None,
        },
        status=status,
    )


@compliance_pages.get("/compliance/honours")
def honours_page(request: Request, who: SignedIn) -> Response:
    if not _issuer(who):
        return webkit.not_found(request, who, "页面")
    return _honours_page(request, who)


@compliance_pages.post("/compliance/honours")
def record_page(request: Request, form: Posted, who: OnHonours) -> Response:
    if not _issuer(who):
        return webkit.not_found(request, who, "页面")
    values = {k: webkit.text(form, k) for k in ("id_number", "cert_no", "issued_on")}
    try:
        try:
            on = parse_date(values["issued_on"].strip()) if values["issued_on"].strip() else None
        except ValueError as exc:
            raise FormError("issued_on", str(exc)) from None
        if on is None:
            raise FormError("issued_on", "颁发日期不能为空")
        done = records.record(who.svc.engine, who.actor, values["id_number"], values["cert_no"], on)
    except RenshiError as exc:
        field = exc.field if exc.field in values else None
        return _honours_page(
            request,
            who,
            problem=Problem("record", webkit.said(exc), field, values),
            status=exc.status,
        )
    return webkit.redirect("/compliance/honours", f"已登记{done.name}（{done.school}）的荣誉证书")


@compliance_pages.post("/compliance/honours/import")
def import_page(request: Request, form: Posted, who: OnHonours) -> Response:
    if not _issuer(who):
        return webkit.not_found(request, who, "页面")
    upload = form.get("file")
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise FormError("file", "请选择要导入的荣誉证书表格（.xlsx 或 .csv）")
        data = upload.file.read(MAX_UPLOAD + 1)
        table = webkit.read_upload(data, upload.filename, records.HONOUR_SCHEMA, MAX_UPLOAD)
        report = records.import_honours(
            who.svc.engine, who.actor, table,
            valid_only=webkit.text(form, "valid_only") == "1",
            source_ref=history.file_ref(upload.filename, data),
        )  # fmt: skip
    except RenshiError as exc:
        return _honours_page(
            request, who, problem=Problem("import", webkit.said(exc), "file"), status=exc.status
        )
    if report.refused:
        return _honours_page(request, who, report=report, status=422)
    return webkit.redirect("/compliance/honours", f"已导入：登记{report.created}张荣誉证书")
