"""/api/v1/compliance: the automated compliance checks (合规检查) — the checks and their
counts, the findings (each line cut by the declared visibility for the reader) and their
masked spreadsheet, running the checks now; a teacher's ethics pledge (read, signed) and the
clauses of a school year's pledge the province sets; the province's or a city's honour
certificates for 30 years in rural schools (one, or a sheet).
Every answer carries a summary in words (``summary``)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Path, Query, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from api import schemas as s
from api import webkit
from api.deps import ApiActor, Svc
from api.errors import ERRORS
from states.clock import local_date
from states.errors import NotFound, PermissionDenied
from states.org import PROVINCE_OFFICER, SYSTEM, Actor
from states.processes.compliance import checks, findings, notes, pledge, pledge_texts, records
from states.registry import history
from states.sheets import write_xlsx
from states.store.db import reader

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_UPLOAD = 16 * 1024 * 1024

router = APIRouter(prefix="/api/v1/compliance", tags=["合规检查"], responses=ERRORS)


# --- shapes -----------------------------------------------------------------------------------
class RuleOut(BaseModel):
    code: str = Field(description="检查项代码")
    label: str = Field(description="检查项")
    subject: str = Field(description="对象类别：教师、单位、事项")
    advice: str = Field(description="整改要求")
    open: int = Field(description="未整改问题数")
    explained: int = Field(description="未整改问题中已填写情况说明的")
    opened_recently: int = Field(description="近30天新发现")
    closed_recently: int = Field(description="近30天销号（合计）")
    closed_by_data: int = Field(description="近30天销号中，数据更新（整改完成）销号的")
    closed_by_hand: int = Field(description="近30天销号中，上级单位人工销号的")


def _rule_out(r: findings.RuleCount) -> RuleOut:
    return RuleOut(**vars(r), closed_by_data=r.closed_by_data)


class UnitCountOut(BaseModel):
    unit_id: int | None = Field(description="下一级单位编号；空为本级")
    name: str
    counts: dict[str, int] = Field(description="各检查项的未整改问题数")
    total: int


class FindingOut(BaseModel):
    id: int
    rule: str
    rule_label: str
    subject_kind: str
    subject_label: str
    subject_id: int
    subject: str = Field(description="单位或事项（教师的问题为空，见姓名）")
    name: str | None = Field(None, description="教师姓名（领导看到的是姓氏）")
    id_number: str | None = Field(None, description="身份证号（督查员以外脱敏）")
    unit_id: int
    unit: str = Field(description="责任单位")
    detail: str
    advice: str
    opened_at: dt.datetime
    last_seen_at: dt.datetime
    closed_at: dt.datetime | None
    closed_how: str
    link: str
    note: str = Field(description="最近一次情况说明；没有为空")
    note_until: dt.date | None = Field(description="最近一次情况说明写明的预计整改日期")
    noted_at: dt.datetime | None = Field(description="最近一次情况说明的填写时间")
    noted_by: str = Field(description="最近一次情况说明的填写人")
    by_hand: bool = Field(description="是否为上级单位人工销号")
    closed_by: str = Field(description="人工销号的办理人；数据更新销号的为空")
    closed_unit: str = Field(description="人工销号的单位")
    close_reason: str = Field(description="人工销号的理由")


class NoteOut(BaseModel):
    id: int
    text: str = Field(description="情况说明")
    until: dt.date | None = Field(description="预计整改日期")
    at: dt.datetime = Field(description="填写时间")
    author: str = Field(description="填写人")
    author_unit: str = Field(description="填写人所在单位")


class FindingDetailOut(FindingOut):
    notes: list[NoteOut] = Field(description="全部情况说明，按填写时间先后")
    may_note: bool = Field(description="本人可否填写情况说明")
    may_close: bool = Field(description="本人可否人工销号")
    summary: str = Field(description="概况（文字）")


class NoteIn(s.In):
    text: Annotated[
        s.Text,
        Field(
            title="情况说明",
            max_length=2000,
            description="暂不能整改的原因、已采取的措施等（必填，至多500字）",
        ),
    ]
    until: Annotated[
        dt.date | None, Field(title="预计整改日期", description="可不填；不能早于今天")
    ] = None


class CloseIn(s.In):
    reason: Annotated[
        s.Text,
        Field(title="销号理由", max_length=2000, description="人工销号的理由（必填，至多500字）"),
    ]


class BoardOut(BaseModel):
    unit_id: int
    unit: str
    status: str
    summary: str = Field(description="概况（文字）")
    rules: list[RuleOut]
    units: list[UnitCountOut]
    total: int = Field(description="符合条件的问题总数")
    items: list[FindingOut]


class RunIn(s.In):
    rule: Annotated[s.Text | None, Field(max_length=48, description="检查项代码；默认全部")] = None


class RunItem(BaseModel):
    rule: str
    label: str
    ok: bool
    counts: dict[str, int]
    summary: str


class RunOut(BaseModel):
    summary: str
    results: list[RunItem]


class PledgeOut(BaseModel):
    year: int
    year_label: str
    text: str = Field(description="承诺书全文（本人姓名、学校、学年）")
    sha256: str = Field(description="全文的 SHA-256，签署时原样提交")
    issued_at: dt.datetime
    signed: bool
    signed_at: dt.datetime | None
    summary: str


class SignIn(s.In):
    sha256: Annotated[s.Text, Field(max_length=64, description="所阅读承诺书全文的 SHA-256")]


class IssueIn(s.In):
    year: Annotated[int | None, Field(ge=2000, le=2100, description="学年（开始的年份）")] = None


class IssueOut(BaseModel):
    year: int
    issued: int
    summary: str


class PledgeTextOut(BaseModel):
    year: int = Field(description="学年（开始的年份）")
    year_label: str
    clauses: list[str] = Field(description="承诺条款，逐条（不含序号）")
    own: bool = Field(description="是否为本学年设置的正文；否为默认条款（全省统一文本）")
    set_by: str | None = Field(description="最近一次设置的办理人")
    set_at: dt.datetime | None = Field(description="最近一次设置的时间")
    signed: int = Field(description="已签署本学年承诺书的教师数")
    issued: int = Field(description="已下发本学年承诺书的教师数")
    locked: bool = Field(description="已有教师签署，正文不能再修改")
    preview: str = Field(description="教师看到的全文（姓名、学校处留空）")
    summary: str


class PledgeTextIn(s.In):
    clauses: Annotated[
        list[Annotated[str, Field(max_length=2000)]],
        Field(
            title="承诺条款",
            max_length=100,
            description=f"逐条的承诺条款（至少1条，至多{pledge_texts.MAX_CLAUSES}条，"
            f"每条至多{pledge_texts.MAX_CLAUSE}字；序号由系统自动加上）",
        ),
    ]


class HonourIn(s.In):
    id_number: Annotated[s.Text, Field(max_length=18, description="教师身份证号")]
    cert_no: Annotated[s.Text, Field(max_length=32, description="证书编号")]
    issued_on: Annotated[dt.date, Field(description="颁发日期")]


class HonourOut(BaseModel):
    person_id: int
    name: str
    school: str
    cert_no: str
    issued_on: dt.date
    summary: str


class ImportErrorOut(BaseModel):
    row: int
    column: str
    value: str
    reason: str


class ImportOut(BaseModel):
    created: int
    written: bool
    summary: str
    error_count: int
    errors: list[ImportErrorOut]
    ignored_columns: list[str]


# --- helpers ----------------------------------------------------------------------------------
def _operator(actor: Actor) -> None:
    if not (actor.holds(PROVINCE_OFFICER) or actor.holds(SYSTEM)):
        raise PermissionDenied("立即运行检查、下发承诺书由省教育厅教师工作处办理")


def _words(counts: dict[str, int]) -> str:
    return checks.count_words(counts)


def summary_of(b: findings.Board) -> str:
    """A board in one sentence: 东县：未整改问题共35项（师德承诺书未签署20项、…）."""
    total = sum(r.open for r in b.rules)
    parts = "、".join(f"{r.label}{r.open}项" for r in b.rules if r.open)
    text = f"{b.unit.name}：未整改问题共{total}项" + (f"（{parts}）" if parts else "")
    closed = sum(r.closed_recently for r in b.rules)
    by_hand = sum(r.closed_by_hand for r in b.rules)
    text += f"；近{findings.CLOSED_DAYS}天销号{closed}项"
    return text + (f"（数据更新{closed - by_hand}项、人工销号{by_hand}项）" if by_hand else "")


def _filters(svc: Svc, rule: str | None, status: str | None, unit_id: int | None) -> Any:
    return findings.filters_from(
        svc.engine.processes.compliance_rules(), rule=rule, status=status, unit_id=unit_id
    )


Rule = Annotated[str | None, Query(max_length=48, description="检查项代码")]
Status = Annotated[
    str | None, Query(max_length=8, description="open 未整改（默认）、closed 已销号")
]
Unit = Annotated[int | None, Query(ge=1, le=2**53, description="单位编号；默认本人最高一级单位")]


# --- the board --------------------------------------------------------------------------------
@router.get("/rules", summary="自动检查项目及问题数", response_model=list[RuleOut])
def list_rules(svc: Svc, actor: ApiActor, unit_id: Unit = None) -> list[RuleOut]:
    """每项自动检查的检查内容、整改要求，以及本人管辖范围内的未整改和近30天新发现、销号数。"""
    rules = svc.engine.processes.compliance_rules()
    with reader(svc.db).connect() as conn:
        b = findings.board(
            conn, actor, rules, findings.Filters(unit_id=unit_id), svc.now(), limit=0
        )
    return [_rule_out(r) for r in b.rules]


@router.get("/findings", summary="问题清单", response_model=BoardOut)
def list_findings(
    svc: Svc,
    actor: ApiActor,
    rule: Rule = None,
    status: Status = None,
    unit_id: Unit = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="至多列出条数")] = 200,
) -> BoardOut:
    """管辖范围内自动检查发现的问题，按检查项、下一级单位统计，新发现的在前。各字段按本人身份脱敏：
    身份证号仅督查员可见全文，领导看到教师的姓氏。"""
    rules = svc.engine.processes.compliance_rules()
    filters = _filters(svc, rule, status, unit_id)
    with reader(svc.db).connect() as conn:
        b = findings.board(conn, actor, rules, filters, svc.now(), limit=limit)
    return BoardOut(
        unit_id=b.unit.id,
        unit=b.unit.name,
        status=filters.status,
        summary=summary_of(b),
        rules=[_rule_out(r) for r in b.rules],
        units=[
            UnitCountOut(unit_id=u.unit_id, name=u.name, counts=u.counts, total=u.total)
            for u in b.units
        ],
        total=b.listed,
        items=[FindingOut(**x) for x in b.lines],
    )


@router.get(
    "/findings.xlsx",
    summary="导出问题清单",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}}},
)
def export_findings(
    svc: Svc, actor: ApiActor, rule: Rule = None, status: Status = None, unit_id: Unit = None
) -> Response:
    """问题清单（.xlsx），与问题清单接口同样按本人身份脱敏。"""
    rules = svc.engine.processes.compliance_rules()
    filters = _filters(svc, rule, status, unit_id)
    with reader(svc.db).connect() as conn:
        title, rows = findings.export_rows(conn, actor, rules, filters)
        data = write_xlsx(findings.EXPORT_COLUMNS, rows, title=title, mask=())
    return Response(
        data,
        media_type=XLSX,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(title)}.xlsx"},
    )


FindingId = Annotated[int, Path(ge=1, le=2**53, description="问题编号")]


def _detail_out(page: findings.FindingPage) -> FindingDetailOut:
    x = page.line
    if x["closed_at"] is not None:
        said = f"已于{local_date(x['closed_at']).isoformat()}销号（{x['closed_how']}）"
    else:
        said = "未整改" + (f"，已填写情况说明{len(x['notes'])}次" if x["notes"] else "")
    return FindingDetailOut(
        **x, may_note=page.may_note, may_close=page.may_close,
        summary=f"{x['rule_label']}：{x['detail']}。{said}",
    )  # fmt: skip


def _detail(svc: Svc, actor: Actor, finding_id: int) -> FindingDetailOut:
    with reader(svc.db).connect() as conn:
        page = findings.finding(conn, actor, svc.engine.processes.compliance_rules(), finding_id)
    return _detail_out(page)


@router.get("/findings/{finding_id}", summary="一个问题的详情", response_model=FindingDetailOut)
def get_finding(finding_id: FindingId, svc: Svc, actor: ApiActor) -> FindingDetailOut:
    """一个问题：对象、检查项、发现时间、责任单位、全部情况说明和销号情况，与看板一样按本人身份脱敏；
    以及本人可否填写情况说明、人工销号。管辖范围以外的问题回答“未找到”。"""
    return _detail(svc, actor, finding_id)


@router.post(
    "/findings/{finding_id}/notes",
    summary="填写情况说明",
    response_model=FindingDetailOut,
    status_code=201,
)
def note_finding(
    finding_id: FindingId, body: NoteIn, svc: Svc, actor: ApiActor
) -> FindingDetailOut:
    """责任单位或其上级单位的人事干部就未整改的问题填写情况说明（如暂不能整改的原因），可写明预计整改日期。
    问题仍为未整改，数据更新后照常自动销号。上级单位填写的，通知责任单位的人事干部；预计整改日期过后
    问题仍未整改的，该项检查下一次运行时提醒责任单位一次。"""
    notes.note(svc.engine, actor, finding_id, body.text, body.until)
    return _detail(svc, actor, finding_id)


@router.post("/findings/{finding_id}/close", summary="人工销号", response_model=FindingDetailOut)
def close_finding(
    finding_id: FindingId, body: CloseIn, svc: Svc, actor: ApiActor
) -> FindingDetailOut:
    """责任单位的上级单位人事干部写明理由，将未整改的问题人工销号。同一检查项对同一对象，本学年（9月1日起）
    内不再登记；下一学年起照常检查。销号人、理由通知责任单位的人事干部。"""
    notes.close(svc.engine, actor, finding_id, body.reason)
    return _detail(svc, actor, finding_id)


@router.post("/run", summary="立即运行自动检查", response_model=RunOut)
def run_checks(body: RunIn, svc: Svc, actor: ApiActor) -> RunOut:
    """立即运行全部（或一项）自动检查：新问题登记并通知责任单位，已整改的自动销号。每项检查各自成一个事务，
    一项出错不影响其他各项。省教育厅教师工作处办理。"""
    _operator(actor)
    done = checks.run_all(svc.engine, body.rule)
    labels = {r.code: r.label for r in svc.engine.processes.compliance_rules()}
    items = []
    for code, outcome in done.items():
        if isinstance(outcome, str):
            items.append(
                RunItem(rule=code, label=labels[code], ok=False, counts={}, summary=outcome)
            )
        else:
            counts = dict(outcome)
            items.append(
                RunItem(
                    rule=code, label=labels[code], ok=True, counts=counts, summary=_words(counts)
                )
            )
    failed = sum(1 for i in items if not i.ok)
    said = f"已运行{len(items)}项检查" + (f"，{failed}项未能完成" if failed else "")
    return RunOut(summary=said, results=items)


# --- the ethics pledge ------------------------------------------------------------------------
def _pledge_out(p: pledge.MyPledge) -> PledgeOut:
    said = (
        f"已于{local_date(p.signed_at).isoformat()}签署{p.year_label}师德承诺书"
        if p.signed_at is not None
        else f"{p.year_label}师德承诺书待签署"
    )
    return PledgeOut(
        year=p.year, year_label=p.year_label, text=p.text, sha256=p.sha256,
        issued_at=p.issued_at, signed=p.signed, signed_at=p.signed_at, summary=said,
    )  # fmt: skip


@router.get("/pledge", summary="我的师德承诺书", response_model=PledgeOut)
def my_pledge(svc: Svc, actor: ApiActor) -> PledgeOut:
    """本学年师德承诺书的全文及其 SHA-256、是否已签署（教师本人）。"""
    with reader(svc.db).connect() as conn:
        found = pledge.mine(conn, actor, svc.today())
    if found is None:
        raise NotFound("本学年师德承诺书尚未下发")
    return _pledge_out(found)


@router.post("/pledge", summary="签署师德承诺书", response_model=PledgeOut)
def sign_pledge(body: SignIn, svc: Svc, actor: ApiActor) -> PledgeOut:
    """提交所阅读全文的 SHA-256 签署本学年师德承诺书；全文已变化的不予签署，请重新阅读。"""
    return _pledge_out(pledge.sign(svc.engine, actor, body.sha256))


@router.post("/pledges/issue", summary="下发师德承诺书", response_model=IssueOut)
def issue_pledges(body: IssueIn, svc: Svc, actor: ApiActor) -> IssueOut:
    """向全体在职教师下发本学年（或指定学年）师德承诺书，已下发的不重复下发。每天的承诺书检查也会先补发。"""
    _operator(actor)
    year, n = pledge.issue_now(svc.engine, body.year)
    return IssueOut(year=year, issued=n, summary=f"{pledge.year_label(year)}师德承诺书新下发{n}份")


def _text_out(t: pledge_texts.YearText) -> PledgeTextOut:
    said = f"{t.year_label}师德承诺书正文：" + (
        f"省教育厅设置的{len(t.clauses)}条承诺条款（{t.set_by}，"
        f"{local_date(t.set_at).isoformat() if t.set_at else ''}）"
        if t.own
        else f"默认的{len(t.clauses)}条承诺条款（全省统一文本）"
    )
    said += f"；已下发{t.issued}份，已签署{t.signed}份" + ("，正文不能再修改" if t.locked else "")
    return PledgeTextOut(
        year=t.year, year_label=t.year_label, clauses=list(t.clauses), own=t.own,
        set_by=t.set_by, set_at=t.set_at, signed=t.signed, issued=t.issued, locked=t.locked,
        preview=t.preview, summary=said,
    )  # fmt: skip


PledgeYear = Annotated[int, Path(ge=2000, le=2100, description="学年（开始的年份）")]


@router.get("/pledge-texts/{year}", summary="师德承诺书正文", response_model=PledgeTextOut)
def get_pledge_text(year: PledgeYear, svc: Svc, actor: ApiActor) -> PledgeTextOut:
    """一个学年师德承诺书的承诺条款（本学年设置的，或默认条款）、设置人和时间、已签署人数
    （省教育厅教师工作处）。"""
    with reader(svc.db).connect() as conn:
        return _text_out(pledge_texts.view(conn, actor, year))


@router.put("/pledge-texts/{year}", summary="设置师德承诺书正文", response_model=PledgeTextOut)
def set_pledge_text(
    year: PledgeYear, body: PledgeTextIn, svc: Svc, actor: ApiActor
) -> PledgeTextOut:
    """设置本学年（或以后学年）师德承诺书的承诺条款，教师阅读、签署的即为此正文（省教育厅教师工作处）。
    已有教师签署该学年承诺书的，不能再修改；以往学年不能修改。"""
    return _text_out(pledge_texts.set_clauses(svc.engine, actor, year, body.clauses))


# --- honour certificates ----------------------------------------------------------------------
@router.post(
    "/honours",
    summary="登记乡村从教30年荣誉证书",
    response_model=HonourOut,
    status_code=201,
)
def record_honour(body: HonourIn, svc: Svc, actor: ApiActor) -> HonourOut:
    """登记已向一名教师颁发的乡村学校从教30年荣誉证书（省教育厅、市教育局，限管辖范围内的教师）。"""
    done = records.record(svc.engine, actor, body.id_number, body.cert_no, body.issued_on)
    return HonourOut(
        person_id=done.person_id, name=done.name, school=done.school, cert_no=done.cert_no,
        issued_on=done.issued_on, summary=f"已登记{done.name}（{done.school}）的荣誉证书",
    )  # fmt: skip


@router.post(
    "/honours/import",
    summary="导入乡村从教30年荣誉证书（表格）",
    response_model=ImportOut,
    responses={422: {"model": ImportOut, "description": "有错误，未导入（逐行列出原因）"}},
)
def import_honours(
    svc: Svc,
    actor: ApiActor,
    file: Annotated[UploadFile, File(description=".xlsx 或 .csv")],
    valid_only: bool = False,
) -> JSONResponse:
    """表头：身份证号、证书编号、颁发日期（可含姓名，与档案核对）。有错误时整表不导入，除非只导入无误的行。"""
    data = file.file.read(MAX_UPLOAD + 1)
    table = webkit.read_upload(data, file.filename or "", records.HONOUR_SCHEMA, MAX_UPLOAD)
    report = records.import_honours(
        svc.engine, actor, table, valid_only=valid_only,
        source_ref=history.file_ref(file.filename or "", data),
    )  # fmt: skip
    out = ImportOut(
        created=report.created if report.written else 0, written=report.written,
        summary=report.summary() if report.refused else f"已登记{report.created}张荣誉证书"
        + (f"；{report.error_count}处错误所在的行未导入" if report.error_count else ""),
        error_count=report.error_count,
        errors=[ImportErrorOut.model_validate(e, from_attributes=True) for e in report.errors],
        ignored_columns=report.ignored_columns,
    )  # fmt: skip
    return JSONResponse(out.model_dump(mode="json"), status_code=422 if report.refused else 200)
