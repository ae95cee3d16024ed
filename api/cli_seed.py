"""``renshi seed``: a synthetic province for demos and load tests, in one command: its files
written and loaded through the registry's imports (``states.seed.province``)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from states.seed import SeedError
from states.seed import seed as build_province
from states.store.db import make_engine
from states.store.migrate import upgrade


@click.command(
    "seed",
    help="在空数据库（RENSHI_DATABASE_URL 指定）中生成一个示例省：先写出各单位平时填报的表格"
    "（机构 org.xlsx、教师名册 roster.xlsx、账号 accounts.xlsx、评委库 experts.xlsx、"
    "岗位职数 quotas.xlsx），再逐一导入，与在页面或用 renshi org import 等命令导入完全相同；"
    "另为打印的演示账号设好演示密码，开启本年度职称申报。会先升级数据库结构；"
    "库中已有数据时拒绝执行。",
)
@click.option(
    "--teachers",
    "teachers",
    type=click.IntRange(min=1),
    default=2000,
    show_default=True,
    help="教师人数（一个省约 60 万至 100 万）。",
)
@click.option(
    "--seed",
    "rng_seed",
    type=int,
    default=20260901,
    show_default=True,
    help="随机种子：同一种子生成完全相同的数据。",
)
@click.option(
    "--year",
    type=click.IntRange(2000, 2100),
    default=2026,
    show_default=True,
    help="岗位指标所属年度。",
)
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="名册等数据所描述的日期（YYYY-MM-DD），也是导入日期；默认为该年度 8 月 31 日。",
)
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="保留生成的表格的目录（可打开查看，或改后自行导入）；不填则导入后删除。",
)
def seed_command(
    teachers: int, rng_seed: int, year: int, as_of: dt.datetime | None, directory: Path | None
) -> None:
    """Fill an empty database (RENSHI_DATABASE_URL) with a synthetic province.

    Migrates first, so a new SQLite file works in one step; refuses a database that
    already holds org units or people: a province is loaded once.
    """
    if directory is not None and directory.exists() and any(directory.iterdir()):
        click.echo(f"错误：目录 {directory} 不是空的，请指定一个新目录或空目录", err=True)
        raise SystemExit(1)
    engine = make_engine()
    try:
        upgrade(engine)
        summary = build_province(
            engine, teachers, rng_seed=rng_seed, year=year, directory=directory,
            as_of=as_of.date() if as_of else None,
        )  # fmt: skip
    except SeedError as exc:
        click.echo(f"错误：{exc}", err=True)
        raise SystemExit(1) from None
    finally:
        engine.dispose()
    s = summary
    click.echo(
        f"已生成示例数据：{s.units} 个单位（{s.cities} 个市、{s.counties} 个县区、"
        f"{s.schools} 所学校），{s.teachers} 名教师，{s.experts} 个评委席位，"
        f"{s.ethics} 条师德记录，{s.quotas} 条岗位指标；用时 {s.elapsed_seconds:.1f} 秒。"
    )
    if s.directory is not None:
        click.echo(f"导入的表格保存在 {s.directory}（org.xlsx、roster.xlsx、accounts.xlsx、"
                   "experts.xlsx、quotas.xlsx）。")  # fmt: skip
    click.echo(f"演示账号（密码均为 {summary.demo_password}）：")
    width = max(len(name) for name in summary.accounts)
    for username, role in summary.accounts.items():
        unit = summary.account_units.get(username, "")
        click.echo(f"  {username:<{width}}  {role}（{unit}）")


seed = seed_command  # the name api.cli first imported
