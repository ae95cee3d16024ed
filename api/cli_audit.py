"""``renshi audit``: verify the trail, take the daily digest, rotate the audit key."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from sqlalchemy import func, select

from flows.jobs import take_digest
from states import audit_keys
from states.audit_digest import DigestError, check_against
from states.audit_keys import KeyRingError, key_dir
from states.clock import SystemClock
from states.engine import CaseEngine
from states.ops import Start
from states.store.audit_store import Break, verify_trail
from states.store.db import make_engine, reader
from states.store.models import AuditEvent

SHOWN = 200  # breaks printed one by one; the rest are counted


@click.group("audit")
def audit() -> None:
    """审计记录：校验、每日摘要、审计密钥轮换。"""


@audit.command("verify")
@click.option("--case", "case_id", type=int, default=None, help="只校验一个事项")
@click.option(
    "--against",
    "against",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="同时与此前生成的审计摘要文件核对：摘要之前的记录均未被改写或删除",
)
@click.option(
    "--fingerprint",
    default=None,
    metavar="SHA256",
    help="督查员收到的摘要指纹；给出时先核对摘要文件本身",
)
def audit_verify(case_id: int | None, against: Path | None, fingerprint: str | None) -> None:
    """校验审计链：完整返回 0，有记录被修改、删除或无法证明返回 1 并指明事项与记录。"""
    if fingerprint is not None and against is None:
        raise click.BadParameter("须与 --against 一同使用", param_hint="--fingerprint")
    db = make_engine()
    try:
        with reader(db).connect() as conn:
            breaks = list(verify_trail(conn, case_id))
            if against is not None:
                try:
                    breaks += check_against(conn, against, fingerprint=fingerprint, case_id=case_id)
                except DigestError as exc:
                    click.echo(f"审计摘要不可用：{exc}", err=True)
                    sys.exit(1)
            count = select(func.count()).select_from(AuditEvent)
            if case_id is not None:
                count = count.where(AuditEvent.case_id == case_id)
            events = conn.execute(count).scalar_one()
    except KeyRingError as exc:
        click.echo(f"审计密钥环无法读取：{exc}", err=True)
        sys.exit(1)
    finally:
        db.dispose()
    if breaks:
        _report(breaks)
        sys.exit(1)
    suffix = f"，且与摘要 {against.name} 相符" if against is not None else ""
    click.echo(f"审计链完整：已校验{events}条记录{suffix}")


def _report(breaks: list[Break]) -> None:
    for b in breaks[:SHOWN]:
        click.echo(f"审计链损坏：{b}", err=True)
    if len(breaks) > SHOWN:
        click.echo(f"……另有{len(breaks) - SHOWN}处未列出（共{len(breaks)}处）", err=True)


@audit.command("digest")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="摘要文件存放目录（默认 RENSHI_AUDIT_DIGESTS，或 RENSHI_VAR/audit-digests）",
)
@click.pass_context
def audit_digest(ctx: click.Context, out: Path | None) -> None:
    """校验审计链后生成审计摘要（每个事项审计链的末条记录），存于数据库之外，并将摘要指纹通知省级督查员；运行记录与每日定时运行一样写入“系统运行”页面。"""
    clock = ctx.obj["clock"] if ctx.obj else SystemClock()
    packages = ctx.obj["packages"] if ctx.obj else ()  # the list the root hands down
    engine = CaseEngine(make_engine(), packages, clock)
    try:
        run, outcome = take_digest(engine, Start.cli(), out)
    finally:
        engine.db.dispose()
    if outcome is None or outcome.skipped:
        click.echo(f"审计摘要未生成：{run.error or run.reason}", err=True)
        sys.exit(1)
    counts = outcome.counts
    click.echo(f"审计摘要已生成：{counts['file']}")
    click.echo(f"摘要指纹（SHA-256）：{counts['fingerprint']}")
    click.echo(f"共{counts['cases']}个事项；已通知省级督查员")
    if counts["breaks"]:
        click.echo(
            f"生成前的校验发现{counts['breaks']}处异常，请运行 renshi audit verify 查看", err=True
        )
        sys.exit(1)


@audit.command("rotate-key")
def audit_rotate_key() -> None:
    """新增一把审计密钥，此后新的审计记录以它封存；旧密钥保留在密钥环中用于校验，切勿删除。"""
    made = audit_keys.add_key()
    click.echo(f"已新增审计密钥 {made.key_id}（{made.path}），新的审计记录将以它封存")
    click.echo("运行中的服务在30秒内改用新密钥；请立即将该密钥文件备份到数据库备份以外的地方")


@audit.command("keys")
def audit_keys_list() -> None:
    """列出密钥环中的审计密钥（编号、名称、文件），标出当前用于封存的一把。"""
    ring = audit_keys.read_ring()
    files = ring.files()
    if not files:
        click.echo(f"密钥环为空：{key_dir()}")
        return
    for f in files:
        mark = "（当前）" if f is files[-1] else ""
        click.echo(f"{f.number:>4}  {f.key_id}  {f.path}{mark}")
