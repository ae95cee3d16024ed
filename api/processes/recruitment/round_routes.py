"""/api/v1/recruitment/rounds: opening a round, closing its registration, and the
counties' post plans in it (``states.processes.recruitment.rounds``)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from api import schemas as s
from api.deps import ApiActor, Svc
from api.errors import ERRORS
from states.processes.recruitment import rounds
from states.processes.recruitment.machine import PLAN

RoundId = Annotated[int, Path(ge=1, le=2**53)]
Level = Literal["kindergarten", "primary", "junior", "senior", "vocational"]
Education = Literal["secondary", "associate", "bachelor", "master", "doctor"]
Percent = Annotated[float, Field(allow_inf_nan=False, description="百分比，如 50")]
# a number no one means beyond these bounds; the ranges that matter are checked with the form
SmallInt = Annotated[int, Field(ge=-(2**31), le=2**31)]

router = APIRouter(prefix="/api/v1/recruitment", tags=["招聘"], responses=ERRORS)
public = APIRouter(
    prefix="/api/v1/public/recruitment",
    tags=["招聘报名（无需登录）"],
    responses={404: ERRORS[404]},
)


class RoundIn(s.In):
    """Ranges and the fields' agreement (weights summing to 100%, dates in order) are
    checked together, so that one answer names every field at fault (``errors``)."""

    name: Annotated[s.Text, Field(description="招聘名称")]
    announcement: Annotated[s.Text, Field(description="招聘公告正文，报名页面展示")]
    registration_opens: dt.date
    registration_closes: Annotated[dt.date, Field(description="报名截止日期（含当天）")]
    written_weight: Percent
    interview_weight: Annotated[Percent, Field(description="与笔试占比之和须为100")]
    shortlist_ratio: Annotated[SmallInt, Field(description="入围比例 1:N 的 N（1至10）")]
    replacement_deadline: Annotated[dt.date | None, Field(description="递补截止日期")] = None
    max_age: Annotated[SmallInt | None, Field(description="年龄上限，默认35周岁")] = None
    province_id: Annotated[s.Id | None, Field(description="省份编号；默认本人所在省")] = None


class RoundOut(BaseModel):
    id: int
    year: int
    name: str
    announcement: str
    registration_opens: dt.date
    registration_closes: dt.date
    registration_closed_at: dt.datetime | None
    status: str
    written_weight: float
    interview_weight: float
    shortlist_ratio: int
    replacement_deadline: dt.date | None
    max_age: int
    register_page: str


class SeatIn(s.In):
    school_id: s.Id
    seats: Annotated[int, Field(ge=1, le=500)]


class PlanPostIn(s.In):
    code: Annotated[s.Text, Field(min_length=1, max_length=32, description="岗位代码，本轮唯一")]
    subject: Annotated[s.Text, Field(max_length=32, description="学科，如 数学")]
    school_level: Level
    min_education: Education
    cert_required: bool = True
    seats: Annotated[list[SeatIn], Field(min_length=1, max_length=rounds.MAX_SCHOOLS)]


class PlanIn(s.In):
    county_id: Annotated[s.Id | None, Field(description="县（区）编号；默认本人所在县区")] = None
    note: Annotated[s.Text | None, Field(max_length=1000)] = None
    submit: Annotated[bool, Field(description="同时报送市教育局审核")] = True
    posts: Annotated[list[PlanPostIn], Field(min_length=1, max_length=rounds.MAX_POSTS)]


class SchoolSeats(BaseModel):
    school: str
    seats: int


class PlanPostOut(BaseModel):
    code: str
    subject: str
    school_level: str
    min_education: str
    cert_required: bool
    count: int
    schools: list[SchoolSeats]


class PlanOut(BaseModel):
    case_id: int
    county_id: int
    county: str
    state: str
    state_label: str
    version: int
    posts: list[PlanPostOut]


def _round(rnd: Any, today: dt.date) -> RoundOut:
    return RoundOut(
        id=rnd.id,
        year=rnd.year,
        name=rnd.name,
        announcement=rnd.announcement or "",
        registration_opens=rnd.registration_opens,
        registration_closes=rnd.registration_closes,
        registration_closed_at=rnd.registration_closed_at,
        status=rounds.registration_status(rnd, today),
        written_weight=round(rnd.written_weight * 100, 2),
        interview_weight=round((1 - rnd.written_weight) * 100, 2),
        shortlist_ratio=rnd.shortlist_ratio,
        replacement_deadline=rnd.replacement_deadline,
        max_age=rnd.max_age,
        register_page=f"/recruitment/{rnd.id}/register",
    )


def _plan(svc: Svc, plan: rounds.Plan) -> PlanOut:
    spec = svc.engine.processes[PLAN]
    return PlanOut(
        case_id=plan.case_id,
        county_id=plan.county_id,
        county=plan.county,
        state=plan.state,
        state_label=spec.state_label(plan.state),
        version=plan.version,
        posts=[
            PlanPostOut(
                code=p.code,
                subject=p.subject,
                school_level=p.school_level,
                min_education=p.min_education,
                cert_required=p.cert_required,
                count=p.count,
                schools=[SchoolSeats(school=n, seats=k) for n, k in p.schools],
            )
            for p in plan.posts
        ],
    )


@router.get("/rounds", summary="招聘轮次列表", response_model=list[RoundOut])
def list_rounds(svc: Svc, actor: ApiActor) -> list[RoundOut]:
    """本省的招聘轮次：公告、报名时间与状态（报名中、未开始、已截止）、入围比例、成绩权重。"""
    return [_round(r, svc.today()) for r in rounds.rounds_for(svc.engine, actor)]


@router.post("/rounds", summary="开启招聘", response_model=RoundOut, status_code=201)
def open_round(body: RoundIn, svc: Svc, actor: ApiActor) -> RoundOut:
    """开启招聘（省教育厅教师工作处）：公告、报名时间、入围比例、笔试与面试成绩占比（之和为
    100%）、递补截止日期。有误时 422，errors 列出每个有误的字段及原因。"""
    form = body.model_dump(exclude={"province_id"}, mode="json")
    round_id = rounds.open_round_as(svc.engine, actor, form, province_id=body.province_id)
    return _round(rounds.get_round(svc.engine, actor, round_id), svc.today())


@router.get("/rounds/{round_id}", summary="一个招聘轮次", response_model=RoundOut)
def get_round(round_id: RoundId, svc: Svc, actor: ApiActor) -> RoundOut:
    """一个招聘轮次的设置与报名状态。"""
    return _round(rounds.get_round(svc.engine, actor, round_id), svc.today())


@router.post("/rounds/{round_id}/close-registration", summary="截止报名", response_model=RoundOut)
def close_registration(round_id: RoundId, svc: Svc, actor: ApiActor) -> RoundOut:
    """截止报名（省教育厅）：此后不再受理网上报名，已报名的照常审查。"""
    rounds.close_registration(svc.engine, actor, round_id)
    return _round(rounds.get_round(svc.engine, actor, round_id), svc.today())


@router.get("/rounds/{round_id}/plans", summary="岗位计划列表", response_model=list[PlanOut])
def list_plans(round_id: RoundId, svc: Svc, actor: ApiActor) -> list[PlanOut]:
    """本轮的岗位计划（管辖范围内）：各县区申报的岗位、各校名额和审批状态。计划经市级审核、
    省级批准后，其岗位开放报名。"""
    rounds.get_round(svc.engine, actor, round_id)
    return [_plan(svc, p) for p in rounds.plans(svc.engine, actor, round_id)]


@router.post(
    "/rounds/{round_id}/plans",
    summary="申报岗位计划",
    response_model=PlanOut,
    status_code=201,
)
def declare_plan(round_id: RoundId, body: PlanIn, svc: Svc, actor: ApiActor) -> PlanOut:
    """县（区）教育局人事股申报本轮招聘岗位：每个岗位的学科、学段、学历要求和各校名额，
    作为一件岗位计划事项；submit=true 时同时报送市教育局审核（其后市级审核、省级批准经
    POST /api/v1/cases/{case_id}/events 办理）。报名截止后不能再申报。"""
    rounds.get_round(svc.engine, actor, round_id)
    posts = [p.model_dump() for p in body.posts]
    case_id = rounds.declare_posts(
        svc.engine,
        actor,
        round_id,
        posts,
        county_id=body.county_id,
        note=body.note,
        submit=body.submit,
    )
    plan = next(p for p in rounds.plans(svc.engine, actor, round_id) if p.case_id == case_id)
    return _plan(svc, plan)


@public.get("/{round_id}", summary="招聘公告与报名时间", response_model=RoundOut)
def public_round(round_id: RoundId, svc: Svc) -> RoundOut:
    """招聘公告与报名时间（公开）。"""
    return _round(rounds.get_round(svc.engine, None, round_id), svc.today())
