"""``renshi tasks …``: import a unit's task book, take its steps, list the board, report on a
task and take its steps, run the sweep, and the year-end scoring — the same operations as
the pages and the JSON API (``books``, ``work``, ``board``, ``checks``, ``scoring``)."""

from __future__ import annotations

import datetime as dt
from functools import partial
from pathlib import Path
from typing import Any

import click

from states import commands
from states.clock import local_date
from states.errors import FormError, RenshiError
from states.processes.task_book import board, books, checks, scoring, work
from states.processes.task_book.rules import PARTIES, STATUSES
from states.sheets import template_xlsx

AS = commands.AS
DATE = commands.DATE

# A task's steps by the words an officer types: (event, what the form asks).
ACTIONS = {
    "acknowledge": "acknowledge_task",
    "complete": "report_completion",
    "accept": "accept_completion",
    "send-back": "return_completion",
    "extend": "request_extension",
    "approve-extension": "approve_extension",
    "refuse-extension": "refuse_extension",
    "split": "split_task",
}
BOOK_STEPS = {
    "submit": ("submit_book", "已报送上级审批"),
    "approve": ("approve_book", "已审批通过，任务已下达到各牵头单位"),
    "send-back": ("return_book", "已退回修改"),
    "close": ("close_book", "任务书已办结"),
}


_engine = partial(commands.own_engine, __name__)


@click.group("tasks")
def tasks_cli() -> None:
    """任务清单：导入任务书、审批下达、报告进展、督办看板、定时检查与年终考核。"""


@tasks_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@AS
@click.option("--year", type=int, required=True, help="年度，如 2026")
@click.option("--unit", "unit_id", type=int, default=None, help="单位编号（默认本人所在单位）")
@click.option("--title", default=None, help="任务书名称（默认“单位+年度+任务书”）")
def import_cmd(file: Path, who: str, year: int, unit_id: int | None, title: str | None) -> None:
    """导入任务书（.xlsx 或 .csv：任务名称、任务来源、牵头单位、配合单位、完成时限、时间节点、
    权重）。有任何错误时不导入，逐行列出错误。"""
    with _engine() as engine:
        try:
            report = books.import_book(
                engine,
                commands.actor(engine.db, who),
                file.read_bytes(),
                file.name,
                year=year,
                unit_id=unit_id,
                title=title,
            )
        except RenshiError as exc:
            commands.refuse(exc)
    if report.refused:
        for e in report.errors:
            click.echo(f"错误：{e}", err=True)
        click.echo(f"文件中有{report.error_count}处错误，未导入任何任务", err=True)
        raise SystemExit(1)
    click.echo(f"已导入任务书（编号{report.book_id}）：{report.imported}项任务")


@tasks_cli.command("template")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def template_cmd(out: Path) -> None:
    """写出任务书导入模板（.xlsx）。"""
    out.write_bytes(template_xlsx(books.SCHEMA))
    click.echo(f"已写出模板：{out}")


@tasks_cli.command("book")
@click.argument("book_id", type=int)
@click.argument("what", type=click.Choice(sorted(BOOK_STEPS)))
@AS
@click.option("--reason", default=None, help="退回理由")
def book_cmd(book_id: int, what: str, who: str, reason: str | None) -> None:
    """任务书的一个环节：submit（报送审批）、approve（审批下达）、send-back（退回）、
    close（年度办结）。"""
    event, done = BOOK_STEPS[what]
    with _engine() as engine:
        try:
            books.step(
                engine,
                commands.actor(engine.db, who),
                book_id,
                event,
                {"reason": reason} if reason else {},
            )
        except RenshiError as exc:
            commands.refuse(exc)
    click.echo(done)


@tasks_cli.command("list")
@AS
@click.option(
    "--unit", "unit_id", type=int, default=None, help="单位编号（默认本人可查看的最高一级）"
)
@click.option("--year", type=int, default=None, help="年度（默认今年）")
@click.option(
    "--status",
    type=click.Choice(sorted(STATUSES)),
    default=None,
    help="red 逾期、yellow 预警、green 正常推进、done 已办结",
)
@click.option("--source", default=None, help="任务来源：work_points、meeting、instruction")
@click.option("--month", default=None, help="完成时限所在月份，如 2026-06")
def list_cmd(
    who: str,
    unit_id: int | None,
    year: int | None,
    status: str | None,
    source: str | None,
    month: str | None,
) -> None:
    """督办看板：各单位任务按状态统计，逾期、停滞的任务排在前面。"""
    with _engine() as engine:
        actor = commands.actor(engine.db, who)
        try:
            today = local_date(engine.clock.now())
            filters = board.filters_from(
                year or today.year, source=source, status=status, month=month
            )
            with engine.db.connect() as conn:
                b = board.board(
                    conn,
                    actor,
                    unit_id,
                    filters,
                    board.clock_of(engine, conn, _path(conn, actor, unit_id)),
                )
        except RenshiError as exc:
            commands.refuse(exc)
    click.echo(
        f"{b.unit.name} {b.filters.year}年度任务："
        + "，".join(f"{STATUSES[k]}{n}项" for k, n in b.totals.items())
    )
    for g in b.groups:
        counts = "，".join(f"{STATUSES[k]}{n}" for k, n in g.counts.items() if n)
        click.echo(f"  {g.name}：{counts}")
    for t in b.tasks:
        stagnant = "（停滞）" if t["stagnant_since"] else ""
        click.echo(
            f"{t['id']}\t{STATUSES[t['status']]}{stagnant}\t{t['lead_name']}\t{t['title']}\t"
            f"完成时限{t['deadline'].isoformat()}\t进度{t['progress']}%"
        )


def _path(conn: Any, actor: Any, unit_id: int | None) -> str:
    return board.visible_unit(conn, actor, unit_id or board.top_unit(conn, actor)).path


@tasks_cli.command("report")
@click.argument("task_id", type=int)
@AS
@click.option("--percent", type=int, required=True, help="完成进度（%），0至100")
@click.option("--text", required=True, help="进展情况")
@click.option("--reason", default=None, help="调低理由（进度低于上次报告时必填）")
@click.option("--milestone", type=int, default=None, help="本次完成的时间节点序号")
def report_cmd(
    task_id: int, who: str, percent: int, text: str, reason: str | None, milestone: int | None
) -> None:
    """报告任务进展。"""
    payload: dict[str, Any] = {"percent": percent, "text": text}
    if reason:
        payload["reason"] = reason
    if milestone is not None:
        payload["milestone"] = milestone
    with _engine() as engine:
        try:
            work.act(engine, commands.actor(engine.db, who), task_id, "report_progress", payload)
        except RenshiError as exc:
            commands.refuse(exc)
    click.echo(f"已报告任务{task_id}的进展：{percent}%")


@tasks_cli.command("do")
@click.argument("task_id", type=int)
@click.argument("what", type=click.Choice(sorted(ACTIONS)))
@AS
@click.option("--text", default=None, help="完成情况（complete）")
@click.option("--reason", default=None, help="理由（send-back、extend、refuse-extension）")
@click.option("--until", type=DATE, default=None, help="延期后的完成时限（extend）")
@click.option("--units", default=None, help="分解到的下级单位编号，逗号分隔（split）")
def do_cmd(
    task_id: int,
    what: str,
    who: str,
    text: str | None,
    reason: str | None,
    until: dt.datetime | None,
    units: str | None,
) -> None:
    """任务的一个环节：acknowledge（签收）、split（分解到下级）、extend（申请延期）、
    approve-extension / refuse-extension（审批延期）、complete（报告完成）、
    accept（复核通过办结）、send-back（退回重办）。"""
    payload: dict[str, Any] = {}
    for key, value in (("text", text), ("reason", reason), ("units", units)):
        if value:
            payload[key] = value
    if until is not None:
        payload["new_deadline"] = until.date().isoformat()
    with _engine() as engine:
        try:
            result = work.act(
                engine, commands.actor(engine.db, who), task_id, ACTIONS[what], payload
            )
        except RenshiError as exc:
            commands.refuse(exc)
        spec = engine.processes[result.process]
    click.echo(
        f"任务{task_id}：{spec.events[result.event].label}，现为“{spec.state_label(result.to_state)}”"
    )


@tasks_cli.command("sweep")
def sweep_cmd() -> None:
    """定时检查：时间节点和完成时限前提醒，逾期的节点和任务报上级督办（各一次），停滞的任务
    标记，到期的考核评分结束。"""
    with _engine() as engine:
        counts = checks.sweep(engine)
    labels = {
        "milestone_reminders": "节点提醒",
        "deadline_reminders": "时限提醒",
        "milestones_escalated": "节点逾期督办",
        "tasks_escalated": "任务逾期督办",
        "stagnant": "新标记停滞",
        "rounds_closed": "结束考核评分",
        "calendar_unknown": "未载入节假日安排的年份",
    }
    click.echo(
        "；".join(f"{labels.get(k, k)} {n}" for k, n in counts.items()) or "没有需要处理的事项"
    )


# --- year-end scoring -------------------------------------------------------------------------
@tasks_cli.group("scoring")
def scoring_cli() -> None:
    """年终考核：四方评价（自评、上级评价、同级互评、服务对象评价）。"""


def _pairs(text: str, what: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        key, _, value = part.partition("=")
        try:
            out[key.strip()] = float(value)
        except ValueError:
            raise FormError(what, f"应写作 名称=数值，以逗号分隔：{part}") from None
    return out


@scoring_cli.command("open")
@AS
@click.option("--year", type=int, required=True, help="考核年度")
@click.option("--closes", type=DATE, required=True, help="评分截止日期（含当天）")
@click.option(
    "--weights",
    required=True,
    help="四方权重（%），如 self=30,superior=40,peers=20,served=10，合计100",
)
@click.option("--served", default="", help="服务对象单位（名称或编码，以“、”分隔）")
@click.option("--unit", "unit_id", type=int, default=None, help="单位编号（默认本人所在单位）")
def scoring_open(
    who: str, year: int, closes: dt.datetime, weights: str, served: str, unit_id: int | None
) -> None:
    """开启年终考核评分：每个评分单位收到一张评分表。"""
    with _engine() as engine:
        try:
            form = {
                "year": year,
                "closes_on": closes.date().isoformat(),
                "weights": _pairs(weights, "weights"),
                "served": served,
            }
            round_id = scoring.open_round(
                engine, commands.actor(engine.db, who), form, unit_id=unit_id
            )
        except RenshiError as exc:
            commands.refuse(exc)
    click.echo(
        f"已开启年终考核评分（编号{round_id}）；权重："
        + "，".join(
            f"{PARTIES[p]}{v:g}%" for p, v in _pairs(weights, "weights").items() if p in PARTIES
        )
    )


@scoring_cli.command("submit")
@click.argument("sheet_id", type=int)
@AS
@click.option("--scores", required=True, help="各任务评分，如 12=90,13=85（任务编号=分数）")
def scoring_submit(sheet_id: int, who: str, scores: str) -> None:
    """提交评分表。"""
    with _engine() as engine:
        try:
            given = {int(k): v for k, v in _pairs(scores, "scores").items() if k.isdigit()}
            scoring.submit(engine, commands.actor(engine.db, who), sheet_id, given)
        except RenshiError as exc:
            commands.refuse(exc)
    click.echo(f"已提交评分表{sheet_id}")


@scoring_cli.command("close")
@click.argument("round_id", type=int)
@AS
def scoring_close(round_id: int, who: str) -> None:
    """结束评分，计算总分和排名。"""
    with _engine() as engine:
        try:
            scoring.step(engine, commands.actor(engine.db, who), round_id, "close_scoring")
        except RenshiError as exc:
            commands.refuse(exc)
    click.echo("评分已结束，总分和排名已计算")


@scoring_cli.command("publish")
@click.argument("round_id", type=int)
@AS
def scoring_publish(round_id: int, who: str) -> None:
    """公布考核结果：各单位收到本单位的总分和排名。"""
    with _engine() as engine:
        try:
            scoring.step(engine, commands.actor(engine.db, who), round_id, "publish_scores")
        except RenshiError as exc:
            commands.refuse(exc)
    click.echo("考核结果已公布")


@scoring_cli.command("results")
@click.argument("round_id", type=int)
@AS
def scoring_results(round_id: int, who: str) -> None:
    """查看考核结果（总分、排名及并列说明）。"""
    with _engine() as engine:
        actor = commands.actor(engine.db, who)
        with engine.db.connect() as conn:
            try:
                r = scoring.round_row(conn, round_id)
            except RenshiError as exc:
                commands.refuse(exc)
            if not scoring.may_read_results(conn, actor, r):
                commands.fail("考核结果尚未公布，或您无权查看")
            rows = scoring.results(conn, round_id)
    for row in rows:
        note = f"\t{row.note}" if row.note else ""
        click.echo(f"第{row.rank}名\t{row.unit_name}\t{row.total:.2f}分{note}")
