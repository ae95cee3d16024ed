"""``renshi supervision …``: open an inspection campaign, draw its targets and inspectors,
check the draw against its seeds, take its steps and print or export its report — the same
operations as the JSON API (``campaigns``, ``report``). Findings carry photos and are
recorded on the pages or through the API; a rectification's steps are also
``renshi case fire``."""

from __future__ import annotations

import datetime as dt
from functools import partial
from pathlib import Path

import click

from states import commands
from states.errors import RenshiError
from states.processes.supervision import campaigns, report
from states.sheets import write_xlsx_to

AS = commands.AS
DATE = commands.DATE

# The campaign's steps a command may take, by the words an officer types.
DONE = {
    "draw": "已完成双随机抽取",
    "start-visits": "实地检查已开始，已通知被检查单位",
    "finish-visits": "实地检查已结束，转入整改跟踪",
    "conclude": "本次督查已办结",
    "call-off": "本次督查已撤销",
}


_engine = partial(commands.own_engine, __name__)


@click.group("supervision")
def supervision_cli() -> None:
    """专项督查：开启督查、双随机抽取、核验抽取结果、推进环节、督查报告。"""


@supervision_cli.command("open")
@AS
@click.option("--title", required=True, help="督查事项，如“在职教师有偿补课专项督查”")
@click.option("--year", type=int, required=True, help="年度，如 2026")
@click.option("--visit-from", type=DATE, required=True, help="检查开始日期")
@click.option("--visit-to", type=DATE, required=True, help="检查结束日期")
@click.option("--ratio", type=int, required=True, help="抽取比例（%），至少须抽到1所学校")
@click.option("--per-target", type=int, default=None, help="每所学校检查人员数，默认2")
@click.option("--announced", is_flag=True, help="提前告知被检查单位（默认不告知）")
@click.option("--rectify-days", type=int, default=None, help="整改期限（工作日），默认20")
@click.option(
    "--item",
    "items",
    multiple=True,
    required=True,
    help="检查项目（可多次）：编码|检查内容|是否须佐证（是/否）",
)
@click.option("--county", "counties", type=int, multiple=True, help="限定的县（区）编号（可多次）")
@click.option("--unit", "unit_id", type=int, default=None, help="组织单位编号（默认本人所在单位）")
def campaign_open(
    who: str, title: str, year: int, visit_from: dt.datetime, visit_to: dt.datetime,
    ratio: int, per_target: int | None, announced: bool, rectify_days: int | None,
    items: tuple[str, ...], counties: tuple[int, ...], unit_id: int | None,
) -> None:  # fmt: skip
    """开启专项督查（县、市教育局或省教育厅人事部门）：范围、日期、检查清单和抽取比例。"""
    form = {
        "title": title, "year": year, "visit_from": visit_from.date().isoformat(),
        "visit_to": visit_to.date().isoformat(), "ratio_percent": ratio,
        "per_target": per_target, "announced": announced, "rectify_days": rectify_days,
        "checklist": campaigns.parse_checklist("\n".join(items)),
        "counties": list(counties) or None,
    }  # fmt: skip
    with _engine() as engine:
        try:
            campaign_id = campaigns.open_campaign(
                engine, commands.actor(engine.db, who), form, unit_id=unit_id
            )
        except RenshiError as exc:
            commands.refuse(exc)
    click.echo(f"已开启专项督查（编号{campaign_id}）：{title}")


@supervision_cli.command("list")
@AS
def campaign_list(who: str) -> None:
    """查看本人组织、督查或被抽中检查的专项督查。"""
    with _engine() as engine:
        found = campaigns.campaigns_for(engine, commands.actor(engine.db, who))
    if not found:
        click.echo("没有专项督查")
    for c in found:
        click.echo(f"{c.id}\t{c.organiser}\t{c.title}\t{c.state_label}\t检查日期{c.dates()}")


@supervision_cli.command("step")
@click.argument("campaign_id", type=int)
@click.argument("what", type=click.Choice(sorted(campaigns.STEPS)))
@AS
@click.option("--reason", default=None, help="撤销理由（call-off 时必填）")
def campaign_step(campaign_id: int, what: str, who: str, reason: str | None) -> None:
    """办理一个环节。draw：双随机抽取；start-visits：开始实地检查；finish-visits：结束实地检查；
    conclude：办结；call-off：撤销。"""
    with _engine() as engine:
        try:
            campaigns.step(
                engine, commands.actor(engine.db, who), campaign_id, campaigns.STEPS[what],
                {"reason": reason} if reason else {},
            )  # fmt: skip
        except RenshiError as exc:
            commands.refuse(exc)
    click.echo(DONE[what])


@supervision_cli.command("redraw")
@click.argument("campaign_id", type=int)
@AS
def campaign_redraw(campaign_id: int, who: str) -> None:
    """按办理记录中的随机种子和抽取时保存的学校、督查员名单重新抽取，核验结果是否一致。"""
    with _engine() as engine:
        try:
            checked = campaigns.verify_draw(engine, commands.actor(engine.db, who), campaign_id)
        except RenshiError as exc:
            commands.refuse(exc)
    click.echo(f"抽取对象种子：{checked.target_seed}；抽取人员种子：{checked.inspector_seed}")
    if checked.same:
        click.echo(f"重新抽取结果与记录一致：检查对象{len(checked.recorded.targets)}所")
        return
    if not checked.inputs_intact:
        click.echo("错误：抽取时保存的学校或督查员名单与办理记录中的摘要不符", err=True)
    else:
        click.echo("错误：重新抽取结果与记录不一致", err=True)
    raise SystemExit(1)


@supervision_cli.command("report")
@click.argument("campaign_id", type=int)
@AS
@click.option(
    "--xlsx",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="同时导出问题清单（.xlsx）到此文件",
)
def campaign_report(campaign_id: int, who: str, out: Path | None) -> None:
    """督查报告：检查对象、各检查项目和各单位发现的问题，整改到位、逾期和通报情况。"""
    with _engine() as engine:
        try:
            r = report.report(engine, commands.actor(engine.db, who), campaign_id)
        except RenshiError as exc:
            commands.refuse(exc)
    t = r.total
    click.echo(f"{r.campaign.title}（{r.campaign.state_label}）")
    click.echo(
        f"检查对象{len(r.units)}所，发现问题{t.findings}个：整改到位{t.rectified}个，"
        f"逾期{t.overdue}个，通报{t.publicized}个，整改中{t.open}个"
    )
    for u in r.units:
        click.echo(f"  {u.unit}：问题{u.tally.findings}个，整改到位{u.tally.rectified}个")
    if out is not None:
        title, columns, rows = report.export(r)
        write_xlsx_to(out, columns, rows, title=title, mask=())
        click.echo(f"已导出：{out}")
