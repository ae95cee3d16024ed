"""/api/v1: the JSON API, a thin adapter over the engine and the scoped queries."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Header, HTTPException, Path, Query, Request, UploadFile
from fastapi.responses import FileResponse
from sqlalchemy import select, update

from api import schemas as s
from api.auth import issue_token, token_expires_in
from api.deps import Address, ApiActor, Services, Svc
from api.errors import ERRORS
from api.files import UploadRejected
from api.inbox_pages import applicant_names, step_options, what_is_asked
from api.present import (
    audit_row,
    case_summary,
    event_label,
    field_out,
    mask_phone,
    masked_publicity,
    task_out,
    teacher_out,
)
from api.processes import Web, web_of
from api.signin import AuthError, sign_in
from states.blocks.publicity import code_purpose, objector_phone
from states.blocks.publicity.store import file_objection
from states.engine import FireResult
from states.engine.visibility import CaseFile, case_file
from states.errors import FormError, NotFound, RenshiError
from states.org import ROLE_LABELS, Actor, officer_label
from states.process.diagram import diagram_svg
from states.process.package import Catalogue
from states.process.spec import ProcessSpec
from states.registry import history, roster
from states.store import queries
from states.store.db import reader
from states.store.models import Person
from states.verification import issue_code

router = APIRouter(prefix="/api/v1", responses=ERRORS)
CaseId = Annotated[int, Path(ge=1, le=2**53)]
IdemKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=128,
        pattern=r"^[\x21-\x7e]+$",
        description="同一键重复提交只生效一次，返回首次结果",
    ),
]


def _fire_out(svc: Services, result: FireResult) -> s.FireOut:
    spec = svc.engine.processes[result.process]
    return s.FireOut(
        case_id=result.case_id,
        process=result.process,
        event=result.event,
        from_state=result.from_state,
        to_state=result.to_state,
        to_label=spec.state_label(result.to_state),
        version=result.version,
        replayed=result.replayed,
        reason=result.reason,
    )


# --- sign-in --------------------------------------------------------------------------------
@router.post(
    "/auth/token",
    summary="登录：换取访问令牌",
    response_model=s.TokenOut,
    tags=["登录"],
    responses={429: {"model": s.Error, "description": "登录尝试过于频繁（见 Retry-After）"}},
)
def token(body: s.TokenIn, svc: Svc, address: Address) -> s.TokenOut:
    """用户名和密码换取访问令牌（Bearer）。

    同一用户名在同一网络连续输错5次，须等候至多15分钟；同一网络15分钟内输错30次、或同一用户名
    1小时内在各处共输错30次，也须等候（在近30天登录成功过的网络不受后两项限制）。超限时返回
    429 和 Retry-After（秒）。不存在的用户名与输错密码的答复完全相同。"""
    try:
        who = sign_in(svc.db, svc.throttle, body.username, body.password, address)
    except AuthError as exc:
        raise HTTPException(exc.status, exc.message) from None
    return s.TokenOut(
        access_token=issue_token(who, svc.now(), svc.auth),
        expires_in=token_expires_in(svc.auth),
    )


@router.get(
    "/me",
    summary="本人信息与角色",
    description="本人的姓名，以及所担任的角色和所在单位。",
    response_model=s.MeOut,
    tags=["登录"],
)
def me(actor: ApiActor) -> s.MeOut:
    return s.MeOut(
        person_id=actor.person_id,
        name=actor.name,
        roles=[
            s.RoleOut(
                role=b.role,
                role_label=ROLE_LABELS.get(b.role, b.role),
                unit_id=b.unit_id,
                unit_path=b.unit_path,
            )
            for b in actor.bindings
        ],
    )


@router.get(
    "/me/preferences",
    summary="本人的通知设置",
    response_model=s.PreferencesOut,
    tags=["登录"],
)
def my_preferences(svc: Svc, actor: ApiActor) -> s.PreferencesOut:
    """本人的通知渠道（站内通知总是开启）与免打扰时段。"""
    with reader(svc.db).connect() as conn:
        row = conn.execute(
            select(Person.notify_channels, Person.quiet_hours, Person.email, Person.phone).where(
                Person.id == actor.person_id
            )
        ).one()
    return s.PreferencesOut(
        channels=list(row.notify_channels or []),
        quiet_hours=row.quiet_hours,
        email=row.email,
        phone=row.phone,
    )


@router.put(
    "/me/preferences",
    summary="修改本人的通知设置",
    response_model=s.PreferencesOut,
    tags=["登录"],
)
def set_preferences(body: s.PreferencesIn, svc: Svc, actor: ApiActor) -> s.PreferencesOut:
    """设置通知渠道：email 需有邮箱，sms 需有手机号；免打扰时段如 22:00-07:00（北京时间）。"""
    with svc.db.begin() as conn:
        row = conn.execute(
            select(Person.email, Person.phone).where(Person.id == actor.person_id)
        ).one()
        email_, phone = body.email or row.email, body.phone or row.phone
        if "email" in body.channels and not email_:
            raise FormError("email", "选择邮件通知须填写邮箱")
        if "sms" in body.channels and not phone:
            raise FormError("phone", "选择短信通知须填写手机号")
        conn.execute(
            update(Person)
            .where(Person.id == actor.person_id)
            .values(
                notify_channels=sorted(set(body.channels)),
                quiet_hours=body.quiet_hours,
                email=email_,
                phone=phone,
            )
        )
        contact = history.diff(
            {"email": row.email, "phone": row.phone}, {"email": email_, "phone": phone}
        )
        roster.contact_changed(conn, actor, actor.person_id or 0, contact, svc.clock.now())
    return my_preferences(svc, actor)


# --- catalogue -------------------------------------------------------------------------------
def _process_out(catalogue: Catalogue, name: str) -> s.ProcessOut:
    spec = catalogue[name]
    states = [
        s.StateOut(
            id=st,
            label=spec.state_label(st),
            final=bool(getattr(spec.machine, st).final),
            deadline_days=spec.states[st].deadline_days,
            window=spec.states[st].window,
        )
        for st in spec.states
    ]
    events = []
    for ev in spec.events.values():
        if ev.internal:
            continue
        sources = [st for st in spec.states if ev.name in spec.allowed_events(st)]
        events.append(
            s.EventOut(
                id=ev.name,
                label=ev.label,
                sources=sources,
                who=_who(spec, ev.name),
                fields=[field_out(f) for f in ev.form.fields],
            )
        )
    return s.ProcessOut(
        name=name,
        label=spec.label,
        states=states,
        events=events,
        start_form=[field_out(f) for f in spec.start_form.fields],
        diagram_svg=diagram_svg(spec),
    )


def _who(spec: ProcessSpec, event: str) -> str:
    """Who may fire ``event``, as the catalogue says it to a person: roles and tiers in the
    bureau's words (states.org), never a code."""
    by = spec.events[event].by
    if by.applicant:
        return "申请人本人"
    if by.panel:
        return by.panel_label or "评审专家（抽取的评委会）"
    if by.public:
        return "公众（公示期内）"
    if by.officer and by.system:  # an officer's step the system also takes when time is up
        return f"{officer_label(by.officer)}，或系统（到期自动）"
    if by.system:
        return "系统（到期自动）"
    if by.officer:
        return officer_label(by.officer)
    holders: dict[str, None] = {}
    for st, state in spec.states.items():
        if state.actor is None or event not in spec.allowed_events(st):
            continue
        if state.actor.officer:
            holders[officer_label(state.actor.officer)] = None
        elif state.actor.applicant:
            holders["申请人本人"] = None
        elif state.actor.panel:
            holders[state.actor.panel_label or "评审专家"] = None
    return "当前环节的办理人：" + ("、".join(holders) or "按环节确定")


@router.get("/processes", summary="流程目录", response_model=list[s.ProcessOut], tags=["流程目录"])
def processes(svc: Svc, actor: ApiActor) -> list[s.ProcessOut]:
    """每个流程的状态、事件、谁可以执行，以及流程图（SVG）。"""
    return [_process_out(svc.engine.processes, name) for name in svc.engine.processes]


@router.get(
    "/processes/{name}",
    summary="一个流程的说明",
    description="一个流程的状态、事件、谁可以执行，以及流程图（SVG）。",
    response_model=s.ProcessOut,
    tags=["流程目录"],
)
def process(name: Annotated[str, Path(max_length=32)], svc: Svc, actor: ApiActor) -> s.ProcessOut:
    if name not in svc.engine.processes:
        raise NotFound(f"流程不存在：{name}")
    return _process_out(svc.engine.processes, name)


# --- cases -----------------------------------------------------------------------------------
@router.post("/cases", summary="发起事项", response_model=s.FireOut, status_code=201, tags=["事项"])
def start_case(body: s.StartIn, svc: Svc, actor: ApiActor) -> s.FireOut:
    """发起事项（如教师职称申报）；submit 为真时创建后立即提交。"""
    return _fire_out(svc, svc.engine.start(body.process, actor, body.form, submit=body.submit))


@router.get("/cases", summary="事项列表", response_model=s.CaseList, tags=["事项"])
def list_cases(
    svc: Svc,
    actor: ApiActor,
    process: Annotated[str | None, Query(max_length=32, pattern=r"^\w+$")] = None,
    state: Annotated[str | None, Query(max_length=32, pattern=r"^\w+$")] = None,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    applicant: Annotated[str | None, Query(max_length=32, pattern=r"^[^\x00-\x1f]+$")] = None,
    sort: Literal["id", "opened_at", "updated_at", "state", "year"] = "updated_at",
    order: Literal["asc", "desc"] = "desc",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 20,
) -> s.CaseList:
    """管辖范围内的事项，可筛选、排序、分页。"""
    with reader(svc.db).connect() as conn:
        result = queries.list_cases(
            conn,
            actor,
            process=process,
            state=state,
            year=year,
            applicant=applicant,
            finders=svc.engine.processes.finders,
            sort=sort,
            order=order,
            page=page,
            page_size=page_size,
        )
        names = applicant_names(svc.engine.processes, conn, result.items, "id")
    for r in result.items:
        r["applicant_name"] = r["applicant_name"] or names.get(r["id"])
    return s.CaseList(
        items=[case_summary(svc.engine.processes, r) for r in result.items],
        total=result.total,
        page=page,
        page_size=page_size,
    )


def case_detail(svc: Svc, actor: Actor, case_id: int, *, with_trail: bool = False) -> CaseFile:
    """The case as ``actor`` may read it, marking a copy of it read; 404 where they may not."""
    with reader(svc.db).connect() as conn:
        case = case_file(conn, svc.engine.processes, actor, case_id, with_trail=with_trail)
    if case is None:
        raise NotFound("事项不存在")
    if case.unread_copy:
        svc.engine.mark_read(case_id, actor)
    return case


def detail_out(svc: Svc, actor: Actor, case: CaseFile, web: Web | None = None) -> s.CaseDetail:
    """The case as the API and the page show it; with ``web``, the applicant's record its
    process draws beside it (``WebPackage.case_record``)."""
    may = svc.engine.available(case.row["id"], actor)
    today = svc.today()
    record = None
    recorder = web.case_record(case.row["process"]) if web is not None else None
    if recorder is not None:
        with reader(svc.db).connect() as conn:
            panel = recorder(conn, actor, case.row)
        if panel is not None:
            record = s.RecordOut(
                title=panel.title,
                rows=[s.RecordRow(label=k, value=v) for k, v in panel.rows],
                note=panel.note,
            )
    return s.CaseDetail(
        **case_summary(svc.engine.processes, case.row).model_dump(),
        data={k: v for k, v in case.data.items() if k not in ("pending_decision",)},
        tasks=[task_out(t, today) for t in case.tasks],
        may=may["events"],
        may_add_signer=may["add_signer"],
        may_countersign=may["countersign"],
        may_comment=may["comment"],
        may_copy=may["copy"],
        may_transfer=may["transfer"],
        waiting_on=[
            t["assignee_name"] or ""
            for t in case.tasks
            if t["kind"] == "sign" and t["position"] == "before" and t["status"] == "open"
        ],
        record=record,
    )


@router.get("/cases/{case_id}", summary="事项详情", response_model=s.CaseDetail, tags=["事项"])
def get_case(case_id: CaseId, request: Request, svc: Svc, actor: ApiActor) -> s.CaseDetail:
    """事项详情：表单、当前待办、申请人档案，以及本人此刻可以执行的事件（按阅读人的身份裁剪，见审计记录接口的说明）。"""
    return detail_out(svc, actor, case_detail(svc, actor, case_id), web_of(request))


@router.post("/cases/{case_id}/events", summary="办理事项", response_model=s.FireOut, tags=["事项"])
def fire(
    case_id: CaseId, body: s.FireIn, svc: Svc, actor: ApiActor, key: IdemKey = None
) -> s.FireOut:
    """执行事件（审核通过、退回补正、不予通过……）。须带上读到的版本号；版本过期返回409。"""
    return _fire_out(
        svc,
        svc.engine.fire(
            case_id,
            body.event,
            actor,
            body.payload,
            expected_version=body.expected_version,
            idempotency_key=key,
        ),
    )


@router.post("/cases/batch", summary="批量审批", response_model=s.BatchOut, tags=["事项"])
def batch(body: s.BatchIn, svc: Svc, actor: ApiActor, key: IdemKey = None) -> s.BatchOut:
    """批量审批：对多个事项执行同一事件，逐案返回结果；一案失败不影响其他事项。"""
    results: list[s.BatchResult] = []
    seen: set[int] = set()
    for item in body.items:
        if item.case_id in seen:
            results.append(
                s.BatchResult(
                    case_id=item.case_id,
                    ok=False,
                    error=s.Error(code="invalid", message="同一事项在批量中重复", field="items"),
                )
            )
            continue
        seen.add(item.case_id)
        try:
            r = svc.engine.fire(
                item.case_id,
                body.event,
                actor,
                body.payload,
                expected_version=item.expected_version,
                idempotency_key=f"{key}:{item.case_id}" if key else None,
            )
            results.append(
                s.BatchResult(case_id=item.case_id, ok=True, to_state=r.to_state, version=r.version)
            )
        except RenshiError as exc:
            error = s.Error.model_validate(exc.as_dict())
            results.append(s.BatchResult(case_id=item.case_id, ok=False, error=error))
    ok = sum(1 for r in results if r.ok)
    return s.BatchOut(succeeded=ok, failed=len(results) - ok, results=results)


@router.post(
    "/tasks/{task_id}/transfer",
    summary="转交待办",
    response_model=s.FireOut,
    tags=["待办"],
)
def transfer(task_id: CaseId, body: s.TransferIn, svc: Svc, actor: ApiActor) -> s.FireOut:
    """转交：把待办交给同单位同角色的其他人员。"""
    return _fire_out(
        svc,
        svc.engine.transfer(
            task_id,
            body.to_person_id,
            actor,
            expected_version=body.expected_version,
            comment=body.comment,
        ),
    )


@router.post("/cases/{case_id}/signers", summary="加签", response_model=s.FireOut, tags=["事项"])
def add_signer(case_id: CaseId, body: s.SignerIn, svc: Svc, actor: ApiActor) -> s.FireOut:
    """加签：在当前办理人之前（before）、并行（beside）或之后（after）加一位签署人。"""
    return _fire_out(
        svc,
        svc.engine.add_signer(
            case_id,
            actor,
            body.person_id,
            body.position,
            expected_version=body.expected_version,
            comment=body.comment,
        ),
    )


@router.post(
    "/cases/{case_id}/countersign",
    summary="加签人签署意见",
    response_model=s.FireOut,
    tags=["事项"],
)
def countersign(case_id: CaseId, body: s.CountersignIn, svc: Svc, actor: ApiActor) -> s.FireOut:
    """加签人签署意见（同意/不同意）。"""
    return _fire_out(
        svc,
        svc.engine.countersign(
            case_id,
            actor,
            body.opinion,
            expected_version=body.expected_version,
            comment=body.comment,
        ),
    )


@router.post("/cases/{case_id}/copies", summary="抄送", response_model=s.FireOut, tags=["事项"])
def copy_case(case_id: CaseId, body: s.CopyIn, svc: Svc, actor: ApiActor) -> s.FireOut:
    """抄送：让其他人知悉本事项（只读）。"""
    return _fire_out(svc, svc.engine.copy_to(case_id, actor, body.person_ids, body.note))


@router.post("/cases/{case_id}/urge", summary="催办", response_model=s.FireOut, tags=["事项"])
def urge(case_id: CaseId, body: s.UrgeIn, svc: Svc, actor: ApiActor) -> s.FireOut:
    """催办：提醒当前办理人尽快办理；每个事项每天限一次。"""
    return _fire_out(svc, svc.engine.urge(case_id, actor, body.note))


@router.get(
    "/cases/{case_id}/comments",
    summary="事项意见",
    response_model=list[s.AuditOut],
    tags=["事项"],
)
def comments(case_id: CaseId, svc: Svc, actor: ApiActor) -> list[s.AuditOut]:
    """本事项所有意见：评论以及各次办理时填写的意见。"""
    trail = _trail(svc, actor, case_id)
    return [
        e for e in trail if e.event == "comment" or "comment" in e.payload or "reason" in e.payload
    ]


@router.post(
    "/cases/{case_id}/comments",
    summary="发表意见",
    description="对本事项发表一条意见，记入本事项的意见。",
    response_model=s.FireOut,
    status_code=201,
    tags=["事项"],
)
def add_comment(case_id: CaseId, body: s.CommentIn, svc: Svc, actor: ApiActor) -> s.FireOut:
    return _fire_out(svc, svc.engine.comment(case_id, actor, body.text))


@router.get(
    "/cases/{case_id}/attachments",
    summary="附件列表",
    description="本事项的附件（仅限管辖范围内的事项）。",
    response_model=list[s.AttachmentOut],
    tags=["附件"],
)
def list_attachments(case_id: CaseId, svc: Svc, actor: ApiActor) -> list[s.AttachmentOut]:
    with reader(svc.db).connect() as conn:
        if queries.get_case(conn, actor, case_id) is None:
            raise NotFound("事项不存在")
        return [s.AttachmentOut(**a) for a in queries.attachments(conn, case_id)]


@router.post(
    "/cases/{case_id}/attachments",
    summary="上传附件",
    response_model=s.AttachmentOut,
    status_code=201,
    tags=["附件"],
)
def upload(
    case_id: CaseId, svc: Svc, actor: ApiActor, file: Annotated[UploadFile, File()]
) -> s.AttachmentOut:
    """上传附件：PDF、JPG、PNG、DOCX、XLSX，不超过10MB；按内容校验类型。"""
    with reader(svc.db).connect() as conn:
        if queries.get_case(conn, actor, case_id) is None:
            raise NotFound("事项不存在")
    try:
        stored = svc.files.save(file.filename or "", file.file)
    except UploadRejected as exc:
        raise FormError("file", str(exc)) from None
    att = svc.engine.record_attachment(
        case_id,
        actor,
        filename=stored.filename,
        content_type=stored.content_type,
        size=stored.size,
        sha256=stored.sha256,
    )
    with reader(svc.db).connect() as conn:
        row = queries.attachment(conn, actor, att)
    assert row is not None
    return s.AttachmentOut(**row)


@router.get(
    "/attachments/{attachment_id}",
    summary="下载附件",
    response_class=FileResponse,
    tags=["附件"],
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def download(attachment_id: CaseId, svc: Svc, actor: ApiActor) -> FileResponse:
    """下载附件（仅限管辖范围内的事项）。"""
    with reader(svc.db).connect() as conn:
        row = queries.attachment(conn, actor, attachment_id)
    if row is None:
        raise NotFound("附件不存在")
    return FileResponse(
        svc.files.path(row["sha256"]), media_type=row["content_type"], filename=row["filename"]
    )


def _trail(svc: Svc, actor: Actor, case_id: int) -> list[s.AuditOut]:
    case = case_detail(svc, actor, case_id, with_trail=True)
    return [audit_row(case.spec, e) for e in case.trail]


@router.get(
    "/cases/{case_id}/audit",
    summary="审计记录",
    response_model=list[s.AuditOut],
    tags=["事项"],
)
def audit(case_id: CaseId, svc: Svc, actor: ApiActor) -> list[s.AuditOut]:
    """审计记录：每一步由谁、何时、做了什么，哈希链可校验。

    按阅读人的身份裁剪：异议人的姓名和电话只给经办干部和督查员；评委是谁、每位评委
    如何投票只给组织评审的单位和督查员，其他人看到的是表决结果；被裁剪的记录标有
    redacted。"""
    return _trail(svc, actor, case_id)


# --- my tasks --------------------------------------------------------------------------------
@router.get("/tasks", summary="本人的待办、已办与抄送", response_model=s.Inbox, tags=["待办"])
def my_tasks(
    request: Request,
    svc: Svc,
    actor: ApiActor,
    box: Literal["todo", "done", "cc"] = "todo",
    q: Annotated[
        str | None,
        Query(
            max_length=32,
            pattern=r"^[^\x00-\x1f]+$",
            description="申请人姓名（部分即可）、完整的18位身份证号或事项编号",
        ),
    ] = None,
    process: Annotated[
        str | None, Query(max_length=32, pattern=r"^\w+$", description="业务（流程名称）")
    ] = None,
    state: Annotated[
        str | None, Query(max_length=32, pattern=r"^\w+$", description="当前环节")
    ] = None,
    unit_id: Annotated[
        int | None, Query(ge=1, le=2**53, description="事项所属单位（含其下级单位）")
    ] = None,
    due_before: Annotated[
        dt.date | None, Query(description="办理期限不晚于此日（YYYY-MM-DD）")
    ] = None,
    overdue: Annotated[bool, Query(description="只看已逾期的待办")] = False,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> s.Inbox:
    """待办（todo）、已办（done）、抄送我的（cc），逾期在前；可按姓名、身份证号或事项编号
    搜索，按业务、环节、单位、办理期限、是否逾期筛选。"""
    catalogue = svc.engine.processes
    if process is not None and process not in catalogue:
        raise FormError("process", f"没有这项业务：{process}")
    if state is not None and state not in dict(step_options(catalogue, process or "")):
        raise FormError("state", f"没有这个环节：{state}")
    filters = queries.InboxFilter(
        search=q or "",
        process=process,
        state=state,
        unit_id=unit_id,
        due_before=due_before,
        overdue=overdue,
    )
    try:
        filters.terms()
    except ValueError as exc:
        raise FormError("q", str(exc)) from None
    today = svc.today()
    with reader(svc.db).connect() as conn:
        result = queries.inbox(
            conn, actor, box, today, filters=filters,
            drafts=queries.draft_states(catalogue.values()), finders=catalogue.finders,
            page=page, page_size=page_size,
        )  # fmt: skip
        counts = queries.inbox_counts(conn, actor, today)
        asks = what_is_asked(web_of(request), conn, result.items)
        names = applicant_names(catalogue, conn, result.items)
    items = [
        s.InboxItem(
            **{
                **i,
                "applicant_name": i["applicant_name"] or names.get(i["case_id"]),
                "state_label": catalogue[i["process"]].state_label(i["state"]),
                "asks": asks.get(i["case_id"], ""),
            }
        )
        for i in result.items
    ]
    return s.Inbox(
        box=box, items=items, total=result.total, page=page, page_size=page_size, counts=counts
    )


# --- notifications --------------------------------------------------------------------------
@router.get("/notifications", summary="站内通知", response_model=s.NotificationList, tags=["待办"])
def my_notifications(
    svc: Svc,
    actor: ApiActor,
    unread: bool = False,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 20,
) -> s.NotificationList:
    """站内通知（最新在前）。"""
    with reader(svc.db).connect() as conn:
        result = queries.notifications(conn, actor, unread=unread, page=page, page_size=page_size)
        count = queries.unread_notifications(conn, actor)
    return s.NotificationList(
        items=[s.NotificationOut(**n) for n in result.items],
        total=result.total,
        unread=count,
        page=page,
        page_size=page_size,
    )


@router.post(
    "/notifications/{notification_id}/read",
    summary="标记通知已读",
    response_model=s.NotificationList,
    tags=["待办"],
)
def read_notification(notification_id: CaseId, svc: Svc, actor: ApiActor) -> s.NotificationList:
    """标记为已读。"""
    if not svc.engine.read_notification(notification_id, actor):
        raise NotFound("通知不存在")
    return my_notifications(svc, actor, unread=True)


@router.post(
    "/notifications/read-all",
    response_model=s.ReadAllOut,
    tags=["待办"],
    summary="全部通知标为已读",
)
def read_all_notifications(svc: Svc, actor: ApiActor) -> s.ReadAllOut:
    """把本人所有未读的站内通知一次标为已读，返回本次标记的条数。所涉待办已办结的提醒、
    催办、督办通知本就不计为未读，也一并标记。"""
    marked = svc.engine.read_all_notifications(actor)
    with reader(svc.db).connect() as conn:
        unread = queries.unread_notifications(conn, actor)
    return s.ReadAllOut(read=marked, unread=unread)


# --- teachers --------------------------------------------------------------------------------
@router.get("/teachers", summary="教师档案列表", response_model=s.TeacherList, tags=["教师档案"])
def list_teachers(
    svc: Svc,
    actor: ApiActor,
    school_id: Annotated[int | None, Query(ge=1, le=2**53)] = None,
    name: Annotated[str | None, Query(max_length=32, pattern=r"^[^\x00-\x1f]+$")] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 20,
) -> s.TeacherList:
    """管辖范围内的教师档案；教师本人只能看到自己的档案。"""
    with reader(svc.db).connect() as conn:
        result = queries.teachers(
            conn, actor, school_id=school_id, name=name, page=page, page_size=page_size
        )
    return s.TeacherList(
        items=[teacher_out(t) for t in result.items],
        total=result.total,
        page=page,
        page_size=page_size,
    )


@router.get(
    "/teachers/{person_id}",
    summary="一位教师的档案",
    description="一位教师的档案（管辖范围外视为不存在）。",
    response_model=s.TeacherOut,
    tags=["教师档案"],
)
def get_teacher(person_id: CaseId, svc: Svc, actor: ApiActor) -> s.TeacherOut:
    with reader(svc.db).connect() as conn:
        result = queries.teachers(conn, actor, person_id=person_id, page_size=1)
    if not result.items:
        raise NotFound("教师档案不存在")
    return teacher_out(result.items[0])


# --- public ----------------------------------------------------------------------------------
public = APIRouter(
    prefix="/api/v1/public",
    tags=["公示（无需登录）"],
    responses={404: ERRORS[404], 409: ERRORS[409], 422: ERRORS[422]},
)


@public.get("/publicity", summary="公示名单", response_model=s.PublicityList)
def publicity(
    request: Request,
    svc: Svc,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> s.PublicityList:
    """正在公示的名单。身份证号与手机号已脱敏。"""
    board = web_of(request).board
    with reader(svc.db).connect() as conn:
        result = queries.publicity(conn, board.windows, page=page, page_size=page_size)
    return s.PublicityList(
        items=[
            masked_publicity(svc.engine.processes[r["process"]], r, board.detail(r))
            for r in result.items
        ],
        total=result.total,
        page=page,
        page_size=page_size,
    )


def _objectable(request: Request, svc: Services, case_id: int) -> dict[str, Any]:
    """The publicity entry of a case open for objection now; 404 otherwise."""
    with reader(svc.db).connect() as conn:
        listed = queries.publicity(conn, web_of(request).board.objections, case_id=case_id)
    if not listed.items:
        raise NotFound("该人员不在异议受理期内的公示名单中")
    return dict(listed.items[0])


@public.post(
    "/publicity/{case_id}/objection-codes",
    summary="获取异议短信验证码",
    response_model=s.ObjectionCodeOut,
    status_code=202,
)
def objection_code(
    request: Request, case_id: CaseId, body: s.ObjectionCodeIn, svc: Svc, address: Address
) -> s.ObjectionCodeOut:
    """提出异议前获取短信验证码（10分钟内有效，只能用于对该人员的异议）。

    每个号码每分钟限1次、每天限5次，每个网络地址每小时限10次；超出时返回 429，
    Retry-After 给出需等待的秒数。"""
    _objectable(request, svc, case_id)
    phone = objector_phone(body.contact_phone)
    issue_code(
        svc.db, svc.clock, phone, address=address, purpose=code_purpose(case_id),
        throttle=svc.throttle,
    )  # fmt: skip
    return s.ObjectionCodeOut(sent=True, message=f"验证码已发送至{mask_phone(phone)}，10分钟内有效")


@public.post(
    "/publicity/{case_id}/objections",
    summary="提出异议",
    response_model=s.ObjectionOut,
    status_code=201,
)
def object_to(request: Request, case_id: CaseId, body: s.ObjectionIn, svc: Svc) -> s.ObjectionOut:
    """对公示中的人员提出异议：须实名，并填写发到本人手机的短信验证码。结果公示期内的异议会
    暂停该案，受理后返回回执编号。同一手机号每次公示对同一人限提一次；已认定不成立的异议，
    相同内容不再受理。"""
    row = _objectable(request, svc, case_id)
    spec = svc.engine.processes[row["process"]]
    objecting = spec.public_event(row["state"])
    assert objecting is not None
    form = body.model_dump()
    code = form.pop("code")
    receipt = file_objection(
        svc.engine, spec, case_id, objecting, form, code, expected_version=int(row["version"])
    )
    return s.ObjectionOut(
        received=True,
        receipt=receipt,
        message=f"异议已受理，回执编号{receipt}，请妥善保存；公示暂停，主管部门将核查处理",
    )


__all__ = ["case_detail", "detail_out", "event_label", "public", "router"]
