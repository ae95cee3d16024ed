"""``make run``: a demo province (loaded from its files, kept in ``var/demo-files``), one
title-review round walked through the CLI, a second declaration left at the committee with
the printed expert seated, a recruitment round opened for registration with posts, then the
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
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from sqlalchemy import Engine, func, select

from api.cli import main as cli
from states.calendar import builtin_calendar
from states.clock import BUREAU_TZ, SystemClock, local_date
from states.engine import build_catalogue
from states.org import REVIEW_EXPERT, ROLE_LABELS, TITLE_LABELS
from states.processes import installed
from states.processes.recruitment.machine import PLAN
from states.processes.recruitment.rounds import OPEN, registration_status
from states.processes.recruitment.tables import RecruitmentRound
from states.processes.title_review import seed as title_review
from states.processes.title_review.rules import window_text
from states.processes.title_review.tables import TitleReviewYear
from states.registry.experts import committee_size, write_experts
from states.seed import demo_teacher
from states.seed.builders import seated, window_due
from states.seed.province import DEMO_DECLARES, DEMO_ROLES, DEMO_SUBJECT, PROVINCE_NAME
from states.store.db import make_engine, reader
from states.store.models import Case, OrgUnit, Person, RoleBinding, Teacher

DB = Path("var/demo.db")
# The files the demo province was loaded from (``renshi seed --dir``), kept to look at.
FILES = Path("var/demo-files")


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
            .where(Person.username.in_([*(name for name, _ in DEMO_ROLES), RURAL_OFFICER]))
            .order_by(Person.id)
        ).all()
        teachers = conn.execute(
            select(Person.username, OrgUnit.name)
            .join(Teacher, Teacher.person_id == Person.id)
            .join(OrgUnit, OrgUnit.id == Teacher.school_id)
            .where(Person.username.in_(list(DEMO_DECLARES)))
            .order_by(Person.id)
        ).all()
        today = local_date(SystemClock().now())
        year = conn.execute(
            select(TitleReviewYear).order_by(TitleReviewYear.year.desc()).limit(1)
        ).first()
        open_round = next(
            (
                r
                for r in conn.execute(
                    select(RecruitmentRound).order_by(RecruitmentRound.id.desc())
                ).all()
                if registration_status(r, today) == OPEN
            ),
            None,
        )
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
    paths(f"http://{host}:{port}", year, open_round)
    click.echo("按 Ctrl-C 停止。")
    try:
        uvicorn.run(create_app(), host=host, port=port, log_level="warning")
    finally:
        stop(flows, server)
        click.echo("已停止：网站、定时任务、Prefect 服务器。")


def paths(site: str, year: Any, open_round: Any) -> None:
    """Which account to try for each path through the demo, and where the SMS go."""
    sms = os.environ.get("RENSHI_SMS_FILE", "").strip()
    click.echo("试用路径：")
    if year is not None:
        window = window_text(year.opens_on, year.closes_on)
        click.echo(f"  职称申报：      teacher 等教师账号点“职称评审申报”（申报时间{window}）；")
        click.echo("                  school_officer 学校审核、推荐，county_officer 资格审查")
    click.echo("  评委会投票：    expert 在“待办”中投票（演示留有一件待市评委会投票的申报）")
    click.echo("  职称评审年度：  province_officer 开启、调整、截止（/title-review/years）")
    if open_round is not None:
        rid = open_round.id
        click.echo(f"  招聘报名：      无需登录，{site}/recruitment/{rid}/register")
        click.echo(f"  招聘岗位计划：  county_officer 申报（/recruitment/{rid}/plans），"
                   "city_officer 审核，province_officer 批准")  # fmt: skip
        click.echo(f"  招聘流程：      province_officer、city_officer（/recruitment/{rid}），"
                   "province_officer 可开启新的招聘")  # fmt: skip
    else:
        click.echo("  招聘：          province_officer 开启招聘（/recruitment）")
    click.echo("  本单位数据：    各级人事干部点“机构”“岗位职数”“评委库”“教师名册”“账号与角色”，"
               "导入文件见 var/demo-files（演示省份即由这些文件导入）")  # fmt: skip
    click.echo("  支教：          county_officer 在需求看板审批需求、遴选（/support/board），"
               f"{RURAL_OFFICER} 填报月度考勤（/support/checkins），teacher 查看我的支教"
               "（/support/me）")  # fmt: skip
    click.echo("  转交、代理：    school_officer 与 school_officer2、county_officer 与 "
               "county_officer2 待办中各有一件申报可办理、转交")  # fmt: skip
    if sms:
        click.echo(f"短信（验证码）：写入 {sms}，每行为时间、手机号、短信内容；"
                   "“通知发送”定时任务约每30秒投递一次")  # fmt: skip
    else:
        click.echo("短信：未设置 RENSHI_SMS_FILE，报名页面将提示未开通短信验证码")


@dataclass(frozen=True)
class Dates:
    """Where the demo's story sits, counted back from the day ``make run`` first runs, so that
    it works whatever the date: one round walked from ``start`` to the appointment, the cases
    left at the county and the committee taken there the day before ``today``, one declared
    yesterday at the school, and the declaration window open today for the printed teachers.

    A declaration belongs to the year it is made in, so a story that starts in December and
    is served in January opens both years."""

    today: dt.date
    start: dt.date

    @classmethod
    def around(cls, today: dt.date) -> Dates:
        return cls(today, today - dt.timedelta(days=STORY_DAYS))

    @property
    def yesterday(self) -> dt.date:
        return self.today - dt.timedelta(days=1)

    @property
    def as_of(self) -> dt.date:
        """The day the seeded records describe: 31 August, the statistics day, unless the
        story starts before it."""
        return min(dt.date(self.start.year, 8, 31), self.start - dt.timedelta(days=1))

    @property
    def years(self) -> range:
        return range(self.start.year, self.today.year + 1)

    def window(self, year: int) -> tuple[dt.date, dt.date]:
        """The year's declaration window: from 1 September (the usual notice) or earlier when
        the story starts earlier in that year, to the year's end."""
        opens = dt.date(year, 9, 1)
        if self.start.year == year:
            opens = min(opens, self.start)
        elif self.today.year == year:
            opens = min(opens, dt.date(year, 1, 1))
        return opens, dt.date(year, 12, 31)


# Enough days for one round from declaration to appointment: two publicity windows of five
# working days, the checks and the committee between them, and a long holiday on the way.
STORY_DAYS = 42


def walk(today: dt.date | None = None) -> None:
    """Seed the demo province and walk one title-review round through the CLI, dated back
    from ``today`` (the system's date unless given)."""
    dates = Dates.around(today or local_date(SystemClock().now()))
    db = make_engine()
    renshi("db", "upgrade")
    shutil.rmtree(FILES, ignore_errors=True)  # a new demo database: new files too
    renshi(
        "seed", "--teachers", "2000", "--dir", str(FILES),
        "--year", str(dates.start.year), "--as-of", dates.as_of.isoformat(),
    )  # fmt: skip
    holidays(dates)
    declaration_years(db, dates)

    with reader(db).connect() as conn:
        # The demo school's teacher without an account walks the round (the seed makes them
        # eligible for 高级), so that every printed teacher account still has its own
        # declaration to make from the first page.
        school = demo_teacher(conn).school_id
        me, second = conn.execute(
            select(Teacher.person_id, Teacher.subject)
            .join(Person, Person.id == Teacher.person_id)
            .where(
                Teacher.school_id == school,
                Teacher.title == "grade1",
                Person.username.is_(None),
            )
            .order_by(Teacher.person_id)
            .limit(2)
        ).all()
        vetoed = title_review.vetoed(conn)
        too_new = title_review.too_recent(conn)

    day = dates.start
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
    document = {"doc_number": f"示范市教人〔{day.year}〕12号", "doc_date": day.isoformat()}
    fire(case_id, "appoint", "city_officer", _at(day, 10), json.dumps(document, ensure_ascii=False))

    click.secho("\n== 本轮结果 ==", bold=True)
    with reader(db).connect() as conn:
        spec = build_catalogue(installed())["title_review"]
        for c in conn.execute(select(Case.id, Case.state).order_by(Case.id)):
            click.echo(f"事项{c.id}：{spec.state_label(c.state)}")
    renshi("case", "show", str(case_id))
    expert_at_committee(db, second.person_id, second.subject, dates)
    work_at_every_desk(db, school, dates)
    recruitment_round(db, dates.today)
    task_book_story(db, dates)
    support_story(db, dates)
    renshi("audit", "verify")
    db.dispose()


def holidays(dates: Dates) -> None:
    """Deadlines count working days, so every year the story and its deadlines touch needs
    its holidays. Years the built-in calendar lacks (the State Council publishes each year's
    in the November before) get, in the demo only, weekends and the fixed-date holidays (元旦,
    劳动节, 国庆节): the lunar ones cannot be guessed. The file is kept, and the province
    officer replaces it from the calendar page once the real one is out."""
    known = builtin_calendar()
    for year in range(dates.start.year, dates.today.year + 2):
        if known.is_known(year):
            continue
        fixed = {f"{year}-01-01": "元旦", f"{year}-05-01": "劳动节"}
        fixed |= {f"{year}-10-0{d}": "国庆节" for d in (1, 2, 3)}
        path = FILES / f"节假日安排{year}（演示，仅含固定日期节日）.json"
        doc = {"year": year, "holidays": fixed, "workdays": {}}
        path.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
        click.secho(
            f"演示：{year}年节假日安排未内置，按周末与元旦、劳动节、国庆节推算工作日；"
            "正式使用时请省级人事干部在“工作日历”页面导入国务院公布的安排。",
            fg="yellow",
        )
        renshi("calendar", "load", str(path))


def declaration_years(db: Engine, dates: Dates) -> None:
    """Each year of the story open for declarations over its window: the seed opens the
    first from 1 September; a story that starts earlier widens it, and one that crosses
    into a new year opens that year too, as the province officer would."""
    for year in dates.years:
        opens, closes = dates.window(year)
        with reader(db).connect() as conn:
            year_id = conn.execute(
                select(TitleReviewYear.id).where(TitleReviewYear.year == year)
            ).scalar()
        at = _at(min(opens, dates.start))
        if year_id is None:
            renshi(
                "title-review", "year", "open", "--as", "province_officer",
                "--year", str(year), "--opens", opens.isoformat(),
                "--closes", closes.isoformat(), at=_at(opens),
            )  # fmt: skip
        elif opens != dt.date(year, 9, 1):
            renshi(
                "title-review", "year", "window", str(year_id), "--as", "province_officer",
                "--opens", opens.isoformat(), "--closes", closes.isoformat(), at=at,
            )  # fmt: skip


def expert_at_committee(db: Engine, person_id: int, subject: str, dates: Dates) -> None:
    """A second case left at the city's committee with the printed ``expert`` seated, so
    that the expert account has a vote to cast from its first page.

    A committee is drawn at random, so the demo does not hope for a seat: the city's office
    records, as it does each year, which members of its pool sit this year (评委本年度可用
    情况, through the experts import), and leaves exactly a committee's worth who can sit on
    this case — the demo expert and six colleagues from other schools. A draw from seven
    for seven seats everyone: the expert is seated by the rules, not by luck."""
    click.secho("\n== 第二件申报：市评委库本年度可用情况、县级资格审查、评审委员会 ==", bold=True)
    day = dates.start + dt.timedelta(days=1)
    year = day.year  # the case's year, whose committee sits on it
    declare(f"#{person_id}", "senior", subject, _at(day))
    with reader(db).connect() as conn:
        case_id = conn.execute(select(func.max(Case.id))).scalar_one()
        school = conn.execute(
            select(Teacher.school_id).where(Teacher.person_id == person_id)
        ).scalar_one()
        city, code = conn.execute(
            select(OrgUnit.id, OrgUnit.code)
            .join(RoleBinding, RoleBinding.org_unit_id == OrgUnit.id)
            .join(Person, Person.id == RoleBinding.person_id)
            .where(Person.username == "city_officer")
        ).one()
        members = conn.execute(
            select(Person.id, Person.id_number, Person.username, Teacher.school_id)
            .join(RoleBinding, RoleBinding.person_id == Person.id)
            .outerjoin(Teacher, Teacher.person_id == Person.id)
            .where(
                RoleBinding.role == REVIEW_EXPERT,
                RoleBinding.org_unit_id == city,
                RoleBinding.subject == DEMO_SUBJECT,
            )
            .order_by(Person.id)
        ).all()
    # the applicant's school recuses; the demo expert first among the rest
    eligible = sorted(
        (m for m in members if m.school_id != school), key=lambda m: m.username != "expert"
    )
    away = eligible[committee_size(build_catalogue(installed())) :]
    payload = '{"comment": "材料齐全，同意公示"}'
    fire(case_id, "school_approve", "school_officer", _at(day, 10), payload)
    day = close_window(db, case_id)
    fire(case_id, "recommend", "school_officer", _at(day, 10))
    if away:
        sheet = FILES / "评委本年度可用情况.xlsx"
        FILES.mkdir(parents=True, exist_ok=True)
        write_experts(
            sheet,
            [
                {"id_number": m.id_number, "code": code, "subject": DEMO_SUBJECT, "year": year,
                 "available": False, "note": "本年度借调外地，不参加评审"}
                for m in away
            ],
        )  # fmt: skip
        renshi(
            "org", "experts-import", str(sheet), "--as", "city_officer",
            at=_at(dates.yesterday, 14),
        )  # fmt: skip
    fire(case_id, "qualify", "county_officer", _at(dates.yesterday, 15))
    drawn = set(seated(reader(db), case_id))
    expert = next((m.id for m in members if m.username == "expert"), None)
    if expert in drawn:
        click.echo(
            f"事项{case_id}：评审委员会已抽取{len(drawn)}人，演示账号 expert 在其中，待投票。"
        )
    else:
        click.secho(f"事项{case_id}：演示账号 expert 未被抽中（评委库已改动？）", fg="yellow")


def work_at_every_desk(db: Engine, school: int, dates: Dates) -> None:
    """Two 一级 declarations by colleagues without accounts, one left at the county's check
    and one at the school's, each reaching its desk yesterday: the printed school and county
    officers (two of each, so 转交 works) find work in their inbox on their first page, not
    yet overdue."""
    click.secho("\n== 待办：一件在县级资格审查，一件在学校审核 ==", bold=True)
    early = dates.start + dt.timedelta(days=2)
    with reader(db).connect() as conn:
        candidates = conn.execute(
            select(Teacher.person_id, Teacher.subject)
            .join(Person, Person.id == Teacher.person_id)
            .where(
                Teacher.school_id == school,
                Teacher.title == "grade2",
                Person.username.is_(None),
            )
            .order_by(Teacher.person_id)
        ).all()
    opened: list[int] = []
    for candidate in candidates:  # the first two the rules let declare
        with reader(db).connect() as conn:
            before = conn.execute(select(func.max(Case.id))).scalar_one()
        day = early if not opened else dates.yesterday
        declare(f"#{candidate.person_id}", "grade1", candidate.subject, _at(day))
        with reader(db).connect() as conn:
            after = conn.execute(select(func.max(Case.id))).scalar_one()
        if after != before:
            opened.append(after)
        if len(opened) == 2:
            break
    if len(opened) < 2:
        click.secho("演示学校没有两位可申报一级的教师：学校、县级待办未生成", fg="yellow")
        return
    at_county = opened[0]
    fire(at_county, "school_approve", "school_officer", _at(early, 10), '{"comment": "同意公示"}')
    close_window(db, at_county)
    fire(at_county, "recommend", "school_officer", _at(dates.yesterday, 10))


def recruitment_round(db: Engine, today: dt.date) -> None:
    """A recruitment round open for registration today, with posts: the province opens it,
    the demo county declares two posts, the city passes the plan, the province approves."""
    click.secho("\n== 新任教师招聘：开启招聘、县区申报岗位、审核批准 ==", bold=True)
    now = _at(today)
    renshi("title-review", "year", "list", "--as", "province_officer", at=now)
    renshi(
        "recruitment", "round", "open", "--as", "province_officer",
        "--name", f"{today.year}年{PROVINCE_NAME}新任教师公开招聘（演示）",
        "--announcement", ANNOUNCEMENT,
        "--opens", today.isoformat(),
        "--closes", (today + dt.timedelta(days=30)).isoformat(),
        "--written-weight", "50", "--interview-weight", "50", "--ratio", "3",
        "--replacement-deadline", (today + dt.timedelta(days=180)).isoformat(), at=now,
    )  # fmt: skip
    with reader(db).connect() as conn:
        round_id = conn.execute(select(func.max(RecruitmentRound.id))).scalar_one()
        county = conn.execute(
            select(RoleBinding.org_unit_id)
            .join(Person, Person.id == RoleBinding.person_id)
            .where(Person.username == "county_officer")
        ).scalar_one()
        path = conn.execute(select(OrgUnit.path).where(OrgUnit.id == county)).scalar_one()
        levels: dict[str, int] = {
            level: school
            for level, school in conn.execute(
                select(Teacher.school_level, func.min(Teacher.school_id))
                .join(OrgUnit, OrgUnit.id == Teacher.school_id)
                .where(OrgUnit.path.startswith(path))
                .group_by(Teacher.school_level)
            )
        }
    posts = [
        {"code": f"{today.year}-01", "subject": "数学", "school_level": "primary",
         "min_education": "bachelor", "seats": [{"school_id": levels["primary"], "seats": 2}]},
        {"code": f"{today.year}-02", "subject": "语文", "school_level": "junior",
         "min_education": "bachelor", "seats": [{"school_id": levels["junior"], "seats": 1}]},
    ]  # fmt: skip
    renshi(
        "recruitment", "plan", "declare", str(round_id), "--as", "county_officer",
        "--posts", json.dumps(posts, ensure_ascii=False), "--note", "演示：两个岗位", at=now,
    )  # fmt: skip
    with reader(db).connect() as conn:
        plan = conn.execute(select(func.max(Case.id)).where(Case.process == PLAN)).scalar_one()
    renshi("case", "fire", str(plan), "city_pass", "--as", "city_officer", at=now)
    renshi("case", "fire", str(plan), "approve", "--as", "province_officer", at=now)
    renshi("recruitment", "plan", "list", str(round_id), "--as", "province_officer", at=now)


def task_book_story(db: Engine, dates: Dates) -> None:
    """The demo county's task book for the year (任务清单): imported from a spreadsheet,
    approved by the city, its tasks issued, reported on and one split to two schools, then
    the morning's sweep, so that ``leader`` opens a board of every colour: overdue and
    escalated, at risk, stagnant, on track and done."""
    from states.processes.task_book.books import SCHEMA
    from states.processes.task_book.store import pairs
    from states.processes.task_book.tables import TaskBook
    from states.sheets import write_xlsx

    click.secho("\n== 任务清单：导入任务书、上级审批下达、报告进展、定时检查 ==", bold=True)
    today, start = dates.today, dates.start
    with reader(db).connect() as conn:
        county, school = (
            conn.execute(
                select(RoleBinding.org_unit_id)
                .join(Person, Person.id == RoleBinding.person_id)
                .where(Person.username == name)
            ).scalar_one()
            for name in ("county_officer", "school_officer")
        )
        units = pairs(
            conn.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.parent_id == county))
        )
        county_name = conn.execute(select(OrgUnit.name).where(OrgUnit.id == county)).scalar_one()
    other = next(i for i in sorted(units) if i != school)

    def day(n: int) -> str:
        return (today + dt.timedelta(days=n)).isoformat()

    rows = [
        ("全县教师师德承诺书签订", "会议决定", county_name, day(25), f"{day(-10)} 完成动员", 2),
        ("教师培训学时登记", "年度工作要点", units[school], day(-3), f"{day(-20)} 完成摸底", 1),
        ("职称评审材料归档", "年度工作要点", units[school], day(6), "", 1),
        ("教师资格定期注册", "领导批示", units[school], day(60), "", 1),
        ("乡村教师生活补助发放", "领导批示", units[school], day(20), "", 1),
        ("新任教师岗前培训", "年度工作要点", units[school], day(90), f"{day(30)} 完成集中培训", 1),
    ]
    names = ("title", "source", "lead", "deadline", "milestones", "weight")
    path = FILES / "任务书.xlsx"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        write_xlsx(
            [(c.name, c.label) for c in SCHEMA.columns if c.name in names],
            [dict(zip(names, r, strict=True)) for r in rows],
            title="任务书",
            mask=(),
        )
    )
    year = str(today.year)
    renshi("tasks", "import", str(path), "--as", "county_officer", "--year", year,
           at=_at(start, 10))  # fmt: skip
    with reader(db).connect() as conn:
        book_id = conn.execute(select(func.max(TaskBook.id))).scalar_one()
    renshi("tasks", "book", str(book_id), "submit", "--as", "county_officer", at=_at(start, 11))
    renshi("tasks", "book", str(book_id), "approve", "--as", "city_officer", at=_at(start, 15))
    tasks = _task_ids(db)
    begin = start + dt.timedelta(days=1)
    for title in tasks:
        who = "county_officer" if title == rows[0][0] else "school_officer"
        renshi("tasks", "do", str(tasks[title]), "acknowledge", "--as", who, at=_at(begin, 9))
    renshi("tasks", "do", str(tasks[rows[0][0]]), "split", "--as", "county_officer",
           "--units", f"{school},{other}", at=_at(begin, 10))  # fmt: skip
    renshi("tasks", "report", str(tasks["教师培训学时登记"]), "--as", "school_officer",
           "--percent", "30", "--text", "完成学时摸底", at=_at(begin, 11))  # fmt: skip
    renshi("tasks", "report", str(tasks["教师资格定期注册"]), "--as", "school_officer",
           "--percent", "15", "--text", "梳理到期人员名单", at=_at(begin, 14))  # fmt: skip
    renshi("tasks", "report", str(tasks["职称评审材料归档"]), "--as", "school_officer",
           "--percent", "20", "--text", "收齐一半材料", at=_at(dates.yesterday, 10))  # fmt: skip
    renshi("tasks", "report", str(tasks["新任教师岗前培训"]), "--as", "school_officer",
           "--percent", "35", "--text", "完成培训方案", at=_at(dates.yesterday, 11))  # fmt: skip
    subsidy = str(tasks["乡村教师生活补助发放"])
    renshi("tasks", "do", subsidy, "complete", "--as", "school_officer", "--text", "已全部发放",
           at=_at(dates.yesterday, 9))  # fmt: skip
    renshi("tasks", "do", subsidy, "accept", "--as", "county_officer", at=_at(dates.yesterday, 16))
    part = _task_ids(db, parts_of=tasks[rows[0][0]]).get(units[school])
    if part is not None:
        renshi("tasks", "do", str(part), "acknowledge", "--as", "school_officer",
               at=_at(dates.yesterday, 14))  # fmt: skip
        renshi("tasks", "report", str(part), "--as", "school_officer", "--percent", "60",
               "--text", "已完成动员，签订过半", "--milestone", "1",
               at=_at(dates.yesterday, 15))  # fmt: skip
    renshi("tasks", "sweep", at=_at(today, 7))
    renshi("tasks", "list", "--as", "leader", at=_at(today, 8))


# A login the seed does not print: the rural school's personnel officer of the demo county, who
# receives the support teacher and files the months' check-ins (support_story).
RURAL_OFFICER = "rural_officer"


def support_story(db: Engine, dates: Dates) -> None:
    """Support teaching (支教) in the demo county, so that each printed account has its part
    from its first page: the county's rural school (its officer ``rural_officer``, opened here)
    declared a need the county approved; the printed ``teacher`` volunteered, the school
    confirmed, the county selected, the publicity ran out and the teacher was dispatched; the
    months' check-ins were opened and the earlier ones filed, the current one waits for
    ``rural_officer``. A second need waits with a nominated colleague for ``county_officer``
    to select, a third for the county's approval."""
    from sqlalchemy import update

    from api.auth import hash_password
    from states.clock import FrozenClock
    from states.engine import CaseEngine
    from states.org import SCHOOL_OFFICER
    from states.processes.support_teaching import applications
    from states.processes.support_teaching.machine import NEED, TERM
    from states.registry import accounts, history
    from states.seed.province import DEMO_REF
    from states.store.people import load_actor

    click.secho("\n== 支教：申报需求、县级审批、教师报名、遴选、公示、派出、月度考勤 ==", bold=True)
    start, today = dates.start, dates.today
    with reader(db).connect() as conn:
        county = conn.execute(
            select(RoleBinding.org_unit_id)
            .join(Person, Person.id == RoleBinding.person_id)
            .where(Person.username == "county_officer")
        ).scalar_one()
        path = conn.execute(select(OrgUnit.path).where(OrgUnit.id == county)).scalar_one()
        rural = conn.execute(
            select(OrgUnit.id, OrgUnit.name)
            .where(OrgUnit.tier == "school", OrgUnit.path.startswith(path))
            .where(OrgUnit.is_rural | OrgUnit.is_weak)
            .order_by(OrgUnit.is_rural.desc(), OrgUnit.id)
        ).first()
        teacher = demo_teacher(conn)
    if rural is None:
        click.secho("演示县没有农村或薄弱学校：支教演示未生成", fg="yellow")
        return

    def engine_at(at: dt.datetime) -> CaseEngine:
        return CaseEngine(db, installed(), FrozenClock(at))

    def newest(process: str) -> int:
        with reader(db).connect() as conn:
            return int(
                conn.execute(select(func.max(Case.id)).where(Case.process == process)).scalar_one()
            )

    # the rural school's officer: an account the county opens, with the printed password
    at = _at(start, 8)
    with db.begin() as conn:
        officer = load_actor(conn, username="county_officer")
        made = accounts.create(
            conn, officer, at,
            accounts.NewAccount("周建华", RURAL_OFFICER, int(rural.id), (SCHOOL_OFFICER,)),
            hash_password("renshi2026"),
        )  # fmt: skip
        conn.execute(
            update(Person).where(Person.id == made.person_id).values(must_change_password=False)
        )
        spared = history.Entry(made.person_id, {"must_change_password": (True, False)})
        history.record(
            conn, history.PERSON, [spared], actor=officer, at=at, source="seed",
            source_ref=DEMO_REF,
        )  # fmt: skip
    click.echo(f"{rural.name}：开通学校人事干部账号 {RURAL_OFFICER}")

    def declare_need(day: dt.date, subject: str, places: int, starts: dt.date, note: str) -> int:
        ends = starts + dt.timedelta(days=364)
        renshi(
            "support", "declare", "--as", RURAL_OFFICER, "--subject", subject, "--level", "小学",
            "--places", str(places), "--starts", starts.isoformat(), "--ends", ends.isoformat(),
            "--note", note, at=_at(day, 9),
        )  # fmt: skip
        return newest(NEED)

    # the walked need: approved, the printed teacher volunteers, selected, dispatched
    starts = start + dt.timedelta(days=14)
    need = declare_need(start, DEMO_SUBJECT, 1, starts, "五、六年级数学教师缺一名")
    fire(need, "approve", "county_officer", _at(start, 10), '{"comment": "同意"}')
    day = start + dt.timedelta(days=1)
    with reader(db).connect() as conn:
        me = load_actor(conn, person_id=teacher.person_id)
    app = applications.volunteer(engine_at(_at(day, 9)), me, need, "愿意到乡村学校支教一年")
    click.echo(f"教师 teacher 报名支教需求{need}（事项{app.case_id}），待学校确认")
    fire(app.case_id, "confirm", "school_officer", _at(day, 10), '{"comment": "同意报名"}')
    fire(app.case_id, "select_teacher", "county_officer", _at(day, 15))
    term = newest(TERM)
    # a second need, approved: the school nominates a colleague for it yesterday (below)
    day = start + dt.timedelta(days=2)
    second = declare_need(
        day, DEMO_SUBJECT, 2, today + dt.timedelta(days=30), "下学期起需数学教师两名"
    )
    fire(second, "approve", "county_officer", _at(day, 10))
    closed = close_window(db, term)
    on = max(closed, starts)
    dispatch = {"on": on.isoformat(), "doc_number": f"演示教人〔{on.year}〕8号"}
    fire(term, "dispatch_teacher", "county_officer", _at(on, 10),
         json.dumps(dispatch, ensure_ascii=False))  # fmt: skip
    # the months so far opened; the earlier ones filed, this month's left for rural_officer
    renshi("support", "checkins", at=_at(dates.yesterday, 7))
    month, this_month = on.replace(day=1), today.replace(day=1)
    while month < this_month:
        filed = {"month": f"{month.year:04d}-{month.month:02d}", "attendance_days": 21,
                 "teaching_hours": 64, "assessment": "按时到岗，教学认真"}  # fmt: skip
        fire(term, "check_in", RURAL_OFFICER, _at(dates.yesterday, 8),
             json.dumps(filed, ensure_ascii=False))  # fmt: skip
        month = (month + dt.timedelta(days=32)).replace(day=1)
    # a need the county has yet to approve, and the colleague nominated for the second
    declare_need(dates.yesterday, "英语", 1, today + dt.timedelta(days=60), "英语教师缺一名")
    with reader(db).connect() as conn:
        colleague = conn.execute(
            select(Teacher.person_id)
            .join(Person, Person.id == Teacher.person_id)
            .where(
                Teacher.school_id == teacher.school_id,
                Teacher.subject == DEMO_SUBJECT,
                Teacher.status == "active",
                Person.username.is_(None),
            )
            .order_by(Teacher.person_id.desc())
        ).scalar()
        school_officer = load_actor(conn, username="school_officer")
    if colleague is not None:
        nominated = applications.nominate(
            engine_at(_at(dates.yesterday, 10)), school_officer, second, int(colleague),
            "教学经验丰富，本人同意",
        )  # fmt: skip
        click.echo(f"school_officer 推荐本校教师（事项{nominated.case_id}），待县级遴选")
    renshi("support", "checkins", at=_at(today, 7))
    renshi("support", "needs", "--as", "county_officer", "--year", str(today.year),
           at=_at(today, 8))  # fmt: skip


def _task_ids(db: Engine, parts_of: int | None = None) -> dict[str, int]:
    """The demo's tasks by title, or a task's parts by their lead unit's name."""
    from states.processes.task_book.store import pairs
    from states.processes.task_book.tables import WorkTask

    with reader(db).connect() as conn:
        if parts_of is None:
            return pairs(
                conn.execute(
                    select(WorkTask.title, WorkTask.id).where(WorkTask.parent_id.is_(None))
                )
            )
        return pairs(
            conn.execute(
                select(OrgUnit.name, WorkTask.id)
                .join(OrgUnit, OrgUnit.id == WorkTask.lead_unit_id)
                .where(WorkTask.parent_id == parts_of)
            )
        )


ANNOUNCEMENT = (
    "本次招聘面向社会公开招聘小学、初中教师，报名时须填写本人身份证号和手机号码，"
    "通过短信验证码确认手机号。\n报名时即核对年龄、学历和教师资格证，条件不符的不能提交。"
    "\n咨询电话：演示数据，无需拨打。"
)


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
