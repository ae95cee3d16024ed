"""``renshi sweep`` and ``renshi notify``: what the scheduled flows do, run by hand."""

from __future__ import annotations

import os
import sys

import click
from sqlalchemy import select

from notifications.config import ConfigError, build_channels, from_env, public_url
from notifications.dispatch import dispatch
from notifications.render import KINDS, SAMPLE_CONTEXTS, render
from states.clock import BUREAU_TZ
from states.engine import CaseEngine, build_catalogue
from states.processes import installed
from states.store.db import make_engine, reader
from states.store.models import Delivery, OutboxMessage
from states.sweeps import (
    SweepReport,
    checks_sweep,
    deadline_sweep,
    publicity_sweep,
    reminder_sweep,
)

SWEEPS = {
    "reminders": reminder_sweep,
    "deadlines": deadline_sweep,
    "publicity": publicity_sweep,
    "checks": checks_sweep,
}


@click.command("sweep")
@click.argument("name", type=click.Choice(sorted(SWEEPS)))
@click.pass_context
def sweep(ctx: click.Context, name: str) -> None:
    """运行一次定时任务：reminders（催办提醒）、deadlines（逾期督办）、publicity（公示期满）、checks（各流程的自动检查）。"""
    engine = CaseEngine(make_engine(), installed(), ctx.obj["clock"])
    report: SweepReport = SWEEPS[name](engine)
    if report.skipped:
        click.echo(f"未执行：{report.skipped}")
    else:
        click.echo(f"{name}：" + ("，".join(f"{k} {v}" for k, v in report.counts.items()) or "无"))
    for error in report.errors:
        click.echo(f"  {error}", err=True)


@click.group("notify")
def notify() -> None:
    """通知：发送、预览、查看发送失败的记录。"""


@notify.command("dispatch")
@click.pass_context
def notify_dispatch(ctx: click.Context) -> None:
    """发送待发通知（站内、邮件、短信、群机器人）。"""
    try:
        channels = build_channels(from_env(os.environ))
    except ConfigError as exc:
        click.echo(f"通知渠道配置错误：{exc}", err=True)
        sys.exit(2)
    catalogue = build_catalogue(installed())
    report = dispatch(make_engine(), ctx.obj["clock"], channels, catalogue=catalogue)
    click.echo(
        f"展开{report.expanded}条通知；发送 {report.sent or {}}；"
        f"待重试{report.retried}条；失败{report.failed}条"
    )


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
            f"#{r.id} {at} 案件{r.case_id} {r.kind} {r.channel}→{r.target} "
            f"尝试{r.attempts}次：{r.last_error}"
        )


@notify.command("preview")
@click.argument("kind", type=click.Choice(sorted(KINDS)))
def notify_preview(kind: str) -> None:
    """用示例数据预览一种通知的文字（链接为 RENSHI_PUBLIC_URL 下的完整网址）。"""
    sample = dict(SAMPLE_CONTEXTS[kind])
    if sample.get("link"):
        sample["link"] = public_url() + sample["link"]
    text = render(kind, sample)
    click.echo(f"标题：{text.subject}\n短文：{text.short}\n\n{text.body}")
