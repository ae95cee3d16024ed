"""What every ``renshi`` command shares, whatever it is about: the clock ``renshi --at`` set,
the person ``--as`` names, and a refusal printed the way a bureau reads it — each field at
fault on its own line — with a non-zero exit. One copy, so the case, registry and process
commands all answer alike (the process packages' commands live in states/, hence here)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import NoReturn

import click
from sqlalchemy import Engine

from states.clock import Clock, SystemClock
from states.engine import CaseEngine
from states.errors import FormError, NotFound, RenshiError
from states.org import PUBLIC_ACTOR, SYSTEM_ACTOR, Actor
from states.process.package import ProcessPackage
from states.registry.scope import OPERATOR
from states.store.db import make_engine, reader
from states.store.people import load_actor

AS_HELP = "办理人用户名（或 #人员编号）"
DATE = click.DateTime(formats=["%Y-%m-%d"])
AS = click.option("--as", "who", required=True, help=AS_HELP)


def clock() -> Clock:
    """The clock of this command line: the one ``renshi --at`` froze, or the system's."""
    ctx = click.get_current_context(silent=True)
    obj = ctx.find_root().obj if ctx is not None else None
    found = obj.get("clock") if isinstance(obj, Mapping) else None
    return found if found is not None and hasattr(found, "now") else SystemClock()


@contextmanager
def package_engine(package: ProcessPackage) -> Iterator[CaseEngine]:
    """One process package's engine on RENSHI_DATABASE_URL, on the clock ``renshi --at``
    set: what a package's own commands (``renshi title-review …``) run on."""
    db = make_engine()
    try:
        yield CaseEngine(db, [package], clock())
    finally:
        db.dispose()


@contextmanager
def own_engine(module: str) -> Iterator[CaseEngine]:
    """The engine of the package a command module belongs to, named by that module
    (``states.processes.rotation.cli``): the package imports its commands, so they cannot
    import the package while it loads."""
    package = importlib.import_module(module.rpartition(".")[0]).PACKAGE
    with package_engine(package) as engine:
        yield engine


def actor(db: Engine, who: str | None, *, operator: bool = False) -> Actor:
    """``--as``: a username, ``#<person id>``, ``system`` or ``public``; none at all is the
    province operator where ``operator`` allows it (loading a province before anyone has an
    account), otherwise an error naming ``--as``."""
    if not who:
        if operator:
            return OPERATOR
        fail("[--as] 请用 --as 指定办理人")
    if who == "system":
        return SYSTEM_ACTOR
    if who == "public":
        return PUBLIC_ACTOR
    with reader(db).connect() as conn:
        try:
            if who.startswith("#") and who[1:].isdigit():
                return load_actor(conn, person_id=int(who[1:]))
            return load_actor(conn, username=who)
        except NotFound:
            fail(f"[--as] 用户不存在：{who}")


def fail(message: str) -> NoReturn:
    click.echo(f"错误：{message}", err=True)
    sys.exit(1)


def refuse(exc: RenshiError) -> NoReturn:
    """A refusal from the core: every field at fault on its own line, then exit 1."""
    problems = getattr(exc, "problems", None)
    if problems:
        for field, reason in problems:
            click.echo(f"错误：[{field}] {reason}", err=True)
        sys.exit(1)
    field = f"[{exc.field}] " if exc.field else ""
    fail(field + (exc.reason if isinstance(exc, FormError) else exc.message))
