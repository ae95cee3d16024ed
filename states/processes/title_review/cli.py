"""``renshi title-review year …``: open, adjust, close and list the title-review year from
the command line, the same operations as the pages and the API (``years``)."""

from __future__ import annotations

import datetime as dt
from functools import partial

import click

from states import commands
from states.errors import RenshiError
from states.processes.title_review import years

_engine = partial(commands.own_engine, __name__)


DATE = commands.DATE
AS = commands.AS


@click.group("title-review")
def title_review_cli() -> None:
    """职称评审：评审年度与申报时间。"""


@title_review_cli.group("year")
def year_group() -> None:
    """职称评审年度：开启、调整申报时间、截止、查看。"""


@year_group.command("open")
@AS
@click.option("--year", "year", type=int, required=True, help="年度，如 2026")
@click.option("--opens", type=DATE, required=True, help="申报开始日期，如 2026-03-01")
@click.option("--closes", type=DATE, required=True, help="申报截止日期（含当天），如 2026-03-31")
@click.option(
    "--province", "province_id", type=int, default=None, help="省份编号（默认本人所在省）"
)
def year_open(
    who: str, year: int, opens: dt.datetime, closes: dt.datetime, province_id: int | None
) -> None:
    """开启职称评审年度（省教育厅教师工作处）：教师只能在申报时间内提交申报。"""
    with _engine() as engine:
        try:
            actor = commands.actor(engine.db, who)
            year_id = years.open_year(
                engine, actor, year=year, opens_on=opens.date(), closes_on=closes.date(),
                province_id=province_id,
            )  # fmt: skip
            shown = years.get_year(engine, actor, year_id)
        except RenshiError as exc:
            commands.refuse(exc)
            return
    click.echo(f"已开启{year}年度职称评审（编号{year_id}），申报时间为{shown.window}")


@year_group.command("window")
@click.argument("year_id", type=int)
@AS
@click.option("--opens", type=DATE, required=True, help="新的申报开始日期")
@click.option("--closes", type=DATE, required=True, help="新的申报截止日期（含当天）")
def year_window(year_id: int, who: str, opens: dt.datetime, closes: dt.datetime) -> None:
    """调整申报时间（如延期）；已提交的申报不受影响。"""
    with _engine() as engine:
        try:
            actor = commands.actor(engine.db, who)
            years.set_window(engine, actor, year_id, opens_on=opens.date(), closes_on=closes.date())
            shown = years.get_year(engine, actor, year_id)
        except RenshiError as exc:
            commands.refuse(exc)
            return
    click.echo(f"{shown.year}年度职称申报时间已调整为{shown.window}")


@year_group.command("close")
@click.argument("year_id", type=int)
@AS
def year_close(year_id: int, who: str) -> None:
    """截止申报：此后不再受理新的申报，已提交的申报照常办理。"""
    with _engine() as engine:
        try:
            actor = commands.actor(engine.db, who)
            years.close_year(engine, actor, year_id)
            shown = years.get_year(engine, actor, year_id)
        except RenshiError as exc:
            commands.refuse(exc)
            return
    click.echo(f"{shown.year}年度职称申报已截止")


@year_group.command("list")
@AS
def year_list(who: str) -> None:
    """列出本省各年度的申报时间和状态。"""
    with _engine() as engine:
        try:
            found = years.years_for(engine, commands.actor(engine.db, who))
        except RenshiError as exc:
            commands.refuse(exc)
            return
    if not found:
        click.echo("尚未开启任何职称评审年度")
    for y in found:
        click.echo(f"{y.id}\t{y.province}\t{y.year}年度\t申报时间{y.window}\t{y.status}")
