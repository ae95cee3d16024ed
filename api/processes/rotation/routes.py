"""/api/v1/rotation: the county's rotation campaign (交流轮岗) — opening and adjusting it,
its receiving posts, the eligible list, exemptions, preferences, nominations and the
schools' confirmations, each school's required count, the matching, the result with its
reasons (and its masked spreadsheet), publication. A teacher's rotation is returned or
extended through the generic case events (``POST /api/v1/cases/{id}/events``)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Path, Query, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from api import schemas as s
from api import webkit
from api.deps import ApiActor, Svc
from api.errors import ERRORS
from states.errors import FormError
from states.org import SCHOOL_LEVELS
from states.processes.rotation import campaigns, exemptions, lists, posts, results
from states.processes.rotation.machine import EXEMPTION
from states.sheets import write_xlsx
from states.store.db import reader

CampaignId = Annotated[int, Path(ge=1, le=2**53, description="交流轮岗工作编号")]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_UPLOAD = 16 * 1024 * 1024
# a number no one means beyond these bounds; the ranges that matter are checked with the form
SmallInt = Annotated[int, Field(ge=-(2**31), le=2**31)]
Version = Annotated[int, Field(ge=1, le=2**53, description="读取时的版本号")]

router = APIRouter(prefix="/api/v1/rotation", tags=["交流轮岗"], responses=ERRORS)


# --- shapes -----------------------------------------------------------------------------------
class CampaignIn(s.In):
    """Ranges and the dates' order are checked together, so that one answer names every
    field at fault (``errors``)."""

    name: Annotated[s.Text, Field(description="名称，如“东县2026学年教师交流轮岗”")]
    year: Annotated[SmallInt, Field(description="学年（开始的年份）")]
    preferences_open: Annotated[dt.date, Field(description="志愿填报开始日期")]
    preferences_close: Annotated[dt.date, Field(description="志愿填报截止日期（含当天）")]
    confirm_by: Annotated[dt.date, Field(description="学校确认名单截止日期")]
    eligible_as_of: Annotated[dt.date | None, Field(description="任职年限计算截止日期")] = None
    target_percent: Annotated[SmallInt | None, Field(description="交流比例（%），默认10")] = None
    backbone_percent: Annotated[SmallInt | None, Field(description="骨干比例（%），默认20")] = None
    min_years: Annotated[SmallInt | None, Field(description="同校任教年限，默认6")] = None
    principal_terms: Annotated[SmallInt | None, Field(description="校长任职届数，默认2")] = None
    principal_term_years: Annotated[SmallInt | None, Field(description="校长每届年限，默认3")] = (
        None
    )
    term_years: Annotated[SmallInt | None, Field(description="交流期限（年），默认3")] = None
    publicity_days: Annotated[SmallInt | None, Field(description="公示期（工作日），默认5")] = None
    remind_days: Annotated[SmallInt | None, Field(description="期满提醒（工作日），默认20")] = None
    exemption_kinds: Annotated[
        list[Annotated[s.Text, Field(max_length=32)]] | None,
        Field(max_length=20, description="免于交流情形，默认：临近退休、患病、孕期或哺乳期"),
    ] = None
    county_id: Annotated[s.Id | None, Field(description="县（区）编号；默认本人所在县区")] = None


class CampaignPatch(s.In):
    expected_version: Version
    name: s.Text | None = None
    preferences_open: dt.date | None = None
    preferences_close: dt.date | None = None
    confirm_by: dt.date | None = None
    eligible_as_of: dt.date | None = None
    target_percent: SmallInt | None = None
    backbone_percent: SmallInt | None = None
    min_years: SmallInt | None = None
    principal_terms: SmallInt | None = None
    principal_term_years: SmallInt | None = None
    term_years: SmallInt | None = None
    publicity_days: SmallInt | None = None
    remind_days: SmallInt | None = None
    exemption_kinds: Annotated[
        list[Annotated[s.Text, Field(max_length=32)]] | None, Field(max_length=20)
    ] = None


class CampaignOut(BaseModel):
    id: int
    county_id: int
    county: str
    year: int
    name: str
    case_id: int
    state: str
    state_label: str
    version: int = Field(description="本工作事项的版本号（办理环节时提交）")
    settings_version: int = Field(description="设置的版本号（调整设置时提交）")
    target_percent: int
    backbone_percent: int
    min_years: int
    principal_terms: int
    principal_term_years: int
    eligible_as_of: dt.date
    term_years: int
    preferences_open: dt.date
    preferences_close: dt.date
    confirm_by: dt.date
    publicity_days: int
    remind_days: int
    exemption_kinds: list[str]
    eligibility_at: dt.datetime | None
    run: int
    seed: int | None
    matched_at: dt.datetime | None
    published_at: dt.datetime | None
    shortfall_reason: str | None


class StepIn(s.In):
    expected_version: Annotated[Version | None, Field(description="默认为当前版本")] = None
    shortfall_reason: Annotated[
        s.Text | None, Field(max_length=1000, description="公布时交流比例未达标的情况说明")
    ] = None
    reason: Annotated[s.Text | None, Field(max_length=1000, description="撤销理由")] = None


class StepOut(BaseModel):
    campaign_id: int
    event: str
    state: str
    state_label: str
    version: int


class PostIn(s.In):
    school_code: Annotated[s.Text, Field(max_length=32, description="接收学校的学校代码")]
    subject: Annotated[s.Text, Field(max_length=32, description="学科，如 数学")]
    level: Annotated[s.Text, Field(max_length=16, description="学段：小学、初中、高中…")]
    places: Annotated[SmallInt, Field(description="接收名额")]
    reserved: Annotated[SmallInt, Field(description="其中骨干教师预留名额")] = 0


class PostsIn(s.In):
    posts: Annotated[list[PostIn], Field(min_length=1, max_length=2000)]
    valid_only: bool = False


class PostOut(BaseModel):
    id: int
    school_id: int
    school: str
    school_code: str
    rural_or_weak: bool
    subject: str
    level: str
    level_label: str
    places: int
    reserved: int
    stated: int
    placed: int


class ImportError_(BaseModel):
    row: int
    column: str
    value: str
    reason: str


class ImportOut(BaseModel):
    created: int
    updated: int
    unchanged: int
    written: bool
    summary: str
    error_count: int
    errors: list[ImportError_]
    ignored_columns: list[str]


class ListedOut(BaseModel):
    person_id: int
    name: str
    school_id: int
    school: str
    subject: str
    level: str
    years: int
    backbone_level: str | None
    principal: bool
    status: str
    exempt_case_id: int | None
    volunteered: bool
    nominated: bool
    preferences: list[str]


class MyOut(BaseModel):
    campaign_id: int
    campaign: str
    state: str
    state_label: str
    preferences_window: str
    eligible: bool
    listed: ListedOut | None
    placement: dict[str, Any] | None


class PreferencesIn(s.In):
    schools: Annotated[
        list[s.Id], Field(max_length=10, description="志愿学校编号，按志愿先后，至多3所")
    ]


class PreferencesOut(BaseModel):
    schools: list[str]
    message: str


class NominationIn(s.In):
    person_id: s.Id
    nominated: bool = True


class ConfirmIn(s.In):
    school_id: s.Id


class ConfirmOut(BaseModel):
    school_id: int
    selected: int
    message: str


class CountOut(BaseModel):
    school_id: int
    school: str
    eligible: int
    exempted: int
    volunteers: int
    nominated: int
    selected: int
    required: int
    backbone_required: int
    backbone_selected: int
    placed: int
    backbone_placed: int
    short: int
    confirmed: bool


class ShortfallOut(BaseModel):
    code: str
    school_id: int | None
    short: int
    text: str


class RequiredOut(BaseModel):
    campaign_id: int
    target_percent: int
    backbone_percent: int
    matched: bool
    schools: list[CountOut]
    shortfalls: list[ShortfallOut]


class ResultOut(BaseModel):
    campaign_id: int
    run: int
    seed: int | None
    matched_at: dt.datetime | None
    published_at: dt.datetime | None
    changed: str | None
    schools: list[CountOut]
    shortfalls: list[ShortfallOut]
    lines: list[dict[str, Any]]


class ExemptionCreated(BaseModel):
    case_id: int
    state: str
    state_label: str
    message: str


class ExemptionOut(BaseModel):
    case_id: int
    person_id: int
    name: str
    school: str
    kind: str
    state: str
    state_label: str
    opened_at: dt.datetime


# --- conversions ------------------------------------------------------------------------------
def _campaign(c: campaigns.Campaign) -> CampaignOut:
    r = c.row
    return CampaignOut(
        id=r.id, county_id=r.county_id, county=c.county, year=r.year, name=r.name,
        case_id=r.case_id, state=c.state, state_label=c.state_label, version=c.version,
        settings_version=r.version, target_percent=r.target_percent,
        backbone_percent=r.backbone_percent, min_years=r.min_years,
        principal_terms=r.principal_terms, principal_term_years=r.principal_term_years,
        eligible_as_of=r.eligible_as_of, term_years=r.term_years,
        preferences_open=r.preferences_open, preferences_close=r.preferences_close,
        confirm_by=r.confirm_by, publicity_days=r.publicity_days, remind_days=r.remind_days,
        exemption_kinds=list(r.exemption_kinds or ()), eligibility_at=r.eligibility_at,
        run=r.run, seed=r.seed, matched_at=r.matched_at, published_at=r.published_at,
        shortfall_reason=r.shortfall_reason,
    )  # fmt: skip


def _read(svc: Svc, actor: ApiActor, campaign_id: int) -> campaigns.Campaign:
    with reader(svc.db).connect() as conn:
        return campaigns.read(svc.engine, conn, actor, campaign_id)


def _listed(x: lists.Listed) -> ListedOut:
    return ListedOut(
        person_id=x.person_id, name=x.name, school_id=x.school_id, school=x.school,
        subject=x.subject, level=x.level, years=x.years, backbone_level=x.backbone_level,
        principal=x.principal, status=x.status, exempt_case_id=x.exempt_case_id,
        volunteered=x.volunteered, nominated=x.nominated, preferences=list(x.preferences),
    )  # fmt: skip


def _count(x: Any, matched: bool) -> CountOut:
    return CountOut(
        school_id=x.school_id, school=x.school, eligible=x.eligible, exempted=x.exempted,
        volunteers=x.volunteers, nominated=x.nominated, selected=x.selected,
        required=x.required, backbone_required=x.backbone_required,
        backbone_selected=x.backbone_selected, placed=x.placed,
        backbone_placed=x.backbone_placed, short=x.short(matched), confirmed=x.confirmed,
    )  # fmt: skip


def _shortfall(x: Any) -> ShortfallOut:
    return ShortfallOut(code=x.code, school_id=x.school_id, short=x.short, text=x.text)


def _report(report: Any) -> JSONResponse:
    out = ImportOut(
        created=report.created, updated=report.updated, unchanged=report.unchanged,
        written=report.written, summary=report.summary(), error_count=report.error_count,
        errors=[ImportError_.model_validate(e, from_attributes=True) for e in report.errors],
        ignored_columns=report.ignored_columns,
    )  # fmt: skip
    return JSONResponse(out.model_dump(), status_code=422 if report.refused else 200)


# --- the campaign -----------------------------------------------------------------------------
@router.get("/campaigns", summary="交流轮岗工作列表", response_model=list[CampaignOut])
def list_campaigns(svc: Svc, actor: ApiActor) -> list[CampaignOut]:
    """本人所在或管辖的县（区）的交流轮岗工作，新的在前。"""
    return [_campaign(c) for c in campaigns.campaigns_for(svc.engine, actor)]


@router.post("/campaigns", summary="开启交流轮岗工作", response_model=CampaignOut, status_code=201)
def open_campaign(body: CampaignIn, svc: Svc, actor: ApiActor) -> CampaignOut:
    """县教育局人事股开启本县（区）一个学年的交流轮岗：交流比例（默认10%）与骨干比例（默认
    20%）、列入交流的任教年限（默认同校6年，校长任满两届）、各环节日期、交流期限（默认3年）、
    公示期和免于交流的情形。每县每学年一个。"""
    form = body.model_dump(exclude_none=True, exclude={"county_id"})
    campaign_id = campaigns.open_campaign(svc.engine, actor, form, county_id=body.county_id)
    return _campaign(_read(svc, actor, campaign_id))


@router.get("/campaigns/{campaign_id}", summary="交流轮岗工作详情", response_model=CampaignOut)
def get_campaign(campaign_id: CampaignId, svc: Svc, actor: ApiActor) -> CampaignOut:
    """本县（区）的教育局、学校和教师均可查看。"""
    return _campaign(_read(svc, actor, campaign_id))


@router.patch("/campaigns/{campaign_id}", summary="调整交流轮岗工作", response_model=CampaignOut)
def change_campaign(
    campaign_id: CampaignId, body: CampaignPatch, svc: Svc, actor: ApiActor
) -> CampaignOut:
    """名单公布前可调整全部设置；公布后到结果公布前只能调整名称、日期、交流期限、公示期和
    期满提醒。须提交读取时的设置版本号（settings_version）。"""
    form = body.model_dump(exclude_none=True, exclude={"expected_version"})
    campaigns.change_campaign(
        svc.engine, actor, campaign_id, form, expected_version=body.expected_version
    )
    return _campaign(_read(svc, actor, campaign_id))


STEPS: dict[str, str] = {
    "eligibility": "compute_eligibility",
    "open-preferences": "open_preferences",
    "close-preferences": "close_preferences",
    "start-matching": "start_matching",
    "match": "run_match",
    "publish": "publish",
    "close": "close_campaign",
    "cancel": "cancel",
}
Step = Literal[
    "eligibility", "open-preferences", "close-preferences", "start-matching", "match",
    "publish", "close", "cancel",
]  # fmt: skip


@router.post(
    "/campaigns/{campaign_id}/steps/{step}", summary="办理交流轮岗环节", response_model=StepOut
)
def take_step(
    campaign_id: CampaignId, step: Step, body: StepIn, svc: Svc, actor: ApiActor
) -> StepOut:
    """eligibility：按档案计算符合交流条件的教师名单（可重算，至名单公布）；open-preferences：
    公布名单并开始志愿填报；close-preferences：截止志愿填报（截止日期之后）；start-matching：
    各校确认名单后开始匹配；match：运行匹配（抽签种子随机生成并记入办理记录，结果公布前可
    重新运行）；publish：公布结果，交流教师进入公示（比例未达标须填写 shortfall_reason）；
    close：结束；cancel：撤销（须填写 reason）。"""
    payload: dict[str, Any] = {}
    if step == "publish" and body.shortfall_reason:
        payload["shortfall_reason"] = body.shortfall_reason
    if step == "cancel":
        payload["reason"] = body.reason or ""
    result = campaigns.step(
        svc.engine, actor, campaign_id, STEPS[step], payload,
        expected_version=body.expected_version,
    )  # fmt: skip
    c = _read(svc, actor, campaign_id)
    return StepOut(
        campaign_id=campaign_id, event=result.event, state=c.state, state_label=c.state_label,
        version=result.version,
    )  # fmt: skip


# --- posts ------------------------------------------------------------------------------------
@router.get("/campaigns/{campaign_id}/posts", summary="接收岗位", response_model=list[PostOut])
def list_posts(campaign_id: CampaignId, svc: Svc, actor: ApiActor) -> list[PostOut]:
    """各接收学校的学科、学段和名额（农村、薄弱学校已标明），已填报和已匹配的人数。"""
    return [
        PostOut(
            id=p.id, school_id=p.school_id, school=p.school, school_code=p.school_code,
            rural_or_weak=p.priority, subject=p.subject, level=p.level,
            level_label=SCHOOL_LEVELS.get(p.level, p.level), places=p.places,
            reserved=p.reserved, stated=p.stated, placed=p.placed,
        )
        for p in posts.post_lines(svc.engine, actor, campaign_id)
    ]  # fmt: skip


@router.post(
    "/campaigns/{campaign_id}/posts",
    summary="导入接收岗位（JSON）",
    response_model=ImportOut,
    responses={422: {"model": ImportOut, "description": "有错误，未导入（逐行列出原因）"}},
)
def import_posts_json(
    campaign_id: CampaignId, body: PostsIn, svc: Svc, actor: ApiActor
) -> JSONResponse:
    """按学校、学科、学段新增或更新接收岗位，与表格导入同样逐行检查；有错误时默认不导入，
    valid_only=true 时只导入无误的行。"""
    table = posts.table_of_rows([p.model_dump() for p in body.posts])
    report = posts.import_posts(svc.engine, actor, campaign_id, table, valid_only=body.valid_only)
    return _report(report)


@router.post(
    "/campaigns/{campaign_id}/posts/import",
    summary="导入接收岗位（表格）",
    response_model=ImportOut,
    responses={422: {"model": ImportOut, "description": "有错误，未导入（逐行列出原因）"}},
)
def import_posts_sheet(
    campaign_id: CampaignId,
    svc: Svc,
    actor: ApiActor,
    file: Annotated[UploadFile, File(description=".xlsx 或 .csv")],
    valid_only: bool = False,
) -> JSONResponse:
    """表头：学校代码、学科、学段、接收名额、骨干预留名额。学校是否为农村或薄弱学校按机构信息。"""
    _read(svc, actor, campaign_id)  # beyond the county: not found, whatever the file
    data = file.file.read(MAX_UPLOAD + 1)
    table = webkit.read_upload(data, file.filename or "", posts.POSTS, MAX_UPLOAD)
    return _report(posts.import_posts(svc.engine, actor, campaign_id, table, valid_only=valid_only))


@router.get(
    "/posts-template",
    summary="接收岗位导入模板",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}}},
)
def posts_template(actor: ApiActor) -> Response:
    """空白的接收岗位导入模板（.xlsx）。"""
    return Response(
        posts.template(),
        media_type=XLSX,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote('接收岗位')}.xlsx"},
    )


# --- the lists --------------------------------------------------------------------------------
@router.get(
    "/campaigns/{campaign_id}/eligible",
    summary="符合交流条件的教师名单",
    response_model=list[ListedOut],
)
def eligible(
    campaign_id: CampaignId,
    svc: Svc,
    actor: ApiActor,
    school_id: Annotated[int | None, Query(ge=1, le=2**53, description="只看一所学校")] = None,
) -> list[ListedOut]:
    """学校看本校教师，县教育局看全县：任教年限、骨干、免于交流、本人志愿或学校推荐。"""
    return [
        _listed(x) for x in lists.eligible_list(svc.engine, actor, campaign_id, school_id=school_id)
    ]


@router.get("/campaigns/{campaign_id}/me", summary="我的交流轮岗", response_model=MyOut)
def me(campaign_id: CampaignId, svc: Svc, actor: ApiActor) -> MyOut:
    """本人是否列入交流名单、所填志愿，以及结果公布后的交流学校和安排理由。"""
    m = lists.my_status(svc.engine, actor, campaign_id)
    return MyOut(
        campaign_id=m.campaign_id, campaign=m.campaign, state=m.state,
        state_label=m.state_label, preferences_window=m.preferences_window,
        eligible=m.listed is not None and m.listed.exempt_case_id is None,
        listed=_listed(m.listed) if m.listed else None, placement=m.placement,
    )  # fmt: skip


@router.put(
    "/campaigns/{campaign_id}/preferences", summary="填报志愿", response_model=PreferencesOut
)
def preferences(
    campaign_id: CampaignId, body: PreferencesIn, svc: Svc, actor: ApiActor
) -> PreferencesOut:
    """列入名单的教师在填报时间内填报至多3所志愿学校（须有与本人学科、学段相符的接收岗位，
    不能是本校），按先后排列；提交空列表即撤回志愿。再次提交覆盖之前的志愿。"""
    names = lists.set_preferences(svc.engine, actor, campaign_id, body.schools)
    message = "已撤回志愿" if not names else "已填报志愿：" + "、".join(names)
    return PreferencesOut(schools=names, message=message)


@router.post(
    "/campaigns/{campaign_id}/nominations", summary="学校推荐人选", response_model=ListedOut
)
def nominate(campaign_id: CampaignId, body: NominationIn, svc: Svc, actor: ApiActor) -> ListedOut:
    """学校人事干部推荐本校名单中的教师参加交流（nominated=false 为取消推荐）；被推荐而未
    填报志愿的，由县教育局统一调剂。结果公布前均可办理，匹配后须重新运行匹配。"""
    lists.nominate(svc.engine, actor, campaign_id, body.person_id, nominated=body.nominated)
    found = [
        x for x in lists.eligible_list(svc.engine, actor, campaign_id)
        if x.person_id == body.person_id
    ]  # fmt: skip
    return _listed(found[0])


@router.post(
    "/campaigns/{campaign_id}/confirmations", summary="学校确认名单", response_model=ConfirmOut
)
def confirm(campaign_id: CampaignId, body: ConfirmIn, svc: Svc, actor: ApiActor) -> ConfirmOut:
    """志愿填报截止后，学校确认本校交流名单（本人志愿在先，学校推荐在后）。"""
    n = lists.confirm_list(svc.engine, actor, campaign_id, body.school_id)
    return ConfirmOut(school_id=body.school_id, selected=n, message=f"已确认本校交流名单，共{n}人")


@router.get(
    "/campaigns/{campaign_id}/required", summary="各校应交流人数", response_model=RequiredOut
)
def required(campaign_id: CampaignId, svc: Svc, actor: ApiActor) -> RequiredOut:
    """每所派出学校：符合条件人数（免于交流的除外）、应交流人数 ceil(10%×符合条件)、其中骨干
    ceil(20%×应交流)、本人志愿、学校推荐、已匹配和差额；匹配后列出未达标的学校和骨干比例。"""
    found = results.result(svc.engine, actor, campaign_id)
    c = found["campaign"]
    matched = bool(found["run"])
    return RequiredOut(
        campaign_id=c.id, target_percent=c.target_percent, backbone_percent=c.backbone_percent,
        matched=matched, schools=[_count(x, matched) for x in found["counts"]],
        shortfalls=[_shortfall(x) for x in found["shortfalls"]],
    )  # fmt: skip


@router.get("/campaigns/{campaign_id}/result", summary="匹配结果", response_model=ResultOut)
def result(campaign_id: CampaignId, svc: Svc, actor: ApiActor) -> ResultOut:
    """当前匹配结果：每位教师的交流学校和安排理由（第几志愿、预留名额或调剂、第几次匹配），
    各校达标情况；匹配后名单有变化的在 changed 中说明，须重新匹配。身份证号按可见范围脱敏。"""
    found = results.result(svc.engine, actor, campaign_id)
    return ResultOut(
        campaign_id=campaign_id, run=found["run"], seed=found["seed"],
        matched_at=found["matched_at"], published_at=found["published_at"],
        changed=found["changed"],
        schools=[_count(x, bool(found["run"])) for x in found["counts"]],
        shortfalls=[_shortfall(x) for x in found["shortfalls"]], lines=found["lines"],
    )  # fmt: skip


@router.get(
    "/campaigns/{campaign_id}/result.xlsx",
    summary="导出交流结果",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}}},
)
def export_result(campaign_id: CampaignId, svc: Svc, actor: ApiActor) -> Response:
    """交流结果（.xlsx），身份证号已脱敏，仅含管辖范围内的学校。"""
    title, rows = results.export_rows(svc.engine, actor, campaign_id)
    data = write_xlsx(results.EXPORT_COLUMNS, rows, title=title, mask=())
    return Response(
        data,
        media_type=XLSX,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(title)}.xlsx"},
    )


# --- exemptions -------------------------------------------------------------------------------
@router.post(
    "/campaigns/{campaign_id}/exemptions",
    summary="申请免于交流",
    response_model=ExemptionCreated,
    status_code=201,
)
def apply_exemption(
    campaign_id: CampaignId,
    svc: Svc,
    actor: ApiActor,
    kind: Annotated[
        s.Text | None, Form(max_length=32, description="免于交流情形，如 临近退休")
    ] = None,
    statement: Annotated[s.Text | None, Form(max_length=2000, description="申请理由")] = None,
    evidence: Annotated[UploadFile | None, File(description="证明材料（PDF、图片等）")] = None,
) -> ExemptionCreated:
    """列入名单的教师申请免于交流：免于交流情形（kind）、申请理由（statement）必填，须上传证明
    材料（evidence）；提交后由学校审核、县教育局审批（通过 /api/v1/cases/{id}/events 办理
    school_approve、approve、reject）。批准后不计入交流人数。"""
    _read(svc, actor, campaign_id)  # beyond the county: not found, whatever was sent
    if evidence is None or not (evidence.filename or "").strip():
        raise FormError("evidence", "请上传证明材料（附件）")
    try:
        stored = svc.files.save(evidence.filename or "", evidence.file)
    except ValueError as exc:
        raise FormError("evidence", str(exc)) from None
    case_id, version = exemptions.open_exemption(
        svc.engine, actor, campaign_id, kind or "", statement or ""
    )
    svc.engine.record_attachment(
        case_id, actor, filename=stored.filename, content_type=stored.content_type,
        size=stored.size, sha256=stored.sha256,
    )  # fmt: skip
    fired = svc.engine.fire(case_id, "submit", actor, {}, expected_version=version)
    spec = svc.engine.processes[EXEMPTION]
    return ExemptionCreated(
        case_id=case_id, state=fired.to_state, state_label=spec.state_label(fired.to_state),
        message="免于交流申请已提交，待学校审核",
    )  # fmt: skip


@router.get(
    "/campaigns/{campaign_id}/exemptions",
    summary="免于交流申请",
    response_model=list[ExemptionOut],
)
def list_exemptions(campaign_id: CampaignId, svc: Svc, actor: ApiActor) -> list[ExemptionOut]:
    """本人的、本校的或本县的免于交流申请及其办理状态。"""
    return [
        ExemptionOut.model_validate(x, from_attributes=True)
        for x in exemptions.exemptions(svc.engine, actor, campaign_id)
    ]
