"""``renshi compliance …``: run the automated checks now, list the findings as the board
shows them to someone, issue the year's ethics pledges, record the honour certificates the
province or a city issued — the same operations as the board, the pledge page and the JSON
API. Each check also runs on its own schedule (``renshi sweep compliance-<code>``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import click

from states import commands
from states.engine import CaseEngine
from states.errors import RenshiError
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
    words = {"issued": "下发承诺书", "open": "现有问题", "found": "新发现", "closed": "已销号",
             "notified": "通知单位"}  # fmt: skip
    return "，".join(f"{words.get(k, k)}{n}" for k, n in counts.items())


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
        click.echo(f"{line['rule_label']}\t{line['unit']}\t{who_}\t{line['detail']}")


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
