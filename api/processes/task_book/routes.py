"""/api/v1/tasks: task books (import, edit, approval), each task's steps and progress
reports, the leaders' board and its export, the year-end scoring."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Path, Query, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from api import schemas as s
from api.deps import ApiActor, Svc
from api.errors import ERRORS
from api.processes.task_book import views
from states.errors import FormError
from states.processes.task_book import books, scoring, work
from states.processes.task_book.rules import PARTIES, STATUSES
from states.store.db import reader

Id = Annotated[int, Path(ge=1, le=2**53)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Version = Annotated[int, Field(ge=1, le=2**53)]

router = APIRouter(prefix="/api/v1/task-lists", tags=["任务清单"], responses=ERRORS)


def _xlsx(title: str, data: bytes) -> Response:
    return Response(
        data,
        media_type=XLSX,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(title)}.xlsx"},
    )


# --- the board --------------------------------------------------------------------------------
class GroupOut(BaseModel):
    unit_id: int | None
    name: str
    counts: dict[str, int]
    total: int


class BoardTaskOut(BaseModel):
    id: int
    case_id: int
    title: str
    lead_unit_id: int
    lead_name: str
    source: str
    deadline: dt.date
    next_due: dt.date | None
    progress: int
    status: str
    status_label: str
    stagnant_since: dt.date | None
    closed_on: dt.date | None


class MonthOut(BaseModel):
    month: int
    planned: int
    done: int


class BoardOut(BaseModel):
    unit_id: int
    unit_name: str
    year: int
    today: dt.date
    statuses: dict[str, str]
    totals: dict[str, int]
    groups: list[GroupOut]
    tasks: list[BoardTaskOut]
    listed: int
    months: list[MonthOut]


Unit = Annotated[
    int | None, Query(ge=1, le=2**53, description="单位编号（默认本人可查看的最高一级单位）")
]
Year = Annotated[int | None, Query(ge=2000, le=2100, description="年度（默认今年）")]
SourceQ = Annotated[
    Literal["work_points", "meeting", "instruction"] | None, Query(description="任务来源")
]
StatusQ = Annotated[Literal["red", "yellow", "green", "done"] | None, Query(description="状态")]
Lead = Annotated[int | None, Query(ge=1, le=2**53, description="牵头单位编号")]
Month = Annotated[
    str | None, Query(pattern=r"^\d{4}-\d{2}$", description="完成时限所在月份，如 2026-06")
]


@router.get("/board", summary="督办看板", response_model=BoardOut)
def board_api(
    svc: Svc,
    actor: ApiActor,
    unit: Unit = None,
    year: Year = None,
    source: SourceQ = None,
    lead: Lead = None,
    status: StatusQ = None,
    month: Month = None,
) -> BoardOut:
    """管辖范围内某单位的全部已下达任务：按下一级单位分状态统计（逾期、预警、正常推进、
    已办结），任务列表逾期、停滞的排在前面（前200项），以及全年按月的计划完成数与实际完成数
    （累计）。可按任务来源、牵头单位、状态、完成时限所在月份筛选。"""
    b = views.board_for(
        svc, actor, unit=unit, year=year, source=source, lead=lead, status=status, month=month
    )
    return BoardOut(
        unit_id=b.unit.id,
        unit_name=b.unit.name,
        year=b.filters.year,
        today=b.today,
        statuses=dict(STATUSES),
        totals=b.totals,
        groups=[
            GroupOut(unit_id=g.unit_id, name=g.name, counts=g.counts, total=g.total)
            for g in b.groups
        ],
        tasks=[
            BoardTaskOut(
                **{k: t[k] for k in BoardTaskOut.model_fields if k in t},
                status_label=STATUSES[t["status"]],
            )
            for t in b.tasks
        ],
        listed=b.listed,
        months=[MonthOut(month=m, planned=p, done=d) for m, p, d in b.months],
    )


@router.get(
    "/board/export",
    summary="导出督办看板",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}}},
)
def board_export(
    svc: Svc,
    actor: ApiActor,
    unit: Unit = None,
    year: Year = None,
    source: SourceQ = None,
    lead: Lead = None,
    status: StatusQ = None,
    month: Month = None,
) -> Response:
    """看板筛选出的全部任务（.xlsx），顺序与看板列表相同。"""
    title, data = views.board_xlsx(
        svc, actor, unit=unit, year=year, source=source, lead=lead, status=status, month=month
    )
    return _xlsx(title, data)


# --- books ------------------------------------------------------------------------------------
class CellErrorOut(BaseModel):
    row: int
    column: str
    value: str
    reason: str


class ImportOut(BaseModel):
    book_id: int | None
    imported: int
    error_count: int
    errors: list[CellErrorOut]
    ignored_columns: list[str]


@router.post("/books/import", summary="导入任务书", response_model=ImportOut)
def import_book(
    svc: Svc,
    actor: ApiActor,
    file: Annotated[UploadFile, File(description="任务书（.xlsx 或 .csv）")],
    year: Annotated[int, Form(ge=2000, le=2100, description="年度")],
    unit_id: Annotated[int | None, Form(ge=1, le=2**53, description="单位编号")] = None,
    title: Annotated[s.Text | None, Form(max_length=200, description="任务书名称")] = None,
) -> JSONResponse:
    """导入本单位的年度任务书：任务名称、任务来源（年度工作要点、会议决定、领导批示）、牵头
    单位、配合单位、完成时限、时间节点（“日期 节点名称”，以；或换行分隔，按时间先后）、权重。
    有任何错误时逐行逐列列出原因（422），不导入任何任务；编制中的任务书被文件中的任务整体替换。"""
    report = books.import_book(
        svc.engine,
        actor,
        file.file.read(books.MAX_BYTES + 1)[: books.MAX_BYTES + 1],
        file.filename or "",
        year=year,
        unit_id=unit_id,
        title=title,
    )
    out = ImportOut(
        book_id=report.book_id,
        imported=report.imported,
        error_count=report.error_count,
        errors=[CellErrorOut.model_validate(e, from_attributes=True) for e in report.errors],
        ignored_columns=report.ignored_columns,
    )
    return JSONResponse(out.model_dump(), status_code=422 if report.refused else 200)


class BookIn(s.In):
    year: Annotated[int, Field(ge=2000, le=2100)]
    unit_id: s.Id | None = None
    title: Annotated[s.Text | None, Field(max_length=200)] = None


class Created(BaseModel):
    id: int


@router.post("/books", summary="新建任务书", response_model=Created, status_code=201)
def create_book(body: BookIn, svc: Svc, actor: ApiActor) -> Created:
    """新建本单位某年度的空任务书，再逐项添加任务。"""
    return Created(
        id=books.create_book(
            svc.engine, actor, year=body.year, unit_id=body.unit_id, title=body.title
        )
    )


class MilestoneOut(BaseModel):
    title: str
    due_on: dt.date


class BookTaskOut(BaseModel):
    id: int
    seq: int
    title: str
    detail: str | None
    source: str
    lead_unit_id: int
    lead_name: str
    co_names: list[str]
    deadline: dt.date
    weight: float
    milestones: list[MilestoneOut]
    case_id: int | None


class BookOut(BaseModel):
    id: int
    case_id: int
    unit_id: int
    year: int
    title: str
    state: str
    version: int
    case_version: int
    tasks: list[BookTaskOut]


class BookSummary(BaseModel):
    id: int
    unit_name: str
    year: int
    title: str
    state: str


@router.get("/books", summary="任务书列表", response_model=list[BookSummary])
def list_books(svc: Svc, actor: ApiActor) -> list[BookSummary]:
    """管辖范围内各单位的任务书，年度新的在前。"""
    with reader(svc.db).connect() as conn:
        return [
            BookSummary(id=r.id, unit_name=r.unit_name, year=r.year, title=r.title, state=r.state)
            for r in books.books_for(conn, actor)
        ]


def _book_out(svc: Svc, actor: ApiActor, book_id: int) -> BookOut:
    with reader(svc.db).connect() as conn:
        b = books.read_row(conn, actor, book_id)
        tasks = books.book_tasks(conn, book_id)
    return BookOut(
        id=b.id,
        case_id=b.case_id,
        unit_id=b.unit_id,
        year=b.year,
        title=b.title,
        state=b.state,
        version=b.version,
        case_version=b.case_version,
        tasks=[
            BookTaskOut(
                id=t.id,
                seq=t.seq,
                title=t.title,
                detail=t.detail,
                source=t.source,
                lead_unit_id=t.lead_unit_id,
                lead_name=t.lead_name,
                co_names=list(t.co_names),
                deadline=t.deadline,
                weight=t.weight,
                case_id=t.case_id,
                milestones=[MilestoneOut(title=m.title, due_on=m.due_on) for m in t.milestones],
            )
            for t in tasks
        ],
    )


@router.get("/books/{book_id}", summary="任务书详情", response_model=BookOut)
def get_book(book_id: Id, svc: Svc, actor: ApiActor) -> BookOut:
    """任务书及其任务、时间节点；version 为编辑用的版本号，case_version 为审批用的版本号。"""
    return _book_out(svc, actor, book_id)


class TaskIn(s.In):
    title: Annotated[s.Text, Field(min_length=1, max_length=200)]
    detail: Annotated[s.Text | None, Field(max_length=2000)] = None
    source: Literal["work_points", "meeting", "instruction"]
    lead: Annotated[s.Text, Field(min_length=1, max_length=128, description="牵头单位名称或编码")]
    co: Annotated[s.Text | None, Field(max_length=1000, description="配合单位，以“、”分隔")] = None
    deadline: dt.date
    milestones: Annotated[
        s.Text | None, Field(max_length=2000, description="每行：日期 节点名称")
    ] = None
    weight: Annotated[float | None, Field(gt=0, le=100)] = None
    expected_version: Version


def _task_form(body: TaskIn) -> dict[str, Any]:
    form = body.model_dump(exclude={"expected_version"}, exclude_none=True)
    form["deadline"] = body.deadline.isoformat()
    return form


@router.post("/books/{book_id}/tasks", summary="添加任务", response_model=Created, status_code=201)
def add_task(book_id: Id, body: TaskIn, svc: Svc, actor: ApiActor) -> Created:
    """在编制中的任务书中添加一项任务；牵头单位须为本单位或其下级单位，完成时限不得早于
    时间节点，时间节点须按时间先后排列。"""
    return Created(
        id=books.add_task(
            svc.engine, actor, book_id, _task_form(body), expected_version=body.expected_version
        )
    )


@router.put("/books/{book_id}/tasks/{task_id}", summary="修改任务", response_model=BookOut)
def change_task(book_id: Id, task_id: Id, body: TaskIn, svc: Svc, actor: ApiActor) -> BookOut:
    """修改编制中的任务书中的一项任务。"""
    books.change_task(
        svc.engine,
        actor,
        book_id,
        task_id,
        _task_form(body),
        expected_version=body.expected_version,
    )
    return _book_out(svc, actor, book_id)


@router.delete("/books/{book_id}/tasks/{task_id}", summary="删除任务", response_model=BookOut)
def remove_task(
    book_id: Id,
    task_id: Id,
    svc: Svc,
    actor: ApiActor,
    expected_version: Annotated[int, Query(ge=1, le=2**53, description="任务书版本号")],
) -> BookOut:
    """从编制中的任务书中删除一项任务。"""
    books.remove_task(svc.engine, actor, book_id, task_id, expected_version=expected_version)
    return _book_out(svc, actor, book_id)


class BookStepIn(s.In):
    event: Literal["submit_book", "approve_book", "return_book", "close_book"]
    reason: Annotated[s.Text | None, Field(max_length=1000)] = None
    expected_version: Version | None = None


@router.post("/books/{book_id}/steps", summary="任务书审批环节", response_model=BookOut)
def book_step(book_id: Id, body: BookStepIn, svc: Svc, actor: ApiActor) -> BookOut:
    """submit_book（报送上级审批，本单位）、approve_book（审批通过并下达任务，上级单位）、
    return_book（退回修改，须填 reason）、close_book（年度办结，任务均已办结后）。"""
    payload = {"reason": body.reason} if body.reason else {}
    books.step(
        svc.engine, actor, book_id, body.event, payload, expected_version=body.expected_version
    )
    return _book_out(svc, actor, book_id)


# --- a task -----------------------------------------------------------------------------------
class ReportOut(BaseModel):
    reported_at: dt.datetime
    by_name: str | None
    kind: str
    percent: int
    previous: int
    text: str
    reason: str | None
    evidence: list[int]
    milestone_title: str | None


class StepOut(BaseModel):
    at: dt.datetime
    who: str
    what: str
    detail: str


class PartOut(BaseModel):
    id: int
    lead_name: str
    progress: int
    status: str
    state_label: str


class TaskMilestoneOut(BaseModel):
    seq: int
    title: str
    due_on: dt.date
    done_on: dt.date | None


class ExtensionOut(BaseModel):
    requested_at: dt.datetime
    old_deadline: dt.date
    new_deadline: dt.date
    reason: str
    approved: bool | None
    decision_note: str | None


class TaskOut(BaseModel):
    id: int
    case_id: int
    version: int
    title: str
    detail: str | None
    source: str
    lead_unit_id: int
    lead_name: str
    issuer_name: str
    co_names: list[str]
    deadline: dt.date
    progress: int
    status: str
    status_label: str
    state: str
    state_label: str
    stagnant_since: dt.date | None
    closed_on: dt.date | None
    parent_id: int | None
    milestones: list[TaskMilestoneOut]
    reports: list[ReportOut]
    extensions: list[ExtensionOut]
    parts: list[PartOut]
    timeline: list[StepOut]


def _task_out(svc: Svc, actor: ApiActor, task_id: int) -> TaskOut:
    with reader(svc.db).connect() as conn:
        v = work.view(svc.engine, conn, actor, task_id)
    r = v.row
    return TaskOut(
        id=r.id,
        case_id=r.case_id,
        version=r.case_version,
        title=r.title,
        detail=r.detail,
        source=r.source,
        lead_unit_id=r.lead_unit_id,
        lead_name=r.lead_name,
        issuer_name=r.issuer_name,
        co_names=v.co_names,
        deadline=r.deadline,
        progress=r.progress,
        status=v.status,
        status_label=v.status_label,
        state=r.state,
        state_label=v.state_label,
        stagnant_since=r.stagnant_since,
        closed_on=r.closed_on,
        parent_id=r.parent_id,
        milestones=[
            TaskMilestoneOut(**{k: m[k] for k in TaskMilestoneOut.model_fields})
            for m in v.milestones
        ],
        reports=[
            ReportOut(
                **{
                    **{k: x[k] for k in ReportOut.model_fields if k in x},
                    "evidence": x["evidence"] or [],
                }
            )
            for x in v.reports
        ],
        extensions=[
            ExtensionOut(**{k: e[k] for k in ExtensionOut.model_fields}) for e in v.extensions
        ],
        parts=[PartOut(**{k: p[k] for k in PartOut.model_fields}) for p in v.parts],
        timeline=[StepOut(at=t.at, who=t.who, what=t.what, detail=t.detail) for t in v.timeline],
    )


@router.get("/items/{task_id}", summary="任务详情与时间线", response_model=TaskOut)
def get_task(task_id: Id, svc: Svc, actor: ApiActor) -> TaskOut:
    """一项已下达任务：状态（逾期、预警、正常推进、已办结）、时间节点、进展报告及佐证材料、
    延期申请、分解到下级单位的任务及其进展、办理时间线。牵头单位及其上级单位可查看。"""
    return _task_out(svc, actor, task_id)


class ProgressIn(s.In):
    percent: Annotated[int, Field(ge=0, le=100, description="完成进度（%）")]
    text: Annotated[s.Text, Field(min_length=1, max_length=2000)]
    reason: Annotated[s.Text | None, Field(max_length=500, description="调低理由")] = None
    milestone: Annotated[int | None, Field(ge=1, le=99, description="本次完成的时间节点序号")] = (
        None
    )
    evidence: Annotated[
        list[s.Id], Field(max_length=20, description="佐证材料：本任务附件编号")
    ] = []  # noqa: RUF012
    expected_version: Version


@router.post("/items/{task_id}/reports", summary="报告进展", response_model=TaskOut)
def report_progress(task_id: Id, body: ProgressIn, svc: Svc, actor: ApiActor) -> TaskOut:
    """牵头单位报告进展：完成进度（0至100）、进展情况、佐证材料（先用
    POST /api/v1/cases/{case_id}/attachments 上传到本任务，再填附件编号）、完成的时间节点。
    进度低于上次报告时须填写 reason（调低理由）；已分解到下级的任务，进度由下级任务自动计算。"""
    payload: dict[str, Any] = body.model_dump(
        exclude={"expected_version", "evidence"}, exclude_none=True
    )
    if body.evidence:
        payload["evidence"] = ",".join(str(i) for i in body.evidence)
    work.act(
        svc.engine,
        actor,
        task_id,
        "report_progress",
        payload,
        expected_version=body.expected_version,
    )
    return _task_out(svc, actor, task_id)


class TaskStepIn(s.In):
    event: Literal[
        "acknowledge_task",
        "split_task",
        "request_extension",
        "approve_extension",
        "refuse_extension",
        "report_completion",
        "accept_completion",
        "return_completion",
    ]
    text: Annotated[s.Text | None, Field(max_length=2000, description="完成情况")] = None
    reason: Annotated[s.Text | None, Field(max_length=1000, description="理由")] = None
    comment: Annotated[s.Text | None, Field(max_length=1000, description="意见")] = None
    new_deadline: dt.date | None = None
    units: Annotated[list[s.Id], Field(max_length=1000, description="分解到的下级单位编号")] = []  # noqa: RUF012
    evidence: Annotated[
        list[s.Id], Field(max_length=20, description="佐证材料：本任务附件编号")
    ] = []  # noqa: RUF012
    expected_version: Version


@router.post("/items/{task_id}/steps", summary="任务办理环节", response_model=TaskOut)
def task_step(task_id: Id, body: TaskStepIn, svc: Svc, actor: ApiActor) -> TaskOut:
    """acknowledge_task（签收）、split_task（分解到下级单位：units）、request_extension
    （申请延期：new_deadline、reason）、approve_extension / refuse_extension（发文单位审批延期；
    不同意须填 reason）、report_completion（报告完成：text、evidence）、accept_completion
    （复核通过，办结）、return_completion（退回重办，须填 reason）。"""
    payload: dict[str, Any] = body.model_dump(
        exclude={"event", "expected_version", "units", "evidence", "new_deadline"},
        exclude_none=True,
    )
    if body.units:
        payload["units"] = ",".join(str(u) for u in body.units)
    if body.evidence:
        payload["evidence"] = ",".join(str(i) for i in body.evidence)
    if body.new_deadline is not None:
        payload["new_deadline"] = body.new_deadline.isoformat()
    work.act(
        svc.engine, actor, task_id, body.event, payload, expected_version=body.expected_version
    )
    return _task_out(svc, actor, task_id)


# --- year-end scoring -------------------------------------------------------------------------
class WeightsIn(s.In):
    self: Annotated[float, Field(ge=0, le=100, description="自评（%）")]
    superior: Annotated[float, Field(ge=0, le=100, description="上级评价（%）")]
    peers: Annotated[float, Field(ge=0, le=100, description="同级互评（%）")]
    served: Annotated[float, Field(ge=0, le=100, description="服务对象评价（%）")]


class RoundIn(s.In):
    year: Annotated[int, Field(ge=2000, le=2100)]
    closes_on: dt.date
    weights: WeightsIn
    served: Annotated[
        s.Text | None, Field(max_length=4000, description="服务对象单位，以“、”分隔")
    ] = None
    title: Annotated[s.Text | None, Field(max_length=200)] = None
    unit_id: s.Id | None = None


@router.post("/scoring", summary="开启年终考核评分", response_model=Created, status_code=201)
def open_round(body: RoundIn, svc: Svc, actor: ApiActor) -> Created:
    """发文单位对本年度下达的任务开启四方评价：四方权重（%）之和须为100；每个评分单位收到
    一张评分表（待办），截止日期前提交；评分结束前，任何人看不到他人的评分。"""
    form: dict[str, Any] = {
        "year": body.year,
        "closes_on": body.closes_on.isoformat(),
        "weights": body.weights.model_dump(),
        "served": body.served or "",
    }
    if body.title:
        form["title"] = body.title
    return Created(id=scoring.open_round(svc.engine, actor, form, unit_id=body.unit_id))


class SheetOut(BaseModel):
    id: int
    party: str
    party_label: str
    unit_name: str
    submitted: bool


class ResultOut(BaseModel):
    unit_id: int
    unit_name: str
    total: float
    rank: int
    tasks: int
    note: str | None


class RoundOut(BaseModel):
    id: int
    title: str
    year: int
    state: str
    closes_on: dt.date
    weights: dict[str, float]
    sheets: list[SheetOut]
    results: list[ResultOut]


@router.get("/scoring/{round_id}", summary="年终考核评分", response_model=RoundOut)
def get_round(round_id: Id, svc: Svc, actor: ApiActor) -> RoundOut:
    """评分进度（哪些单位已提交，不含分数）；评分结束后为总分、排名及并列说明（发文单位及其
    上级、督查员），公布后被考核单位也可查看。"""
    found = views.round_view(svc, actor, round_id)
    r = found["round"]
    return RoundOut(
        id=r.id,
        title=r.title,
        year=r.year,
        state=r.state,
        closes_on=r.closes_on,
        weights={k: float(v) for k, v in r.weights.items()},
        sheets=[
            SheetOut(
                id=x.id,
                party=x.party,
                party_label=PARTIES[x.party],
                unit_name=x.unit_name,
                submitted=x.submitted_at is not None,
            )
            for x in found["sheets"]
        ],
        results=[
            ResultOut(
                unit_id=x.unit_id,
                unit_name=x.unit_name,
                total=x.total,
                rank=x.rank,
                tasks=x.tasks,
                note=x.note,
            )
            for x in found["results"]
        ],
    )


class ScoresIn(s.In):
    # bounded here only so that a number no score can be (±1e284) is a 422, not a database
    # overflow; the 0–100 rule and its words are the scoring step's
    scores: Annotated[
        dict[str, Annotated[float, Field(ge=-1000, le=1000, allow_inf_nan=False)]],
        Field(max_length=5000, description="任务编号 → 分数（0至100）"),
    ]
    expected_version: Version | None = None


@router.post("/scoring/sheets/{sheet_id}", summary="提交评分", response_model=Created)
def submit_scores(sheet_id: Id, body: ScoresIn, svc: Svc, actor: ApiActor) -> Created:
    """评分单位提交评分表：表中每项任务一个0至100的分数；评分截止后不能提交。"""
    given: dict[int, Any] = {}
    for key, value in body.scores.items():
        if not key.isdigit() or len(key) > 16:
            raise FormError("scores", f"任务编号应为数字：{key}")
        given[int(key)] = value
    scoring.submit(svc.engine, actor, sheet_id, given, expected_version=body.expected_version)
    return Created(id=sheet_id)


class RoundStepIn(s.In):
    event: Literal["close_scoring", "publish_scores"]


@router.post("/scoring/{round_id}/steps", summary="结束评分或公布结果", response_model=RoundOut)
def round_step(round_id: Id, body: RoundStepIn, svc: Svc, actor: ApiActor) -> RoundOut:
    """close_scoring（结束评分，计算总分和排名；截止日期过后系统自动结束）、publish_scores
    （公布结果，通知各被考核单位）。"""
    scoring.step(svc.engine, actor, round_id, body.event)
    return get_round(round_id, svc, actor)


@router.get(
    "/scoring/{round_id}/export",
    summary="导出考核结果",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}}},
)
def export_round(round_id: Id, svc: Svc, actor: ApiActor) -> Response:
    """考核结果（.xlsx）：排名、单位、总分、考核任务数、并列说明及四方权重。"""
    return _xlsx(*views.results_xlsx(svc, actor, round_id))
