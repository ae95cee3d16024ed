"""系统运行: the scheduled jobs and the notices that did not go out, for the province's
officers — the page ``/admin/operations`` and its JSON twins under ``/api/v1/operations``.

The officers who keep the platform running never need the Prefect UI: each job of
``flows.jobs`` is listed with its schedule in words, its last runs from our own record
(``states.ops``), what each did and how it ended; 「立即运行」 runs a job here and now through
the same recorded wrapper the schedule uses, with the officer's name on the run. Failed and
retrying deliveries are listed with the recipient masked, and a failed one can be sent again.

Anyone else finds nothing here (404), as on the registry pages.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any, Final
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from api import webkit
from api.deps import ApiActor, Services, Svc
from api.errors import ERRORS
from api.present import mask_phone
from api.webkit import Posted, SignedIn, Who
from flows.jobs import BY_KEY, JOBS, Job, run_job
from notifications.channels import ROBOT_LABELS
from states.engine.visibility import ANONYMOUS_MEMBER
from states.errors import FormError, NotFound
from states.ops import (
    Run,
    Start,
    Trouble,
    count_words,
    may_operate,
    recent_runs,
    requeue,
    runs_by_job,
    troubled_deliveries,
)
from states.org import Actor
from states.process.package import Catalogue
from states.store.db import reader

api_router = APIRouter(prefix="/api/v1/operations", responses=ERRORS, tags=["系统运行"])
page_router = APIRouter(include_in_schema=False)
HOME: Final = "/admin/operations"
LINKS: Final[tuple[tuple[str, str], ...]] = ((HOME, "系统运行"),)
SHOWN_RUNS: Final = 20
SHOWN_DELIVERIES: Final = 100

CHANNELS: Final = {"inapp": "站内消息", "email": "邮件", "sms": "短信", "webhook": "群机器人"}
NOTICE_KINDS: Final = {
    "case_update": "办理进展",
    "task_assigned": "新待办",
    "case_copied": "抄送",
    "countersign_disagreed": "加签意见不同意",
    "reminder_due_soon": "即将到期提醒",
    "reminder_due_today": "今日到期提醒",
    "reminder_overdue": "逾期提醒",
    "urge": "催办",
    "escalation": "督办",
    "verification_code": "短信验证码",
    "audit_digest": "审计摘要",
}


def links(actor: Actor) -> tuple[tuple[str, str], ...]:
    """The header's link to this page, for those who may open it."""
    return LINKS if may_operate(actor) else ()


def routers() -> list[APIRouter]:
    return [api_router, page_router]


# --- what is shown ---------------------------------------------------------------------------
def summary(run: Run, catalogue: Catalogue) -> str:
    """A run in one sentence: what it did, why it did nothing, or what failed."""
    job = BY_KEY.get(run.job)
    words = "，".join(count_words(run.counts, job.counts if job else {}, catalogue))
    if run.outcome == "running":
        return "正在运行"
    if run.outcome == "skipped":
        return f"未执行：{run.reason or '无'}"
    if run.outcome == "failed":
        return f"运行失败：{run.error or '原因不明'}"
    if run.outcome == "partial":
        return f"{words or '部分完成'}；未完成：{run.error or ''}"
    return words or "没有需要处理的事项"


def _mask_email(address: str) -> str:
    local, at, domain = address.partition("@")
    if not at:
        return "***"
    return f"{local[:2]}***@{domain}"


def _robot(target: str) -> tuple[str, str]:
    """A group robot as "钉钉群机器人（oapi.dingtalk.com）": its URL carries the robot's
    access token, which is never shown."""
    kind, _, url = target.partition(":")
    host = urlsplit(url).hostname or "未知地址"
    return f"{ROBOT_LABELS.get(kind, '群机器人')}（{host}）", url


def _address(t: Trouble) -> str:
    """The address alone, masked: 138****1234, ab***@example.cn, 钉钉群机器人（host）."""
    if t.channel == "webhook":
        return _robot(t.target)[0]
    if t.channel == "sms":
        return mask_phone(t.target) or "—"
    if t.channel == "email":
        return _mask_email(t.target)
    return ""  # in-app: the person is the address


def recipient(t: Trouble) -> str:
    """Who a delivery was for: a name where the reader may know it (a committee member's
    only for those the case's visibility rules allow), the address masked."""
    if t.hidden:
        return ANONYMOUS_MEMBER
    if t.channel == "webhook":
        return _address(t)
    return " ".join(filter(None, [t.person_name, _address(t)])) or "—"


def scrubbed(t: Trouble) -> str | None:
    """The last error, with the recipient's address (and a robot's secret URL) replaced by
    its masked form: a channel's error may quote what it could not reach."""
    if t.last_error is None or t.channel not in ("email", "sms", "webhook"):
        return t.last_error
    text = t.last_error
    secrets = [t.target] + ([_robot(t.target)[1]] if t.channel == "webhook" else [])
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        text = text.replace(secret, "（已隐去）" if t.hidden else _address(t))
    return text


@dataclass(frozen=True)
class JobView:
    job: Job
    runs: list[Run]

    @property
    def last(self) -> Run | None:
        return self.runs[0] if self.runs else None


def _jobs(svc: Services, per_job: int = SHOWN_RUNS) -> list[JobView]:
    with reader(svc.db).connect() as conn:
        runs = runs_by_job(conn, [job.key for job in JOBS], per_job)
    return [JobView(job, runs[job.key]) for job in JOBS]


def _troubles(svc: Services, actor: Actor) -> tuple[list[Trouble], int]:
    with reader(svc.db).connect() as conn:
        return troubled_deliveries(conn, svc.engine.processes, actor, limit=SHOWN_DELIVERIES)


# --- JSON API --------------------------------------------------------------------------------
class RunOut(BaseModel):
    id: int
    job: str
    job_label: str
    trigger: str
    trigger_label: str
    started_by: str | None
    started_at: dt.datetime
    finished_at: dt.datetime | None
    outcome: str
    outcome_label: str
    counts: dict[str, Any]
    summary: str
    reason: str | None
    error: str | None


class JobOut(BaseModel):
    key: str
    label: str
    schedule: str
    what: str
    scheduled: bool
    last_run: RunOut | None


class OperationsOut(BaseModel):
    jobs: list[JobOut]
    troubled_deliveries: int


class RunList(BaseModel):
    items: list[RunOut]


class DeliveryOut(BaseModel):
    id: int
    channel: str
    channel_label: str
    recipient: str
    notice: str
    case_id: int | None
    state: str
    state_label: str
    attempts: int
    last_error: str | None
    next_attempt_at: dt.datetime | None
    created_at: dt.datetime


class DeliveryList(BaseModel):
    items: list[DeliveryOut]
    total: int


class ResentOut(BaseModel):
    id: int
    summary: str


def _operator(actor: Actor) -> None:
    if not may_operate(actor):
        raise NotFound("页面不存在或您无权查看")


def run_out(run: Run, catalogue: Catalogue) -> RunOut:
    job = BY_KEY.get(run.job)
    return RunOut(
        id=run.id,
        job=run.job,
        job_label=job.label if job else run.job,
        trigger=run.trigger,
        trigger_label=run.trigger_label,
        started_by=run.started_by,
        started_at=run.started_at,
        finished_at=run.finished_at,
        outcome=run.outcome,
        outcome_label=run.outcome_label,
        counts=run.counts,
        summary=summary(run, catalogue),
        reason=run.reason,
        error=run.error,
    )


def delivery_out(t: Trouble) -> DeliveryOut:
    return DeliveryOut(
        id=t.id,
        channel=t.channel,
        channel_label=CHANNELS.get(t.channel, t.channel),
        recipient=recipient(t),
        notice=NOTICE_KINDS.get(t.kind, "通知"),
        case_id=t.case_id,
        state=t.state,
        state_label=t.state_label,
        attempts=t.attempts,
        last_error=scrubbed(t),
        next_attempt_at=t.next_attempt_at,
        created_at=t.created_at,
    )


JobKey = Annotated[str, Path(min_length=1, max_length=32, description="任务代码，如 dispatch")]
DeliveryId = Annotated[int, Path(ge=1, le=2**53, description="通知发送记录编号")]


@api_router.get("", response_model=OperationsOut, summary="定时任务及其最近一次运行")
def operations(svc: Svc, actor: ApiActor) -> OperationsOut:
    """各项定时任务：运行时间、做什么、最近一次运行的结果；以及发送失败或重试中的通知条数。
    仅省教育厅教师工作处可查看。"""
    _operator(actor)
    views = _jobs(svc, per_job=1)
    _, troubled = _troubles(svc, actor)
    catalogue = svc.engine.processes
    return OperationsOut(
        jobs=[
            JobOut(
                key=v.job.key,
                label=v.job.label,
                schedule=v.job.schedule,
                what=v.job.what,
                scheduled=v.job.scheduled,
                last_run=run_out(v.last, catalogue) if v.last else None,
            )
            for v in views
        ],
        troubled_deliveries=troubled,
    )


@api_router.get("/runs", response_model=RunList, summary="定时任务的运行记录")
def runs(
    svc: Svc,
    actor: ApiActor,
    job: Annotated[str | None, Query(max_length=32, description="只看这一项任务")] = None,
    failed: Annotated[bool, Query(description="只看失败和部分失败的运行")] = False,
    limit: Annotated[int, Query(ge=1, le=200, description="条数")] = SHOWN_RUNS,
) -> RunList:
    """最近的运行记录，新的在前。"""
    _operator(actor)
    if job is not None and job not in BY_KEY:
        names = "、".join(j.label for j in BY_KEY.values())
        raise FormError("job", f"没有这项定时任务：“{job}”。可选：{names}")
    with reader(svc.db).connect() as conn:
        found = recent_runs(conn, job=job, limit=limit, troubled=failed)
    return RunList(items=[run_out(r, svc.engine.processes) for r in found])


@api_router.post("/{job}/run", response_model=RunOut, summary="立即运行一项定时任务")
def run_now(job: JobKey, svc: Svc, actor: ApiActor) -> RunOut:
    """立即运行并等待其结束；运行记录写明由谁手动启动。任务失败时返回的记录结果为“失败”并附原因。"""
    _operator(actor)
    if job not in BY_KEY:
        raise NotFound(f"定时任务“{job}”不存在", field="job")
    run, _ = run_job(job, svc.engine, Start.manual(actor), waiting=True)
    return run_out(run, svc.engine.processes)


@api_router.get("/deliveries", response_model=DeliveryList, summary="发送失败和重试中的通知")
def deliveries(svc: Svc, actor: ApiActor) -> DeliveryList:
    """最近的发送失败（已停止重试）和重试中的通知，收件人已脱敏。"""
    _operator(actor)
    found, total = _troubles(svc, actor)
    return DeliveryList(items=[delivery_out(t) for t in found], total=total)


@api_router.post(
    "/deliveries/{delivery_id}/resend", response_model=ResentOut, summary="重新发送一条通知"
)
def resend(delivery_id: DeliveryId, svc: Svc, actor: ApiActor) -> ResentOut:
    """把一条发送失败的通知重新排入发送队列，下次通知发送时发出（重试次数重新计算）。"""
    _operator(actor)
    with svc.db.begin() as conn:
        done = requeue(conn, svc.engine.processes, actor, delivery_id, svc.now())
    if not done:
        raise NotFound("发送失败的通知不存在（可能已发出或已重新排队）", field="delivery_id")
    return ResentOut(id=delivery_id, summary="已重新排入发送队列，将在下次通知发送时发出")


# --- the page --------------------------------------------------------------------------------
OnRun = Annotated[Who, Depends(webkit.guarded(HOME))]


def _refused(request: Request, who: Who) -> Response | None:
    return None if may_operate(who.actor) else webkit.not_found(request, who, "页面不存在")


def _row(run: Run, catalogue: Catalogue) -> dict[str, Any]:
    return {"run": run, "summary": summary(run, catalogue)}


def _page(request: Request, who: Who) -> Response:
    catalogue = who.svc.engine.processes
    views = _jobs(who.svc)
    troubles, total = _troubles(who.svc, who.actor)
    return webkit.render(
        request,
        "ops/operations.html",
        who,
        {
            "nav": HOME,
            "jobs": [
                {
                    "job": v.job,
                    "last": _row(v.last, catalogue) if v.last else None,
                    "runs": [_row(r, catalogue) for r in v.runs],
                    "troubled": sum(1 for r in v.runs if r.troubled),
                }
                for v in views
            ],
            "deliveries": [delivery_out(t) for t in troubles],
            "delivery_total": total,
        },
    )


@page_router.get(HOME)
def operations_page(request: Request, who: SignedIn) -> Response:
    return _refused(request, who) or _page(request, who)


@page_router.post(f"{HOME}/run")
def operations_run(request: Request, form: Posted, who: OnRun) -> Response:
    if (refusal := _refused(request, who)) is not None:
        return refusal
    key = webkit.text(form, "job")
    if key not in BY_KEY:
        return webkit.not_found(request, who, "定时任务不存在")
    run, _ = run_job(key, who.svc.engine, Start.manual(who.actor), waiting=True)
    said = summary(run, who.svc.engine.processes)
    said = f"「{BY_KEY[key].label}」已运行，{run.outcome_label}：{said}"
    return webkit.redirect(f"{HOME}#job-{key}", said, secure_cookie=who.svc.secure_cookies)


@page_router.post(HOME + "/deliveries/{delivery_id}/resend")
def operations_resend(request: Request, delivery_id: str, form: Posted, who: OnRun) -> Response:
    if (refusal := _refused(request, who)) is not None:
        return refusal
    did = webkit.parse_id(delivery_id)
    done = False
    if did is not None:
        with who.svc.db.begin() as conn:
            done = requeue(conn, who.svc.engine.processes, who.actor, did, who.svc.now())
    if not done:
        return webkit.not_found(request, who, "发送失败的通知")
    return webkit.redirect(
        f"{HOME}#deliveries",
        f"通知 #{did} 已重新排入发送队列，将在下次通知发送时发出",
        secure_cookie=who.svc.secure_cookies,
    )
