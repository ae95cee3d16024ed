"""/api/v1 for recruitment: public registration, the officers' round-level steps, progress."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, File, Path, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from api import schemas as s
from api.deps import Address, ApiActor, Svc
from api.errors import ERRORS
from api.processes.recruitment import claims, views
from api.processes.recruitment.pages import NO_SMS
from states.errors import Conflict, PermissionDenied
from states.identity import validate_phone
from states.processes.recruitment import rounds
from states.processes.recruitment import steps as rec
from states.verification import issue_code

RoundId = Annotated[int, Path(ge=1, le=2**53)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

public = APIRouter(
    prefix="/api/v1/public/recruitment",
    tags=["招聘报名（无需登录）"],
    responses={404: ERRORS[404], 422: ERRORS[422]},
)
officer = APIRouter(prefix="/api/v1/recruitment", tags=["招聘"], responses=ERRORS)


class CodeIn(s.In):
    phone: Annotated[s.Text, Field(pattern=r"^1[3-9]\d{9}$")]


class RegistrationIn(s.In):
    id_number: Annotated[s.Text, Field(min_length=18, max_length=18)]
    name: Annotated[s.Text, Field(min_length=1, max_length=30)]
    phone: Annotated[s.Text, Field(pattern=r"^1[3-9]\d{9}$")]
    code: Annotated[s.Text, Field(pattern=r"^\d{6}$")]
    education: Literal["secondary", "associate", "bachelor", "master", "doctor"]
    cert_level: Literal["kindergarten", "primary", "junior", "senior", "vocational"] | None = None
    post_code: Annotated[s.Text, Field(min_length=1, max_length=32)]


class Registered(BaseModel):
    case_id: int
    message: str


class PostOut(BaseModel):
    code: str
    county: str
    subject: str
    school_level: str
    count: int
    min_education: str
    cert_required: bool


class Counts(BaseModel):
    result: dict[str, int]


class ProgressRow(BaseModel):
    county: str
    post_code: str
    subject: str
    count: int
    registered: int
    qualified: int
    shortlisted: int
    hired: int


class ClaimOut(BaseModel):
    id: int
    case_id: int
    version: int
    state: str
    state_label: str
    post_code: str
    name: str
    id_number: str
    phone: str
    online: bool
    registered_at: dt.datetime
    claimed_name: str
    claimed_phone: str
    claimed_at: dt.datetime
    resolved_at: dt.datetime | None
    resolution: str | None


class ChooseIn(s.In):
    seat_id: Annotated[int, Field(ge=1, le=2**53)]
    expected_version: Annotated[int, Field(ge=1, le=2**53)]


class SkipIn(s.In):
    expected_version: Annotated[int, Field(ge=1, le=2**53)]


@public.get("/{round_id}/posts", summary="可报名的岗位", response_model=list[PostOut])
def open_posts(round_id: RoundId, svc: Svc) -> list[PostOut]:
    """本轮已批准、可以报名的岗位。"""
    return [
        PostOut.model_validate(p, from_attributes=True) for p in views.open_posts(svc, round_id)
    ]


@public.post(
    "/verification-codes",
    summary="获取报名短信验证码",
    status_code=202,
    response_model=Counts,
)
def send_code(body: CodeIn, svc: Svc, address: Address) -> Counts:
    """发送短信验证码（10分钟内有效）。

    每个号码每分钟限1次、每天限5次，每个网络地址每小时限10次；超出时返回 429，
    Retry-After 给出需等待的秒数。本系统未开通短信通道时返回 409，不发送。"""
    if not svc.sms:
        raise Conflict(NO_SMS)
    issue_code(
        svc.db, svc.clock, validate_phone(body.phone), address=address, throttle=svc.throttle
    )
    return Counts(result={"sent": 1})


@public.post(
    "/{round_id}/registrations",
    summary="网上报名",
    response_model=Registered,
    status_code=201,
)
def register(round_id: RoundId, body: RegistrationIn, svc: Svc) -> Registered:
    """网上报名：身份证号每轮限报一个岗位，每个手机号每轮只能为一人报名；报名时即核对年龄、
    学历、教师资格（这些不符时不消耗验证码）。验证码通过后，无论报名成功与否该验证码即失效。
    身份证号已由其他手机号报名的，提示携带身份证联系招聘办公室，并登记供资格审查核实。"""
    case_id = views.register_online(svc, round_id, body.model_dump())
    return Registered(case_id=case_id, message="报名成功，请关注资格审查结果")


@officer.post("/{round_id}/shortlist", summary="确定入围面试人选", response_model=Counts)
def shortlist(round_id: RoundId, svc: Svc, actor: ApiActor) -> Counts:
    """按笔试成绩确定入围面试人选（比例见轮次设置，末位同分者一并入围）。还有考生未完成资格
    审查，或资格审查通过的考生中还有人既没有笔试成绩也没有缺考标记时，返回 409 并说明还差几人、
    哪些岗位，不作任何改动；已确定过的也返回 409。"""
    return Counts(result=rec.shortlist(svc.engine, actor, round_id))


@officer.post("/{round_id}/ranking", summary="综合成绩排名", response_model=Counts)
def ranking(round_id: RoundId, svc: Svc, actor: ApiActor) -> Counts:
    """计算综合成绩并排名：每岗位前N名进入体检，其余列为候补。尚未确定入围，或入围考生中还有
    人既没有面试成绩也没有缺考标记时，返回 409 并说明还差几人，不作任何改动。"""
    return Counts(result=rec.rank(svc.engine, actor, round_id))


@officer.post("/{round_id}/replacements", summary="递补", response_model=Counts)
def replacements(round_id: RoundId, svc: Svc, actor: ApiActor) -> Counts:
    """递补：有人放弃或体检、考察不合格时，按排名依次递补。尚未排名或已过递补截止日期时
    返回 409。"""
    return Counts(result={"moved_up": rec.fill_vacancies(svc.engine, actor, round_id)})


@officer.post("/cases/{case_id}/choose-post", summary="选岗", response_model=Counts)
def choose_post(case_id: RoundId, body: ChooseIn, svc: Svc, actor: ApiActor) -> Counts:
    """按排名顺序选岗：所选学校名额被占用后不能再选。"""
    rec.choose_post(
        svc.engine, actor, case_id, body.seat_id, expected_version=body.expected_version
    )
    return Counts(result={"chosen": body.seat_id})


@officer.post("/cases/{case_id}/skip-choice", summary="未按时选岗顺延", response_model=Counts)
def skip_choice(case_id: RoundId, body: SkipIn, svc: Svc, actor: ApiActor) -> Counts:
    """未在规定时间内选岗：顺延至本岗位最后。"""
    rec.skip_choice(svc.engine, actor, case_id, expected_version=body.expected_version)
    return Counts(result={"skipped": case_id})


@officer.get("/{round_id}/progress", summary="招聘进度", response_model=list[ProgressRow])
def progress(round_id: RoundId, svc: Svc, actor: ApiActor) -> list[ProgressRow]:
    """各县区、各岗位进度：报名、资格审查通过、入围、录用人数（仅管辖范围内）。"""
    return [
        ProgressRow.model_validate(r, from_attributes=True)
        for r in views.progress(svc, actor, round_id)
    ]


@officer.get("/{round_id}/conflicts", summary="报名身份冲突", response_model=list[ClaimOut])
def conflicts(round_id: RoundId, svc: Svc, actor: ApiActor) -> list[ClaimOut]:
    """资格审查：身份冲突（管辖范围内）。同一身份证号已报名后又有人用另一个已验证的手机号申报，
    待核实的在前。核验身份证原件后，对报名事项执行 void_registration（注销冒名报名，该身份证号
    可由本人重新报名）或 confirm_identity（核实报名无误），均须填写 reason：
    POST /api/v1/cases/{case_id}/events。身份证号已脱敏；双方手机号完整，便于联系。"""
    return [
        ClaimOut.model_validate(c, from_attributes=True)
        for c in claims.claims(svc, actor, round_id)
    ]


# --- spreadsheets -----------------------------------------------------------------------------
class ImportError_(BaseModel):
    row: int
    column: str
    value: str
    reason: str


class ImportOut(BaseModel):
    kind: str
    imported: int
    error_count: int
    errors: list[ImportError_]
    ignored_columns: list[str]


@officer.post("/{round_id}/imports/{kind}", summary="导入报名人员或成绩", response_model=ImportOut)
def import_sheet(
    round_id: RoundId,
    kind: Literal["applicants", "written", "interview"],
    svc: Svc,
    actor: ApiActor,
    file: Annotated[UploadFile, File()],
    valid_only: bool = False,
) -> JSONResponse:
    """导入报名人员、笔试成绩或面试成绩（.xlsx 或 .csv）。有错误时逐行逐列列出原因，默认不导入
    任何数据；valid_only=true 时只导入无误的行。"""
    result = views.import_sheet(
        svc, actor, round_id, kind, file.file, file.filename or "", valid_only=valid_only
    )
    out = ImportOut(
        kind=kind,
        imported=result.imported,
        error_count=result.error_count,
        errors=[ImportError_.model_validate(e, from_attributes=True) for e in result.errors],
        ignored_columns=result.ignored_columns,
    )
    return JSONResponse(out.model_dump(), status_code=422 if result.refused else 200)


@officer.get(
    "/{round_id}/imports/{kind}/template",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}}},
    summary="下载导入模板",
)
def import_template(
    round_id: RoundId,
    kind: Literal["applicants", "written", "interview"],
    svc: Svc,
    actor: ApiActor,
) -> Response:
    """报名人员、笔试成绩或面试成绩的导入模板（.xlsx）：表头即导入时读取的列名，表头批注和
    “填写说明”工作表写明各列的填写要求（报名人员模板另列本轮已批准的岗位），身份证号列为
    文本格式。填好后可直接导入。"""
    if not views.works_on_rounds(actor):
        raise PermissionDenied("导入模板供省、市、县（区）教育局人事干部使用")
    title, data = rounds.import_template(svc.engine, round_id, kind)
    return Response(
        data,
        media_type=XLSX,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(title)}.xlsx"},
    )


@officer.get(
    "/{round_id}/exports/{name}",
    summary="导出名单",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}}},
)
def export_sheet(
    round_id: RoundId,
    name: Literal["shortlist", "ranking", "publicity"],
    svc: Svc,
    actor: ApiActor,
) -> Response:
    """导出入围名单、排名或公示名单（.xlsx，身份证号与手机号已脱敏），仅含管辖范围内的岗位。"""
    title, data = views.export_sheet(svc, actor, round_id, name)
    filename = quote(f"{title}.xlsx")
    return Response(
        data,
        media_type=XLSX,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{filename}"},
    )
