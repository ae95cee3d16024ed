"""``renshi recruitment …``: open a round, close its registration, declare a county's posts
and list them, run the round-level steps in their order, and write an import's template —
the same operations as the pages and the API (``rounds``, ``steps``). The plan goes through
the city and the province with ``renshi case fire``."""

from __future__ import annotations

import datetime as dt
import json
from functools import partial
from typing import Any

import click
from sqlalchemy import select

from states import commands
from states.clock import local_date
from states.errors import RenshiError
from states.org import SCHOOL_LEVELS
from states.processes.recruitment import order, rounds, steps
from states.processes.recruitment.machine import PLAN
from states.processes.recruitment.tables import RecruitmentRound
from states.store.db import reader
from states.store.models import table_of

rounds_t = table_of(RecruitmentRound)


_engine = partial(commands.own_engine, __name__)


AS = commands.AS
DATE = commands.DATE


@click.group("recruitment")
def recruitment_cli() -> None:
    """新任教师招聘：招聘轮次、岗位计划、批量办理步骤与导入模板。"""


@recruitment_cli.group("round")
def round_group() -> None:
    """招聘轮次：开启、截止报名、查看。"""


@round_group.command("open")
@AS
@click.option("--name", required=True, help="招聘名称")
@click.option("--announcement", required=True, help="招聘公告正文（报名页面展示）")
@click.option("--opens", type=DATE, required=True, help="报名开始日期，如 2026-09-01")
@click.option("--closes", type=DATE, required=True, help="报名截止日期（含当天）")
@click.option("--written-weight", type=float, default=50, show_default=True, help="笔试占比（%）")
@click.option("--interview-weight", type=float, default=50, show_default=True, help="面试占比（%）")
@click.option("--ratio", type=int, default=3, show_default=True, help="入围比例 1:N 的 N")
@click.option("--replacement-deadline", type=DATE, default=None, help="递补截止日期")
@click.option("--max-age", type=int, default=None, help="年龄上限（默认35周岁）")
@click.option(
    "--province", "province_id", type=int, default=None, help="省份编号（默认本人所在省）"
)
def round_open(
    who: str,
    name: str,
    announcement: str,
    opens: dt.datetime,
    closes: dt.datetime,
    written_weight: float,
    interview_weight: float,
    ratio: int,
    replacement_deadline: dt.datetime | None,
    max_age: int | None,
    province_id: int | None,
) -> None:
    """开启招聘（省教育厅教师工作处）：公布公告、报名时间、入围比例、成绩权重和递补截止日期。"""
    form: dict[str, Any] = {
        "name": name,
        "announcement": announcement,
        "registration_opens": opens.date().isoformat(),
        "registration_closes": closes.date().isoformat(),
        "written_weight": written_weight,
        "interview_weight": interview_weight,
        "shortlist_ratio": ratio,
        "replacement_deadline": replacement_deadline.date().isoformat()
        if replacement_deadline
        else None,
        "max_age": max_age,
    }
    with _engine() as engine:
        try:
            round_id = rounds.open_round_as(
                engine, commands.actor(engine.db, who), form, province_id=province_id
            )
        except RenshiError as exc:
            commands.refuse(exc)
            return
    click.echo(
        f"已开启招聘（轮次编号{round_id}）：{name}；报名时间{opens.date()}至{closes.date()}；"
        f"公开报名页面 /recruitment/{round_id}/register"
    )


@round_group.command("close-registration")
@click.argument("round_id", type=int)
@AS
def round_close(round_id: int, who: str) -> None:
    """截止报名：此后不再受理网上报名，已报名的照常审查。"""
    with _engine() as engine:
        try:
            rounds.close_registration(engine, commands.actor(engine.db, who), round_id)
        except RenshiError as exc:
            commands.refuse(exc)
            return
    click.echo(f"轮次{round_id}报名已截止")


@round_group.command("list")
def round_list() -> None:
    """列出招聘轮次及报名状态。"""
    with _engine() as engine:
        today = local_date(engine.clock.now())
        with reader(engine.db).connect() as conn:
            found = conn.execute(
                select(rounds_t).order_by(rounds_t.c.year.desc(), rounds_t.c.id.desc())
            ).all()
    if not found:
        click.echo("暂无招聘轮次")
    for r in found:
        state = rounds.registration_status(r, today)
        click.echo(
            f"{r.id}\t{r.year}\t{r.name}\t报名{r.registration_opens}至{r.registration_closes}"
            f"\t{state}"
        )


@recruitment_cli.group("plan")
def plan_group() -> None:
    """岗位计划：县（区）申报本轮岗位，市级审核、省级批准后开放报名。"""


POSTS_HELP = (
    '岗位列表 JSON，如 [{"code": "2026001", "subject": "数学", "school_level": "primary", '
    '"min_education": "bachelor", "seats": [{"school_id": 12, "seats": 2}]}]；'
    "以 @ 开头表示从文件读取，如 @posts.json"
)


@plan_group.command("declare")
@click.argument("round_id", type=int)
@AS
@click.option("--posts", "posts_text", required=True, help=POSTS_HELP)
@click.option(
    "--county", "county_id", type=int, default=None, help="县（区）编号（默认本人所在县区）"
)
@click.option("--note", default=None, help="计划说明")
@click.option("--draft", is_flag=True, help="只保存，不报送市教育局")
def plan_declare(
    round_id: int, who: str, posts_text: str, county_id: int | None, note: str | None, draft: bool
) -> None:
    """县（区）教育局人事股申报本轮招聘岗位（默认同时报送市教育局审核）。"""
    if posts_text.startswith("@"):
        try:
            with open(posts_text[1:], encoding="utf-8") as f:
                posts_text = f.read()
        except OSError as exc:
            raise click.BadParameter(
                f"无法读取文件：{exc.strerror}", param_hint="--posts"
            ) from None
    try:
        posts = json.loads(posts_text)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"不是有效的 JSON：{exc.msg}", param_hint="--posts") from None
    if not isinstance(posts, list):
        raise click.BadParameter("应为 JSON 列表", param_hint="--posts")
    with _engine() as engine:
        try:
            case_id = rounds.declare_posts(
                engine, commands.actor(engine.db, who), round_id, posts,
                county_id=county_id, note=note, submit=not draft,
            )  # fmt: skip
        except RenshiError as exc:
            commands.refuse(exc)
            return
    done = "已保存（尚未报送）" if draft else "已报送市教育局审核"
    click.echo(f"岗位计划事项{case_id}：{len(posts)}个岗位，{done}")


@plan_group.command("list")
@click.argument("round_id", type=int)
@AS
def plan_list(round_id: int, who: str) -> None:
    """列出本轮管辖范围内的岗位计划和岗位。"""
    with _engine() as engine:
        try:
            found = rounds.plans(engine, commands.actor(engine.db, who), round_id)
            spec = engine.processes[PLAN]
        except RenshiError as exc:
            commands.refuse(exc)
            return
    if not found:
        click.echo("暂无岗位计划")
    for plan in found:
        click.echo(f"事项{plan.case_id}\t{plan.county}\t{spec.state_label(plan.state)}")
        for p in plan.posts:
            schools = "、".join(f"{s}{n}人" for s, n in p.schools)
            level = SCHOOL_LEVELS.get(p.school_level, p.school_level)
            click.echo(f"  {p.code}\t{level}{p.subject}\t{p.count}人\t{schools}")


@recruitment_cli.command("step")
@click.argument("action", type=click.Choice(list(order.ACTIONS)))
@click.argument("round_id", type=int)
@AS
def step(action: str, round_id: int, who: str) -> None:
    """办理招聘轮次的批量步骤（须按顺序）：qualify 资格审查，shortlist 确定入围面试人选（须全部
    资格审查通过的考生都有笔试成绩或缺考标记），ranking 计算综合成绩并排名（须全部入围考生都有
    面试成绩或缺考标记），replacements 按排名递补（须已排名、未过递补截止日期）。"""
    with _engine() as engine:
        try:
            result = steps.run(engine, commands.actor(engine.db, who), round_id, action)
        except RenshiError as exc:
            commands.refuse(exc)
            return
    click.echo(order.done(action, result))


@recruitment_cli.command("template")
@click.argument("kind", type=click.Choice(["applicants", "written", "interview"]))
@click.argument("round_id", type=int)
@click.option(
    "-o", "--out", "out", type=click.Path(dir_okay=False, writable=True), default=None,
    help="保存到的文件（默认为“轮次名称+导入类型+导入模板.xlsx”，在当前目录）",
)  # fmt: skip
def template(kind: str, round_id: int, out: str | None) -> None:
    """写出导入模板（.xlsx）：applicants 报名人员，written 笔试成绩，interview 面试成绩。
    表头即导入时读取的列名，附填写说明；填好后可直接导入。"""
    with _engine() as engine:
        try:
            title, data = rounds.import_template(engine, round_id, kind)
        except RenshiError as exc:
            commands.refuse(exc)
            return
    path = out or f"{title}.xlsx"
    try:
        with open(path, "wb") as f:
            f.write(data)
    except OSError as exc:
        commands.fail(f"[--out] 无法写入文件：{exc.strerror}")
    click.echo(f"已写出导入模板：{path}")
