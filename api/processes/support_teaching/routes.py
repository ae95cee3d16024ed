"""/api/v1/support: support teaching (支教) — the receiving schools' needs and the board, the
candidates (a teacher volunteers, a school nominates) with their records beside them, the
receiving school's monthly check-ins and their corrections, a teacher's own terms, the
dispatch list (JSON and a masked spreadsheet) and the paired regions.

Every other step — approving a need, confirming or selecting a candidate, dispatching,
early termination, the end-of-term assessment — is an event of its case, fired through the
generic ``POST /api/v1/cases/{id}/events``; the pages offer the same buttons."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from api import schemas as s
from api.deps import ApiActor, Svc
from api.errors import ERRORS
from api.processes.support_teaching import reads
from states.errors import FormError, NotFound
from states.org import PRINCIPAL, SCHOOL_OFFICER, Actor
from states.processes.support_teaching import applications, checkins, needs, regions, terms
from states.processes.support_teaching.machine import APPLICATION, NEED, TERM
from states.registry import service
from states.sheets import write_xlsx
from states.store.db import reader

NeedId = Annotated[int, Path(ge=1, le=2**53, description="支教需求编号（需求事项编号）")]
TermId = Annotated[int, Path(ge=1, le=2**53, description="支教事项编号")]
Year = Annotated[
    int | None, Query(ge=2000, le=2100, description="年度（支教开始的年份），默认今年")
]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SmallInt = Annotated[int, Field(ge=-(2**31), le=2**31)]
Version = Annotated[int, Field(ge=1, le=2**53, description="读取时的版本号")]

router = APIRouter(prefix="/api/v1/support", tags=["支教"], responses=ERRORS)


# --- shapes -------------------------------------------------------------------------------------
class NeedIn(s.In):
    """Ranges and the dates' order are checked by the need's form, so that one answer names
    the field at fault."""

    subject: Annotated[s.Text, Field(max_length=32, description="学科，如“数学”")]
    level: Annotated[
        s.Text, Field(max_length=16, description="学段：primary 小学、junior 初中、senior 高中")
    ]
    places: Annotated[SmallInt, Field(description="需求人数（1至50）")]
    starts_on: Annotated[dt.date, Field(description="支教开始日期")]
    ends_on: Annotated[dt.date, Field(description="支教结束日期（至少1个月，最长3年）")]
    note: Annotated[s.Text | None, Field(max_length=1000, description="需求说明")] = None
    school_id: Annotated[s.Id | None, Field(description="学校编号；默认本人任人事干部的学校")] = (
        None
    )


class NeedOut(BaseModel):
    need_id: int = Field(description="支教需求编号（需求事项编号）")
    version: int = Field(description="需求事项的版本号（办理时提交）")
    state: str
    state_label: str
    school_id: int
    school: str
    county_id: int | None
    county: str
    paired: bool = Field(description="是否对口支援地区学校的需求（由市教育局审批、选派）")
    region: str | None = Field(description="对口支援地区")
    subject: str
    level: str
    level_label: str
    places: int
    filled: int = Field(description="已选派人数")
    starts_on: dt.date
    ends_on: dt.date
    note: str
    year: int


class Created(BaseModel):
    case_id: int
    state: str
    state_label: str
    version: int
    message: str


class BoardLine(BaseModel):
    county_id: int | None
    county: str
    school_id: int
    school: str
    paired: bool
    declared: int = Field(description="已申报需求数")
    approved: int = Field(description="已批准需求数")
    places: int = Field(description="已批准需求的人数")
    filled: int = Field(description="已选派人数")
    on_site: int = Field(description="在岗支教人数")


class BoardOut(BaseModel):
    year: int
    schools: list[BoardLine]
    declared: int
    approved: int
    places: int
    filled: int
    on_site: int


class VolunteerIn(s.In):
    statement: Annotated[s.Text | None, Field(max_length=2000, description="报名说明")] = None


class NominationIn(s.In):
    teacher_id: Annotated[s.Id, Field(description="被推荐教师的人员编号")]
    statement: Annotated[s.Text | None, Field(max_length=2000, description="推荐说明")] = None


class CandidateOut(BaseModel):
    case_id: int = Field(description="报名事项编号")
    version: int
    state: str
    state_label: str
    teacher_id: int
    name: str
    school_id: int
    school: str
    subject: str
    title: str
    title_label: str
    backbone_level: str | None
    backbone_label: str
    nominated: bool = Field(description="是否学校推荐（否为本人报名）")
    statement: str
    previous_terms: int = Field(description="以往支教次数")
    previous: list[str] = Field(description="以往支教：学校、期间、结果")
    exemptions: list[str] = Field(description="支教期内已获批的免于派出")


class CorrectionOut(BaseModel):
    before: dict[str, int | str | None] = Field(
        description="更正前：attendance_days、teaching_hours、assessment"
    )
    after: dict[str, int | str | None] = Field(description="更正后（未更正的项与更正前相同）")
    changes: str = Field(description="更正内容，如“出勤天数 21→20”")
    reason: str = Field(description="更正原因")
    corrected_at: dt.datetime
    by: str = Field(description="更正人")


class CheckinOut(BaseModel):
    term_id: int = Field(description="支教事项编号")
    version: int = Field(description="支教事项的版本号（填报时提交）")
    term_state: str = Field(description="支教事项当前环节")
    teacher_id: int
    teacher: str
    month: str = Field(description="月份，如 2027-09")
    due_on: dt.date | None = Field(description="填报期限")
    status: str = Field(description="open 待填报、submitted 已填报、missed 未填报")
    status_label: str
    attendance_days: int | None
    teaching_hours: int | None
    assessment: str | None
    submitted_at: dt.datetime | None
    correctable: bool = Field(description="是否可更正（已填报，且支教尚未期满考核）")
    corrections: list[CorrectionOut] = Field(description="更正记录，先后为序")


class CheckinIn(s.In):
    month: Annotated[s.Text, Field(max_length=7, description="月份，如 2027-09")]
    attendance_days: Annotated[SmallInt, Field(description="出勤天数（0至31）")]
    teaching_hours: Annotated[SmallInt, Field(description="授课课时（0至200）")]
    assessment: Annotated[s.Text, Field(max_length=500, description="表现评价")]
    expected_version: Version


class CorrectionIn(s.In):
    """Which month of which term; only what changes need be given (at least one of the
    three), and a reason."""

    term_id: Annotated[s.Id, Field(description="支教事项编号")]
    month: Annotated[s.Text, Field(max_length=7, description="月份，如 2027-09")]

    attendance_days: Annotated[SmallInt | None, Field(description="更正后的出勤天数（0至31）")] = (
        None
    )
    teaching_hours: Annotated[SmallInt | None, Field(description="更正后的授课课时（0至200）")] = (
        None
    )
    assessment: Annotated[s.Text | None, Field(max_length=500, description="更正后的表现评价")] = (
        None
    )
    reason: Annotated[s.Text | None, Field(max_length=500, description="更正原因（必填）")] = None
    expected_version: Version


class FiredOut(BaseModel):
    case_id: int
    event: str
    state: str
    state_label: str
    version: int
    message: str


class TermOut(BaseModel):
    term_id: int = Field(description="支教事项编号")
    version: int
    state: str
    state_label: str
    need_id: int
    application_id: int
    teacher: str
    sending_school: str
    receiving_school: str
    subject: str
    level_label: str
    paired: bool
    starts_on: dt.date
    ends_on: dt.date
    dispatched_on: dt.date | None
    ended_on: dt.date | None
    ended_early: bool
    assessment: str | None
    assessment_label: str
    credit_id: int | None = Field(description="计入任教经历的记录编号")


class ApplicationOut(BaseModel):
    case_id: int = Field(description="报名事项编号")
    state: str
    state_label: str
    need_id: int
    need: str = Field(description="支教需求：学校、学段、学科")
    starts_on: dt.date
    ends_on: dt.date
    nominated: bool


class CreditOut(BaseModel):
    id: int
    kind_label: str
    source_case_id: int | None
    school_name: str | None
    started_on: dt.date | None
    ended_on: dt.date | None
    months: int
    years: float
    assessment_label: str | None
    reason: str | None


class MyOut(BaseModel):
    open_needs: list[NeedOut] = Field(description="可报名的支教需求")
    applications: list[ApplicationOut]
    terms: list[TermOut]
    credits: list[CreditOut] = Field(description="支教、交流轮岗计入的农村或薄弱学校任教经历")
    credited_years: float


class DispatchLine(BaseModel):
    term_id: int = Field(description="支教事项编号")
    name: str
    id_number: str = Field(description="身份证号（除本人外脱敏）")
    gender: str
    sending_school: str
    receiving_school: str
    subject: str
    level: str
    starts_on: str
    ends_on: str
    dispatched_on: str
    ended_on: str
    state: str
    grade: str


class RegionIn(s.In):
    name: Annotated[
        s.Text | None, Field(max_length=128, description="地区名称，如“新疆和田县（对口支援）”")
    ] = None
    code: Annotated[s.Text | None, Field(max_length=32, description="单位代码；不填自动生成")] = (
        None
    )
    unit_id: Annotated[
        s.Id | None, Field(description="已在机构中的本市县级单位编号（登记已有单位时）")
    ] = None


class RegionOut(BaseModel):
    unit_id: int
    code: str
    name: str
    city_id: int
    city: str
    schools: int
    registered_at: dt.datetime


# --- helpers ------------------------------------------------------------------------------------
def _need(r: needs.NeedRow) -> NeedOut:
    return NeedOut(
        need_id=r.case_id, version=r.version, state=r.state, state_label=r.state_label,
        school_id=r.school_id, school=r.school, county_id=r.county_id, county=r.county,
        paired=r.paired, region=r.region, subject=r.subject, level=r.level,
        level_label=r.level_label, places=r.places, filled=r.filled, starts_on=r.starts_on,
        ends_on=r.ends_on, note=r.note, year=r.year,
    )  # fmt: skip


def _schools_of(actor: Actor) -> list[int]:
    """The schools the reader is personnel officer or principal of, in order."""
    return sorted({b.unit_id for b in actor.bindings if b.role in (SCHOOL_OFFICER, PRINCIPAL)})


def _this_year(svc: Svc, year: int | None) -> int:
    return year if year is not None else svc.today().year


def _seen(svc: Svc, actor: Actor, need_id: int) -> needs.NeedRow:
    """The need if the reader may see it (its officers and school, or those who may answer
    it while it is open); the same 404 whether absent or out of reach."""
    with reader(svc.db).connect() as conn:
        try:
            row = needs.need(conn, need_id)
        except FormError:
            raise NotFound("支教需求不存在") from None
        if row.state != "draft":
            if any(r.case_id == need_id for r in needs.needs(conn, actor, row.year)):
                return row
            if any(r.case_id == need_id for r in needs.open_needs(conn, actor)):
                return row
    raise NotFound("支教需求不存在")


def _created(svc: Svc, process: str, fired: Any, message: str) -> Created:
    spec = svc.engine.processes[process]
    return Created(
        case_id=fired.case_id, state=fired.to_state, state_label=spec.state_label(fired.to_state),
        version=fired.version, message=message,
    )  # fmt: skip


def _term(t: terms.TermRow) -> TermOut:
    return TermOut(
        term_id=t.case_id, version=t.version, state=t.state, state_label=t.state_label,
        need_id=t.need_id, application_id=t.application_id, teacher=t.teacher,
        sending_school=t.sending_school, receiving_school=t.receiving_school,
        subject=t.subject, level_label=t.level_label, paired=t.paired, starts_on=t.starts_on,
        ends_on=t.ends_on, dispatched_on=t.dispatched_on, ended_on=t.ended_on,
        ended_early=t.ended_early, assessment=t.assessment,
        assessment_label=t.assessment_label, credit_id=t.credit_id,
    )  # fmt: skip


# --- needs --------------------------------------------------------------------------------------
@router.post("/needs", summary="申报支教需求", response_model=Created, status_code=201)
def declare_need(body: NeedIn, svc: Svc, actor: ApiActor) -> Created:
    """接收学校（农村学校、薄弱学校或对口支援地区学校）的人事干部申报支教需求：学科、学段、
    需求人数、支教期；提交后由县教育局（对口支援地区由市教育局）审批。其他学校申报的不予受理。"""
    form = body.model_dump(exclude_none=True, exclude={"school_id"})
    form = {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in form.items()}
    fired = needs.declare_need(svc.engine, actor, form, school_id=body.school_id)
    return _created(svc, NEED, fired, "支教需求已提交，待审批")


@router.get("/needs", summary="支教需求列表", response_model=list[NeedOut])
def list_needs(svc: Svc, actor: ApiActor, year: Year = None) -> list[NeedOut]:
    """本人管辖范围内（学校看本校）一个年度的支教需求及其办理状态、已选派人数。"""
    with reader(svc.db).connect() as conn:
        return [_need(r) for r in needs.needs(conn, actor, _this_year(svc, year))]


@router.get("/needs/open", summary="可报名的支教需求", response_model=list[NeedOut])
def list_open_needs(svc: Svc, actor: ApiActor) -> list[NeedOut]:
    """已批准、支教期尚未开始的需求：教师可报名，学校可推荐本校教师（本县的需求；对口支援
    地区的需求为本市）。"""
    with reader(svc.db).connect() as conn:
        return [_need(r) for r in needs.open_needs(conn, actor, today=svc.today())]


@router.get("/needs/{need_id}", summary="支教需求详情", response_model=NeedOut)
def get_need(need_id: NeedId, svc: Svc, actor: ApiActor) -> NeedOut:
    """需求学校、审批单位和可报名的教师、学校均可查看。"""
    return _need(_seen(svc, actor, need_id))


@router.get("/board", summary="支教需求看板", response_model=BoardOut)
def board(svc: Svc, actor: ApiActor, year: Year = None) -> BoardOut:
    """管辖范围内每所接收学校一行：已申报、已批准的需求，需求人数、已选派和在岗支教人数。"""
    y = _this_year(svc, year)
    with reader(svc.db).connect() as conn:
        rows = needs.board(conn, actor, y)
    lines = [BoardLine.model_validate(r, from_attributes=True) for r in rows]
    return BoardOut(
        year=y, schools=lines, declared=sum(x.declared for x in lines),
        approved=sum(x.approved for x in lines), places=sum(x.places for x in lines),
        filled=sum(x.filled for x in lines), on_site=sum(x.on_site for x in lines),
    )  # fmt: skip


# --- candidates ---------------------------------------------------------------------------------
@router.post(
    "/needs/{need_id}/volunteer", summary="教师报名支教", response_model=Created, status_code=201
)
def volunteer(need_id: NeedId, body: VolunteerIn, svc: Svc, actor: ApiActor) -> Created:
    """教师本人报名已批准的支教需求，提交本校确认后由县教育局遴选。支教期与本人其他报名或
    支教重叠、本年度已获批免于派出的，不予受理并说明冲突的事项。"""
    _seen(svc, actor, need_id)
    fired = applications.volunteer(svc.engine, actor, need_id, body.statement or "")
    return _created(svc, APPLICATION, fired, "已报名，待本校确认")


@router.post(
    "/needs/{need_id}/nominations", summary="学校推荐支教人选", response_model=Created,
    status_code=201,
)  # fmt: skip
def nominate(need_id: NeedId, body: NominationIn, svc: Svc, actor: ApiActor) -> Created:
    """派出学校人事干部推荐本校一名教师，直接进入县级遴选（无需再确认）。冲突情形同教师报名。"""
    _seen(svc, actor, need_id)
    fired = applications.nominate(svc.engine, actor, need_id, body.teacher_id, body.statement or "")
    return _created(svc, APPLICATION, fired, "已推荐，待县级遴选")


@router.get("/needs/{need_id}/candidates", summary="支教候选人", response_model=list[CandidateOut])
def candidates(need_id: NeedId, svc: Svc, actor: ApiActor) -> list[CandidateOut]:
    """该需求的报名和推荐人选，附档案信息：学科、职称、骨干等级、以往支教和免于派出情况。
    审批单位看全部，派出学校看本校的。遴选通过 /api/v1/cases/{id}/events 办理
    select_teacher、not_select。"""
    _seen(svc, actor, need_id)
    with reader(svc.db).connect() as conn:
        rows = applications.candidates(conn, actor, need_id, catalogue=svc.engine.processes)
    return [CandidateOut.model_validate(r, from_attributes=True) for r in rows]


# --- check-ins ----------------------------------------------------------------------------------
def _checkin(c: checkins.CheckinRow) -> CheckinOut:
    return CheckinOut(
        term_id=c.term_case_id, version=c.version, term_state=c.term_state,
        teacher_id=c.teacher_id, teacher=c.teacher, month=c.month_label, due_on=c.due_on,
        status=c.status, status_label=c.status_label, attendance_days=c.attendance_days,
        teaching_hours=c.teaching_hours, assessment=c.assessment, submitted_at=c.submitted_at,
        correctable=c.correctable,
        corrections=[
            CorrectionOut(
                before=dict(x.before), after=dict(x.after), changes=x.changes, reason=x.reason,
                corrected_at=x.corrected_at, by=x.by,
            )
            for x in c.corrections
        ],
    )  # fmt: skip


@router.get("/checkins", summary="月度考勤", response_model=list[CheckinOut])
def school_checkins(
    svc: Svc,
    actor: ApiActor,
    school_id: Annotated[
        int | None, Query(ge=1, le=2**53, description="接收学校编号；默认本人任人事干部的学校")
    ] = None,
    status: Annotated[
        Literal["open", "submitted", "missed"] | None,
        Query(description="只看某种状态：open 待填报、submitted 已填报、missed 未填报"),
    ] = None,
) -> list[CheckinOut]:
    """接收学校的月度考勤：每位在岗支教教师每月一条，待填报的在前（按填报期限），列出已填报的
    出勤天数、授课课时和表现评价。"""
    schools = [school_id] if school_id is not None else _schools_of(actor)
    if not schools:
        raise NotFound("您没有可查看月度考勤的学校")
    with reader(svc.db).connect() as conn:
        return [
            _checkin(c)
            for school in schools
            for c in checkins.school_checkins(conn, actor, school, status=status)
        ]


@router.post("/terms/{term_id}/checkins", summary="填报月度考勤", response_model=FiredOut)
def submit_checkin(term_id: TermId, body: CheckinIn, svc: Svc, actor: ApiActor) -> FiredOut:
    """接收学校人事干部填报一名支教教师一个月的考勤：出勤天数、授课课时和表现评价。月份须在
    支教期内、不晚于本月，且该月的考勤已开放、尚未填报。"""
    payload = body.model_dump(exclude={"expected_version"})
    fired = svc.engine.fire(
        term_id, "check_in", actor, payload, expected_version=body.expected_version
    )
    spec = svc.engine.processes[TERM]
    return FiredOut(
        case_id=term_id, event=fired.event, state=fired.to_state,
        state_label=spec.state_label(fired.to_state), version=fired.version,
        message=f"已填报{body.month}月度考勤",
    )  # fmt: skip


@router.post("/checkins/corrections", summary="更正月度考勤", response_model=FiredOut)
def correct_checkin(body: CorrectionIn, svc: Svc, actor: ApiActor) -> FiredOut:
    """接收学校人事干部更正已填报的一个月考勤：只填要更正的出勤天数、授课课时或表现评价，
    并写明更正原因。该月尚未填报、更正内容与原填报相同、未写原因，或支教已完成期满考核的，
    不予受理（field 指明字段）。更正前后的内容记入支教事项的办理记录。"""
    payload = body.model_dump(exclude={"term_id", "expected_version"}, exclude_none=True)
    fired = checkins.correct(
        svc.engine, actor, body.term_id, payload, expected_version=body.expected_version
    )
    spec = svc.engine.processes[TERM]
    return FiredOut(
        case_id=body.term_id, event=fired.event, state=fired.to_state,
        state_label=spec.state_label(fired.to_state), version=fired.version,
        message=f"已更正{body.month}月度考勤",
    )  # fmt: skip


# --- a teacher's own ----------------------------------------------------------------------------
@router.get("/me", summary="我的支教", response_model=MyOut)
def me(svc: Svc, actor: ApiActor) -> MyOut:
    """教师本人：可报名的需求、本人的报名和支教、计入农村或薄弱学校任教经历的记录。"""
    if actor.person_id is None:
        raise NotFound("人员不存在")
    with reader(svc.db).connect() as conn:
        open_ = needs.open_needs(conn, actor, today=svc.today())
        mine = reads.my_applications(conn, actor.person_id)
        own = terms.my_terms(conn, actor.person_id)
        credits = service.entries(conn, actor.person_id)
        years = service.credited_years(conn, actor.person_id)
    return MyOut(
        open_needs=[_need(r) for r in open_],
        applications=[ApplicationOut.model_validate(a, from_attributes=True) for a in mine],
        terms=[_term(t) for t in own],
        credits=[CreditOut.model_validate(c, from_attributes=True) for c in credits],
        credited_years=years,
    )


# --- the dispatch list --------------------------------------------------------------------------
@router.get("/dispatch", summary="支教派出名单", response_model=list[DispatchLine])
def dispatch(svc: Svc, actor: ApiActor, year: Year = None) -> list[DispatchLine]:
    """一个年度已选派的支教教师（教育局看管辖范围，学校看本校派出和接收的，教师看本人）；
    身份证号除本人外脱敏。"""
    with reader(svc.db).connect() as conn:
        rows = terms.dispatch_list(conn, actor, _this_year(svc, year))
    return [DispatchLine(term_id=r["case_id"], **_line(r)) for r in rows]


def _line(r: dict[str, Any]) -> dict[str, str]:
    return {k: str(r.get(k) or "") for k, _ in terms.DISPATCH_COLUMNS}


@router.get(
    "/dispatch.xlsx",
    summary="导出支教派出名单",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}}},
)
def export_dispatch(svc: Svc, actor: ApiActor, year: Year = None) -> Response:
    """支教派出名单（.xlsx），范围同“支教派出名单”，身份证号除本人外脱敏。"""
    y = _this_year(svc, year)
    title = f"{y}年度支教派出名单"
    with reader(svc.db).connect() as conn:
        rows = terms.dispatch_list(conn, actor, y)
    data = write_xlsx(terms.DISPATCH_COLUMNS, rows, title=title, mask=())
    return Response(
        data,
        media_type=XLSX,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(title)}.xlsx"},
    )


# --- paired regions -----------------------------------------------------------------------------
@router.get("/regions", summary="对口支援地区", response_model=list[RegionOut])
def list_regions(svc: Svc, actor: ApiActor) -> list[RegionOut]:
    """本市（省教育厅看全省）登记的对口支援地区及其学校数。"""
    with reader(svc.db).connect() as conn:
        rows = regions.regions(conn, actor)
    return [RegionOut.model_validate(r, from_attributes=True) for r in rows]


@router.post("/regions", summary="登记对口支援地区", response_model=RegionOut, status_code=201)
def register_region(body: RegionIn, svc: Svc, actor: ApiActor) -> RegionOut:
    """市教育局人事处登记本市对口支援的地区：新建一个县级单位（名称必填，单位代码可不填），
    或登记机构中已有的本市县级单位（unit_id）。该地区的学校即可申报支教需求，由市教育局审批、
    在全市选派。"""
    with svc.db.begin() as conn:
        unit_id = regions.register_region(
            conn, actor, body.name or "", at=svc.now(), code=body.code, unit_id=body.unit_id
        )
    with reader(svc.db).connect() as conn:
        found = [r for r in regions.regions(conn, actor) if r.unit_id == unit_id]
    return RegionOut.model_validate(found[0], from_attributes=True)
