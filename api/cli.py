"""The ``renshi`` command line: a thin adapter over states/.

Every command exits 0 on success and non-zero with a message naming the bad field on error.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from types import ModuleType

import click
import click.core
import click.decorators
import click.exceptions
import click.formatting
import click.parser
import click.termui
import click.types
import click.utils

from api.cli_case import parse_at
from states.store.db import database_url, make_engine
from states.store.migrate import upgrade

# --- click's own words, in Chinese -------------------------------------------------------------
# click wraps every phrase it prints itself ("Usage:", "Show this message and exit.", its
# errors) in gettext; its modules' ``_`` and ``ngettext`` are pointed at this table instead, so
# that ``renshi --help`` and a mistyped option read in Chinese. Placeholders stay as click
# fills them.
CLICK_WORDS: dict[str, str] = {
    "Usage:": "用法：",
    "Options": "选项",
    "Commands": "命令",
    "Positional arguments": "参数",
    "Show this message and exit.": "显示帮助并退出。",
    "Show the version and exit.": "显示版本并退出。",
    "%(prog)s, version %(version)s": "%(prog)s，版本 %(version)s",
    "required": "必填",
    "default: {default}": "默认：{default}",
    "env var: {var}": "环境变量：{var}",
    "(dynamic)": "（动态）",
    "deprecated": "已停用",
    "Aborted!": "已中止。",
    "Error: {message}": "错误：{message}",
    "Try '{command} {option}' for help.": "用“{command} {option}”查看帮助。",
    "Missing argument": "缺少参数",
    "Missing option": "缺少选项",
    "Missing parameter": "缺少参数",
    "Missing {param_type}": "缺少{param_type}",
    "Missing parameter: {param_name}": "缺少参数：{param_name}",
    "Missing command.": "缺少命令。",
    "Invalid value for {param_hint}: {message}": "{param_hint} 的值无效：{message}",
    "Invalid value: {message}": "取值无效：{message}",
    "No such option {name!r}.": "没有选项 {name!r}。",
    "No such command {name!r}.": "没有命令 {name!r}。",
    "Got unexpected extra argument ({args})": "多余的参数（{args}）",
    "Got unexpected extra arguments ({args})": "多余的参数（{args}）",
    "Did you mean {possibility}?": "是否想输入 {possibility}？",
    "(Did you mean one of: {possibilities}?)": "（是否想输入其中之一：{possibilities}？）",
    "Option {name!r} requires an argument.": "选项 {name!r} 需要一个值。",
    "Option {name!r} requires {nargs} arguments.": "选项 {name!r} 需要 {nargs} 个值。",
    "Option {name!r} does not take a value.": "选项 {name!r} 不需要值。",
    "Argument {name!r} takes {nargs} values.": "参数 {name!r} 需要 {nargs} 个值。",
    "Takes {nargs} values but 1 was given.": "需要 {nargs} 个值，只给了 1 个。",
    "Takes {nargs} values but {len} were given.": "需要 {nargs} 个值，给了 {len} 个。",
    "{len_type} values are required, but {len_value} was given.": (
        "需要 {len_type} 个值，给了 {len_value} 个。"
    ),
    "{len_type} values are required, but {len_value} were given.": (
        "需要 {len_type} 个值，给了 {len_value} 个。"
    ),
    "Value must be an iterable.": "取值应为列表。",
    "Choose from:\n\t{choices}": "可选：\n\t{choices}",
    "{value!r} is not {choice}.": "{value!r} 不是 {choice}。",
    "{value!r} is not one of {choices}.": "{value!r} 不在可选值（{choices}）之中。",
    "{value!r} does not match the format {format}.": "{value!r} 不符合格式 {format}。",
    "{value!r} does not match the formats {formats}.": "{value!r} 不符合格式 {formats}。",
    "{value} is not in the range {range}.": "{value} 不在范围 {range} 之内。",
    "{value!r} is not a valid {number_type}.": "{value!r} 不是有效的数字。",
    "{value!r} is not a valid boolean. Recognized values: {states}": (
        "{value!r} 不是有效的是否值，可用：{states}"
    ),
    "{value!r} is not a valid UUID.": "{value!r} 不是有效的 UUID。",
    "file": "文件",
    "directory": "目录",
    "path": "路径",
    "{name} {filename!r} does not exist.": "{name} {filename!r} 不存在。",
    "{name} {filename!r} is a file.": "{name} {filename!r} 是文件，应为目录。",
    "{name} {filename!r} is a directory.": "{name} {filename!r} 是目录，应为文件。",
    "{name} {filename!r} is not readable.": "{name} {filename!r} 不可读。",
    "{name} {filename!r} is not writable.": "{name} {filename!r} 不可写。",
    "{name} {filename!r} is not executable.": "{name} {filename!r} 不可执行。",
    "Could not open file {filename!r}: {message}": "无法打开文件 {filename!r}：{message}",
    "unknown error": "未知错误",
    "Do you want to continue?": "是否继续？",
    "Repeat for confirmation": "请再输入一次确认",
    "Error: The two entered values do not match.": "错误：两次输入不一致。",
    "Error: invalid input": "错误：输入无效",
    "Press any key to continue...": "按任意键继续……",
}
_CLICK_MODULES: tuple[ModuleType, ...] = (
    click.core,
    click.decorators,
    click.exceptions,
    click.formatting,
    click.parser,
    click.termui,
    click.types,
    click.utils,
)


def _zh(message: str) -> str:
    return CLICK_WORDS.get(message, message)


def _nzh(singular: str, plural: str, n: int) -> str:
    return _zh(singular if n == 1 else plural)


for _module in _CLICK_MODULES:
    names = vars(_module)
    if "_" in names:
        names["_"] = _zh
    if "ngettext" in names:
        names["ngettext"] = _nzh


class ZhFormatter(click.HelpFormatter):
    """Headings and the usage line with Chinese punctuation (「用法：」「选项：」)."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, "用法：" if prefix is None else prefix)

    def write_heading(self, heading: str) -> None:
        self.write(f"{'':>{self.current_indent}}{heading}：\n")


class ZhContext(click.Context):
    formatter_class = ZhFormatter


_SENTENCE = re.compile(r"[。\n]")
_CLAUSE = re.compile(r"[：，；]")
SHORT_HELP = 40  # characters of a command's line in its group's list


def _short_help(text: str) -> str:
    """A command's line in its group's list: its first sentence, or that sentence's first
    clause when the sentence is long (click cuts at spaces, which Chinese does not have, and
    would print only "...")."""
    sentence = _SENTENCE.split(text.strip(), maxsplit=1)[0].strip().rstrip("：，；")
    if len(sentence) <= SHORT_HELP:
        return sentence
    clause = _CLAUSE.split(sentence, maxsplit=1)[0]
    return clause if 0 < len(clause) <= SHORT_HELP else sentence[: SHORT_HELP - 1] + "…"


def _tree(command: click.Command) -> Iterator[click.Command]:
    yield command
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            yield from _tree(sub)


def _in_chinese(root: click.Command) -> None:
    """Every command of the tree helped in Chinese: the formatter above, 「[选项]」 for
    "[OPTIONS]", and a list line cut at Chinese punctuation."""
    for command in _tree(root):
        command.context_class = ZhContext
        command.options_metavar = "[选项]"
        if isinstance(command, click.Group):
            command.subcommand_metavar = "命令 [参数]..."
        if command.short_help is None and command.help:
            command.short_help = _short_help(command.help)


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
    from states.processes import installed  # the commands that read every process's rules

    ctx.obj = {"clock": parse_at(at), "packages": installed()}


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
    from api.cli_ops import notify, ops, sweep
    from api.cli_seed import seed
    from api.cli_user import user

    for command in (calendar, seed, case, audit, sweep, notify, ops, user):
        main.add_command(command)
    from api import registry

    for command in registry.commands():
        main.add_command(command)
    # each installed process's own commands (the CLI is a composition root)
    from states.processes import installed

    for package in installed():
        for command in package.cli:
            main.add_command(command)
    _in_chinese(main)


_register()

__all__ = ["database_url", "main"]
