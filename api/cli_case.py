"""``renshi case``: cases and their trail from the command line (``renshi audit`` checks the
trail: api/cli_audit.py)."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import click
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from api.present import event_label
from states import commands
from states.clock import BUREAU_TZ, Clock, FrozenClock, SystemClock
from states.engine import CaseEngine, FireResult, build_catalogue
from states.errors import RenshiError
from states.processes import installed
from states.store.db import make_engine, reader
from states.store.models import AuditEvent, Case, Task

PROCESSES = build_catalogue(installed())  # the CLI is a composition root


def parse_at(value: str | None) -> Clock:
    """``--at``: run as if it were this moment (rehearsals, demos); bureau time if no zone."""
    if not value:
        return SystemClock()
    try:
        at = dt.datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("应为 ISO 时间，如 2026-10-14T09:00", param_hint="--at") from None
    return FrozenClock(at if at.tzinfo else at.replace(tzinfo=BUREAU_TZ))


def _engine(ctx: click.Context) -> tuple[Engine, CaseEngine]:
    db = make_engine()
    return db, CaseEngine(db, installed(), ctx.obj["clock"] if ctx.obj else SystemClock())


def _json(value: str | None, hint: str) -> dict[str, Any]:
    if not value:
        return {}
    try:
        obj = json.loads(value)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"不是有效的 JSON：{exc.msg}", param_hint=hint) from None
    if not isinstance(obj, dict):
        raise click.BadParameter("应为 JSON 对象", param_hint=hint)
    return obj


def _describe(result: FireResult) -> str:
    case = f"事项{result.case_id}"
    spec = PROCESSES[result.process]
    to = spec.state_label(result.to_state)
    if result.from_state is None:
        return f"{case}：已创建，状态「{to}」（版本{result.version}）"
    source = spec.state_label(result.from_state)
    extra = f"；原因：{result.reason}" if result.reason else ""
    again = "（重复请求，返回首次结果）" if result.replayed else ""
    label = event_label(spec, result.event)
    return f"{case}：{label}，「{source}」→「{to}」（版本{result.version}）{extra}{again}"


@click.group("case")
def case() -> None:
    """业务事项：发起、办理、查看。"""


@case.command("start")
@click.argument("process", type=click.Choice(sorted(PROCESSES)))
@click.option("--as", "who", required=True, help="发起人用户名（或 #人员编号）")
@click.option("--form", "form", required=True, help="申报表 JSON")
@click.option("--submit", is_flag=True, help="创建后立即提交")
@click.pass_context
def case_start(ctx: click.Context, process: str, who: str, form: str, submit: bool) -> None:
    """发起一个事项（如职称申报）。"""
    db, eng = _engine(ctx)
    try:
        actor = commands.actor(db, who)
        click.echo(_describe(eng.start(process, actor, _json(form, "--form"), submit=submit)))
    except RenshiError as exc:
        commands.refuse(exc)


@case.command("fire")
@click.argument("case_id", type=int)
@click.argument("event")
@click.option("--as", "who", required=True, help="办理人用户名、#人员编号、system 或 public")
@click.option("--payload", default=None, help='事件数据 JSON，如 {"reason": "..."}')
@click.option("--version", "version", type=int, default=None, help="预期版本（默认取当前版本）")
@click.option("--key", default=None, help="幂等键：重复提交同一键只生效一次")
@click.pass_context
def case_fire(
    ctx: click.Context,
    case_id: int,
    event: str,
    who: str,
    payload: str | None,
    version: int | None,
    key: str | None,
) -> None:
    """对事项执行一个事件（审核、退回、投票……）。"""
    db, eng = _engine(ctx)
    try:
        actor = commands.actor(db, who)
        if version is None:
            with reader(db).connect() as conn:
                version = conn.execute(select(Case.version).where(Case.id == case_id)).scalar()
        result = eng.fire(
            case_id,
            event,
            actor,
            _json(payload, "--payload"),
            expected_version=version or 0,
            idempotency_key=key,
        )
        click.echo(_describe(result))
    except RenshiError as exc:
        commands.refuse(exc)


@case.command("show")
@click.argument("case_id", type=int)
def case_show(case_id: int) -> None:
    """显示事项状态、待办与审计记录。"""
    db = make_engine()
    with Session(reader(db)) as conn:
        row = conn.execute(select(Case).where(Case.id == case_id)).scalar_one_or_none()
        if row is None:
            click.echo(f"错误：事项{case_id}不存在", err=True)
            sys.exit(1)
        spec = PROCESSES[row.process]
        click.echo(f"事项{row.id}  {spec.label}  {row.year}年度  版本{row.version}")
        click.echo(f"状态：{spec.state_label(row.state)}")
        click.echo(f"表单：{json.dumps(row.data, ensure_ascii=False)}")
        tasks = conn.execute(
            select(Task).where(Task.case_id == case_id, Task.status == "open")
        ).scalars()
        for t in tasks:
            who = f"#{t.assignee_id}" if t.assignee_id else f"{t.role}@{t.org_unit_id}"
            due = t.due_on.isoformat() if t.due_on else (t.due_flag or "无期限")
            click.echo(f"待办：{spec.state_label(t.state)}  {who}  截止{due}")
        for e in conn.execute(
            select(AuditEvent).where(AuditEvent.case_id == case_id).order_by(AuditEvent.seq)
        ).scalars():
            at = e.at.astimezone(BUREAU_TZ).strftime("%Y-%m-%d %H:%M")
            to = spec.state_label(e.to_state)
            label = event_label(PROCESSES[row.process], e.event)
            click.echo(f"  {e.seq:>3} {at} {e.actor_label} {label} → {to}")


@case.command("dossier")
@click.argument("case_id", type=int)
@click.option(
    "--as", "who", required=True, help="导出人用户名或 #人员编号（督查员或县级以上人事干部）"
)
@click.option(
    "-o",
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="保存审计档案的 PDF 文件路径",
)
@click.option(
    "--digests",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="每日审计摘要所在目录（默认 RENSHI_AUDIT_DIGESTS，或 RENSHI_VAR/audit-digests）",
)
@click.pass_context
def case_dossier(
    ctx: click.Context, case_id: int, who: str, out: Path, digests: Path | None
) -> None:
    """导出事项的审计档案（PDF）。

    含申报内容、办理记录、意见、附件及其 SHA-256、审计链及其校验结果、每日审计摘要。

    审计链或摘要比对发现的问题同时在此列出。"""
    from api import dossier  # the pages' words and the typesetting: loaded only when asked
    from api.processes import load

    db, eng = _engine(ctx)
    try:
        actor = commands.actor(db, who)
        found = dossier.build(
            db, eng.processes, load(eng.processes), actor, case_id, eng.clock.now(),
            digests=digests,
        )  # fmt: skip
        data = dossier.pdf(found)
    except RenshiError as exc:
        commands.refuse(exc)
    finally:
        db.dispose()
    # written whole or not at all: a half-written PDF is never left where one was asked for
    part = out.with_name(f".{out.name}.part")
    part.write_bytes(data)
    part.replace(out)
    click.echo(f"已导出事项{case_id}的审计档案：{out}（{len(data) // 1024} KB）")
    if found.verified:
        click.echo(f"审计链：{dossier.PASSED}（共{len(found.steps)}条记录）")
    else:
        click.echo(f"审计链：{dossier.FAILED}，发现{len(found.breaks)}处问题", err=True)
        for problem in found.breaks:
            click.echo(f"  {problem}", err=True)
    for note in found.digest_notes:
        click.echo(f"审计摘要：{note}", err=found.digest is not None)
    g = found.digest
    if g is not None:
        said = "相符" if g.matches else "不符"
        click.echo(
            f"审计摘要：{g.file}（{g.taken_at}）记载的第{g.seq}条记录与审计链{said}",
            err=not g.matches,
        )
