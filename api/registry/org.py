"""Registry adapter: 机构、岗位职数、评委库与工作日历 — the JSON API, the pages and the
``renshi org`` commands over ``states.registry`` (org_tree, quotas, experts) and the calendar
store.

Each operation is one transaction; a refusal (bad input 422 naming the field, outside the
officer's subtree 404, a stale version 409) writes nothing. The pages, the API and the
command line call the same functions, so they cannot disagree on who may change what or on
what an import found wrong.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path as FilePath
from typing import IO, Annotated, Any, Final
from urllib.parse import quote, urlencode

import click
from fastapi import APIRouter, Depends, File, Path, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import Connection, select
from starlette.datastructures import FormData
from starlette.datastructures import UploadFile as StarletteUpload

from api import schemas as s
from api import webkit
from api.deps import ApiActor, Services, Svc
from api.errors import ERRORS
from api.webkit import Posted, Problem, SignedIn, Who
from states import commands
from states.calendar import builtin_calendar, parse_schedule
from states.errors import FormError, NotFound, RenshiError
from states.org import PROVINCE_OFFICER, SUBJECTS, TIER_LABELS, TITLE_LABELS, Actor, path_ids
from states.process.package import Catalogue
from states.registry import experts as ex
from states.registry import history
from states.registry import org_tree as ot
from states.registry import quotas as qu
from states.registry.imports import ImportReport
from states.registry.scope import is_manager, managed_paths, manages
from states.sheets import Schema, Table
from states.store.calendar_store import calendar_from_db, load_schedule
from states.store.db import make_engine, reader
from states.store.models import CalendarYear, OrgUnit

api_router = APIRouter(prefix="/api/v1", responses=ERRORS)
page_router = APIRouter(include_in_schema=False)
LINKS: tuple[tuple[str, str], ...] = (
    ("/admin/org", "机构"),
    ("/admin/quotas", "岗位职数"),
    ("/admin/experts", "评委库"),
    ("/admin/calendar", "工作日历"),
)

MAX_UPLOAD: Final = 32 * 1024 * 1024
MAX_REPORTED: Final = 1000
MAX_SCHEDULE: Final = 256 * 1024
XLSX: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TEMPLATES: Final = {
    "org": ("机构导入模板", ot.org_template),
    "quotas": ("岗位职数导入模板", qu.quotas_template),
    "experts": ("评委库导入模板", ex.experts_template),
}


# --- shared -----------------------------------------------------------------------------------
def read_upload(data: bytes, filename: str, schema: Schema) -> Table:
    """An uploaded registry sheet as a table, within the registry's size limit."""
    return webkit.read_upload(data, filename, schema, MAX_UPLOAD)


def ended(svc: Services) -> dict[str, frozenset[str]]:
    return qu.ended_states(svc.engine.processes)


def needed(conn: Connection, catalogue: Catalogue, actor: Actor) -> int:
    """The committee a pool must seat, with the actor's province's settings."""
    roots = [path_ids(p)[0] for p in managed_paths(actor) if path_ids(p)]
    settings = None
    if roots:
        settings = conn.execute(
            select(OrgUnit.settings).where(OrgUnit.id == roots[0])
        ).scalar_one_or_none()
    return ex.committee_size(catalogue, settings)


def _year(svc: Services, year: int | None) -> int:
    return year if year is not None else svc.today().year


class ReportLine(BaseModel):
    row: int
    column: str
    value: str
    reason: str


class ImportOut(BaseModel):
    written: bool
    refused: bool
    created: int
    updated: int
    unchanged: int
    error_count: int
    errors: list[ReportLine]
    ignored_columns: list[str]
    summary: str


def import_out(report: ImportReport) -> JSONResponse:
    out = ImportOut(
        written=report.written,
        refused=report.refused,
        created=report.created if report.written else 0,
        updated=report.updated if report.written else 0,
        unchanged=report.unchanged,
        error_count=report.error_count,
        errors=[
            ReportLine(row=e.row, column=e.column, value=e.value, reason=e.reason)
            for e in report.errors[:MAX_REPORTED]
        ],
        ignored_columns=report.ignored_columns,
        summary=report.summary(),
    )
    return JSONResponse(out.model_dump(), status_code=422 if report.refused else 200)


# --- JSON API: the org tree -------------------------------------------------------------------
UnitId = Annotated[int, Path(ge=1, le=2**53, description="单位编号")]
PersonId = Annotated[int, Path(ge=1, le=2**53, description="人员编号")]
Code = Annotated[s.Text, Field(min_length=1, max_length=32)]
Note = Annotated[s.Text, Field(max_length=200)]
Year = Annotated[int, Field(ge=2000, le=2100)]
Version = Annotated[int, Field(ge=0, le=2**31)]
Subject = Annotated[s.Text, Field(min_length=1, max_length=32)]


class UnitOut(BaseModel):
    id: int
    code: str
    name: str
    tier: str
    tier_label: str
    parent_id: int | None
    parent_code: str | None
    is_rural: bool
    is_weak: bool
    self_review_pilot: bool
    city_direct: bool
    closed_on: dt.date | None
    merged_into_id: int | None
    version: int
    children: int | None = None


class UnitList(BaseModel):
    items: list[UnitOut]
    total: int
    page: int


class UnitIn(s.In):
    code: Code
    name: Annotated[s.Text, Field(min_length=1, max_length=128)]
    tier: Annotated[s.Text, Field(min_length=1, max_length=16)]
    parent_code: Code | None = None
    is_rural: bool = False
    is_weak: bool = False
    self_review_pilot: bool = False


class UnitPatch(s.In):
    expected_version: Annotated[int, Field(ge=1, le=2**31)]
    name: Annotated[s.Text, Field(min_length=1, max_length=128)] | None = None
    is_rural: bool | None = None
    is_weak: bool | None = None
    self_review_pilot: bool | None = None


class MergeIn(s.In):
    expected_version: Annotated[int, Field(ge=1, le=2**31)]
    into_code: Code
    on: dt.date | None = None


class CloseIn(s.In):
    expected_version: Annotated[int, Field(ge=1, le=2**31)]
    on: dt.date | None = None


class MergeOut(BaseModel):
    unit: UnitOut
    into: UnitOut
    teachers_moved: int


class HistoryOut(BaseModel):
    seq: int
    at: dt.datetime
    actor_label: str
    source: str
    source_label: str
    source_ref: str | None
    case_id: int | None
    changes: dict[str, list[Any]]


class HandoverCase(BaseModel):
    id: int
    process: str
    process_label: str
    state: str
    state_label: str
    year: int
    applicant_id: int | None
    opened_at: dt.datetime


class HandoverTask(BaseModel):
    id: int
    case_id: int
    state_label: str
    role: str | None
    assignee_id: int | None
    due_on: dt.date | None


class HandoverOut(BaseModel):
    cases: list[HandoverCase]
    tasks: list[HandoverTask]
    case_total: int
    task_total: int


def unit_out(u: ot.UnitRow, children: int | None = None) -> UnitOut:
    return UnitOut(
        id=u.id, code=u.code, name=u.name, tier=u.tier, tier_label=u.tier_label,
        parent_id=u.parent_id, parent_code=u.parent_code, is_rural=u.is_rural,
        is_weak=u.is_weak, self_review_pilot=u.self_review_pilot, city_direct=u.city_direct,
        closed_on=u.closed_on, merged_into_id=u.merged_into_id, version=u.version,
        children=children,
    )  # fmt: skip


def _state_label(catalogue: Catalogue, process: str, state: str) -> str:
    spec = catalogue.get(process)
    try:
        return spec.state_label(state) if spec is not None else state
    except AttributeError:
        return state


def handover_out(catalogue: Catalogue, h: ot.Handover) -> HandoverOut:
    return HandoverOut(
        cases=[
            HandoverCase(
                id=c.id, process=c.process,
                process_label=catalogue[c.process].label if c.process in catalogue else c.process,
                state=c.state, state_label=_state_label(catalogue, c.process, c.state),
                year=c.year, applicant_id=c.applicant_id, opened_at=c.opened_at,
            )
            for c in h.cases
        ],
        tasks=[
            HandoverTask(
                id=t.id, case_id=t.case_id, state_label=_state_label(catalogue, t.process, t.state),
                role=t.role, assignee_id=t.assignee_id, due_on=t.due_on,
            )
            for t in h.tasks
        ],
        case_total=h.case_total,
        task_total=h.task_total,
    )  # fmt: skip


@api_router.get("/org-units", summary="单位列表", response_model=UnitList, tags=["机构"])
def list_units(
    svc: Svc,
    actor: ApiActor,
    q: Annotated[s.Text | None, Query(max_length=64, description="单位代码开头或名称包含")] = None,
    parent_id: Annotated[int | None, Query(ge=1, le=2**53, description="上级单位编号")] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> UnitList:
    """管辖范围内的单位：按代码或名称查找，或列出某单位的下属单位；都不填时列出本人管理的
    最上层单位。"""
    with reader(svc.db).connect() as conn:
        if q:
            found = ot.search(conn, actor, q)
            total = len(found)
        elif parent_id is not None:
            found, total = ot.children(conn, actor, parent_id, page=page)
        else:
            found = ot.roots(conn, actor)
            total = len(found)
        counts = ot.child_counts(conn, [u.id for u in found])
    return UnitList(items=[unit_out(u, counts.get(u.id, 0)) for u in found], total=total, page=page)


@api_router.post(
    "/org-units",
    summary="新建单位",
    response_model=UnitOut,
    status_code=201,
    tags=["机构"],
)
def create_unit(body: UnitIn, svc: Svc, actor: ApiActor) -> UnitOut:
    """在管辖范围内新建一个单位（上级单位代码必填，省级除外）。代码全省唯一。"""
    with svc.db.begin() as conn:
        unit = ot.create_unit(
            conn, actor, at=svc.now(), code=body.code, name=body.name, tier=body.tier,
            parent_code=body.parent_code, is_rural=body.is_rural, is_weak=body.is_weak,
            self_review_pilot=body.self_review_pilot,
        )  # fmt: skip
    return unit_out(unit, 0)


@api_router.get("/org-units/{unit_id}", summary="一个单位", response_model=UnitOut, tags=["机构"])
def get_unit(unit_id: UnitId, svc: Svc, actor: ApiActor) -> UnitOut:
    """一个单位（管辖范围外视为不存在）。version 用于修改时的并发校验。"""
    with reader(svc.db).connect() as conn:
        unit = ot.get_unit(conn, actor, unit_id)
        count = ot.child_counts(conn, [unit.id]).get(unit.id, 0)
    return unit_out(unit, count)


@api_router.patch("/org-units/{unit_id}", summary="修改单位", response_model=UnitOut, tags=["机构"])
def edit_unit(unit_id: UnitId, body: UnitPatch, svc: Svc, actor: ApiActor) -> UnitOut:
    """更名（代码不变）或修改农村学校、薄弱学校、自主评审试点标识。expected_version 须为读取时的
    版本，他人已修改则返回 409。"""
    with svc.db.begin() as conn:
        unit = ot.edit_unit(
            conn, actor, unit_id, expected_version=body.expected_version, at=svc.now(),
            name=body.name, is_rural=body.is_rural, is_weak=body.is_weak,
            self_review_pilot=body.self_review_pilot,
        )  # fmt: skip
    return unit_out(unit)


@api_router.post(
    "/org-units/{unit_id}/merge",
    summary="合并单位",
    response_model=MergeOut,
    tags=["机构"],
)
def merge_unit(unit_id: UnitId, body: MergeIn, svc: Svc, actor: ApiActor) -> MergeOut:
    """将本单位合并到同层级的另一单位：教师随之调入，本单位撤销。须由上级单位办理。"""
    with svc.db.begin() as conn:
        done = ot.merge_unit(
            conn, actor, unit_id, into_code=body.into_code,
            expected_version=body.expected_version, at=svc.now(), on=body.on,
        )  # fmt: skip
    return MergeOut(
        unit=unit_out(done.unit), into=unit_out(done.into), teachers_moved=done.teachers_moved
    )


@api_router.post(
    "/org-units/{unit_id}/close",
    summary="撤销单位",
    response_model=UnitOut,
    tags=["机构"],
)
def close_unit(unit_id: UnitId, body: CloseIn, svc: Svc, actor: ApiActor) -> UnitOut:
    """撤销单位（须已无教师和未撤销的下属单位）。撤销后不能再发起新的事项，未办结的事项与待办
    见 handover。"""
    with svc.db.begin() as conn:
        unit = ot.close_unit(
            conn, actor, unit_id, expected_version=body.expected_version, at=svc.now(),
            on=body.on,
        )  # fmt: skip
    return unit_out(unit)


@api_router.get(
    "/org-units/{unit_id}/history",
    summary="单位变更记录",
    response_model=list[HistoryOut],
    tags=["机构"],
)
def unit_history(unit_id: UnitId, svc: Svc, actor: ApiActor) -> list[HistoryOut]:
    """单位的变更记录（新建、更名、标识、合并、撤销、岗位职数），逐条封印。"""
    with reader(svc.db).connect() as conn:
        trail = ot.unit_history(conn, actor, unit_id)
    return [
        HistoryOut(
            seq=e.seq, at=e.at, actor_label=e.actor_label, source=e.source,
            source_label=e.source_label, source_ref=e.source_ref, case_id=e.case_id,
            changes=e.changes,
        )
        for e in trail
    ]  # fmt: skip


@api_router.get(
    "/org-units/{unit_id}/handover",
    summary="单位待移交事项",
    response_model=HandoverOut,
    tags=["机构"],
)
def unit_handover(unit_id: UnitId, svc: Svc, actor: ApiActor) -> HandoverOut:
    """单位未办结的事项和其人员名下的待办，供撤销、合并时移交。"""
    with reader(svc.db).connect() as conn:
        found = ot.handover(conn, actor, unit_id)
    return handover_out(svc.engine.processes, found)


@api_router.post("/org-units/import", summary="导入机构", response_model=ImportOut, tags=["机构"])
def import_units(
    svc: Svc,
    actor: ApiActor,
    file: Annotated[UploadFile, File(description="机构表（.xlsx 或 .csv）")],
    valid_only: bool = False,
) -> JSONResponse:
    """导入机构（单位代码、单位名称、层级、上级单位代码、农村学校、薄弱学校、自主评审试点）：
    按代码新建或更新。有错误时逐行列出原因，默认不导入任何数据（422）；valid_only=true 时只导入
    无误的行。"""
    data = file.file.read(MAX_UPLOAD + 1)
    table = read_upload(data, file.filename or "", ot.ORG)
    with svc.db.begin() as conn:
        report = ot.import_org(
            conn, table, actor=actor, at=svc.now(),
            source_ref=history.file_ref(file.filename or "", data), valid_only=valid_only,
        )  # fmt: skip
    return import_out(report)


# --- JSON API: quotas --------------------------------------------------------------------------
class QuotaOut(BaseModel):
    unit_id: int
    code: str
    name: str
    year: int
    title: str
    title_label: str
    posts: int
    used: int
    exempt: int
    free: int
    version: int


class QuotaList(BaseModel):
    items: list[QuotaOut]
    schools: int
    page: int


class QuotaIn(s.In):
    unit_id: Annotated[int, Field(ge=1, le=2**53)]
    year: Year
    title: Annotated[s.Text, Field(min_length=1, max_length=16)]
    posts: Annotated[int, Field(ge=0, le=qu.MAX_POSTS)]
    expected_version: Version


def quota_out(line: qu.QuotaLine) -> QuotaOut:
    return QuotaOut(
        unit_id=line.unit_id, code=line.code, name=line.name, year=line.year,
        title=line.title, title_label=line.title_label, posts=line.posts, used=line.used,
        exempt=line.exempt, free=line.free, version=line.version,
    )  # fmt: skip


@api_router.get(
    "/quotas",
    summary="岗位职数列表",
    response_model=QuotaList,
    tags=["岗位指标与评委库"],
)
def list_quotas(
    svc: Svc,
    actor: ApiActor,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    unit_id: Annotated[int | None, Query(ge=1, le=2**53, description="只看此单位之下")] = None,
    q: Annotated[s.Text | None, Query(max_length=64)] = None,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
) -> QuotaList:
    """管辖范围内各校各级职称的岗位数、已占用、空余，以及乡村学校任教满30年不占职数的人数
    （另计，不计入已占用）。"""
    when = _year(svc, year)
    with reader(svc.db).connect() as conn:
        schools, total = qu.schools_in_scope(conn, actor, under=unit_id, q=q or "", page=page)
        lines = qu.lines_for(conn, schools, when, ended(svc))
    return QuotaList(items=[quota_out(x) for x in lines], schools=total, page=page)


@api_router.put(
    "/quotas",
    summary="设置岗位职数",
    response_model=QuotaOut,
    tags=["岗位指标与评委库"],
)
def set_quota(body: QuotaIn, svc: Svc, actor: ApiActor) -> QuotaOut:
    """设置一所学校某年度某级职称的岗位数。expected_version 为读取时的版本（尚未设置为 0），
    他人已修改则返回 409；岗位数不能少于已占用的数量。"""
    with svc.db.begin() as conn:
        line = qu.set_quota(
            conn, actor, unit_id=body.unit_id, year=body.year, title=body.title,
            posts=body.posts, expected_version=body.expected_version, at=svc.now(),
            ended=ended(svc),
        )  # fmt: skip
    return quota_out(line)


@api_router.post(
    "/quotas/import",
    summary="导入岗位职数",
    response_model=ImportOut,
    tags=["岗位指标与评委库"],
)
def import_quotas(
    svc: Svc,
    actor: ApiActor,
    file: Annotated[UploadFile, File(description="岗位职数表（学校代码、年度、职称、岗位数）")],
    valid_only: bool = False,
) -> JSONResponse:
    """导入岗位职数（学校代码、年度、职称、岗位数）：按学校、年度和职称新建或更新。有错误时逐行
    列出原因，默认不导入任何数据（422）；valid_only=true 时只导入无误的行。"""
    data = file.file.read(MAX_UPLOAD + 1)
    table = read_upload(data, file.filename or "", qu.QUOTAS)
    with svc.db.begin() as conn:
        report = qu.import_quotas(
            conn, table, actor=actor, at=svc.now(),
            source_ref=history.file_ref(file.filename or "", data), valid_only=valid_only,
            ended=ended(svc),
        )  # fmt: skip
    return import_out(report)


# --- JSON API: expert pools --------------------------------------------------------------------
class PoolOut(BaseModel):
    unit_id: int
    unit_code: str
    unit_name: str
    tier_label: str
    subject: str
    members: int
    available: int
    needed: int
    status: str
    status_label: str


class ConflictOut(BaseModel):
    id: int
    what: str
    unit_id: int | None
    person_id: int | None
    note: str | None
    declared_at: dt.datetime


class MemberOut(BaseModel):
    person_id: int
    name: str
    id_number: str
    school: str | None
    title: str | None
    available: bool
    note: str | None
    version: int
    conflicts: list[ConflictOut]


class MemberIn(s.In):
    subject: Subject
    id_number: Annotated[s.Text, Field(min_length=1, max_length=20)]


class AvailabilityIn(s.In):
    year: Year
    available: bool
    note: Note | None = None
    expected_version: Version


class ConflictIn(s.In):
    unit_code: Code | None = None
    id_number: Annotated[s.Text, Field(max_length=20)] | None = None
    note: Note | None = None


def pool_out(p: ex.PoolLine) -> PoolOut:
    return PoolOut(
        unit_id=p.unit.id, unit_code=p.unit.code, unit_name=p.unit.name,
        tier_label=p.unit.tier_label, subject=p.subject, members=p.members,
        available=p.available, needed=p.needed, status=p.status, status_label=p.status_label,
    )  # fmt: skip


def conflict_out(c: ex.ConflictView) -> ConflictOut:
    return ConflictOut(
        id=c.id,
        what=c.what,
        unit_id=c.unit_id,
        person_id=c.person_id,
        note=c.note,
        declared_at=c.declared_at,
    )


def member_out(m: ex.Member) -> MemberOut:
    return MemberOut(
        person_id=m.person_id, name=m.name, id_number=m.id_number, school=m.school,
        title=m.title, available=m.available, note=m.note, version=m.version,
        conflicts=[conflict_out(c) for c in m.conflicts],
    )  # fmt: skip


@api_router.get(
    "/expert-pools",
    summary="评委库列表",
    response_model=list[PoolOut],
    tags=["岗位指标与评委库"],
)
def list_pools(
    svc: Svc,
    actor: ApiActor,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    unit_id: Annotated[int | None, Query(ge=1, le=2**53)] = None,
) -> list[PoolOut]:
    """管辖范围内各评委库（按单位和学科）：人数、本年度可参评人数，对照评审委员会所需人数
    （回避后须抽足）。"""
    when = _year(svc, year)
    with reader(svc.db).connect() as conn:
        size = needed(conn, svc.engine.processes, actor)
        found = ex.pools(conn, actor, year=when, needed=size, unit_id=unit_id)
    return [pool_out(p) for p in found]


@api_router.get(
    "/expert-pools/{unit_id}/members",
    summary="评委库的评委",
    response_model=list[MemberOut],
    tags=["岗位指标与评委库"],
)
def list_members(
    unit_id: UnitId,
    svc: Svc,
    actor: ApiActor,
    subject: Annotated[s.Text, Query(min_length=1, max_length=32)],
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> list[MemberOut]:
    """一个评委库的评委：本年度是否参评及原因、申报的回避事项。身份证号部分隐去。"""
    with reader(svc.db).connect() as conn:
        found = ex.members(conn, actor, unit_id=unit_id, subject=subject, year=_year(svc, year))
    return [member_out(m) for m in found]


@api_router.post(
    "/expert-pools/{unit_id}/members",
    summary="加入评委库",
    response_model=list[MemberOut],
    status_code=201,
    tags=["岗位指标与评委库"],
)
def add_member(unit_id: UnitId, body: MemberIn, svc: Svc, actor: ApiActor) -> list[MemberOut]:
    """按身份证号将已登记的人员加入评委库（同一单位每人只在一个学科评委库中）。"""
    with svc.db.begin() as conn:
        ex.add_member(
            conn, actor, unit_id=unit_id, subject=body.subject, id_number=body.id_number,
            at=svc.now(),
        )  # fmt: skip
        found = ex.members(
            conn, actor, unit_id=unit_id, subject=body.subject, year=svc.today().year
        )
    return [member_out(m) for m in found]


@api_router.delete(
    "/expert-pools/{unit_id}/members/{person_id}",
    summary="移出评委库",
    status_code=204,
    tags=["岗位指标与评委库"],
)
def remove_member(unit_id: UnitId, person_id: PersonId, svc: Svc, actor: ApiActor) -> Response:
    """将评委移出评委库（已抽中的事项不受影响）；其登录随之失效。"""
    with svc.db.begin() as conn:
        ex.remove_member(conn, actor, unit_id=unit_id, person_id=person_id, at=svc.now())
    return Response(status_code=204)


class AvailabilityOut(BaseModel):
    person_id: int
    year: int
    available: bool
    note: str | None
    version: int


@api_router.put(
    "/expert-pools/{unit_id}/members/{person_id}/availability",
    summary="设置评委本年度是否参评",
    response_model=AvailabilityOut,
    tags=["岗位指标与评委库"],
)
def set_availability(
    unit_id: UnitId, person_id: PersonId, body: AvailabilityIn, svc: Svc, actor: ApiActor
) -> AvailabilityOut:
    """评委某年度是否参加评审（不参加须说明原因）。expected_version 为读取时的版本（尚未设置为
    0），他人已修改则返回 409。"""
    with svc.db.begin() as conn:
        version = ex.set_availability(
            conn, actor, unit_id=unit_id, person_id=person_id, year=body.year,
            available=body.available, note=body.note, expected_version=body.expected_version,
            at=svc.now(),
        )  # fmt: skip
    return AvailabilityOut(
        person_id=person_id,
        year=body.year,
        available=body.available,
        note=(body.note or "").strip() or None,
        version=version,
    )


@api_router.get(
    "/experts/{person_id}/conflicts",
    summary="评委的回避事项",
    response_model=list[ConflictOut],
    tags=["岗位指标与评委库"],
)
def list_conflicts(person_id: PersonId, svc: Svc, actor: ApiActor) -> list[ConflictOut]:
    """评委申报的回避事项（需回避的单位或人员）。"""
    with reader(svc.db).connect() as conn:
        found = ex.conflicts_of(conn, actor, person_id)
    return [conflict_out(c) for c in found]


@api_router.post(
    "/experts/{person_id}/conflicts",
    summary="登记回避事项",
    response_model=ConflictOut,
    status_code=201,
    tags=["岗位指标与评委库"],
)
def declare_conflict(
    person_id: PersonId, body: ConflictIn, svc: Svc, actor: ApiActor
) -> ConflictOut:
    """登记评委的回避事项：需回避的单位代码（含其下属单位）或人员身份证号，二者填一项。抽取评审
    委员会时不再抽到该评委。"""
    with svc.db.begin() as conn:
        found = ex.declare_conflict(
            conn, actor, expert_id=person_id, at=svc.now(), unit_code=body.unit_code,
            id_number=body.id_number, note=body.note,
        )  # fmt: skip
    return conflict_out(found)


@api_router.delete(
    "/experts/{person_id}/conflicts/{conflict_id}",
    summary="撤销回避事项",
    status_code=204,
    tags=["岗位指标与评委库"],
)
def withdraw_conflict(
    person_id: PersonId,
    conflict_id: Annotated[int, Path(ge=1, le=2**53)],
    svc: Svc,
    actor: ApiActor,
) -> Response:
    """撤销一项回避申报。"""
    with svc.db.begin() as conn:
        ex.withdraw_conflict(
            conn, actor, expert_id=person_id, conflict_id=conflict_id, at=svc.now()
        )
    return Response(status_code=204)


@api_router.post(
    "/expert-pools/import",
    summary="导入评委库",
    response_model=ImportOut,
    tags=["岗位指标与评委库"],
)
def import_experts(
    svc: Svc,
    actor: ApiActor,
    file: Annotated[UploadFile, File(description="评委库表（身份证号、单位代码、学科、年度…）")],
    valid_only: bool = False,
) -> JSONResponse:
    """导入评委（身份证号、单位代码、学科，可选年度、本年度可用、说明）。人员须已登记。有错误时
    逐行列出原因，默认不导入任何数据（422）；valid_only=true 时只导入无误的行。"""
    data = file.file.read(MAX_UPLOAD + 1)
    table = read_upload(data, file.filename or "", ex.EXPERTS)
    with svc.db.begin() as conn:
        report = ex.import_experts(
            conn, table, actor=actor, at=svc.now(),
            source_ref=history.file_ref(file.filename or "", data), valid_only=valid_only,
        )  # fmt: skip
    return import_out(report)


# --- JSON API: the calendar --------------------------------------------------------------------
class CalendarOut(BaseModel):
    year: int
    known: bool
    loaded: bool
    source: str | None
    loaded_at: dt.datetime | None
    holidays: dict[str, str]
    workdays: dict[str, str]
    working_days: int | None


def calendar_view(conn: Connection, year: int) -> CalendarOut:
    """A year's schedule as the engine counts it: the loaded file if any, else built in."""
    cal = calendar_from_db(conn)
    row = conn.execute(
        select(CalendarYear.source, CalendarYear.loaded_at).where(CalendarYear.year == year)
    ).one_or_none()
    if not cal.is_known(year):
        return CalendarOut(
            year=year, known=False, loaded=False, source=None, loaded_at=None, holidays={},
            workdays={}, working_days=None,
        )  # fmt: skip
    sched = cal.schedule(year)
    return CalendarOut(
        year=year, known=True, loaded=row is not None,
        source=FilePath(row.source).name if row is not None else "内置（国务院办公厅通知）",
        loaded_at=row.loaded_at if row is not None else None,
        holidays={d.isoformat(): n for d, n in sched.holidays.items()},
        workdays={d.isoformat(): n for d, n in sched.workdays.items()},
        working_days=len(sched.working_ordinals()),
    )  # fmt: skip


def may_load_calendar(actor: Actor) -> bool:
    return actor.holds(PROVINCE_OFFICER)


def load_calendar(
    svc: Services, actor: Actor, data: bytes, filename: str, year: int | None
) -> CalendarOut:
    """A year's schedule from a JSON or CSV file, through the loader the command line uses;
    the engine's calendar is reloaded so that deadlines count on it at once."""
    if not may_load_calendar(actor):
        raise NotFound("页面不存在或您无权办理")
    if len(data) > MAX_SCHEDULE:
        raise FormError("file", "文件过大：节假日安排文件不应超过256KB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FormError("file", "文件不是 UTF-8 编码") from None
    try:
        schedule = parse_schedule(text, year)
    except ValueError as exc:
        raise FormError("file", str(exc)) from None
    with svc.db.begin() as conn:
        load_schedule(conn, schedule, filename or "上传文件", svc.now())
        svc.engine.reload_calendar(conn)
        return calendar_view(conn, schedule.year)


@api_router.get("/calendar", summary="节假日安排", response_model=CalendarOut, tags=["机构"])
def get_calendar(
    svc: Svc, actor: ApiActor, year: Annotated[int | None, Query(ge=1, le=9999)] = None
) -> CalendarOut:
    """一年的法定节假日与调休上班日（工作日按此计算）；尚未导入的年份 known=false。"""
    with reader(svc.db).connect() as conn:
        return calendar_view(conn, _year(svc, year))


@api_router.post("/calendar", summary="导入节假日安排", response_model=CalendarOut, tags=["机构"])
def post_calendar(
    svc: Svc,
    actor: ApiActor,
    file: Annotated[UploadFile, File(description="节假日安排（JSON 或 CSV）")],
    year: Annotated[int | None, Query(ge=1, le=9999)] = None,
) -> CalendarOut:
    """导入一年的节假日安排（省教育厅教师工作处）。同一年重复导入以新文件为准。"""
    data = file.file.read(MAX_SCHEDULE + 1)
    return load_calendar(svc, actor, data, file.filename or "", year)


# --- pages -------------------------------------------------------------------------------------
OnOrg = Annotated[Who, Depends(webkit.guarded("/admin/org"))]
OnUnit = Annotated[Who, Depends(webkit.guarded("/admin/org/{unit_id}"))]
OnQuotas = Annotated[Who, Depends(webkit.guarded("/admin/quotas"))]
OnExperts = Annotated[Who, Depends(webkit.guarded("/admin/experts"))]
OnPool = Annotated[Who, Depends(webkit.guarded("/admin/experts/{unit_id}"))]
OnCalendar = Annotated[Who, Depends(webkit.guarded("/admin/calendar"))]


def _page_no(raw: str | None) -> int:
    n = webkit.parse_id(raw) if raw else 1
    return min(n or 1, 10_000)


def _year_of(raw: str | None, svc: Services) -> int:
    if raw and raw.isascii() and raw.isdigit() and 2000 <= int(raw) <= 2100:
        return int(raw)
    return svc.today().year


def _refused(exc: RenshiError, where: str) -> Problem:
    """A refusal shown on the page: beside the field a form error names."""
    text = exc.reason if isinstance(exc, FormError) else exc.message
    return Problem(where, text, exc.field if isinstance(exc, FormError) else None)


def _upload(form: FormData) -> tuple[bytes, str]:
    upload = form.get("file")
    if not isinstance(upload, StarletteUpload) or not upload.filename:
        raise FormError("file", "请选择要导入的 .xlsx 或 .csv 文件")
    return upload.file.read(MAX_UPLOAD + 1), upload.filename


def _flag(form: FormData, name: str) -> bool:
    return webkit.text(form, name) in ("1", "true", "on")


def _int(form: FormData, name: str, label: str) -> int:
    raw = webkit.text(form, name).strip()
    if not raw.lstrip("-").isdigit() or len(raw) > 9:
        raise FormError(name, f"{label}应为整数")
    return int(raw)


def _date(form: FormData, name: str) -> dt.date | None:
    raw = webkit.text(form, name).strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise FormError(name, "日期格式应为 YYYY-MM-DD") from None


def _managers(request: Request, who: Who) -> Response | None:
    """The registry pages are for officers who manage data; anyone else finds nothing."""
    if is_manager(who.actor):
        return None
    return webkit.not_found(request, who, "页面不存在")


def _report_view(report: ImportReport | None) -> dict[str, Any] | None:
    if report is None:
        return None
    return {
        "refused": report.refused,
        "written": report.written,
        "summary": report.summary(),
        "error_count": report.error_count,
        "errors": report.errors[:MAX_REPORTED],
        "ignored_columns": report.ignored_columns,
    }


def _import_box(
    kind: str, label: str, problem: Problem | None, report: ImportReport | None
) -> dict[str, Any]:
    mine = problem if problem is not None and problem.where == f"import:{kind}" else None
    return {
        "kind": kind,
        "label": label,
        "template": f"/admin/templates/{kind}.xlsx",
        "file_error": mine.message if mine is not None else None,
        "report": _report_view(report),
    }


@page_router.get("/admin/templates/{kind}.xlsx")
def template(request: Request, kind: str, who: SignedIn) -> Response:
    if kind not in TEMPLATES or not is_manager(who.actor):
        return webkit.not_found(request, who, "模板不存在")
    title, make = TEMPLATES[kind]
    return webkit.secure(
        Response(
            make(),
            media_type=XLSX,
            headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(title)}.xlsx"},
        )
    )


# --- pages: the org tree -----------------------------------------------------------------------
def _org_page(
    request: Request,
    who: Who,
    *,
    q: str = "",
    problem: Problem | None = None,
    report: ImportReport | None = None,
    status: int = 200,
) -> Response:
    with reader(who.svc.db).connect() as conn:
        tops = ot.roots(conn, who.actor)
        found = ot.search(conn, who.actor, q) if q.strip() else []
        counts = ot.child_counts(conn, [u.id for u in (*tops, *found)])
    return webkit.render(
        request,
        "registry/org.html",
        who,
        {
            "nav": "/admin/org",
            "roots": tops,
            "q": q,
            "found": found,
            "counts": counts,
            "importer": _import_box("org", "机构", problem, report),
            "top_error": problem.message
            if problem is not None and problem.where != "import:org"
            else None,
        },
        status=status,
    )


@page_router.get("/admin/org")
def org_index(request: Request, who: SignedIn, q: str = "") -> Response:
    return _managers(request, who) or _org_page(request, who, q=q[:64])


@page_router.post("/admin/org/import")
def org_import(request: Request, form: Posted, who: OnOrg) -> Response:
    if (refusal := _managers(request, who)) is not None:
        return refusal
    try:
        data, name = _upload(form)
        table = read_upload(data, name, ot.ORG)
        with who.svc.db.begin() as conn:
            report = ot.import_org(
                conn, table, actor=who.actor, at=who.svc.now(),
                source_ref=history.file_ref(name, data), valid_only=_flag(form, "valid_only"),
            )  # fmt: skip
    except RenshiError as exc:
        return _org_page(
            request, who, problem=Problem("import:org", _refused(exc, "").message),
            status=exc.status,
        )  # fmt: skip
    if report.error_count:
        return _org_page(request, who, report=report, status=422 if report.refused else 200)
    return webkit.redirect(
        "/admin/org", f"机构已导入：{report.summary()}", secure_cookie=who.svc.secure_cookies
    )


UNIT_FORMS = ("edit", "child", "merge", "close")
FIELD_LABELS: Final = {
    "code": "单位代码",
    "name": "单位名称",
    "tier": "层级",
    "parent_id": "上级单位",
    **ot.FLAG_LABELS,
    "closed_on": "撤销日期",
    "merged_into_id": "合并到",
}


def _shown(key: str, value: Any, names: Mapping[int, str]) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if key == "tier":
        return TIER_LABELS.get(str(value), str(value))
    if key in ("parent_id", "merged_into_id") and isinstance(value, int):
        return names.get(value, str(value))
    return str(value)


def change_text(changes: Mapping[str, Sequence[Any]], names: Mapping[int, str]) -> str:
    """A history entry of a unit as an officer reads it: 单位名称：旧 → 新；…"""
    parts = []
    for key, (before, after) in changes.items():
        label = FIELD_LABELS.get(key)
        if label is None and key.startswith("quota:"):
            _, year, title = ([*key.split(":"), "", ""])[:3]
            label = f"{year}年{TITLE_LABELS.get(title, title)}岗位数"
        label = label or key
        parts.append(f"{label}：{_shown(key, before, names)} → {_shown(key, after, names)}")
    return "；".join(parts)


def _unit_page(
    request: Request,
    who: Who,
    unit_id: int,
    *,
    page: int = 1,
    problem: Problem | None = None,
    status: int = 200,
) -> Response:
    svc = who.svc
    with reader(svc.db).connect() as conn:
        try:
            unit = ot.get_unit(conn, who.actor, unit_id)
        except NotFound:
            return webkit.not_found(request, who, "单位不存在")
        kids, total = ot.children(conn, who.actor, unit_id, page=page)
        counts = ot.child_counts(conn, [u.id for u in kids])
        trail = ot.unit_history(conn, who.actor, unit_id)
        handed = ot.handover(conn, who.actor, unit_id)
        above = ot.ancestors(conn, unit)
        into = ot.find_unit(conn, unit.merged_into_id) if unit.merged_into_id else None
        parent_managed = above[-1] if above and manages(who.actor, above[-1].path) else None
        named = {
            int(v)
            for e in trail
            for k, pair in e.changes.items()
            if k in ("parent_id", "merged_into_id")
            for v in pair
            if isinstance(v, int)
        }
        names = dict(
            conn.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.id.in_(sorted(named))))
            .tuples()
            .all()
        )
    pages = max(1, -(-total // ot.PAGE))
    child_tiers = [t for t, parents in ot.PARENT_TIERS.items() if unit.tier in parents]
    return webkit.render(
        request,
        "registry/org_unit.html",
        who,
        {
            "nav": "/admin/org",
            "unit": unit,
            "above": [(a, manages(who.actor, a.path)) for a in above],
            "parent": above[-1] if above else None,
            "into": into,
            "children": kids,
            "counts": counts,
            "total": total,
            "page": page,
            "pages": pages,
            "trail": [
                {
                    "at": e.at,
                    "actor_label": e.actor_label,
                    "source_label": e.source_label,
                    "source_ref": e.source_ref,
                    "text": change_text(e.changes, names),
                }
                for e in reversed(trail)
            ],
            "handover": handover_out(svc.engine.processes, handed),
            "child_tiers": [(t, TIER_LABELS[t]) for t in child_tiers],
            "may_close": parent_managed is not None and not unit.closed,
            "problem": problem,
            "values": problem.values if problem is not None else {},
            "flag_labels": ot.FLAG_LABELS,
            "today": svc.today().isoformat(),
        },
        status=status,
    )


@page_router.get("/admin/org/{unit_id}")
def org_unit(request: Request, unit_id: str, who: SignedIn, page: str = "1") -> Response:
    uid = webkit.parse_id(unit_id)
    if (refusal := _managers(request, who)) is not None or uid is None:
        return refusal or webkit.not_found(request, who, "单位不存在")
    return _unit_page(request, who, uid, page=_page_no(page))


@page_router.post("/admin/org/{unit_id}/{action}")
def org_unit_action(
    request: Request, unit_id: str, action: str, form: Posted, who: OnUnit
) -> Response:
    uid = webkit.parse_id(unit_id)
    if (refusal := _managers(request, who)) is not None:
        return refusal
    if uid is None or action not in UNIT_FORMS:
        return webkit.not_found(request, who, "单位不存在")
    svc, actor = who.svc, who.actor
    values = {k: webkit.text(form, k) for k in ("name", "code", "tier", "into_code", "on")}
    target, said = f"/admin/org/{uid}", ""
    try:
        with svc.db.begin() as conn:
            if action == "edit":
                unit = ot.edit_unit(
                    conn, actor, uid, expected_version=_int(form, "version", "版本"),
                    at=svc.now(), name=webkit.text(form, "name"),
                    **{f: _flag(form, f) for f in ot.FLAGS if webkit.text(form, f"has_{f}")},
                )  # fmt: skip
                said = f"已保存“{unit.name}”"
            elif action == "child":
                parent = ot.get_unit(conn, actor, uid)
                unit = ot.create_unit(
                    conn, actor, at=svc.now(), code=webkit.text(form, "code"),
                    name=webkit.text(form, "name"), tier=webkit.text(form, "tier"),
                    parent_code=parent.code,
                    **{f: _flag(form, f) for f in ot.FLAGS},
                )  # fmt: skip
                target, said = f"/admin/org/{unit.id}", f"已新建“{unit.name}”"
            elif action == "merge":
                done = ot.merge_unit(
                    conn, actor, uid, into_code=webkit.text(form, "into_code"),
                    expected_version=_int(form, "version", "版本"), at=svc.now(),
                    on=_date(form, "on"),
                )  # fmt: skip
                said = (
                    f"“{done.unit.name}”已合并到“{done.into.name}”，"
                    f"{done.teachers_moved}名教师随之调入"
                )
            else:
                unit = ot.close_unit(
                    conn, actor, uid, expected_version=_int(form, "version", "版本"),
                    at=svc.now(), on=_date(form, "on"),
                )  # fmt: skip
                said = f"“{unit.name}”已撤销"
    except RenshiError as exc:
        if isinstance(exc, NotFound):
            return webkit.not_found(request, who, "单位不存在")
        refused = _refused(exc, action)
        problem = Problem(action, refused.message, refused.field, values)
        return _unit_page(request, who, uid, problem=problem, status=exc.status)
    return webkit.redirect(target, said, secure_cookie=svc.secure_cookies)


# --- pages: quotas -----------------------------------------------------------------------------
def _quota_page(
    request: Request,
    who: Who,
    *,
    year: int,
    under: int | None = None,
    q: str = "",
    page: int = 1,
    problem: Problem | None = None,
    report: ImportReport | None = None,
    status: int = 200,
) -> Response:
    svc = who.svc
    with reader(svc.db).connect() as conn:
        try:
            schools, total = qu.schools_in_scope(conn, who.actor, under=under, q=q, page=page)
        except NotFound:
            return webkit.not_found(request, who, "单位不存在")
        lines = qu.lines_for(conn, schools, year, ended(svc))
        scope_units = ot.roots(conn, who.actor)
    by_school: dict[int, list[qu.QuotaLine]] = {}
    for line in lines:
        by_school.setdefault(line.unit_id, []).append(line)
    query = {"year": year, "q": q, **({"under": under} if under else {})}
    return webkit.render(
        request,
        "registry/quotas.html",
        who,
        {
            "nav": "/admin/quotas",
            "year": year,
            "q": q,
            "under": under,
            "roots": scope_units,
            "schools": [(sch, by_school.get(sch.id, [])) for sch in schools],
            "total": total,
            "page": page,
            "pages": max(1, -(-total // qu.PAGE)),
            "base": "/admin/quotas?" + urlencode(query) + "&",
            "here": "/admin/quotas?" + urlencode({**query, "page": page}),
            "problem": problem,
            "importer": _import_box("quotas", "岗位职数", problem, report),
            "top_error": problem.message
            if problem is not None and problem.where != "import:quotas"
            else None,
        },
        status=status,
    )


@page_router.get("/admin/quotas")
def quotas_page(
    request: Request,
    who: SignedIn,
    year: str | None = None,
    under: str | None = None,
    q: str = "",
    page: str = "1",
) -> Response:
    if (refusal := _managers(request, who)) is not None:
        return refusal
    return _quota_page(
        request, who, year=_year_of(year, who.svc), under=webkit.parse_id(under) if under else None,
        q=q[:64], page=_page_no(page),
    )  # fmt: skip


def _back(form: FormData, fallback: str) -> str:
    back = webkit.text(form, "back")
    return back if back.startswith(fallback) and webkit.safe_next(back) == back else fallback


@page_router.post("/admin/quotas/set")
def quota_set(request: Request, form: Posted, who: OnQuotas) -> Response:
    if (refusal := _managers(request, who)) is not None:
        return refusal
    svc = who.svc
    year = _year_of(webkit.text(form, "year"), svc)
    unit_id = webkit.parse_id(webkit.text(form, "unit_id"))
    title = webkit.text(form, "title")
    where = f"quota:{unit_id}:{title}"
    try:
        if unit_id is None:
            raise NotFound("学校不存在或不在您的管理范围内")
        with svc.db.begin() as conn:
            line = qu.set_quota(
                conn, who.actor, unit_id=unit_id, year=year, title=title,
                posts=_int(form, "posts", "岗位数"), expected_version=_int(form, "version", "版本"),
                at=svc.now(), ended=ended(svc),
            )  # fmt: skip
    except RenshiError as exc:
        if isinstance(exc, NotFound):
            return webkit.not_found(request, who, "学校不存在")
        refused = _refused(exc, where)
        problem = Problem(
            where, refused.message, refused.field, {"posts": webkit.text(form, "posts")}
        )
        return _quota_page(request, who, year=year, problem=problem, status=exc.status,
                           q=webkit.text(form, "q")[:64])  # fmt: skip
    return webkit.redirect(
        _back(form, "/admin/quotas"),
        f"已保存：{line.name}{year}年{line.title_label}岗位{line.posts}个（已占用{line.used}，"
        f"空余{line.free}）",
        secure_cookie=svc.secure_cookies,
    )


@page_router.post("/admin/quotas/import")
def quota_import(request: Request, form: Posted, who: OnQuotas) -> Response:
    return _import_sheet(
        request, form, who, kind="quotas", schema=qu.QUOTAS, page=_quota_page,
        done="岗位职数已导入",
        load=lambda conn, table, **kw: qu.import_quotas(conn, table, ended=ended(who.svc), **kw),
    )  # fmt: skip


def _import_sheet(
    request: Request,
    form: FormData,
    who: Who,
    *,
    kind: str,
    schema: Any,
    load: Callable[..., Any],
    page: Callable[..., Response],
    done: str,
) -> Response:
    """A registry sheet uploaded from its page (岗位职数, 评委库): read, imported in one
    transaction with the file's reference on every history entry, the row report shown on
    the same page, or back to the list with the summary."""
    if (refusal := _managers(request, who)) is not None:
        return refusal
    svc = who.svc
    year = _year_of(webkit.text(form, "year"), svc)
    try:
        data, name = _upload(form)
        table = read_upload(data, name, schema)
        with svc.db.begin() as conn:
            report = load(
                conn, table, actor=who.actor, at=svc.now(), source_ref=history.file_ref(name, data),
                valid_only=_flag(form, "valid_only"),
            )  # fmt: skip
    except RenshiError as exc:
        problem = Problem(f"import:{kind}", _refused(exc, "").message)
        return page(request, who, year=year, problem=problem, status=exc.status)
    if report.error_count:
        return page(request, who, year=year, report=report, status=422 if report.refused else 200)
    return webkit.redirect(
        f"/admin/{kind}?year={year}",
        f"{done}：{report.summary()}",
        secure_cookie=svc.secure_cookies,
    )


# --- pages: expert pools -----------------------------------------------------------------------
SUBJECT_CHOICES: Final = [(x, x) for x in SUBJECTS]


def _experts_page(
    request: Request,
    who: Who,
    *,
    year: int,
    problem: Problem | None = None,
    report: ImportReport | None = None,
    status: int = 200,
) -> Response:
    svc = who.svc
    with reader(svc.db).connect() as conn:
        size = needed(conn, svc.engine.processes, who.actor)
        found = ex.pools(conn, who.actor, year=year, needed=size)
        units = ex.expert_units(conn, who.actor)
    return webkit.render(
        request,
        "registry/experts.html",
        who,
        {
            "nav": "/admin/experts",
            "year": year,
            "pools": found,
            "needed": size,
            "margin": ex.MARGIN,
            "units": units,
            "subjects": SUBJECT_CHOICES,
            "problem": problem,
            "values": problem.values if problem is not None else {},
            "importer": _import_box("experts", "评委", problem, report),
            "top_error": problem.message
            if problem is not None and problem.where not in ("import:experts", "add")
            else None,
        },
        status=status,
    )


@page_router.get("/admin/experts")
def experts_page(request: Request, who: SignedIn, year: str | None = None) -> Response:
    if (refusal := _managers(request, who)) is not None:
        return refusal
    return _experts_page(request, who, year=_year_of(year, who.svc))


@page_router.post("/admin/experts/add")
def experts_add(request: Request, form: Posted, who: OnExperts) -> Response:
    """Add an expert to a pool chosen on the pools page (a new pool starts this way)."""
    if (refusal := _managers(request, who)) is not None:
        return refusal
    svc = who.svc
    year = _year_of(webkit.text(form, "year"), svc)
    values = {k: webkit.text(form, k) for k in ("unit_id", "subject", "id_number")}
    unit_id = webkit.parse_id(values["unit_id"])
    try:
        if unit_id is None:
            raise FormError("unit_id", "请选择评委库所在单位")
        with svc.db.begin() as conn:
            ex.add_member(
                conn, who.actor, unit_id=unit_id, subject=values["subject"],
                id_number=values["id_number"], at=svc.now(),
            )  # fmt: skip
    except RenshiError as exc:
        refused = _refused(exc, "add")
        field = refused.field or ("id_number" if isinstance(exc, RenshiError) else None)
        problem = Problem("add", refused.message, field, values)
        return _experts_page(request, who, year=year, problem=problem, status=exc.status)
    return webkit.redirect(
        f"/admin/experts/{unit_id}?" + urlencode({"subject": values["subject"], "year": year}),
        "已加入评委库",
        secure_cookie=svc.secure_cookies,
    )


@page_router.post("/admin/experts/import")
def experts_import(request: Request, form: Posted, who: OnExperts) -> Response:
    return _import_sheet(
        request, form, who, kind="experts", schema=ex.EXPERTS, page=_experts_page,
        done="评委已导入", load=ex.import_experts,
    )  # fmt: skip


def _pool_page(
    request: Request,
    who: Who,
    unit_id: int,
    subject: str,
    year: int,
    *,
    problem: Problem | None = None,
    status: int = 200,
) -> Response:
    svc = who.svc
    with reader(svc.db).connect() as conn:
        try:
            unit = ex.pool_unit(conn, who.actor, unit_id)
        except (NotFound, FormError):
            return webkit.not_found(request, who, "评委库不存在")
        people = ex.members(conn, who.actor, unit_id=unit_id, subject=subject, year=year)
        size = needed(conn, svc.engine.processes, who.actor)
        lines = ex.pools(conn, who.actor, year=year, needed=size, unit_id=unit_id)
    return webkit.render(
        request,
        "registry/expert_pool.html",
        who,
        {
            "nav": "/admin/experts",
            "unit": unit,
            "subject": subject,
            "year": year,
            "members": people,
            "line": next((p for p in lines if p.subject == subject), None),
            "needed": size,
            "subjects": SUBJECT_CHOICES,
            "problem": problem,
            "values": problem.values if problem is not None else {},
            "here": f"/admin/experts/{unit_id}?" + urlencode({"subject": subject, "year": year}),
        },
        status=status,
    )


@page_router.get("/admin/experts/{unit_id}")
def pool_page(
    request: Request, unit_id: str, who: SignedIn, subject: str = "", year: str | None = None
) -> Response:
    uid = webkit.parse_id(unit_id)
    if (refusal := _managers(request, who)) is not None or uid is None:
        return refusal or webkit.not_found(request, who, "评委库不存在")
    if subject not in SUBJECTS:
        return webkit.not_found(request, who, "评委库不存在")
    return _pool_page(request, who, uid, subject, _year_of(year, who.svc))


POOL_FORMS = ("add", "remove", "availability", "conflict", "retract")


@page_router.post("/admin/experts/{unit_id}/{action}")
def pool_action(request: Request, unit_id: str, action: str, form: Posted, who: OnPool) -> Response:
    uid = webkit.parse_id(unit_id)
    if (refusal := _managers(request, who)) is not None:
        return refusal
    subject = webkit.text(form, "subject")
    if uid is None or action not in POOL_FORMS or subject not in SUBJECTS:
        return webkit.not_found(request, who, "评委库不存在")
    svc, actor = who.svc, who.actor
    year = _year_of(webkit.text(form, "year"), svc)
    person = webkit.parse_id(webkit.text(form, "person_id"))
    keys = ("id_number", "note", "unit_code", "available")
    values = {k: webkit.text(form, k) for k in keys}
    where = f"{action}:{person}" if person else action
    try:
        with svc.db.begin() as conn:
            if action == "add":
                ex.add_member(
                    conn, actor, unit_id=uid, subject=subject, id_number=values["id_number"],
                    at=svc.now(),
                )  # fmt: skip
                said = "已加入评委库"
            elif person is None:
                raise NotFound("评委不存在")
            elif action == "remove":
                ex.remove_member(conn, actor, unit_id=uid, person_id=person, at=svc.now())
                said = "已移出评委库"
            elif action == "availability":
                ex.set_availability(
                    conn, actor, unit_id=uid, person_id=person, year=year,
                    available=values["available"] != "0", note=values["note"],
                    expected_version=_int(form, "version", "版本"), at=svc.now(),
                )  # fmt: skip
                said = f"已保存{year}年度参评情况"
            elif action == "conflict":
                ex.declare_conflict(
                    conn, actor, expert_id=person, at=svc.now(), unit_code=values["unit_code"],
                    id_number=values["id_number"], note=values["note"],
                )  # fmt: skip
                said = "已登记回避事项"
            else:
                conflict = webkit.parse_id(webkit.text(form, "conflict_id"))
                if conflict is None:
                    raise NotFound("回避事项不存在")
                ex.withdraw_conflict(
                    conn, actor, expert_id=person, conflict_id=conflict, at=svc.now()
                )
                said = "已撤销回避申报"
    except RenshiError as exc:
        if isinstance(exc, NotFound) and action in ("add",):
            return webkit.not_found(request, who, "评委库不存在")
        refused = _refused(exc, where)
        problem = Problem(where, refused.message, refused.field, values)
        return _pool_page(request, who, uid, subject, year, problem=problem, status=exc.status)
    return webkit.redirect(
        f"/admin/experts/{uid}?" + urlencode({"subject": subject, "year": year}),
        said,
        secure_cookie=svc.secure_cookies,
    )


# --- pages: the calendar -----------------------------------------------------------------------
WEEKDAYS: Final = ("一", "二", "三", "四", "五", "六", "日")


def _months(view: CalendarOut) -> list[dict[str, Any]]:
    """The year drawn month by month, each day marked working, weekend, holiday or make-up."""
    if not view.known:
        return []
    holidays, workdays = view.holidays, view.workdays
    out = []
    for month in range(1, 13):
        first = dt.date(view.year, month, 1)
        days = []
        d = first
        while d.month == month:
            key = d.isoformat()
            if key in holidays:
                kind, name = "holiday", holidays[key]
            elif key in workdays:
                kind, name = "workday", workdays[key]
            elif d.weekday() >= 5:
                kind, name = "weekend", ""
            else:
                kind, name = "work", ""
            days.append({"day": d.day, "kind": kind, "name": name, "date": key})
            d += dt.timedelta(days=1)
        weeks: list[list[dict[str, Any] | None]] = [[None] * first.weekday()]
        for day in days:
            if len(weeks[-1]) == 7:
                weeks.append([])
            weeks[-1].append(day)
        weeks[-1].extend([None] * (7 - len(weeks[-1])))
        out.append({"month": month, "weeks": weeks})
    return out


def _calendar_page(
    request: Request, who: Who, year: int, *, problem: Problem | None = None, status: int = 200
) -> Response:
    with reader(who.svc.db).connect() as conn:
        view = calendar_view(conn, year)
        known = sorted(calendar_from_db(conn).known_years())
    return webkit.render(
        request,
        "registry/calendar.html",
        who,
        {
            "nav": "/admin/calendar",
            "view": view,
            "months": _months(view),
            "weekdays": WEEKDAYS,
            "known": known,
            "builtin": builtin_calendar().is_known(year),
            "may_load": may_load_calendar(who.actor),
            "problem": problem,
        },
        status=status,
    )


@page_router.get("/admin/calendar")
def calendar_page(request: Request, who: SignedIn, year: str | None = None) -> Response:
    if (refusal := _managers(request, who)) is not None:
        return refusal
    return _calendar_page(request, who, _year_of(year, who.svc))


@page_router.post("/admin/calendar")
def calendar_load(request: Request, form: Posted, who: OnCalendar) -> Response:
    if not may_load_calendar(who.actor):
        return webkit.not_found(request, who, "页面不存在")
    raw_year = webkit.text(form, "year").strip()
    shown = _year_of(raw_year, who.svc)
    try:
        year = None
        if raw_year:
            if not raw_year.isdigit() or not 2000 <= int(raw_year) <= 2100:
                raise FormError("year", "年份应为2000到2100之间的四位数字")
            year = int(raw_year)
        data, name = _upload(form)
        view = load_calendar(who.svc, who.actor, data, name, year)
    except RenshiError as exc:
        refused = _refused(exc, "load")
        problem = Problem("load", refused.message, refused.field)
        return _calendar_page(request, who, shown, problem=problem, status=exc.status)
    return webkit.redirect(
        f"/admin/calendar?year={view.year}",
        f"已导入{view.year}年节假日安排：法定节假日{len(view.holidays)}天，"
        f"调休上班{len(view.workdays)}天",
        secure_cookie=who.svc.secure_cookies,
    )


# --- the command line --------------------------------------------------------------------------


def _report(report: ImportReport, out: IO[str] | None = None) -> None:
    for e in report.errors[:MAX_REPORTED]:
        click.echo(str(e), err=True)
    if report.error_count > len(report.errors[:MAX_REPORTED]):
        click.echo(f"另有{report.error_count - MAX_REPORTED}处错误未列出", err=True)
    if report.refused:
        commands.fail(report.summary())
    click.echo(report.summary(), file=out)


def _run_import(kind: str, file: FilePath, who: str | None, valid_only: bool) -> None:
    data = file.read_bytes()
    schema = {"org": ot.ORG, "quotas": qu.QUOTAS, "experts": ex.EXPERTS}[kind]
    db = make_engine()
    try:
        actor = commands.actor(db, who, operator=True)
        table = read_upload(data, file.name, schema)
        at = commands.clock().now()
        ref = history.file_ref(file.name, data)
        with db.begin() as conn:
            if kind == "org":
                report = ot.import_org(
                    conn, table, actor=actor, at=at, source_ref=ref, valid_only=valid_only
                )
            elif kind == "quotas":
                from api.cli_case import PROCESSES  # the CLI's catalogue (a composition root)

                report = qu.import_quotas(
                    conn, table, actor=actor, at=at, source_ref=ref, valid_only=valid_only,
                    ended=qu.ended_states(PROCESSES),
                )  # fmt: skip
            else:
                report = ex.import_experts(
                    conn, table, actor=actor, at=at, source_ref=ref, valid_only=valid_only
                )
    except RenshiError as exc:
        commands.fail(exc.reason if isinstance(exc, FormError) else exc.message)
    finally:
        db.dispose()
    _report(report)


def _edit(code: str, who: str | None, change: Any) -> str:
    db = make_engine()
    try:
        actor = commands.actor(db, who, operator=True)
        with db.begin() as conn:
            unit = ot.units_by_code(conn, [code]).get(code)
            if unit is None or not manages(actor, unit.path):
                raise NotFound(f"单位代码“{code}”不存在或不在您的管理范围内")
            return str(change(conn, actor, unit, commands.clock().now()))
    except RenshiError as exc:
        commands.fail(exc.reason if isinstance(exc, FormError) else exc.message)
    finally:
        db.dispose()


FILE = click.Path(exists=True, dir_okay=False, readable=True, path_type=FilePath)
AS = click.option(
    "--as", "who", default=None, help="办理人用户名（或 #人员编号）；默认为系统管理员"
)
VALID_ONLY = click.option(
    "--valid-only", is_flag=True, help="仅导入有效行（有错误的行跳过，其余照常导入）"
)


def _on(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("日期格式应为 YYYY-MM-DD", param_hint="--on") from None


@click.group("org")
def cli() -> None:
    """机构、岗位职数与评委库：从表格导入，更名、合并、撤销单位。"""


@cli.command("import")
@click.argument("file", type=FILE)
@AS
@VALID_ONLY
def cli_import(file: FilePath, who: str | None, valid_only: bool) -> None:
    """导入机构表（.xlsx 或 .csv）：按单位代码新建或更新。

    \b
    列：单位代码、单位名称、层级（省/市/县（区）/学校）、上级单位代码、
        农村学校、薄弱学校、自主评审试点（是/否）
    有错误时逐行列出，不导入任何数据（退出码 1），除非使用 --valid-only。
    """
    _run_import("org", file, who, valid_only)


@cli.command("quotas-import")
@click.argument("file", type=FILE)
@AS
@VALID_ONLY
def cli_quotas(file: FilePath, who: str | None, valid_only: bool) -> None:
    """导入岗位职数表（学校代码、年度、职称、岗位数）。"""
    _run_import("quotas", file, who, valid_only)


@cli.command("experts-import")
@click.argument("file", type=FILE)
@AS
@VALID_ONLY
def cli_experts(file: FilePath, who: str | None, valid_only: bool) -> None:
    """导入评委库表（身份证号、单位代码、学科，可选年度、本年度可用、说明）。"""
    _run_import("experts", file, who, valid_only)


@cli.command("rename")
@click.argument("code")
@click.argument("name")
@AS
def cli_rename(code: str, name: str, who: str | None) -> None:
    """单位更名（单位代码不变）。"""

    def rename(conn: Connection, actor: Actor, unit: ot.UnitRow, at: datetime) -> str:
        done = ot.edit_unit(conn, actor, unit.id, expected_version=unit.version, at=at, name=name)
        return f"已更名：{unit.code} {unit.name} → {done.name}"

    click.echo(_edit(code, who, rename))


@cli.command("merge")
@click.argument("code")
@click.argument("into_code", metavar="INTO")
@click.option("--on", "on", default=None, help="合并日期 YYYY-MM-DD，默认今天")
@AS
def cli_merge(code: str, into_code: str, on: str | None, who: str | None) -> None:
    """将单位 CODE 合并到同层级的单位 INTO：教师随之调入，CODE 撤销。"""
    day = _on(on)

    def merge(conn: Connection, actor: Actor, unit: ot.UnitRow, at: datetime) -> str:
        done = ot.merge_unit(
            conn, actor, unit.id, into_code=into_code, expected_version=unit.version, at=at,
            on=day,
        )  # fmt: skip
        return f"已合并：{done.unit.name} → {done.into.name}，{done.teachers_moved}名教师随之调入"

    click.echo(_edit(code, who, merge))


@cli.command("close")
@click.argument("code")
@click.option("--on", "on", default=None, help="撤销日期 YYYY-MM-DD，默认今天")
@AS
def cli_close(code: str, on: str | None, who: str | None) -> None:
    """撤销单位（须已无教师和未撤销的下属单位）；列出其未办结的事项与待办。"""
    day = _on(on)

    def close(conn: Connection, actor: Actor, unit: ot.UnitRow, at: datetime) -> str:
        done = ot.close_unit(conn, actor, unit.id, expected_version=unit.version, at=at, on=day)
        left = ot.handover(conn, actor, unit.id)
        lines = [f"已撤销：{done.code} {done.name}（{done.closed_on}）"]
        if left.case_total or left.task_total:
            lines.append(f"待移交：未办结事项{left.case_total}件，待办{left.task_total}项")
            lines += [f"  事项{c.id}（{c.process}，{c.state}）" for c in left.cases]
        return "\n".join(lines)

    click.echo(_edit(code, who, close))
