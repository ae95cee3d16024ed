"""The ``renshi`` command line: a thin adapter over states/.

Every command exits 0 on success and non-zero with a message naming the bad field on error.
"""

from __future__ import annotations

import click

from api.cli_case import parse_at
from states.store.db import database_url, make_engine
from states.store.migrate import upgrade


@click.group()
@click.option(
    "--at",
    default=None,
    metavar="TIME",
    help="以指定时间办理（演练、培训用），如 2026-10-14T09:00；默认为当前时间。",
)
@click.pass_context
def main(ctx: click.Context, at: str | None) -> None:
    """人事 Renshi：教育系统人事业务流程。"""
    ctx.obj = {"clock": parse_at(at)}


@main.group()
def db() -> None:
    """数据库结构：升级到最新版本。"""


@db.command("upgrade")
def db_upgrade() -> None:
    """把 RENSHI_DATABASE_URL 所指的数据库升级到最新结构（已是最新则不做改动）。"""
    engine = make_engine()
    upgrade(engine)
    click.echo(f"数据库已升级到最新版本：{engine.url.render_as_string(hide_password=True)}")


def _register() -> None:
    from api.cli_audit import audit
    from api.cli_calendar import calendar
    from api.cli_case import case
    from api.cli_ops import notify, sweep
    from api.cli_seed import seed
    from api.cli_user import user

    for command in (calendar, seed, case, audit, sweep, notify, user):
        main.add_command(command)
    from api import registry

    for command in registry.commands():
        main.add_command(command)
    # each installed process's own commands (the CLI is a composition root)
    from states.processes import installed

    for package in installed():
        for command in package.cli:
            main.add_command(command)


_register()

__all__ = ["database_url", "main"]
