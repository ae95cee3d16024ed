"""``renshi seed``: a synthetic province for demos and load tests, in one command."""

from __future__ import annotations

import click

from states.seed import SeedError
from states.seed import seed as build_province
from states.store.db import make_engine
from states.store.migrate import upgrade


@click.command(
    "seed",
    help="在空数据库（RENSHI_DATABASE_URL 指定）中生成一个示例省：市、县区、学校、教师、评委、"
    "岗位指标和各角色的演示账号。会先升级数据库结构；库中已有数据时拒绝执行。",
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
def seed_command(teachers: int, rng_seed: int, year: int) -> None:
    """Fill an empty database (RENSHI_DATABASE_URL) with a synthetic province.

    Migrates first, so a new SQLite file works in one step; refuses a database that
    already holds org units or people, because seeded ids start at 1.
    """
    engine = make_engine()
    try:
        upgrade(engine)
        summary = build_province(engine, teachers, rng_seed=rng_seed, year=year)
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
    click.echo(f"演示账号（密码均为 {summary.demo_password}）：")
    width = max(len(name) for name in summary.accounts)
    for username, role in summary.accounts.items():
        unit = summary.account_units.get(username, "")
        click.echo(f"  {username:<{width}}  {role}（{unit}）")


seed = seed_command  # the name api.cli first imported
