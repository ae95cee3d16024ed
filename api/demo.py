"""``make run``: a demo province, one title-review round walked through the CLI, then the
web application on it.

On the first run (no ``var/demo.db``) each step of the round is a real ``renshi`` command (run
in-process), with ``--at`` moving the clock so that publicity windows run out; later runs keep
the database and go straight to serving. Delete ``var/demo.db`` to start over.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shlex
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import click
from sqlalchemy import Engine, select

from api.cli import main as cli
from states.clock import BUREAU_TZ
from states.engine import build_catalogue
from states.org import ROLE_LABELS, TITLE_LABELS
from states.processes import installed
from states.processes.title_review import seed as title_review
from states.seed import demo_teacher
from states.seed.builders import seated, window_due
from states.seed.province import DEMO_DECLARES
from states.store.db import make_engine, reader
from states.store.models import Case, OrgUnit, Person, RoleBinding, Teacher

DB = Path("var/demo.db")


def renshi(*args: str, at: dt.datetime | None = None) -> None:
    argv = (["--at", at.isoformat()] if at else []) + list(args)
    click.secho("$ renshi " + " ".join(shlex.quote(a) for a in argv), fg="cyan")
    try:
        cli.main(args=argv, prog_name="renshi", standalone_mode=False)
    except SystemExit as exc:  # a refused step is part of the demo, not the end of it
        if exc.code:
            click.secho(f"  （命令以状态 {exc.code} 结束）", fg="yellow")


def _at(day: dt.date, hour: int = 9) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=BUREAU_TZ)


def main() -> None:
    DB.parent.mkdir(exist_ok=True)
    os.environ.setdefault("RENSHI_DATABASE_URL", f"sqlite:///{DB}")
    fresh = not DB.exists()
    if fresh:
        walk()
    else:
        renshi("db", "upgrade")
        click.echo(f"使用已有演示数据库 {DB}（删除该文件可重建演示数据）")
    serve()


PREFECT_PORT = int(os.environ.get("RENSHI_PREFECT_PORT", "4200"))


def start_prefect() -> tuple[subprocess.Popen[bytes], subprocess.Popen[bytes], str]:
    """A local Prefect server (SQLite under var/prefect, analytics off) and the process
    serving Renshi's scheduled deployments against it."""
    api = f"http://127.0.0.1:{PREFECT_PORT}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(Path("var/prefect").resolve()),
        "PREFECT_API_URL": api,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    }
    Path("var/prefect").mkdir(parents=True, exist_ok=True)
    log = open("var/prefect/server.log", "ab")  # noqa: SIM115 - lives as long as the server
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("prefect")),
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(PREFECT_PORT),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{api}/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            raise SystemExit("Prefect 服务器未能启动，详见 var/prefect/server.log")
        time.sleep(0.5)
    flows = subprocess.Popen([sys.executable, "-m", "flows.serve"], env=env, start_new_session=True)
    return server, flows, f"http://127.0.0.1:{PREFECT_PORT}/"


def stop(*procs: subprocess.Popen[bytes]) -> None:
    """Stop in the order given, each before the next: the deployments before the server
    they report to."""
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()


def serve() -> None:
    """Start Prefect, the deployments and the web server; say where they are and who can
    sign in; Ctrl-C stops all three."""
    import uvicorn

    from api.app import create_app

    host = os.environ.get("RENSHI_HOST", "127.0.0.1")
    port = int(os.environ.get("RENSHI_PORT", "8000"))
    click.echo("正在启动 Prefect 服务器与定时任务……")
    server, flows, prefect_ui = start_prefect()
    db = make_engine()
    with reader(db).connect() as conn:
        accounts = conn.execute(
            select(Person.username, RoleBinding.role, OrgUnit.name)
            .join(RoleBinding, RoleBinding.person_id == Person.id)
            .join(OrgUnit, OrgUnit.id == RoleBinding.org_unit_id)
            .where(Person.username.is_not(None))
            .order_by(Person.id)
        ).all()
        teachers = conn.execute(
            select(Person.username, OrgUnit.name)
            .join(Teacher, Teacher.person_id == Person.id)
            .join(OrgUnit, OrgUnit.id == Teacher.school_id)
            .where(Person.username.in_(list(DEMO_DECLARES)))
            .order_by(Person.id)
        ).all()
    db.dispose()
    click.secho("\n== 人事业务平台已启动 ==", bold=True)
    click.echo(f"网址：      http://{host}:{port}/")
    click.echo(f"公示页面：  http://{host}:{port}/public/publicity")
    click.echo(f"API 文档：  http://{host}:{port}/docs")
    click.echo(f"Prefect：   {prefect_ui}（定时任务：逾期督办、催办提醒、公示期满、通知发送）")
    click.echo("登录账号（密码均为 renshi2026）：")
    seen: set[str] = set()
    for username, school in teachers:
        can = TITLE_LABELS[DEMO_DECLARES[username]]
        click.echo(f"  {username:<18}{ROLE_LABELS['teacher']}（{school}），可申报{can}")
        seen.add(username)
    for username, role, unit in accounts:
        if username is None or username in seen:
            continue
        seen.add(username)
        click.echo(f"  {username:<18}{ROLE_LABELS.get(role, role)}（{unit}）")
    click.echo("按 Ctrl-C 停止。")
    try:
        uvicorn.run(create_app(), host=host, port=port, log_level="warning")
    finally:
        stop(flows, server)
        click.echo("已停止：网站、定时任务、Prefect 服务器。")


def walk() -> None:
    """Seed the demo province and walk one title-review round through the CLI."""
    db = make_engine()
    renshi("db", "upgrade")
    renshi("seed", "--teachers", "2000")

    with reader(db).connect() as conn:
        # The demo school's teacher without an account walks the round (the seed makes them
        # eligible for 高级), so that every printed teacher account still has its own
        # declaration to make from the first page.
        school = demo_teacher(conn).school_id
        me = conn.execute(
            select(Teacher.person_id, Teacher.subject)
            .join(Person, Person.id == Teacher.person_id)
            .where(
                Teacher.school_id == school,
                Teacher.title == "grade1",
                Person.username.is_(None),
            )
            .order_by(Teacher.person_id)
            .limit(1)
        ).one()
        vetoed = title_review.vetoed(conn)
        too_new = title_review.too_recent(conn)

    day = dt.date(2026, 9, 1)
    click.secho("\n== 职称评审：申报 ==", bold=True)
    declare(f"#{me.person_id}", "senior", me.subject, _at(day))
    if vetoed is not None:
        nxt = "senior" if vetoed.title == "grade1" else "grade1"
        declare(f"#{vetoed.id}", nxt, vetoed.subject, _at(day))
    if too_new is not None:
        declare(f"#{too_new.id}", "senior", too_new.subject, _at(day))

    case_id = 1
    click.secho("\n== 学校审核、校内公示、学校推荐 ==", bold=True)
    payload = '{"comment": "材料齐全，同意公示"}'
    fire(case_id, "school_approve", "school_officer", _at(day, 10), payload)
    day = close_window(db, case_id)
    fire(case_id, "recommend", "school_officer", _at(day, 10))
    click.secho("\n== 县级资格审查、评审委员会 ==", bold=True)
    fire(case_id, "qualify", "county_officer", _at(day, 15))
    experts = seated(reader(db), case_id)
    day += dt.timedelta(days=1)
    for i, expert in enumerate(experts):
        choice = "no" if i == 0 else "yes"
        fire(case_id, "vote", f"#{expert}", _at(day, 10), f'{{"choice": "{choice}"}}')
    fire(case_id, "close_sitting", "city_officer", _at(day, 16))
    click.secho("\n== 结果公示、发文认定 ==", bold=True)
    day = close_window(db, case_id)
    fire(case_id, "appoint", "city_officer", _at(day, 10))

    click.secho("\n== 本轮结果 ==", bold=True)
    with reader(db).connect() as conn:
        spec = build_catalogue(installed())["title_review"]
        for c in conn.execute(select(Case.id, Case.state).order_by(Case.id)):
            click.echo(f"案件{c.id}：{spec.state_label(c.state)}")
    renshi("case", "show", str(case_id))
    renshi("audit", "verify")
    db.dispose()


def declare(who: str, title: str, subject: str, at: dt.datetime) -> None:
    """``who`` declares for ``title`` and submits, through ``renshi case start``."""
    form = json.dumps(title_review.declaration(subject, title=title), ensure_ascii=False)
    renshi("case", "start", "title_review", "--as", who, "--submit", "--form", form, at=at)


def fire(case_id: int, event: str, who: str, at: dt.datetime, payload: str | None = None) -> None:
    extra = ("--payload", payload) if payload else ()
    renshi("case", "fire", str(case_id), event, "--as", who, *extra, at=at)


def close_window(db: Engine, case_id: int) -> dt.date:
    """Close the case's publicity window as the sweep would, just after its last day;
    that day is returned, for the steps that follow."""
    after = window_due(reader(db), case_id) + dt.timedelta(days=1)
    fire(case_id, "close_publicity", "system", _at(after, 0))
    return after


if __name__ == "__main__":
    main()
