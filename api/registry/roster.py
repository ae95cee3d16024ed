"""Registry adapter: 教师名册 — the roster's import, search, export and template, one
teacher's record with its edit form, personnel moves and history, as pages, JSON and CLI.

Thin over ``states.registry.roster``: every rule (scope, validation, versions, history) is
decided there, once, for all three doors.
"""

from __future__ import annotations

import datetime as dt
import math
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, BinaryIO, Final, Literal, NoReturn
from urllib.parse import quote, urlencode

import click
from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import Engine, select
from starlette.datastructures import UploadFile as StarletteUpload

from api import schemas as s
from api import webkit
from api.deps import ApiActor, Svc
from api.errors import ERRORS
from api.present import teacher_out
from api.webkit import Posted, Problem, SignedIn, Who
from states.clock import BUREAU_TZ, SystemClock
from states.errors import FormError, NotFound, RenshiError
from states.identity import mask_id_number
from states.org import (
    BACKBONE_LEVELS,
    EDUCATION_LABELS,
    GENDERS,
    PROVINCE_OFFICER,
    SCHOOL_LEVELS,
    SUBJECTS,
    TITLE_LABELS,
    Actor,
    Binding,
)
from states.registry import history, roster, service
from states.registry.history import SOURCES
from states.registry.roster_sheet import COLUMNS, MAX_ROWS, ROSTER, shown
from states.registry.scope import is_manager
from states.sheets import SheetError, mask_phone, open_table, template_xlsx, write_xlsx
from states.store import queries
from states.store.db import make_engine, reader
from states.store.models import OrgUnit, Person
from states.store.people import load_actor

api_router = APIRouter(prefix="/api/v1", responses=ERRORS, tags=["教师档案"])
page_router = APIRouter(include_in_schema=False)
LINKS: tuple[tuple[str, str], ...] = (("/admin/roster", "教师名册"),)

XLSX: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# A province's roster of 600,000 teachers is about 50 MB as .xlsx.
MAX_UPLOAD: Final = 256 * 1024 * 1024
PAGE_SIZE: Final = 20
PersonId = Annotated[int, PathParam(ge=1, le=2**53)]
Version = Annotated[int, Field(ge=1, le=2**31 - 1, description="读取档案时的版本号（乐观锁）")]


# --- shared by the three doors --------------------------------------------------------------
def upload_ref(file: BinaryIO, filename: str) -> str:
    """The file's size checked, and the reference its history entries carry."""
    file.seek(0, 2)
    size = file.tell()
    file.seek(0)
    if size > MAX_UPLOAD:
        raise FormError("file", f"文件过大：不能超过{MAX_UPLOAD // (1024 * 1024)}MB")
    if not filename.strip():
        raise FormError("file", "请选择要导入的 .xlsx 或 .csv 文件")
    return history.file_ref(filename, file)


def run_import(
    db: Engine,
    actor: Actor,
    source: BinaryIO | str | Path,
    filename: str,
    *,
    at: dt.datetime,
    valid_only: bool,
) -> roster.RosterReport:
    """Read and import a roster file in one transaction: the report names every bad cell;
    nothing is written from a file with errors unless ``valid_only``."""
    if isinstance(source, str | Path):
        with open(source, "rb") as f:
            ref = upload_ref(f, filename)
    else:
        ref = upload_ref(source, filename)
    try:
        table = open_table(source, filename, schema=ROSTER, max_rows=MAX_ROWS)
    except SheetError as exc:
        raise FormError("file", str(exc)) from None
    with db.begin() as conn:
        try:
            return roster.import_roster(
                conn, table, actor=actor, at=at, source_ref=ref, valid_only=valid_only
            )
        except SheetError as exc:  # met while reading on (too many rows)
            raise FormError("file", str(exc)) from None


def _value(name: str, value: Any) -> Any:
    """A record's value as the pages and the history show it."""
    if value is None or value == []:
        return "—"
    vocab: Mapping[str, str] | None = {
        "gender": GENDERS,
        "school_level": SCHOOL_LEVELS,
        "title": TITLE_LABELS,
        "education": EDUCATION_LABELS,
        "backbone_level": BACKBONE_LEVELS,
        "status": roster.STATUSES,
        "cert_level": SCHOOL_LEVELS,
    }.get(name)
    if vocab is not None:
        return vocab.get(str(value), value)
    if isinstance(value, list):
        return "；".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return value


def _years(since: dt.date | None, today: dt.date) -> str:
    if since is None:
        return "—"
    return f"{max(0.0, (today - since).days / 365.2425):.1f}"


# --- JSON -----------------------------------------------------------------------------------
class CellErrorOut(BaseModel):
    row: int
    column: str
    value: str
    reason: str


class RosterImportOut(BaseModel):
    source: str | None = Field(description="文件名与 SHA-256 前12位（记入每条档案变更记录）")
    rows: int
    created: int
    updated: int
    unchanged: int
    error_count: int
    errors: list[CellErrorOut]
    ignored_columns: list[str]


@api_router.post("/roster/imports", summary="导入教师名册", response_model=RosterImportOut)
def import_roster(
    svc: Svc,
    actor: ApiActor,
    file: Annotated[UploadFile, File(description="教师名册 .xlsx 或 .csv（UTF-8 或 GB18030）")],
    valid_only: bool = False,
) -> JSONResponse:
    """导入教师名册（新增或按身份证号更新）。每个错误单元格列出行、列与原因；有错误时不导入任何
    数据（422），valid_only=true 时只导入无误的行。每位教师的每次变更都记入其档案变更记录。"""
    report = run_import(
        svc.db, actor, file.file, file.filename or "", at=svc.now(), valid_only=valid_only
    )
    out = RosterImportOut(
        source=report.source_ref,
        rows=report.rows,
        created=report.created,
        updated=report.updated,
        unchanged=report.unchanged,
        error_count=report.error_count,
        errors=[CellErrorOut.model_validate(e, from_attributes=True) for e in report.errors],
        ignored_columns=report.ignored_columns,
    )
    return JSONResponse(out.model_dump(), status_code=422 if report.refused else 200)


@api_router.get(
    "/roster/template",
    summary="教师名册导入模板",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}}},
)
def roster_template(actor: ApiActor) -> Response:
    """教师名册导入模板（.xlsx，表头即各列名称）。"""
    if not is_manager(actor):
        raise NotFound("教师名册不存在或不在您的管理范围内")
    return _download(template_xlsx(ROSTER), "教师名册导入模板")


@api_router.get(
    "/roster/export",
    summary="导出教师名册",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}}},
)
def roster_export(
    svc: Svc,
    actor: ApiActor,
    q: Annotated[str, Query(max_length=32, description="姓名或身份证号（开头几位）")] = "",
    school: Annotated[str, Query(max_length=64, description="学校代码或校名")] = "",
    status: Annotated[Literal["", "active", "left", "retired", "deceased"], Query()] = "",
) -> Response:
    """导出管辖范围内的教师名册（.xlsx，身份证号与手机号已脱敏）。"""
    return _download(export_xlsx(svc.db, actor, q=q, school=school, status=status), "教师名册")


def export_xlsx(db: Engine, actor: Actor, *, q: str, school: str, status: str) -> bytes:
    # the ethics records stay on the record's page: an export travels further than a page
    columns = [(c.name, c.label) for c in COLUMNS if c.name != "ethics"] + [
        ("school_name", "学校名称"),
        ("status", "人员状态"),
        ("status_since", "状态日期"),
    ]
    with reader(db).connect() as conn:
        rows = (
            {**shown(r), "school_name": r["school_name"], "status": r["status"],
             "status_since": r["status_since"]}
            for r in roster.export_rows(conn, actor, q=q, school=school, status=status)
        )  # fmt: skip
        return write_xlsx(columns, rows, title="教师名册", mask=("id_number", "phone"))


def _download(data: bytes, title: str) -> Response:
    return Response(
        data,
        media_type=XLSX,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(title)}.xlsx"},
    )


ETHICS_HELP: Final = "师德记录：日期 事由，多条用；分隔"


class TeacherEditIn(s.In):
    """Only the fields sent change; a blank optional field is cleared."""

    expected_version: Version
    name: Annotated[s.Text, Field(max_length=30)] | None = None
    phone: Annotated[s.Text, Field(max_length=20)] | None = None
    subject: Annotated[s.Text, Field(max_length=32, description="任教学科")] | None = None
    school_level: Annotated[s.Text, Field(max_length=16, description="学段")] | None = None
    title: Annotated[s.Text, Field(max_length=16, description="职称")] | None = None
    title_date: Annotated[s.Text, Field(max_length=16, description="职称取得时间")] | None = None
    education: Annotated[s.Text, Field(max_length=16)] | None = None
    started_teaching_on: Annotated[s.Text, Field(max_length=16)] | None = None
    joined_school_on: Annotated[s.Text, Field(max_length=16)] | None = None
    rural_years: Annotated[float, Field(ge=0, le=50)] | None = None
    backbone_level: Annotated[s.Text, Field(max_length=16)] | None = None
    cert_level: Annotated[s.Text, Field(max_length=32)] | None = None
    cert_no: Annotated[s.Text, Field(max_length=32)] | None = None
    cert_registered_on: Annotated[s.Text, Field(max_length=16)] | None = None
    ethics: Annotated[s.Text, Field(max_length=4000, description=ETHICS_HELP)] | None = None


class MoveIn(s.In):
    kind: Literal["transfer", "leave", "retire", "death", "reinstate"] = Field(
        description="transfer 调动、leave 离职、retire 退休、death 死亡、reinstate 恢复在职"
    )
    on: dt.date = Field(description="变动日期")
    expected_version: Version
    school_code: Annotated[s.Text, Field(max_length=32, description="调入学校代码")] | None = None
    note: Annotated[s.Text, Field(max_length=200, description="备注或文号")] | None = None


def _teacher_out(svc: Svc, actor: Actor, person_id: int) -> s.TeacherOut:
    with reader(svc.db).connect() as conn:
        found = queries.teachers(conn, actor, person_id=person_id, page_size=1)
    if not found.items:
        raise NotFound("教师档案不存在")
    return teacher_out(found.items[0])


@api_router.patch("/teachers/{person_id}", summary="修改教师档案", response_model=s.TeacherOut)
def edit_teacher(
    person_id: PersonId, body: TeacherEditIn, svc: Svc, actor: ApiActor
) -> s.TeacherOut:
    """修改一位教师的档案：须带读取时的版本号 expected_version，他人已先修改则 409。
    变更记入档案变更记录。"""
    fields = body.model_dump(exclude_unset=True, exclude={"expected_version"})
    with svc.db.begin() as conn:
        roster.edit_teacher(
            conn, actor, person_id, fields, expected_version=body.expected_version, at=svc.now(),
            source_ref="接口",
        )  # fmt: skip
    return _teacher_out(svc, actor, person_id)


@api_router.post("/teachers/{person_id}/moves", summary="人员变动", response_model=s.TeacherOut)
def move_teacher(person_id: PersonId, body: MoveIn, svc: Svc, actor: ApiActor) -> s.TeacherOut:
    """人员变动：调动到管辖范围内的另一学校、离职、退休、死亡、恢复在职。
    须带读取时的版本号 expected_version。"""
    with svc.db.begin() as conn:
        roster.move_teacher(
            conn, actor, person_id, body.kind, on=body.on, expected_version=body.expected_version,
            at=svc.now(),
            school_code=body.school_code, note=body.note,
        )  # fmt: skip
    return _teacher_out(svc, actor, person_id)


class HistoryEntryOut(BaseModel):
    seq: int
    at: dt.datetime
    actor_id: int | None
    actor_label: str
    source: str
    source_label: str
    source_ref: str | None
    case_id: int | None
    changes: dict[str, list[Any]] = Field(description="字段：[变更前, 变更后]")
    hash: str


class VerificationOut(BaseModel):
    ok: bool
    entries: int
    broken_at: int | None
    reason: str | None


class TeacherHistoryOut(BaseModel):
    person_id: int
    entries: list[HistoryEntryOut]
    verification: VerificationOut
    unproven: dict[str, list[Any]] = Field(
        description="档案现状与变更记录不一致的字段：[记录所载, 档案现值]"
    )


@api_router.get(
    "/teachers/{person_id}/history",
    summary="教师档案变更记录",
    response_model=TeacherHistoryOut,
)
def teacher_history(person_id: PersonId, svc: Svc, actor: ApiActor) -> TeacherHistoryOut:
    """一位教师的档案变更记录（谁、何时、来源文件或事项、变更前后），及其完整性校验结果。
    管辖该校的人事干部、督查员和教师本人可查看。"""
    with reader(svc.db).connect() as conn:
        found = roster.history_of(conn, actor, person_id)
    v = found.verification
    return TeacherHistoryOut(
        person_id=person_id,
        entries=[HistoryEntryOut.model_validate(e, from_attributes=True) for e in found.entries],
        verification=VerificationOut(
            ok=v.ok, entries=v.entries, broken_at=v.broken_at, reason=v.reason
        ),
        unproven={k: [told, now] for k, (told, now) in found.unproven.items()},
    )


# --- the service ledger (支教及交流经历) ---------------------------------------------------------
class ServiceCreditOut(BaseModel):
    id: int
    kind: str = Field(description="support_teaching 支教 | rotation 交流轮岗 | correction 更正")
    kind_label: str
    source_case_id: int | None = Field(description="计入依据的事项编号")
    corrects_id: int | None = Field(description="更正记录所更正的记录编号")
    school_name: str
    started_on: dt.date | None
    ended_on: dt.date | None
    months: int = Field(description="计入月数（更正为增减月数）")
    years: float
    assessment: str | None
    assessment_label: str
    reason: str | None
    recorded_at: dt.datetime
    text: str


class ServiceLedgerOut(BaseModel):
    person_id: int
    credited_years: float = Field(description="支教及交流计入年限合计")
    entries: list[ServiceCreditOut]
    unproven: list[int] = Field(description="与档案变更记录（已签封）不一致的记录编号")


class CorrectionIn(BaseModel):
    months: Annotated[int, Field(ge=-120, le=120, description="增减月数，如 -3 表示核减3个月")]
    reason: Annotated[str, Field(min_length=1, max_length=1000, description="更正理由")]


def _ledger_out(conn: Any, actor: Any, person_id: int) -> ServiceLedgerOut:
    found = service.ledger_of(conn, actor, person_id)
    return ServiceLedgerOut(
        person_id=person_id,
        credited_years=service.years_of(sum(c.months for c in found)),
        entries=[
            ServiceCreditOut(
                id=c.id, kind=c.kind, kind_label=c.kind_label, source_case_id=c.source_case_id,
                corrects_id=c.corrects_id, school_name=c.school_name, started_on=c.started_on,
                ended_on=c.ended_on, months=c.months, years=c.years, assessment=c.assessment,
                assessment_label=c.assessment_label, reason=c.reason,
                recorded_at=c.recorded_at, text=c.text(),
            )
            for c in found
        ],
        unproven=service.unproven(conn, person_id),
    )  # fmt: skip


@api_router.get(
    "/teachers/{person_id}/service-credits",
    summary="支教及交流经历记录",
    response_model=ServiceLedgerOut,
)
def teacher_service_credits(person_id: PersonId, svc: Svc, actor: ApiActor) -> ServiceLedgerOut:
    """支教期满、交流轮岗期满后计入的农村或薄弱学校任教经历，每条注明来源事项、起止日期和
    考核结果；职称评审按档案登记年限加上这里的合计判断。管辖该校的人事干部、督查员和教师
    本人可查看。"""
    with reader(svc.db).connect() as conn:
        return _ledger_out(conn, actor, person_id)


CreditId = Annotated[int, PathParam(ge=1, le=2**53, description="记录编号")]


@api_router.post(
    "/teachers/{person_id}/service-credits/{credit_id}/corrections",
    summary="更正支教及交流经历记录",
    response_model=ServiceLedgerOut,
    status_code=201,
)
def correct_service_credit(
    person_id: PersonId, credit_id: CreditId, body: CorrectionIn, svc: Svc, actor: ApiActor
) -> ServiceLedgerOut:
    """记录不能修改或删除；发现有误时由县级及以上人事部门增加一条更正记录（增减月数和
    理由），原记录保留。"""
    with svc.db.begin() as conn:
        if service.teacher_of(conn, credit_id) != person_id:
            raise NotFound(f"支教及交流经历记录 {credit_id} 不存在")
        service.correct_as(
            conn, actor, credit_id, months=body.months, reason=body.reason, at=svc.now()
        )
        return _ledger_out(conn, actor, person_id)


# --- pages ----------------------------------------------------------------------------------
def _manager(request: Request, who: Who) -> Response | None:
    if is_manager(who.actor):
        return None
    return webkit.not_found(request, who, "教师名册不存在")


def _roster_page(
    request: Request,
    who: Who,
    *,
    report: roster.RosterReport | None = None,
    problem: Problem | None = None,
    status: int = 200,
) -> Response:
    params = request.query_params
    q = params.get("q", "")[:32]
    school = params.get("school", "")[:64]
    state = params.get("status", "")
    state = state if state in roster.STATUSES else ""
    page = webkit.parse_id(params.get("page")) or 1
    with reader(who.svc.db).connect() as conn:
        found = roster.search(
            conn, who.actor, q=q, school=school, status=state, page=page, page_size=PAGE_SIZE
        )
    today = who.svc.today()
    items = [
        {
            "id": r.person_id,
            "name": r.name,
            "id_number": mask_id_number(r.id_number) if r.id_number else "—",
            "school": r.school_name,
            "school_code": r.school_code,
            "subject": r.subject,
            "title": TITLE_LABELS.get(r.title, r.title),
            "service": _years(r.started_teaching_on, today),
            "status": roster.STATUSES.get(r.status, r.status),
            "active": r.status == roster.ACTIVE,
        }
        for r in found.items
    ]
    query = urlencode({k: v for k, v in (("q", q), ("school", school), ("status", state)) if v})
    return webkit.render(
        request,
        "registry/roster.html",
        who,
        {
            "nav": "/admin/roster",
            "items": items,
            "total": found.total,
            "page": page,
            "pages": max(1, math.ceil(found.total / PAGE_SIZE)),
            "query": query,
            "filters": {"q": q, "school": school, "status": state},
            "statuses": list(roster.STATUSES.items()),
            "report": report,
            "file_error": problem.message if problem and problem.field == "file" else None,
            "problem": problem,
        },
        status=status,
    )


@page_router.get("/admin/roster")
def roster_page(request: Request, who: SignedIn) -> Response:
    refused = _manager(request, who)
    return refused or _roster_page(request, who)


@page_router.post("/admin/roster/import")
def roster_import(request: Request, form: Posted) -> Response:
    who = webkit.guard(request, form, "/admin/roster")
    refused = _manager(request, who)
    if refused is not None:
        return refused
    upload = form.get("file")
    try:
        if not isinstance(upload, StarletteUpload) or not upload.filename:
            raise FormError("file", "请选择要导入的 .xlsx 或 .csv 文件")
        report = run_import(
            who.svc.db,
            who.actor,
            upload.file,
            upload.filename,
            at=who.svc.now(),
            valid_only=webkit.text(form, "valid_only") == "1",
        )
    except RenshiError as exc:
        said = webkit.said(exc)
        return _roster_page(
            request, who, problem=Problem("import", said, "file"), status=exc.status
        )
    if report.error_count:
        return _roster_page(request, who, report=report, status=422 if report.refused else 200)
    return webkit.redirect(
        "/admin/roster",
        f"教师名册已导入：新增{report.created}人，更新{report.updated}人，"
        f"无变化{report.unchanged}人",
        secure_cookie=who.svc.secure_cookies,
    )


@page_router.get("/admin/roster/template")
def roster_template_page(request: Request, who: SignedIn) -> Response:
    refused = _manager(request, who)
    return refused or webkit.secure(_download(template_xlsx(ROSTER), "教师名册导入模板"))


@page_router.get("/admin/roster/export")
def roster_export_page(request: Request, who: SignedIn) -> Response:
    refused = _manager(request, who)
    if refused is not None:
        return refused
    params = request.query_params
    state = params.get("status", "")
    data = export_xlsx(
        who.svc.db,
        who.actor,
        q=params.get("q", "")[:32],
        school=params.get("school", "")[:64],
        status=state if state in roster.STATUSES else "",
    )
    return webkit.secure(_download(data, "教师名册"))


EDIT_CHOICES: Final[dict[str, list[tuple[str, str]]]] = {
    "subject": [(x, x) for x in SUBJECTS],
    "school_level": list(SCHOOL_LEVELS.items()),
    "title": list(TITLE_LABELS.items()),
    "education": list(EDUCATION_LABELS.items()),
    "backbone_level": [("", "无"), *BACKBONE_LEVELS.items()],
    "cert_level": [("", "无"), *SCHOOL_LEVELS.items()],
}
DATES: Final = ("title_date", "started_teaching_on", "joined_school_on", "cert_registered_on")


def _form_value(name: str, record: roster.TeacherRecord) -> str:
    if name == "name":
        return record.name
    if name == "phone":
        return record.phone or ""
    if name == "ethics":
        return "\n".join(f"{d.isoformat()} {what}" for d, what in record.ethics)
    value = record.fields.get(name)
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _teacher_page(
    request: Request,
    who: Who,
    person_id: int,
    *,
    problem: Problem | None = None,
    status: int = 200,
) -> Response:
    with reader(who.svc.db).connect() as conn:
        try:
            record = roster.record_of(conn, who.actor, person_id)
        except NotFound:
            return webkit.not_found(request, who, "教师档案不存在")
        found = roster.history_of(conn, who.actor, person_id)
        credits = service.entries(conn, person_id)
        ids = {
            int(v)
            for e in found.entries
            for k, pair in e.changes.items()
            if k == "school_id"
            for v in pair
            if v is not None
        }
        schools: dict[int, str] = {
            r.id: r.name
            for r in conn.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.id.in_(ids)))
        }
    today = who.svc.today()
    edit = problem if problem is not None and problem.where == "edit" else None
    move = problem if problem is not None and problem.where == "move" else None
    fields = []
    for name in roster.EDITABLE:
        value = edit.values.get(name, "") if edit else _form_value(name, record)
        fields.append(
            {
                "name": name,
                "label": roster.FIELD_LABELS[name],
                "value": value,
                "choices": EDIT_CHOICES.get(name),
                "date": name in DATES,
                "error": edit.message if edit and edit.field == name else None,
                "required": any(c.name == name and c.required for c in COLUMNS),
            }
        )

    def show(key: str, value: Any) -> Any:
        if key == "school_id" and value is not None:
            return schools.get(int(value), value)
        if key == "id_number" and isinstance(value, str):
            return mask_id_number(value)
        if key == "phone" and isinstance(value, str):
            return mask_phone(value)
        return _value(key, value)

    entries = [
        {
            "seq": e.seq,
            "at": webkit.local(e.at),
            "who": e.actor_label,
            "source": e.source_label,
            "ref": e.source_ref,
            "case_id": e.case_id,
            "changes": [
                (roster.FIELD_LABELS.get(k, k), show(k, before), show(k, after))
                for k, (before, after) in roster.in_order(e.changes)
            ],
        }
        for e in reversed(found.entries)
    ]
    f = record.fields
    facts = [
        ("身份证号", mask_id_number(record.id_number) if record.id_number else "—"),
        ("性别", _value("gender", f["gender"])),
        ("出生日期", _value("birth_date", f["birth_date"])),
        ("学校", f"{record.school_name}（{record.school_code}）"),
        ("教龄（年）", _years(f["started_teaching_on"], today)),
        ("在本校任教（年）", _years(f["joined_school_on"], today)),
        ("农村或薄弱学校任教（年）", _value("rural_years", f["rural_years"])),
        ("支教及交流计入", "；".join(c.text() for c in credits) or "无"),
        (
            "人员状态",
            record.status_label
            + (f"（{record.status_since.isoformat()}起）" if record.status_since else ""),
        ),
        ("档案版本", record.version),
    ]
    return webkit.render(
        request,
        "registry/roster_teacher.html",
        who,
        {
            "nav": "/admin/roster",
            "record": record,
            "facts": facts,
            "fields": fields,
            "edit_error": edit.message if edit and edit.field not in roster.EDITABLE else None,
            "moves": [(k, label) for k, (label, _) in roster.MOVES.items()],
            "move_error": move.message if move else None,
            "move_values": {
                **dict.fromkeys(("kind", "on", "school_code", "note"), ""),
                **(move.values if move else {}),
            },
            "today": today.isoformat(),
            "entries": entries,
            "verification": found.verification,
            "unproven": [
                (roster.FIELD_LABELS.get(k, k), show(k, a), show(k, b))
                for k, (a, b) in found.unproven.items()
            ],
            "sources": SOURCES,
            "problem": problem,
        },
        status=status,
    )


@page_router.get("/admin/roster/{person_id}")
def teacher_page(request: Request, person_id: str, who: SignedIn) -> Response:
    pid = webkit.parse_id(person_id)
    if pid is None:
        return webkit.not_found(request, who, "教师档案不存在")
    return _teacher_page(request, who, pid)


def _posted_version(form: Any) -> int:
    raw = webkit.text(form, "expected_version")
    if not raw.isdigit() or len(raw) > 9:
        raise FormError("expected_version", "页面已过期，请刷新后重试")
    return int(raw)


@page_router.post("/admin/roster/{person_id}/edit")
def teacher_edit(request: Request, person_id: str, form: Posted) -> Response:
    pid = webkit.parse_id(person_id)
    who = webkit.guard(request, form, f"/admin/roster/{person_id}")
    if pid is None:
        return webkit.not_found(request, who, "教师档案不存在")
    values = {name: webkit.text(form, name) for name in roster.EDITABLE}
    try:
        with who.svc.db.begin() as conn:
            roster.edit_teacher(
                conn, who.actor, pid, values, expected_version=_posted_version(form),
                at=who.svc.now(), source_ref="页面",
            )  # fmt: skip
    except NotFound:
        return webkit.not_found(request, who, "教师档案不存在")
    except RenshiError as exc:
        said = webkit.said(exc)
        problem = Problem("edit", said, exc.field, values)
        return _teacher_page(request, who, pid, problem=problem, status=exc.status)
    return webkit.redirect(
        f"/admin/roster/{pid}", "档案已保存", secure_cookie=who.svc.secure_cookies
    )


@page_router.post("/admin/roster/{person_id}/move")
def teacher_move(request: Request, person_id: str, form: Posted) -> Response:
    pid = webkit.parse_id(person_id)
    who = webkit.guard(request, form, f"/admin/roster/{person_id}")
    if pid is None:
        return webkit.not_found(request, who, "教师档案不存在")
    values = {k: webkit.text(form, k) for k in ("kind", "on", "school_code", "note")}
    try:
        try:
            on = dt.date.fromisoformat(values["on"].strip())
        except ValueError:
            raise FormError("on", "请填写变动日期（如 2026-09-01）") from None
        with who.svc.db.begin() as conn:
            record = roster.move_teacher(
                conn, who.actor, pid, values["kind"], on=on, expected_version=_posted_version(form),
                at=who.svc.now(), school_code=values["school_code"] or None,
                note=values["note"].strip() or None,
            )  # fmt: skip
    except NotFound:
        return webkit.not_found(request, who, "教师档案不存在")
    except RenshiError as exc:
        said = webkit.said(exc)
        problem = Problem("move", said, exc.field, values)
        return _teacher_page(request, who, pid, problem=problem, status=exc.status)
    label = roster.MOVES[values["kind"]][0]
    return webkit.redirect(
        f"/admin/roster/{pid}",
        f"已办理{label}：{record.name}，现为{record.status_label}，{record.school_name}",
        secure_cookie=who.svc.secure_cookies,
    )


# --- the command line -----------------------------------------------------------------------
def _fail(message: str) -> NoReturn:
    click.echo(f"错误：{message}", err=True)
    sys.exit(1)


def _cli_actor(db: Engine, who: str | None) -> Actor:
    """``--as``: an officer's username, or none: the whole province, for the operator who
    loads the first roster before any account exists."""
    with reader(db).connect() as conn:
        if who:
            return load_actor(conn, username=who)
        root = conn.execute(
            select(OrgUnit.id, OrgUnit.path).where(OrgUnit.parent_id.is_(None)).order_by(OrgUnit.id)
        ).first()
    if root is None:
        _fail("还没有机构：请先建立省、市、县、学校")
    return Actor(None, "系统管理员（命令行）", (Binding(PROVINCE_OFFICER, root.id, root.path),))


def _clock(ctx: click.Context) -> dt.datetime:
    clock = (ctx.find_root().obj or {}).get("clock") or SystemClock()
    now: dt.datetime = clock.now()
    return now


@click.group("roster")
def cli() -> None:
    """教师名册：导入、查看档案变更记录、下载模板。"""


@cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--valid-only", is_flag=True, help="有错误的行跳过，只导入无误的行")
@click.option("--as", "who", default=None, help="人事干部用户名（默认：全省）")
@click.pass_context
def cli_import(ctx: click.Context, file: Path, valid_only: bool, who: str | None) -> None:
    """导入教师名册（.xlsx 或 .csv），按身份证号新增或更新。"""
    db = make_engine()
    try:
        report = run_import(
            db, _cli_actor(db, who), file, file.name, at=_clock(ctx), valid_only=valid_only
        )
    except RenshiError as exc:
        _fail(exc.message)
    for e in report.errors:
        click.echo(str(e), err=True)
    if report.error_count > len(report.errors):
        click.echo(f"另有{report.error_count - len(report.errors)}处错误未列出", err=True)
    if report.refused:
        _fail(
            f"文件中有{report.error_count}处错误，未导入任何数据"
            "（可加 --valid-only 只导入无误的行）"
        )
    click.echo(
        f"已导入 {file.name}：新增{report.created}人，更新{report.updated}人，"
        f"无变化{report.unchanged}人"
        + (f"，{report.error_count}处错误的行未导入" if report.error_count else "")
    )


@cli.command("history")
@click.argument("id_number")
@click.option("--as", "who", default=None, help="人事干部或督查员用户名（默认：全省）")
def cli_history(id_number: str, who: str | None) -> None:
    """一位教师（按身份证号）的档案变更记录及其完整性校验。"""
    db = make_engine()
    actor = _cli_actor(db, who)
    with reader(db).connect() as conn:
        pid = conn.execute(
            select(Person.id).where(Person.id_number == id_number.strip().upper())
        ).scalar()
        try:
            if pid is None:
                raise NotFound("教师档案不存在")
            found = roster.history_of(conn, actor, pid)
        except RenshiError as exc:
            _fail(exc.message)
    for e in found.entries:
        where = f"（事项{e.case_id}）" if e.case_id else ""
        click.echo(
            f"#{e.seq} {e.at.astimezone(BUREAU_TZ):%Y-%m-%d %H:%M} {e.actor_label} "
            f"{e.source_label}{'：' + e.source_ref if e.source_ref else ''}{where}"
        )
        for key, (before, after) in roster.in_order(e.changes):
            label = roster.FIELD_LABELS.get(key, key)
            click.echo(f"    {label}：{_value(key, before)} → {_value(key, after)}")
    v = found.verification
    if not v.ok:
        _fail(f"变更记录校验未通过：第{v.broken_at}条，{v.reason}")
    click.echo(f"共{v.entries}条变更记录，校验通过")


def _person_by_id_number(conn: Any, id_number: str) -> int:
    pid = conn.execute(
        select(Person.id).where(Person.id_number == id_number.strip().upper())
    ).scalar()
    if pid is None:
        raise NotFound("教师档案不存在")
    return int(pid)


@cli.command("service")
@click.argument("id_number")
@click.option("--as", "who", default=None, help="人事干部或督查员用户名（默认：全省）")
def cli_service(id_number: str, who: str | None) -> None:
    """一位教师（按身份证号）的支教及交流经历记录。"""
    db = make_engine()
    actor = _cli_actor(db, who)
    with reader(db).connect() as conn:
        try:
            found = service.ledger_of(conn, actor, _person_by_id_number(conn, id_number))
        except RenshiError as exc:
            _fail(exc.message)
    for c in found:
        click.echo(f"#{c.id} {c.text()}")
    click.echo(f"共{len(found)}条，计入{service.years_of(sum(c.months for c in found)):g}年")


@cli.command("correct-service")
@click.argument("credit_id", type=click.IntRange(1))
@click.option("--months", type=int, required=True, help="增减月数，如 -3 表示核减3个月")
@click.option("--reason", required=True, help="更正理由")
@click.option("--as", "who", default=None, help="县级及以上人事干部用户名（默认：全省）")
@click.pass_context
def cli_correct_service(
    ctx: click.Context, credit_id: int, months: int, reason: str, who: str | None
) -> None:
    """更正一条支教及交流经历记录：原记录保留，增加一条注明理由的更正记录。"""
    clock = (ctx.find_root().obj or {}).get("clock") or SystemClock()
    db = make_engine()
    actor = _cli_actor(db, who)
    try:
        with db.begin() as conn:
            new_id = service.correct_as(
                conn, actor, credit_id, months=months, reason=reason, at=clock.now()
            )
    except RenshiError as exc:
        _fail(exc.message)
    click.echo(f"已增加更正记录 #{new_id}")


@cli.command("template")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def cli_template(out: Path) -> None:
    """写出教师名册导入模板（.xlsx）。"""
    out.write_bytes(template_xlsx(ROSTER))
    click.echo(f"已写出模板：{out}")
