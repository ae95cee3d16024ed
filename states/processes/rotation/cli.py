"""``renshi rotation …``: open a county's campaign, import its receiving posts, compute and
publish the eligible list, run the matching and publish the result — the same operations
as the JSON API (``campaigns``, ``posts``, ``lists``, ``results``). A teacher's rotation is
returned or extended with ``renshi case fire``."""

from __future__ import annotations

import datetime as dt
from functools import partial
from pathlib import Path
from typing import Any

import click

from states import commands
from states.errors import RenshiError
from states.processes.rotation import campaigns, posts, results
from states.sheets import SheetError, read_table

AS = commands.AS
DATE = commands.DATE

# The campaign's steps a command may take, by the words an officer types.
STEPS = {
    "eligibility": ("compute_eligibility", "已计算符合交流条件的教师名单"),
    "open-preferences": ("open_preferences", "已公布名单，开始志愿填报"),
    "close-preferences": ("close_preferences", "已截止志愿填报，请各校确认名单"),
    "start-matching": ("start_matching", "已开始县级匹配"),
    "match": ("run_match", "已完成匹配"),
    "close": ("close_campaign", "本次交流轮岗已结束"),
}


_engine = partial(commands.own_engine, __name__)


@click.group("rotation")
def rotation_cli() -> None:
    """交流轮岗：开启工作、导入接收岗位、计算名单、匹配与公布结果。"""


@rotation_cli.command("open")
@AS
@click.option("--name", required=True, help="名称，如“东县2026学年教师交流轮岗”")
@click.option("--year", type=int, required=True, help="学年（开始的年份），如 2026")
@click.option("--preferences-open", type=DATE, required=True, help="志愿填报开始日期")
@click.option("--preferences-close", type=DATE, required=True, help="志愿填报截止日期（含当天）")
@click.option("--confirm-by", type=DATE, required=True, help="学校确认名单截止日期")
@click.option("--target", "target_percent", type=int, default=None, help="交流比例（%），默认10")
@click.option(
    "--backbone", "backbone_percent", type=int, default=None, help="骨干比例（%），默认20"
)
@click.option("--min-years", type=int, default=None, help="同校任教年限，默认6年")
@click.option("--term-years", type=int, default=None, help="交流期限（年），默认3年")
@click.option("--publicity-days", type=int, default=None, help="公示期（工作日），默认5")
@click.option(
    "--exemption",
    "exemptions",
    multiple=True,
    help="免于交流情形（可多次），默认：临近退休、患病、孕期或哺乳期",
)
@click.option(
    "--county", "county_id", type=int, default=None, help="县（区）编号（默认本人所在县）"
)
def campaign_open(
    who: str, name: str, year: int, preferences_open: dt.datetime,
    preferences_close: dt.datetime, confirm_by: dt.datetime, target_percent: int | None,
    backbone_percent: int | None, min_years: int | None, term_years: int | None,
    publicity_days: int | None, exemptions: tuple[str, ...], county_id: int | None,
) -> None:  # fmt: skip
    """开启交流轮岗工作（县教育局人事股）：交流比例、任职年限、各环节日期。"""
    form: dict[str, Any] = {
        "name": name, "year": year,
        "preferences_open": preferences_open.date().isoformat(),
        "preferences_close": preferences_close.date().isoformat(),
        "confirm_by": confirm_by.date().isoformat(),
        "target_percent": target_percent, "backbone_percent": backbone_percent,
        "min_years": min_years, "term_years": term_years, "publicity_days": publicity_days,
    }  # fmt: skip
    if exemptions:
        form["exemption_kinds"] = list(exemptions)
    with _engine() as engine:
        try:
            campaign_id = campaigns.open_campaign(
                engine, commands.actor(engine.db, who), form, county_id=county_id
            )
        except RenshiError as exc:
            commands.refuse(exc)
    click.echo(f"已开启交流轮岗工作（编号{campaign_id}）：{name}")


@rotation_cli.command("list")
@AS
def campaign_list(who: str) -> None:
    """查看本人所在县（区）的交流轮岗工作。"""
    with _engine() as engine:
        found = campaigns.campaigns_for(engine, commands.actor(engine.db, who))
    if not found:
        click.echo("没有交流轮岗工作")
    for c in found:
        click.echo(f"{c.id}\t{c.county}\t{c.name}\t{c.state_label}\t志愿填报{c.window()}")


@rotation_cli.group("posts")
def posts_group() -> None:
    """接收岗位：导入、导入模板。"""


@posts_group.command("import")
@click.argument("campaign_id", type=int)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@AS
@click.option("--valid-only", is_flag=True, help="有错误时仍导入正确的行")
def posts_import(campaign_id: int, file: Path, who: str, valid_only: bool) -> None:
    """导入接收岗位。表格（.xlsx 或 .csv）的列：学校代码、学科、学段、接收名额、骨干预留名额。"""
    with _engine() as engine:
        try:
            table = read_table(file.read_bytes(), file.name, schema=posts.POSTS)
        except SheetError as exc:
            commands.fail(f"[file] {exc}")
        try:
            report = posts.import_posts(
                engine, commands.actor(engine.db, who), campaign_id, table,
                valid_only=valid_only,
            )  # fmt: skip
        except RenshiError as exc:
            commands.refuse(exc)
    for e in report.errors:
        click.echo(f"错误：{e}", err=True)
    click.echo(report.summary())
    if report.refused:
        raise SystemExit(1)


@posts_group.command("template")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def posts_template(out: Path) -> None:
    """写出接收岗位导入模板（.xlsx）。"""
    out.write_bytes(posts.template())
    click.echo(f"已写出模板：{out}")


@rotation_cli.command("step")
@click.argument("campaign_id", type=int)
@click.argument("what", type=click.Choice(sorted(STEPS)))
@AS
def campaign_step(campaign_id: int, what: str, who: str) -> None:
    """办理一个环节。eligibility：计算名单；open-preferences：公布名单并开始志愿填报；
    close-preferences：截止志愿填报；start-matching：开始匹配；match：运行匹配；close：结束。"""
    _take(campaign_id, what, who)


@rotation_cli.command("eligibility")
@click.argument("campaign_id", type=int)
@AS
def campaign_eligibility(campaign_id: int, who: str) -> None:
    """按教师档案计算符合交流条件的名单（名单公布前可重算）。"""
    _take(campaign_id, "eligibility", who)


@rotation_cli.command("match")
@click.argument("campaign_id", type=int)
@AS
def campaign_match(campaign_id: int, who: str) -> None:
    """运行县级匹配（抽签种子记入办理记录），列出各校达标情况；结果公布前可重新运行。"""
    _take(campaign_id, "match", who)


def _take(campaign_id: int, what: str, who: str) -> None:
    event, done = STEPS[what]
    with _engine() as engine:
        actor = commands.actor(engine.db, who)
        try:
            campaigns.step(engine, actor, campaign_id, event)
            found = results.result(engine, actor, campaign_id) if event == "run_match" else None
        except RenshiError as exc:
            commands.refuse(exc)
    click.echo(done)
    if found is not None:
        _targets(found)


def _targets(found: dict[str, Any]) -> None:
    placed = sum(1 for line in found["lines"] if line["placed"])
    click.echo(f"第{found['run']}次匹配（抽签种子{found['seed']}）：安排{placed}人")
    for s in found["counts"]:
        click.echo(
            f"  {s.school}：符合条件{s.eligible}人，应交流{s.required}人"
            f"（骨干{s.backbone_required}人），已匹配{s.placed}人"
        )
    for s in found["shortfalls"]:
        click.echo(f"未达标：{s.text}")


@rotation_cli.command("publish")
@click.argument("campaign_id", type=int)
@AS
@click.option("--reason", default=None, help="交流比例未达标时的情况说明")
def campaign_publish(campaign_id: int, who: str, reason: str | None) -> None:
    """公布交流结果：每位交流教师进入公示。"""
    with _engine() as engine:
        try:
            campaigns.step(
                engine, commands.actor(engine.db, who), campaign_id, "publish",
                {"shortfall_reason": reason} if reason else {},
            )  # fmt: skip
        except RenshiError as exc:
            commands.refuse(exc)
    click.echo("已公布交流结果，交流教师进入公示")
