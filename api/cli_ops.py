"""``renshi sweep``, ``renshi notify`` and ``renshi ops``: the scheduled jobs run by hand,
and the record of their runs, in the bureau's words."""

from __future__ import annotations

import json
import sys

import click
from sqlalchemy import select

from flows.jobs import BY_KEY, JOBS, run_job
from notifications.config import public_url
from notifications.render import notices_of
from states.clock import BUREAU_TZ, Clock
from states.engine import CaseEngine, build_catalogue
from states.ops import Run, Start, count_words, recent_runs, requeue
from states.processes import installed
from states.registry.scope import OPERATOR
from states.store.db import make_engine, reader
from states.store.models import Delivery, OutboxMessage


def _engine(ctx: click.Context) -> CaseEngine:
    clock: Clock = ctx.obj["clock"]
    return CaseEngine(make_engine(), installed(), clock)


def _summary(run: Run, engine: CaseEngine) -> str:
    """One run in a line: its outcome, and what it did or why not."""
    job = BY_KEY.get(run.job)
    words = count_words(run.counts, job.counts if job else {}, engine.processes)
    said = "，".join(words) or (
        "" if run.outcome in ("failed", "skipped") else "没有需要处理的事项"
    )
    if run.reason:
        said = "；".join(filter(None, [said, run.reason]))
    return f"{run.outcome_label}" + (f"：{said}" if said else "")


def _ran(ctx: click.Context, key: str) -> None:
    """Run one job through the one recorded wrapper and say what it did; a failed run exits
    1 with its error, after it is recorded."""
    engine = _engine(ctx)
    try:
        run, _ = run_job(key, engine, Start.cli())
        click.echo(f"{BY_KEY[key].label}：{_summary(run, engine)}")
        if run.error:
            click.echo(run.error, err=True)
    finally:
        engine.db.dispose()
    if run.outcome == "failed":
        sys.exit(1)


@click.command(
    "sweep",
    help="立即运行一项定时任务（运行记录与定时运行一样写入“系统运行”页面）：\n\n"
    + "\n\n".join(f"{job.key}：{job.label}，{job.schedule}" for job in JOBS),
)
@click.argument("name", type=click.Choice([job.key for job in JOBS]))
@click.pass_context
def sweep(ctx: click.Context, name: str) -> None:
    _ran(ctx, name)


@click.group("notify")
def notify() -> None:
    """通知：发送、预览、查看发送失败的记录。"""


@notify.command("dispatch")
@click.pass_context
def notify_dispatch(ctx: click.Context) -> None:
    """发送待发通知（站内、邮件、短信、群机器人）；与定时的“通知发送”相同，并记入运行记录。"""
    _ran(ctx, "dispatch")


@notify.command("failures")
def notify_failures() -> None:
    """列出发送失败的通知（已放弃重试），以便人工处理。"""
    db = make_engine()
    with reader(db).connect() as conn:
        rows = conn.execute(
            select(
                Delivery.id,
                Delivery.channel,
                Delivery.target,
                Delivery.attempts,
                Delivery.last_error,
                OutboxMessage.kind,
                OutboxMessage.case_id,
                OutboxMessage.created_at,
            )
            .join(OutboxMessage, OutboxMessage.id == Delivery.outbox_id)
            .where(Delivery.status == "failed")
            .order_by(Delivery.id)
        ).all()
    if not rows:
        click.echo("没有发送失败的通知")
        return
    for r in rows:
        at = r.created_at.astimezone(BUREAU_TZ).strftime("%Y-%m-%d %H:%M")
        click.echo(
            f"#{r.id} {at} 事项{r.case_id} {r.kind} {r.channel}→{r.target} "
            f"尝试{r.attempts}次：{r.last_error}"
        )


@notify.command("resend")
@click.argument("delivery_id", type=click.IntRange(1, 2**53))
@click.pass_context
def notify_resend(ctx: click.Context, delivery_id: int) -> None:
    """把一条发送失败的通知（notify failures 列出的编号）重新排入发送队列，下次通知发送时发出。"""
    engine = _engine(ctx)
    try:
        with engine.db.begin() as conn:
            done = requeue(conn, engine.processes, OPERATOR, delivery_id, engine.clock.now())
    finally:
        engine.db.dispose()
    if not done:
        click.echo(f"没有编号为 {delivery_id} 的发送失败通知（可能已发出或已重新排队）", err=True)
        sys.exit(1)
    click.echo(f"#{delivery_id} 已重新排入发送队列，将在下次通知发送时发出")


@notify.command("preview")
@click.argument("kinds", nargs=-1, metavar="[通知类型]...")
@click.pass_context
def notify_preview(ctx: click.Context, kinds: tuple[str, ...]) -> None:
    """用示例数据打印通知的标题、正文和短信文字供校对，不发送任何通知。

    链接为 RENSHI_PUBLIC_URL 下的完整网址；不指定通知类型则打印全部类型。"""
    packages = ctx.obj["packages"] if ctx.obj else installed()
    known = notices_of(build_catalogue(packages))
    unknown = [kind for kind in kinds if kind not in known.samples]
    if unknown:
        raise click.UsageError(
            f"没有通知类型：{'、'.join(unknown)}（已知：{'、'.join(known.kinds)}）", ctx
        )
    for kind in kinds or known.kinds:
        click.echo(known.proof(kind, public_url()))


@click.group("ops")
def ops() -> None:
    """系统运行：定时任务的运行记录。"""


@ops.command("jobs")
def ops_jobs() -> None:
    """列出各项定时任务：名称、运行时间、做什么。"""
    for job in JOBS:
        click.echo(f"{job.key}  {job.label}｜{job.schedule}｜{job.what}")


@ops.command("runs")
@click.option(
    "--job",
    "key",
    type=click.Choice([job.key for job in JOBS]),
    default=None,
    help="只看这一项任务。",
)
@click.option("--limit", type=click.IntRange(1, 500), default=20, show_default=True, help="条数。")
@click.option("--failed", is_flag=True, help="只看失败和部分失败的运行。")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出（供脚本使用）。")
@click.pass_context
def ops_runs(ctx: click.Context, key: str | None, limit: int, failed: bool, as_json: bool) -> None:
    """最近的运行记录，新的在前：何时、如何启动、结果、做了什么、出错原因。"""
    engine = _engine(ctx)
    try:
        with reader(engine.db).connect() as conn:
            runs = recent_runs(conn, job=key, limit=limit, troubled=failed)
        if as_json:
            click.echo(
                json.dumps(
                    [
                        {
                            "id": r.id,
                            "job": r.job,
                            "label": BY_KEY[r.job].label if r.job in BY_KEY else r.job,
                            "trigger": r.trigger,
                            "started_by": r.started_by,
                            "started_at": r.started_at.isoformat(),
                            "finished_at": r.finished_at.isoformat() if r.finished_at else None,
                            "outcome": r.outcome,
                            "outcome_label": r.outcome_label,
                            "counts": r.counts,
                            "summary": _summary(r, engine),
                            "error": r.error,
                        }
                        for r in runs
                    ],
                    ensure_ascii=False,
                    indent=2,
                )
            )
            return
        if not runs:
            click.echo("没有运行记录")
            return
        for r in runs:
            at = r.started_at.astimezone(BUREAU_TZ).strftime("%Y-%m-%d %H:%M:%S")
            label = BY_KEY[r.job].label if r.job in BY_KEY else r.job
            click.echo(f"#{r.id} {at} {label} {r.trigger_label} {_summary(r, engine)}")
            if r.error:
                for line in r.error.splitlines():
                    click.echo(f"    {line}")
    finally:
        engine.db.dispose()
