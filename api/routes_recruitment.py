"""/api/v1 for recruitment: public registration, the officers' round-level steps, progress."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, File, Path, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from api import schemas as s
from api.deps import ApiActor, Svc
from api.routes import ERRORS
from states import recruitment as rec
from states.errors import FormError, NotFound, PermissionDenied
from states.identity import birth_date_of, gender_of, validate_id_number, validate_phone
from states.machines.recruitment import HIRED, PAST_QUALIFICATION, PAST_RANKING, PAST_SHORTLIST
from states.org import CITY_OFFICER, PROVINCE_OFFICER, SCOPE_ROLES
from states.sheets import (
    APPLICANTS,
    INTERVIEW_SCORES,
    WRITTEN_SCORES,
    SheetError,
    read_table,
    validate,
    write_xlsx,
)
from states.store.db import reader
from states.store.models import Applicant, Case, OrgUnit, Post, RecruitmentRound
from states.verification import check_code, issue_code, use_code

RoundId = Annotated[int, Path(ge=1, le=2**53)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_UPLOAD = 64 * 1024 * 1024
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


class ChooseIn(s.In):
    seat_id: Annotated[int, Field(ge=1, le=2**53)]
    expected_version: Annotated[int, Field(ge=1, le=2**53)]


class SkipIn(s.In):
    expected_version: Annotated[int, Field(ge=1, le=2**53)]


@public.get("/{round_id}/posts", response_model=list[PostOut])
def open_posts(round_id: RoundId, svc: Svc) -> list[PostOut]:
    """本轮已批准、可以报名的岗位。"""
    with Session(reader(svc.db)) as session:
        rows = session.execute(
            select(Post, OrgUnit.name.label("county"))
            .join(OrgUnit, OrgUnit.id == Post.county_id)
            .join(Case, Case.id == Post.plan_case_id)
            .where(Post.round_id == round_id, Case.state == "approved")
            .order_by(Post.code)
        ).all()
    return [
        PostOut(
            code=p.code,
            county=county,
            subject=p.subject,
            school_level=p.school_level,
            count=p.count,
            min_education=p.min_education,
            cert_required=p.cert_required,
        )
        for p, county in rows
    ]


@public.post("/verification-codes", status_code=202, response_model=Counts)
def send_code(body: CodeIn, svc: Svc) -> Counts:
    """发送短信验证码（每个号码每分钟限一次，10分钟内有效）。"""
    issue_code(svc.db, svc.clock, validate_phone(body.phone))
    return Counts(result={"sent": 1})


@public.post("/{round_id}/registrations", response_model=Registered, status_code=201)
def register(round_id: RoundId, body: RegistrationIn, svc: Svc) -> Registered:
    """网上报名：身份证号每轮限报一个岗位；报名时即核对年龄、学历、教师资格。"""
    try:
        id_number = validate_id_number(body.id_number)
    except ValueError as exc:
        raise FormError("id_number", str(exc)) from None
    code_id = check_code(svc.db, svc.clock, body.phone, body.code)
    case_id = rec.register(
        svc.engine,
        round_id,
        {
            "row": 1,
            "id_number": id_number,
            "name": body.name.strip(),
            "phone": body.phone,
            "gender": gender_of(id_number),
            "birth_date": birth_date_of(id_number),
            "education": body.education,
            "cert_level": body.cert_level,
            "post_code": body.post_code,
        },
        also=lambda conn: use_code(conn, code_id, svc.now()),
    )
    return Registered(case_id=case_id, message="报名成功，请关注资格审查结果")


@officer.post("/{round_id}/shortlist", response_model=Counts)
def shortlist(round_id: RoundId, svc: Svc, actor: ApiActor) -> Counts:
    """按笔试成绩确定入围面试人选（比例见轮次设置，末位同分者一并入围）。"""
    return Counts(result=rec.shortlist(svc.engine, actor, round_id))


@officer.post("/{round_id}/ranking", response_model=Counts)
def ranking(round_id: RoundId, svc: Svc, actor: ApiActor) -> Counts:
    """计算综合成绩并排名：每岗位前N名进入体检，其余列为候补。"""
    return Counts(result=rec.rank(svc.engine, actor, round_id))


@officer.post("/{round_id}/replacements", response_model=Counts)
def replacements(round_id: RoundId, svc: Svc, actor: ApiActor) -> Counts:
    """递补：有人放弃或体检、考察不合格时，按排名依次递补（递补截止日前）。"""
    return Counts(result={"moved_up": rec.fill_vacancies(svc.engine, actor, round_id)})


@officer.post("/cases/{case_id}/choose-post", response_model=Counts)
def choose_post(case_id: RoundId, body: ChooseIn, svc: Svc, actor: ApiActor) -> Counts:
    """按排名顺序选岗：所选学校名额被占用后不能再选。"""
    rec.choose_post(
        svc.engine, actor, case_id, body.seat_id, expected_version=body.expected_version
    )
    return Counts(result={"chosen": body.seat_id})


@officer.post("/cases/{case_id}/skip-choice", response_model=Counts)
def skip_choice(case_id: RoundId, body: SkipIn, svc: Svc, actor: ApiActor) -> Counts:
    """未在规定时间内选岗：顺延至本岗位最后。"""
    rec.skip_choice(svc.engine, actor, case_id, expected_version=body.expected_version)
    return Counts(result={"skipped": case_id})


@officer.get("/{round_id}/progress", response_model=list[ProgressRow])
def progress(round_id: RoundId, svc: Svc, actor: ApiActor) -> list[ProgressRow]:
    """各县区、各岗位进度：报名、资格审查通过、入围、录用人数（仅管辖范围内）。"""
    scopes = actor.scopes(SCOPE_ROLES)
    stages = {"qualified": PAST_QUALIFICATION, "shortlisted": PAST_SHORTLIST, "hired": HIRED}
    with reader(svc.db).connect() as conn:
        if (
            conn.execute(select(RecruitmentRound.id).where(RecruitmentRound.id == round_id)).first()
            is None
        ):
            raise NotFound("招聘轮次不存在")
        counted: list[Any] = [
            func.count(Applicant.case_id).label("registered"),
            *(
                func.count(Applicant.case_id).filter(Case.state.in_(states)).label(name)
                for name, states in stages.items()
            ),
        ]
        rows = conn.execute(
            select(
                OrgUnit.name,
                OrgUnit.path,
                Post.code,
                Post.subject,
                Post.count.label("post_count"),
                *counted,
            )
            .join(OrgUnit, OrgUnit.id == Post.county_id)
            .outerjoin(Applicant, Applicant.post_id == Post.id)
            .outerjoin(Case, Case.id == Applicant.case_id)
            .where(Post.round_id == round_id)
            .group_by(OrgUnit.name, OrgUnit.path, Post.code, Post.subject, Post.count)
            .order_by(OrgUnit.name, Post.code)
        ).all()
    return [
        ProgressRow(
            county=r.name,
            post_code=r.code,
            subject=r.subject,
            count=r.post_count,
            registered=r.registered,
            qualified=r.qualified,
            shortlisted=r.shortlisted,
            hired=r.hired,
        )
        for r in rows
        if any(r.path.startswith(p) for p in scopes)
    ]


# --- spreadsheets -----------------------------------------------------------------------------
IMPORT_ROLES = {
    "applicants": (PROVINCE_OFFICER,),
    "written": (PROVINCE_OFFICER,),
    "interview": (CITY_OFFICER, PROVINCE_OFFICER),
}


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


@officer.post("/{round_id}/imports/{kind}", response_model=ImportOut)
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
    if not any(actor.holds(role) for role in IMPORT_ROLES[kind]):
        raise PermissionDenied("报名与笔试成绩由省教育厅导入，面试成绩由市教育局人事处导入")
    schema = {"applicants": APPLICANTS, "written": WRITTEN_SCORES, "interview": INTERVIEW_SCORES}[
        kind
    ]
    data = file.file.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise FormError("file", f"文件过大：不能超过{MAX_UPLOAD // (1024 * 1024)}MB")
    try:
        table = read_table(data, file.filename or "", schema=schema)
    except SheetError as exc:
        raise FormError("file", str(exc)) from None
    checked = validate(table, schema)
    errors = [
        ImportError_(row=e.row, column=e.column, value=e.value, reason=e.reason)
        for e in checked.errors
    ]
    imported = 0
    if kind == "applicants":
        labels = {c.name: c.label for c in schema.columns}
        if not errors or valid_only:
            report = rec.register_many(
                svc.engine, actor, round_id, checked.rows, valid_only=valid_only
            )
            imported = report.created
            errors += [
                ImportError_(row=row, column=labels.get(f, f), value="", reason=reason)
                for row, f, reason in report.errors
            ]
    elif not errors or valid_only:
        imported = rec.record_scores(
            svc.engine,
            actor,
            round_id,
            kind,
            [
                (r["id_number"], None if r["absent"] or r["score"] is None else float(r["score"]))
                for r in checked.rows
            ],
        )
    out = ImportOut(
        kind=kind,
        imported=imported,
        error_count=max(checked.error_count, len(errors)),
        errors=errors[:1000],
        ignored_columns=list(checked.ignored_columns),
    )
    status = 422 if errors and not imported and not valid_only else 200
    return JSONResponse(out.model_dump(), status_code=status)


EXPORTS: dict[str, tuple[str, tuple[str, ...], list[tuple[str, str]]]] = {
    "shortlist": (
        "入围面试名单",
        PAST_SHORTLIST,
        [
            ("post_code", "岗位代码"),
            ("name", "姓名"),
            ("id_number", "身份证号"),
            ("phone", "手机号"),
            ("written_score", "笔试成绩"),
        ],
    ),
    "ranking": (
        "综合成绩排名",
        PAST_RANKING,
        [
            ("post_code", "岗位代码"),
            ("rank", "名次"),
            ("name", "姓名"),
            ("id_number", "身份证号"),
            ("written_score", "笔试成绩"),
            ("interview_score", "面试成绩"),
            ("composite", "综合成绩"),
        ],
    ),
    "publicity": (
        "拟聘用人员公示名单",
        ("publicity",),
        [
            ("post_code", "岗位代码"),
            ("name", "姓名"),
            ("id_number", "身份证号"),
            ("composite", "综合成绩"),
            ("rank", "名次"),
        ],
    ),
}


@officer.get(
    "/{round_id}/exports/{name}", response_class=Response, responses={200: {"content": {XLSX: {}}}}
)
def export_sheet(
    round_id: RoundId,
    name: Literal["shortlist", "ranking", "publicity"],
    svc: Svc,
    actor: ApiActor,
) -> Response:
    """导出入围名单、排名或公示名单（.xlsx，身份证号与手机号已脱敏），仅含管辖范围内的岗位。"""
    title, states, columns = EXPORTS[name]
    scopes = actor.scopes(SCOPE_ROLES)
    if not scopes:
        raise PermissionDenied("无权导出")
    with reader(svc.db).connect() as conn:
        rows = (
            conn.execute(
                select(
                    Post.code.label("post_code"),
                    Applicant.name,
                    Applicant.id_number,
                    Applicant.phone,
                    Applicant.written_score,
                    Applicant.interview_score,
                    Applicant.composite,
                    Applicant.rank,
                )
                .join(Post, Post.id == Applicant.post_id)
                .join(Case, Case.id == Applicant.case_id)
                .where(
                    Applicant.round_id == round_id,
                    Case.state.in_(states),
                    or_(*(Case.org_path.startswith(p) for p in scopes)),
                )
                .order_by(Post.code, Applicant.rank, Applicant.written_score.desc().nulls_last())
            )
            .mappings()
            .all()
        )
    data = write_xlsx(columns, [dict(r) for r in rows], title=title)
    filename = quote(f"{title}.xlsx")
    return Response(
        data,
        media_type=XLSX,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{filename}"},
    )
