"""``renshi support …``: declare a receiving school's need, read the needs board, register the
city's paired regions, run the monthly check-in sweep and the end of terms, list the year's
dispatched teachers — the same operations as the JSON API (``needs``, ``regions``,
``checkins``, ``terms``). A candidate, a term's dispatch, check-in and assessment move with
``renshi case fire``."""

from __future__ import annotations

import datetime as dt
from functools import partial

import click

from states import commands
from states.errors import RenshiError
from states.processes.support_teaching import checkins, needs, regions, terms
from states.processes.support_teaching.rules import LEVELS
from states.store.db import reader

AS = commands.AS
DATE = commands.DATE
LEVEL_WORDS = {**{v: k for k, v in LEVELS.items()}, **{k: k for k in LEVELS}}


_engine = partial(commands.own_engine, __name__)


@click.group("support")
def support_cli() -> None:
    """支教：申报需求、需求看板、对口支援地区、月度考勤、派出名单。"""


@support_cli.command("declare")
@AS
@click.option("--subject", required=True, help="学科，如“数学”")
@click.option("--level", required=True, help="学段：小学、初中或高中")
@click.option("--places", type=int, required=True, help="需求人数（1至50）")
@click.option("--starts", type=DATE, required=True, help="支教开始日期")
@click.option("--ends", type=DATE, required=True, help="支教结束日期（至少1个月，最长3年）")
@click.option("--note", default="", help="需求说明")
@click.option("--school", "school_id", type=int, default=None, help="学校编号（默认本人所在学校）")
def declare(
    who: str, subject: str, level: str, places: int, starts: dt.datetime, ends: dt.datetime,
    note: str, school_id: int | None,
) -> None:  # fmt: skip
    """申报支教需求（接收学校人事干部），提交县（区）教育局审批；对口支援地区由市教育局审批。"""
    form = {
        "subject": subject, "level": LEVEL_WORDS.get(level.strip(), level.strip()),
        "places": places, "starts_on": starts.date().isoformat(),
        "ends_on": ends.date().isoformat(), "note": note,
    }  # fmt: skip
    with _engine() as engine:
        try:
            done = needs.declare_need(
                engine, commands.actor(engine.db, who), form, school_id=school_id
            )
        except RenshiError as exc:
            commands.refuse(exc)
    click.echo(f"已提交支教需求（编号{done.case_id}），待审批")


@support_cli.command("needs")
@AS
@click.option("--year", type=int, required=True, help="支教开始的年份，如 2027")
def needs_board(who: str, year: int) -> None:
    """需求看板：各接收学校申报、批准、名额、已选派和在岗人数，以及每条需求。"""
    with _engine() as engine:
        actor = commands.actor(engine.db, who)
        with reader(engine.db).connect() as conn:
            lines = needs.board(conn, actor, year)
            found = needs.needs(conn, actor, year)
    if not lines:
        click.echo("没有支教需求")
        return
    for b in lines:
        click.echo(
            f"{b.county}\t{b.school}\t申报{b.declared}条\t批准{b.approved}条"
            f"\t名额{b.places}\t已选派{b.filled}\t在岗{b.on_site}"
        )
    for n in found:
        click.echo(
            f"  {n.case_id}\t{n.label}\t{n.places}名（已选派{n.filled}）"
            f"\t{n.starts_on.isoformat()}至{n.ends_on.isoformat()}\t{n.state_label}"
        )


@support_cli.group("regions")
def regions_group() -> None:
    """对口支援地区：登记、查看。"""


@regions_group.command("add")
@AS
@click.option("--name", default="", help="地区名称，如“新疆和田县（对口支援）”")
@click.option("--code", default=None, help="单位代码（新建时，默认自动编号）")
@click.option("--unit", "unit_id", type=int, default=None, help="已在机构中的县级单位编号")
def regions_add(who: str, name: str, code: str | None, unit_id: int | None) -> None:
    """登记本市的对口支援地区（市教育局人事处）：新建县级单位，或登记已有的县级单位。"""
    with _engine() as engine:
        actor = commands.actor(engine.db, who)
        try:
            with engine.db.begin() as conn:
                made = regions.register_region(
                    conn, actor, name, at=engine.clock.now(), code=code, unit_id=unit_id
                )
        except RenshiError as exc:
            commands.refuse(exc)
    click.echo(f"已登记对口支援地区（单位编号{made}）")


@regions_group.command("list")
@AS
def regions_list(who: str) -> None:
    """查看对口支援地区。"""
    with _engine() as engine:
        actor = commands.actor(engine.db, who)
        with reader(engine.db).connect() as conn:
            found = regions.regions(conn, actor)
    if not found:
        click.echo("没有对口支援地区")
    for r in found:
        click.echo(f"{r.unit_id}\t{r.code}\t{r.name}\t{r.city}\t学校{r.schools}所")


@support_cli.command("checkins")
def run_checkins() -> None:
    """开启月度考勤：为在岗支教教师补开至本月的每月考勤待办，并通知各接收学校。"""
    with _engine() as engine:
        done = checkins.open_checkins(engine)
    if not done:
        click.echo("没有需要开启的月度考勤")
        return
    click.echo(f"已开启{done.get('opened', 0)}条月度考勤，涉及{done.get('schools', 0)}所接收学校")


@support_cli.command("end-terms")
def run_end_terms() -> None:
    """支教期满：期满的支教转入期满考核，即将期满的提醒教师和审批单位。"""
    with _engine() as engine:
        done = checkins.end_terms(engine)
    click.echo(f"期满转入考核{done.get('ended', 0)}人，期满提醒{done.get('reminded', 0)}人")


@support_cli.command("list")
@AS
@click.option("--year", type=int, required=True, help="支教开始的年份，如 2027")
def dispatch_list(who: str, year: int) -> None:
    """派出名单（身份证号按规定脱敏）。"""
    with _engine() as engine:
        actor = commands.actor(engine.db, who)
        with reader(engine.db).connect() as conn:
            lines = terms.dispatch_list(conn, actor, year)
    if not lines:
        click.echo("没有派出名单")
    for line in lines:
        click.echo(
            "\t".join(
                str(line.get(k, ""))
                for k in ("name", "id_number", "sending_school", "receiving_school", "state")
            )
        )
