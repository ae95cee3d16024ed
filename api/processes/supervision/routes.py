"""/api/v1/supervision: inspection campaigns (专项督查) — opening one, its steps (the 双随机
draw, the visits, following up, closing), checking the draw against its seeds, an
inspector's targets, findings with their evidence, the report (and its spreadsheet), and a
rectification's report, re-inspection and re-inspector. The rectification's steps are also
the generic case events (``POST /api/v1/cases/{id}/events``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import PurePath
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Path, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile as StarletteUpload

from api import schemas as s
from api.deps import ApiActor, Services, Svc
from api.errors import ERRORS
from states.errors import FormError
from states.processes.supervision import campaigns, findings, report
from states.processes.supervision.findings import Evidence
from states.sheets import write_xlsx

CampaignId = Annotated[int, Path(ge=1, le=2**53, description="专项督查编号")]
CaseId = Annotated[int, Path(ge=1, le=2**53, description="整改事项编号（事项编号）")]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SmallInt = Annotated[int, Field(ge=-(2**31), le=2**31)]
Version = Annotated[int, Field(ge=1, le=2**53, description="读取时的版本号")]


# What a person is told of the evidence limits (a form's help, the API's description), from
# the limits themselves: the package's count, the file store's size (``svc.files``).
def evidence_limits(max_bytes: int) -> str:
    return f"一次最多{findings.MAX_FILES}个，每个不超过{max_bytes // (1024 * 1024)}MB"


EVIDENCE_LIMITS = f"一次最多{findings.MAX_FILES}个；每个文件的类型和大小限制同“上传附件”"

router = APIRouter(prefix="/api/v1/supervision", tags=["专项督查"], responses=ERRORS)


# --- shapes -----------------------------------------------------------------------------------
class ItemIn(s.In):
    code: Annotated[s.Text, Field(max_length=16, description="检查项目编码，如 A1")]
    text: Annotated[s.Text, Field(max_length=200, description="检查内容")]
    evidence: Annotated[bool, Field(description="记录问题时是否须附佐证材料")] = False


class CampaignIn(s.In):
    """Ranges and dates are checked together, so that one answer names every field at
    fault (``errors``)."""

    title: Annotated[s.Text, Field(description="督查事项，如“在职教师有偿补课专项督查”")]
    year: Annotated[SmallInt, Field(description="年度")]
    visit_from: Annotated[dt.date, Field(description="检查开始日期")]
    visit_to: Annotated[dt.date, Field(description="检查结束日期")]
    ratio_percent: Annotated[SmallInt, Field(description="抽取比例（%），至少须抽到1所学校")]
    per_target: Annotated[SmallInt | None, Field(description="每所学校检查人员数，默认2")] = None
    announced: Annotated[bool | None, Field(description="提前告知被检查单位，默认否")] = None
    rectify_days: Annotated[SmallInt | None, Field(description="整改期限（工作日），默认20")] = None
    checklist: Annotated[list[ItemIn], Field(max_length=60, description="检查清单")]
    counties: Annotated[
        list[s.Id] | None, Field(max_length=200, description="限定的县（区）编号；默认全部")
    ] = None
    unit_id: Annotated[s.Id | None, Field(description="组织单位编号；默认本人所在单位")] = None


class ItemOut(BaseModel):
    code: str
    text: str
    evidence: bool


class PersonOut(BaseModel):
    person_id: int
    name: str


class TargetOut(BaseModel):
    unit_id: int
    unit: str
    inspectors: list[PersonOut]


class CampaignOut(BaseModel):
    id: int
    organiser_id: int
    organiser: str
    year: int
    title: str
    case_id: int
    state: str
    state_label: str
    version: int = Field(description="本督查事项的版本号（办理环节时提交）")
    visit_from: dt.date
    visit_to: dt.date
    ratio_percent: int
    per_target: int
    announced: bool
    rectify_days: int
    checklist: list[ItemOut]
    counties: list[int] | None
    drawn_at: dt.datetime | None
    visits_at: dt.datetime | None
    target_seed: int | None = Field(description="抽取检查对象的随机种子（可查看抽取结果者）")
    inspector_seed: int | None = Field(description="抽取检查人员的随机种子")
    targets: list[TargetOut] = Field(description="检查对象及检查人员（按查看者权限）")


class StepIn(s.In):
    expected_version: Annotated[Version | None, Field(description="默认为当前版本")] = None
    reason: Annotated[s.Text | None, Field(max_length=1000, description="撤销理由")] = None


class StepOut(BaseModel):
    campaign_id: int
    event: str
    state: str
    state_label: str
    version: int


class VerifyOut(BaseModel):
    same: bool = Field(description="重新抽取结果与记录是否一致")
    inputs_intact: bool = Field(description="保存的学校和督查员名单与办理记录中的摘要是否一致")
    target_seed: int
    inspector_seed: int
    targets: list[int]
    message: str


class FindingOut(BaseModel):
    campaign_id: int
    finding_id: int
    rectification_case_id: int
    version: int = Field(description="督查事项的新版本号")
    message: str


class TallyOut(BaseModel):
    findings: int
    rectified: int
    publicized: int
    open: int
    overdue: int


class UnitLineOut(BaseModel):
    unit_id: int
    unit: str
    inspectors: list[str]
    tally: TallyOut


class ItemLineOut(BaseModel):
    code: str
    text: str
    evidence: bool
    units: int
    tally: TallyOut


class FindingLineOut(BaseModel):
    finding_id: int
    case_id: int
    unit_id: int
    unit: str
    item: str
    item_text: str
    text: str
    clue: str | None = Field(description="线索来源（仅督查人员和组织单位可见）")
    inspector: str
    found_on: dt.date
    evidence: list[dict[str, str]]
    state: str
    state_label: str
    due_on: dt.date | None
    overdue: bool


class ReportOut(BaseModel):
    campaign_id: int
    title: str
    state: str
    state_label: str
    summary: str
    total: TallyOut
    units: list[UnitLineOut]
    items: list[ItemLineOut]
    findings: list[FindingLineOut]


class ReinspectionIn(s.In):
    decision: Annotated[
        Literal["accept", "return", "escalate"],
        Field(
            title="复查结论",
            description="accept：整改到位；return：退回整改；escalate：整改不到位，予以通报",
        ),
    ]
    reason: Annotated[s.Text | None, Field(max_length=1000, description="退回或通报的理由")] = None
    expected_version: Annotated[Version | None, Field(description="默认为当前版本")] = None


class ReinspectorIn(s.In):
    person_id: Annotated[s.Id, Field(description="复查人员（本次督查督查员库中的督查员）")]
    expected_version: Annotated[Version | None, Field(description="默认为当前版本")] = None


class RectificationOut(BaseModel):
    case_id: int
    event: str
    state: str
    state_label: str
    version: int
    message: str


# --- conversions ------------------------------------------------------------------------------
def _campaign(svc: Svc, actor: ApiActor, campaign_id: int) -> CampaignOut:
    with svc.db.connect() as conn:
        c = campaigns.read(conn, actor, campaign_id)
    seen = c.full or c.visited
    r = c.row
    return CampaignOut(
        id=r.id, organiser_id=r.organiser_id, organiser=c.organiser, year=r.year, title=r.title,
        case_id=r.case_id, state=c.state, state_label=c.state_label, version=c.version,
        visit_from=r.visit_from, visit_to=r.visit_to, ratio_percent=r.ratio_percent,
        per_target=r.per_target, announced=r.announced, rectify_days=r.rectify_days,
        checklist=[ItemOut(**i) for i in r.checklist],
        counties=list(r.scope_counties) if r.scope_counties else None, drawn_at=r.drawn_at,
        visits_at=r.visits_at, target_seed=r.target_seed if seen else None,
        inspector_seed=r.inspector_seed if seen else None,
        targets=[
            TargetOut(unit_id=t.unit_id, unit=t.unit,
                      inspectors=[PersonOut(person_id=p, name=n) for p, n in t.inspectors])
            for t in campaigns.targets(svc.engine, actor, campaign_id)
        ],
    )  # fmt: skip


def _tally(t: report.Tally) -> TallyOut:
    return TallyOut(
        findings=t.findings, rectified=t.rectified, publicized=t.publicized, open=t.open,
        overdue=t.overdue,
    )  # fmt: skip


def summary(r: report.Report) -> str:
    t = r.total
    return (
        f"检查对象{len(r.units)}所，发现问题{t.findings}个：整改到位{t.rectified}个，"
        f"逾期{t.overdue}个，通报{t.publicized}个，整改中{t.open}个"
    )


def stored_evidence(files: Iterable[object] | None, svc: Services) -> list[Evidence]:
    """The evidence files of one submit, from the API or a page, stored as one definition
    checks them: a file input left empty (a browser still sends it, nameless) is no file;
    more than ``findings.MAX_FILES`` are refused before any is stored; each is checked by the
    file store (``svc.files``: its type from its first bytes, its size) and a refusal names
    the file. Nothing reaches a case here: the finding or report puts the stored files on
    its case in its own transaction, or nothing at all."""
    uploads = [
        f for f in files or () if isinstance(f, StarletteUpload) and (f.filename or "").strip()
    ]
    if len(uploads) > findings.MAX_FILES:
        raise FormError(
            "evidence", f"一次最多上传{findings.MAX_FILES}个佐证材料，本次选择了{len(uploads)}个"
        )
    out = []
    for f in uploads:
        name = PurePath(f.filename or "").name
        try:
            stored = svc.files.save(name, f.file)
        except ValueError as exc:  # the file store's refusal (api.files.UploadRejected)
            raise FormError("evidence", f"佐证材料“{name}”：{exc}") from None
        out.append(Evidence(stored.filename, stored.content_type, stored.size, stored.sha256))
    return out


def _rectification_out(result: Any, message: str) -> RectificationOut:
    return RectificationOut(
        case_id=result.case_id, event=result.event, state=result.to_state,
        state_label=findings.state_label(result.to_state), version=result.version,
        message=message,
    )  # fmt: skip


# --- campaigns --------------------------------------------------------------------------------
@router.get("/campaigns", summary="专项督查列表", response_model=list[CampaignOut])
def list_campaigns(svc: Svc, actor: ApiActor) -> list[CampaignOut]:
    """本人组织（或上级单位组织、本人督查范围内）的专项督查，以及本人被抽取检查的专项督查，
    新的在前。"""
    return [_campaign(svc, actor, c.id) for c in campaigns.campaigns_for(svc.engine, actor)]


@router.post("/campaigns", summary="开启专项督查", response_model=CampaignOut, status_code=201)
def open_campaign(body: CampaignIn, svc: Svc, actor: ApiActor) -> CampaignOut:
    """县（区）、市教育局或省教育厅人事部门开启本单位的专项督查：督查事项、范围（本单位所辖
    全部学校，或限定的县区）、检查日期、检查清单（每项可要求佐证材料）、抽取比例、每所学校
    检查人员数、是否提前告知被检查单位（默认不告知）和整改期限（工作日）。"""
    form = body.model_dump(exclude_none=True, exclude={"unit_id"})
    campaign_id = campaigns.open_campaign(svc.engine, actor, form, unit_id=body.unit_id)
    return _campaign(svc, actor, campaign_id)


@router.get("/campaigns/{campaign_id}", summary="专项督查详情", response_model=CampaignOut)
def get_campaign(campaign_id: CampaignId, svc: Svc, actor: ApiActor) -> CampaignOut:
    """组织单位及其上级、督查员可查看；抽取结果在实地检查开始前仅组织单位可见，
    被抽中的检查人员只看到本人的检查对象。"""
    return _campaign(svc, actor, campaign_id)


Step = Literal["draw", "start-visits", "finish-visits", "conclude", "call-off"]


@router.post(
    "/campaigns/{campaign_id}/steps/{step}", summary="办理专项督查环节", response_model=StepOut
)
def take_step(
    campaign_id: CampaignId, step: Step, body: StepIn, svc: Svc, actor: ApiActor
) -> StepOut:
    """draw：双随机抽取检查对象和检查人员（两个随机种子记入办理记录，比例抽不到学校或督查员
    回避后不足时拒绝并说明）；start-visits：开始实地检查（检查开始日期当天起，系统也会自动
    开始；不提前告知的督查此时才通知被检查单位）；finish-visits：结束实地检查，转入整改跟踪；
    conclude：全部整改事项办结后办结；call-off：实地检查开始前撤销（须填写 reason）。"""
    payload = {"reason": body.reason or ""} if step == "call-off" else {}
    result = campaigns.step(
        svc.engine, actor, campaign_id, campaigns.STEPS[step], payload,
        expected_version=body.expected_version,
    )  # fmt: skip
    return StepOut(
        campaign_id=campaign_id, event=result.event, state=result.to_state,
        state_label=svc.engine.processes[result.process].state_label(result.to_state),
        version=result.version,
    )  # fmt: skip


@router.get("/campaigns/{campaign_id}/draw", summary="核验抽取结果", response_model=VerifyOut)
def verify_draw(campaign_id: CampaignId, svc: Svc, actor: ApiActor) -> VerifyOut:
    """按办理记录中的两个随机种子和抽取时保存的学校、督查员名单重新抽取，与记录的检查对象
    和检查人员比对。"""
    v = campaigns.verify_draw(svc.engine, actor, campaign_id)
    if v.same:
        message = f"重新抽取结果与记录一致：检查对象{len(v.recorded.targets)}所"
    elif not v.inputs_intact:
        message = "抽取时保存的学校或督查员名单与办理记录中的摘要不符"
    else:
        message = "重新抽取结果与记录不一致"
    return VerifyOut(
        same=v.same, inputs_intact=v.inputs_intact, target_seed=v.target_seed,
        inspector_seed=v.inspector_seed, targets=list(v.recorded.targets), message=message,
    )  # fmt: skip


@router.post(
    "/campaigns/{campaign_id}/findings",
    summary="记录发现的问题",
    response_model=FindingOut,
    status_code=201,
)
def record_finding(
    campaign_id: CampaignId,
    svc: Svc,
    actor: ApiActor,
    target_id: Annotated[int | None, Form(ge=1, le=2**53, description="被检查单位编号")] = None,
    item: Annotated[s.Text | None, Form(max_length=16, description="检查项目编码")] = None,
    text: Annotated[s.Text | None, Form(max_length=2000, description="发现的问题")] = None,
    clue: Annotated[
        s.Text | None, Form(max_length=500, description="线索来源（不告知被检查单位）")
    ] = None,
    evidence: Annotated[
        list[UploadFile] | None,
        File(description=f"佐证材料：照片（JPG、PNG）或文件，可多个（{EVIDENCE_LIMITS}）"),
    ] = None,
) -> FindingOut:
    """被抽取的检查人员在实地检查期间，对本人检查对象按检查清单逐项记录问题；检查清单要求佐证
    的项目须上传佐证材料（保存 SHA-256）。每个问题自动为被检查单位生成一个整改事项。"""
    with svc.db.connect() as conn:
        campaigns.read(conn, actor, campaign_id)  # beyond the campaign: not found, whatever sent
    files = stored_evidence(evidence, svc)
    result = findings.record_finding(
        svc.engine, actor, campaign_id, target_id=target_id or 0, item=item or "",
        text=text or "", clue=clue or "", evidence=files,
    )  # fmt: skip
    made = findings.made_by(svc.engine, result)
    return FindingOut(
        campaign_id=campaign_id, finding_id=made[0], rectification_case_id=made[1],
        version=result.version, message="问题已记录，已生成整改事项并通知被检查单位",
    )  # fmt: skip


@router.get("/campaigns/{campaign_id}/report", summary="督查报告", response_model=ReportOut)
def get_report(campaign_id: CampaignId, svc: Svc, actor: ApiActor) -> ReportOut:
    """检查对象、按检查项目和按单位汇总的问题，整改到位、逾期、通报和整改中的数量，以及每个
    问题的整改状态。线索来源仅督查人员和组织单位可见。"""
    r = report.report(svc.engine, actor, campaign_id)
    return ReportOut(
        campaign_id=campaign_id, title=r.campaign.title, state=r.campaign.state,
        state_label=r.campaign.state_label, summary=summary(r), total=_tally(r.total),
        units=[UnitLineOut(unit_id=u.unit_id, unit=u.unit, inspectors=list(u.inspectors),
                           tally=_tally(u.tally)) for u in r.units],
        items=[ItemLineOut(code=i.code, text=i.text, evidence=i.evidence, units=len(i.units),
                           tally=_tally(i.tally)) for i in r.items],
        findings=[
            FindingLineOut(
                finding_id=f.finding_id, case_id=f.case_id, unit_id=f.unit_id, unit=f.unit,
                item=f.item, item_text=f.item_text, text=f.text, clue=f.clue,
                inspector=f.inspector, found_on=f.found_on,
                evidence=[{"filename": n, "sha256": h} for n, h in f.evidence],
                state=f.state, state_label=f.state_label, due_on=f.due_on, overdue=f.overdue,
            )
            for f in r.findings
        ],
    )  # fmt: skip


@router.get(
    "/campaigns/{campaign_id}/report.xlsx",
    summary="导出督查报告",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}}},
)
def export_report(campaign_id: CampaignId, svc: Svc, actor: ApiActor) -> Response:
    """督查发现的问题清单（.xlsx），按查看者权限输出：线索来源仅督查人员和组织单位可见。"""
    title, columns, rows = report.export(report.report(svc.engine, actor, campaign_id))
    data = write_xlsx(columns, rows, title=title, mask=())
    return Response(
        data,
        media_type=XLSX,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(title)}.xlsx"},
    )


# --- rectifications ---------------------------------------------------------------------------
@router.post(
    "/rectifications/{case_id}/report", summary="报告整改情况", response_model=RectificationOut
)
def report_rectification(
    case_id: CaseId,
    svc: Svc,
    actor: ApiActor,
    text: Annotated[s.Text | None, Form(max_length=2000, description="整改情况")] = None,
    evidence: Annotated[
        list[UploadFile] | None,
        File(description=f"整改佐证材料：照片或文件，至少一个（{EVIDENCE_LIMITS}）"),
    ] = None,
    expected_version: Annotated[int | None, Form(ge=1, le=2**53, description="读取时的版本号")] = (
        None
    ),
) -> RectificationOut:
    """被检查单位的人事干部报告整改情况并上传整改佐证材料，转督查组复查。整改事项办结后不能
    再报告。"""
    with svc.db.connect() as conn:
        svc.engine.ensure_visible(conn, case_id, actor)  # beyond scope: not found
    files = stored_evidence(evidence, svc)
    result = findings.report_rectification(
        svc.engine, actor, case_id, text or "", files, expected_version=expected_version
    )
    return _rectification_out(result, "整改情况已报告，待督查组复查")


@router.post(
    "/rectifications/{case_id}/reinspection",
    summary="复查整改情况",
    response_model=RectificationOut,
)
def reinspect(case_id: CaseId, body: ReinspectionIn, svc: Svc, actor: ApiActor) -> RectificationOut:
    """复查人员（本次督查督查员库中的督查员，被检查单位本单位人员须回避）给出复查结论：
    accept 整改到位；return 退回整改（须填写理由，整改期限重新计算）；escalate 整改不到位，
    予以通报（须填写理由，通知被检查单位及其上级单位）。"""
    result = findings.reinspect(
        svc.engine, actor, case_id, body.decision, body.reason or "",
        expected_version=body.expected_version,
    )  # fmt: skip
    said = {
        "accept": "复查通过，整改到位",
        "return": "已退回整改",
        "escalate": "已通报被检查单位及其上级单位",
    }
    return _rectification_out(result, said[body.decision])


@router.post(
    "/rectifications/{case_id}/reinspector",
    summary="指定复查人员",
    response_model=RectificationOut,
)
def assign_reinspector(
    case_id: CaseId, body: ReinspectorIn, svc: Svc, actor: ApiActor
) -> RectificationOut:
    """组织单位的人事干部另行指定复查人员：须为本次督查督查员库中的督查员，且不是被检查单位
    本单位的人员。"""
    result = findings.assign_reinspector(
        svc.engine, actor, case_id, body.person_id, expected_version=body.expected_version
    )
    return _rectification_out(result, "已指定复查人员")


@router.get("/campaigns/{campaign_id}/mine", summary="我的检查对象", response_model=list[TargetOut])
def my_targets(campaign_id: CampaignId, svc: Svc, actor: ApiActor) -> list[TargetOut]:
    """被抽取的检查人员本人的检查对象及同组检查人员。"""
    return [
        TargetOut(
            unit_id=t.unit_id, unit=t.unit,
            inspectors=[PersonOut(person_id=p, name=n) for p, n in t.inspectors],
        )
        for t in campaigns.targets(svc.engine, actor, campaign_id)
        if any(p == actor.person_id for p, _ in t.inspectors)
    ]  # fmt: skip
