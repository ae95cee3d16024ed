"""``renshi compliance …``: run the automated checks now, list the findings as the board
shows them to someone, show one finding, record an explanation (情况说明) on it or close it
by hand (人工销号), issue the year's ethics pledges, record the honour certificates the
province or a city issued — the same operations as the board, the finding's page, the
pledge page and the JSON API. Each check also runs on its own schedule
(``renshi sweep compliance-<code>``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import click

from states import commands
from states.clock import BUREAU_TZ
from states.engine import CaseEngine
from states.errors import RenshiError
from states.org import Actor
from states.sheets import SheetError, read_table
from states.store.db import make_engine, reader

AS = commands.AS
DATE = commands.DATE


@contextmanager
def _engine() -> Iterator[CaseEngine]:
    """An engine over every installed package (their rules are what ``run`` runs): the
    list the command line's root hands down, this package alone without it."""
    from states.processes.compliance import PACKAGE

    ctx = click.get_current_context(silent=True)
    obj = ctx.find_root().obj if ctx is not None else None
    packages = obj.get("packages") if isinstance(obj, Mapping) else None
    db = make_engine()
    try:
        yield CaseEngine(db, list(packages or (PACKAGE,)), commands.clock())
    finally:
        db.dispose()


def _counts(counts: Mapping[str, int]) -> str:
    from states.processes.compliance.checks import count_words

    return count_words(counts)


@click.group("compliance")
def compliance_cli() -> None:
    """合规检查：运行自动检查、查看问题清单、下发师德承诺书、登记荣誉证书。"""


@compliance_cli.command("run")
@click.option("--rule", default=None, help="只运行这一项检查（检查项代码），默认全部")
def run(rule: str | None) -> None:
    """立即运行自动检查：发现的问题逐项登记，已整改的自动销号。"""
    from states.processes.compliance import checks

    with _engine() as engine:
        try:
            done = checks.run_all(engine, rule)
        except RenshiError as exc:
            commands.refuse(exc)
        labels = {r.code: r.label for r in engine.processes.compliance_rules()}
    failed = False
    for code, outcome in done.items():
        if isinstance(outcome, str):
            failed = True
            click.echo(f"{labels[code]}：失败，{outcome}", err=True)
        else:
            click.echo(f"{labels[code]}：{_counts(outcome)}")
    if failed:
        raise SystemExit(1)


@compliance_cli.command("findings")
@AS
@click.option("--rule", default=None, help="检查项代码")
@click.option("--unit", "unit_id", type=int, default=None, help="单位编号（默认本人最高一级单位）")
@click.option("--closed", is_flag=True, help="列出已销号的问题（默认未整改的）")
def findings_list(who: str, rule: str | None, unit_id: int | None, closed: bool) -> None:
    """问题清单（与看板一致，按本人权限脱敏）。"""
    from states.processes.compliance import findings

    with _engine() as engine:
        actor = commands.actor(engine.db, who)
        rules = engine.processes.compliance_rules()
        try:
            filters = findings.filters_from(
                rules, rule=rule, status="closed" if closed else "open", unit_id=unit_id
            )
            with reader(engine.db).connect() as conn:
                b = findings.board(conn, actor, rules, filters, engine.clock.now(), limit=10_000)
        except RenshiError as exc:
            commands.refuse(exc)
    click.echo(f"{b.unit.name}：" + "；".join(f"{r.label}{r.open}项" for r in b.rules))
    for line in b.lines:
        who_ = " ".join(x for x in (line["name"], line["id_number"], line["subject"]) if x)
        click.echo(f"{line['id']}\t{line['rule_label']}\t{line['unit']}\t{who_}\t{line['detail']}")


def _show(engine: CaseEngine, actor: Actor, finding_id: int) -> None:
    from states.processes.compliance import findings

    with reader(engine.db).connect() as conn:
        page = findings.finding(conn, actor, engine.processes.compliance_rules(), finding_id)
    x = page.line
    who_ = " ".join(v for v in (x["name"], x["id_number"], x["subject"]) if v)
    click.echo(f"问题{x['id']}：{x['rule_label']}（{x['subject_label']}：{who_}）")
    click.echo(f"责任单位：{x['unit']}")
    click.echo(f"问题：{x['detail']}")
    click.echo(f"发现时间：{_at(x['opened_at'])}")
    for n in x["notes"]:
        until = f"（预计{n['until'].isoformat()}整改）" if n["until"] else ""
        click.echo(
            f"情况说明：{_at(n['at'])} {n['author']}（{n['author_unit']}）：{n['text']}{until}"
        )
    if x["closed_at"] is None:
        click.echo("状态：未整改")
    elif x["by_hand"]:
        click.echo(
            f"状态：已于{_at(x['closed_at'])}{x['closed_how']}，{x['closed_by']}（{x['closed_unit']}）："
            f"{x['close_reason']}"
        )
    else:
        click.echo(f"状态：已于{_at(x['closed_at'])}销号（{x['closed_how']}）")


def _at(at: dt.datetime) -> str:
    return at.astimezone(BUREAU_TZ).strftime("%Y-%m-%d %H:%M")


@compliance_cli.command("show")
@AS
@click.argument("finding_id", type=click.IntRange(1, 2**53))
def finding_show(who: str, finding_id: int) -> None:
    """一个问题的详情：对象、责任单位、情况说明和销号情况（按本人权限脱敏）。"""
    with _engine() as engine:
        actor = commands.actor(engine.db, who)
        try:
            _show(engine, actor, finding_id)
        except RenshiError as exc:
            commands.refuse(exc)


@compliance_cli.command("note")
@AS
@click.argument("finding_id", type=click.IntRange(1, 2**53))
@click.option("--text", required=True, help="情况说明（如暂不能整改的原因，至多500字）")
@click.option("--until", type=DATE, default=None, help="预计整改日期，如 2026-12-31（可不填）")
def finding_note(who: str, finding_id: int, text: str, until: dt.datetime | None) -> None:
    """就未整改的问题填写情况说明（责任单位或其上级单位的人事干部）。"""
    from states.processes.compliance import notes

    with _engine() as engine:
        actor = commands.actor(engine.db, who)
        try:
            notes.note(engine, actor, finding_id, text, until.date() if until else None)
            _show(engine, actor, finding_id)
        except RenshiError as exc:
            commands.refuse(exc)


@compliance_cli.command("close")
@AS
@click.argument("finding_id", type=click.IntRange(1, 2**53))
@click.option("--reason", required=True, help="销号理由（至多500字）")
def finding_close(who: str, finding_id: int, reason: str) -> None:
    """人工销号：责任单位的上级单位人事干部写明理由销号；本学年内同一对象不再登记该项问题。"""
    from states.processes.compliance import notes

    with _engine() as engine:
        actor = commands.actor(engine.db, who)
        try:
            notes.close(engine, actor, finding_id, reason)
            _show(engine, actor, finding_id)
        except RenshiError as exc:
            commands.refuse(exc)


@compliance_cli.group("pledge")
def pledge_cli() -> None:
    """师德承诺书。"""


@pledge_cli.command("issue")
@click.option("--year", type=int, default=None, help="学年（开始的年份），默认本学年")
def pledge_issue(year: int | None) -> None:
    """向在职教师下发本学年师德承诺书（已下发的不重复下发）。"""
    from states.processes.compliance import pledge

    with _engine() as engine:
        try:
            year, n = pledge.issue_now(engine, year)
        except RenshiError as exc:
            commands.refuse(exc)
    click.echo(f"{pledge.year_label(year)}师德承诺书：新下发{n}份")


@compliance_cli.group("honour")
def honour_cli() -> None:
    """乡村学校从教30年荣誉证书。"""


@honour_cli.command("record")
@AS
@click.option("--id-number", required=True, help="教师身份证号")
@click.option("--cert-no", required=True, help="证书编号")
@click.option("--issued-on", type=DATE, required=True, help="颁发日期，如 2026-09-10")
def honour_record(who: str, id_number: str, cert_no: str, issued_on: dt.datetime) -> None:
    """登记一名教师的荣誉证书（省教育厅或市教育局）。"""
    from states.processes.compliance import records

    with _engine() as engine:
        actor = commands.actor(engine.db, who)
        try:
            done = records.record(engine, actor, id_number, cert_no, issued_on.date())
        except RenshiError as exc:
            commands.refuse(exc)
    click.echo(f"已登记：{done.name}（{done.school}），证书编号{done.cert_no}")


@honour_cli.command("import")
@AS
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--valid-only", is_flag=True, help="只导入无误的行（默认有错则整表不导入）")
def honour_import(who: str, path: Path, valid_only: bool) -> None:
    """从表格导入荣誉证书（列：身份证号、证书编号、颁发日期，可含姓名）。"""
    from states.processes.compliance import records
    from states.registry import history

    data = path.read_bytes()
    with _engine() as engine:
        actor = commands.actor(engine.db, who)
        try:
            table = read_table(data, path.name, schema=records.HONOUR_SCHEMA)
            report = records.import_honours(
                engine, actor, table, valid_only=valid_only,
                source_ref=history.file_ref(path.name, data),
            )  # fmt: skip
        except SheetError as exc:
            commands.fail(str(exc))
        except RenshiError as exc:
            commands.refuse(exc)
    for error in report.errors:
        click.echo(f"错误：{error}", err=True)
    click.echo(report.summary())
    if report.refused:
        raise SystemExit(1)
