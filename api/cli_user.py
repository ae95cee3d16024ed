"""``renshi user``: what an administrator does to someone's account — a new password, disabling,
taking a role away, signing them out everywhere.

Each change ends every session and bearer token the person holds in the same transaction
(``states.store.people``), so a leaked password, a departed officer or a withdrawn role stops
working the moment the command returns, not when their tokens happen to expire.
"""

from __future__ import annotations

import secrets
import sys
from typing import Any, NoReturn

import click
from sqlalchemy import Connection, select

from api.auth import hash_password
from api.signin import password_problem
from states.org import PUBLIC, ROLE_LABELS, SYSTEM, TEACHER
from states.store.db import make_engine, reader
from states.store.models import OrgUnit, Person, RoleBinding
from states.store.people import end_sessions, remove_binding, set_active, set_password

# Letters and digits nobody misreads over the phone (no 0/O, 1/l/I).
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"
_GENERATED = 12
BOUND_ROLES = sorted(set(ROLE_LABELS) - {TEACHER, PUBLIC, SYSTEM})


def _fail(message: str) -> NoReturn:
    click.echo(f"错误：{message}", err=True)
    sys.exit(1)


def _person(conn: Connection, username: str) -> Any:
    row = conn.execute(
        select(Person.id, Person.name, Person.active).where(Person.username == username)
    ).one_or_none()
    if row is None:
        _fail(f"用户不存在：{username}")
    return row


@click.group("user")
def user() -> None:
    """账号管理：重置密码、停用、启用、撤销角色、强制退出登录。每项修改都使该用户所有已登录的会话和访问令牌立即失效。"""


@user.command("show")
@click.argument("username")
def user_show(username: str) -> None:
    """显示账号状态及其角色（撤销角色时需要角色代码和单位代码）。"""
    with reader(make_engine()).connect() as conn:
        person = _person(conn, username)
        roles = conn.execute(
            select(RoleBinding.role, OrgUnit.code, OrgUnit.name)
            .join(OrgUnit, OrgUnit.id == RoleBinding.org_unit_id)
            .where(RoleBinding.person_id == person.id)
            .order_by(RoleBinding.id)
        ).all()
    click.echo(f"{person.name}（{username}）：{'正常' if person.active else '已停用'}")
    for r in roles:
        click.echo(f"  {r.role}（{ROLE_LABELS.get(r.role, r.role)}） 单位 {r.code} {r.name}")


@user.command("password")
@click.argument("username")
@click.option(
    "--stdin",
    "from_stdin",
    is_flag=True,
    help="从标准输入读取新密码（一行）；不加此项时生成一个随机密码并显示一次。",
)
def user_password(username: str, from_stdin: bool) -> None:
    """为用户设置新密码（忘记密码、密码泄露时），并使其所有登录立即失效。"""
    if from_stdin:
        chosen = sys.stdin.readline().rstrip("\r\n")
        problem = password_problem(chosen, username=username)
        if problem is not None:
            _fail(problem)
    else:
        chosen = "".join(secrets.choice(_ALPHABET) for _ in range(_GENERATED))
    new_hash = hash_password(chosen)  # before the write transaction: argon2 takes a while
    with make_engine().begin() as conn:
        person = _person(conn, username)
        set_password(conn, person.id, new_hash)
    click.echo(f"已为 {person.name}（{username}）设置新密码，其所有登录均已失效。")
    if not from_stdin:
        click.echo(f"新密码（只显示这一次，请当面或电话告知本人，登录后尽快修改）：{chosen}")


@user.command("disable")
@click.argument("username")
def user_disable(username: str) -> None:
    """停用账号：不能再登录，已登录的会话和访问令牌立即失效。"""
    with make_engine().begin() as conn:
        person = _person(conn, username)
        set_active(conn, person.id, False)
    click.echo(f"已停用 {person.name}（{username}），其所有登录均已失效。")


@user.command("enable")
@click.argument("username")
def user_enable(username: str) -> None:
    """重新启用已停用的账号。"""
    with make_engine().begin() as conn:
        person = _person(conn, username)
        set_active(conn, person.id, True)
    click.echo(f"已启用 {person.name}（{username}）。")


@user.command("revoke")
@click.argument("username")
@click.argument("role", type=click.Choice(BOUND_ROLES))
@click.argument("unit")
def user_revoke(username: str, role: str, unit: str) -> None:
    """撤销用户在某单位（单位代码）的角色，其所有登录立即失效，重新登录后按剩余角色办理。"""
    with make_engine().begin() as conn:
        person = _person(conn, username)
        unit_id = conn.execute(select(OrgUnit.id).where(OrgUnit.code == unit)).scalar()
        if unit_id is None:
            _fail(f"单位代码不存在：{unit}")
        if not remove_binding(conn, person.id, role, unit_id):
            _fail(f"{person.name}（{username}）在单位 {unit} 没有“{ROLE_LABELS[role]}”角色")
    click.echo(f"已撤销 {person.name}（{username}）在单位 {unit} 的“{ROLE_LABELS[role]}”角色。")


@user.command("signout")
@click.argument("username")
def user_signout(username: str) -> None:
    """强制退出：用户在所有设备上的登录和访问令牌立即失效（如手机丢失）。"""
    with make_engine().begin() as conn:
        person = _person(conn, username)
        end_sessions(conn, person.id)
    click.echo(f"{person.name}（{username}）的所有登录均已失效。")
