"""系统运行: every run of a scheduled job is recorded in our own tables — by the flows, the
command line and a province officer's 「立即运行」 — with what it did; a failing job shows as
失败 with its reason; a notice that could not be delivered is listed with its recipient
masked and can be sent again; nobody else finds the page."""

from __future__ import annotations

import datetime as dt
import re
import socket
import subprocess
import sys
from typing import Any

import pytest
from click.testing import CliRunner
from playwright.sync_api import expect
from sqlalchemy import Engine, func, insert, select

from flows.jobs import BY_KEY, JOBS
from states.clock import FrozenClock, bureau_time
from states.ops import Outcome, Start, run_recorded
from states.store.models import Delivery, JobRun, OutboxMessage, Person, table_of
from tests.browser import DESKTOP, chromium, console_errors, offline, shot, sign_in
from tests.live import Live
from tests.test_dispatch import Mailbox, smtp  # noqa: F401 - fixture
from tests.test_pages import _check_page, _sign_in
from tests.world import Driver, World

runs_t = table_of(JobRun)


def _runs(db: Engine, job: str | None = None) -> list[Any]:
    query = select(runs_t).order_by(runs_t.c.id)
    if job is not None:
        query = query.where(runs_t.c.job == job)
    with db.connect() as conn:
        return list(conn.execute(query))


def _person(db: Engine, username: str) -> Any:
    with db.connect() as conn:
        return conn.execute(select(Person.id, Person.name).where(Person.username == username)).one()


# --- the catalogue ---------------------------------------------------------------------------
def test_every_deployment_has_a_catalogue_entry() -> None:
    from flows.serve import deployments

    served = {d.name: d for d in deployments()}
    assert set(served) == {job.key for job in JOBS if job.scheduled}
    for name, deployment in served.items():
        job = BY_KEY[name]
        [schedule] = [s.schedule for s in deployment.schedules]
        interval = getattr(schedule, "interval", None)
        assert getattr(schedule, "cron", None) == job.cron, name
        assert (interval.total_seconds() if interval else None) == job.every, name
        assert deployment.description == f"{job.label}：{job.what}"
    words = {job.key: job.schedule for job in JOBS}
    assert words == {
        "deadlines": "每5分钟",
        "reminders": "每天 8:30（非工作日自动跳过）",
        "publicity": "每小时第5分",
        "dispatch": "每30秒",
        "audit-digest": "每天 1:30",
        "checks": "每天 8:00",
        "support-checkins": "每月1日 6:30",
        "compliance-ethics_pledge": "每天 7:00",
        "compliance-cert_registration": "每天 7:10",
        "compliance-rural_honour": "每天 7:20",
        "compliance-rotation_targets": "每天 7:30",
        "compliance-rotation_school_targets": "每天 7:50",
        "compliance-task_overdue": "每天 7:40",
    }
    assert [job.label for job in JOBS] == [
        "逾期督办",
        "催办提醒",
        "公示期满",
        "通知发送",
        "审计核验与摘要",
        "自动检查",
        "支教月度考勤",
        "合规检查：交流轮岗比例",
        "合规检查：交流轮岗学校比例",
        "合规检查：任务逾期",
        "合规检查：师德承诺书",
        "合规检查：教师资格定期注册",
        "合规检查：乡村从教30年荣誉证书",
    ]


def test_recipients_and_their_errors_are_masked() -> None:
    from api.ops_pages import recipient, scrubbed
    from states.ops import Trouble

    def trouble(channel: str, target: str, error: str, hidden: bool = False) -> Trouble:
        at = bureau_time(2026, 9, 1, 10)
        return Trouble(
            id=1, channel=channel, target=target, person_name="张伟", state="failed",
            attempts=6, last_error=error, next_attempt_at=None, kind="urge", case_id=None,
            created_at=at, hidden=hidden,
        )  # fmt: skip

    url = "https://oapi.dingtalk.com/robot/send?access_token=SECRET123"
    robot = trouble("webhook", f"dingtalk:{url}", f"无法连接钉钉群机器人：{url}（timed out）")
    assert recipient(robot) == "钉钉群机器人（oapi.dingtalk.com）"
    assert "SECRET123" not in (scrubbed(robot) or "")
    text = trouble("sms", "13812345678", "短信网关返回 HTTP 500：13812345678 无效")
    assert recipient(text) == "张伟 138****5678"
    assert scrubbed(text) == "短信网关返回 HTTP 500：138****5678 无效"
    member = trouble("email", "expert@school.test", "拒收：expert@school.test", hidden=True)
    assert recipient(member) == "评审委员会委员" and scrubbed(member) == "拒收：（已隐去）"
    inbox = trouble("inapp", "17", "通知模板与数据不符：第17行")
    assert recipient(inbox) == "张伟" and scrubbed(inbox) == "通知模板与数据不符：第17行"


# --- the record, through the flows and the command line -------------------------------------
def test_flow_and_command_line_runs_are_recorded_with_counts(
    d: Driver, world: World, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from api.cli import main
    from flows.sweeps import publicity_sweep_flow

    monkeypatch.setenv("RENSHI_DATABASE_URL", db_url)
    d.clock.set(bureau_time(2026, 9, 30, 9))
    case_id = d.declare(world.teacher("运行记录"))
    d.fire(case_id, "school_approve", "school_officer")

    # the schedule's flow (its body: tests/test_flows.py runs the flows under Prefect)
    made = publicity_sweep_flow.fn(at="2026-10-14T00:05:00+08:00")
    assert made == {"skipped": None, "close_publicity:school_recommend": 1}
    [flow_run] = _runs(d.eng.db)
    assert (flow_run.job, flow_run.trigger, flow_run.outcome) == ("publicity", "schedule", "ok")
    assert flow_run.counts == {"close_publicity:school_recommend": 1}
    assert flow_run.started_at == bureau_time(2026, 10, 14, 0, 5)
    assert flow_run.finished_at is not None

    cli = CliRunner()
    env = {"RENSHI_DATABASE_URL": db_url}
    again = cli.invoke(main, ["--at", "2026-10-14T00:06", "sweep", "publicity"], env=env)
    assert again.exit_code == 0, again.output
    assert again.output.strip() == "公示期满：成功：没有需要处理的事项"
    holiday = cli.invoke(main, ["--at", "2026-10-03T08:30", "sweep", "reminders"], env=env)
    assert holiday.exit_code == 0 and "催办提醒：跳过：" in holiday.output, holiday.output
    assert "不是工作日" in holiday.output
    late = cli.invoke(main, ["--at", "2026-10-30T09:00", "sweep", "deadlines"], env=env)
    assert late.exit_code == 0 and late.output.startswith("逾期督办：成功"), late.output

    runs = _runs(d.eng.db)
    assert [(r.job, r.trigger, r.outcome) for r in runs] == [
        ("publicity", "schedule", "ok"),
        ("publicity", "cli", "ok"),
        ("reminders", "cli", "skipped"),
        ("deadlines", "cli", "ok"),
    ]
    assert "不是工作日" in runs[2].reason

    listed = cli.invoke(main, ["ops", "runs"], env=env)
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert len(lines) == 4 and "逾期督办 命令行" in lines[0], lines
    spec = d.eng.processes["title_review"]
    moved = (
        f"{spec.events['close_publicity'].label}（转入“{spec.state_label('school_recommend')}”）"
    )
    assert "2026-10-14 00:05:00 公示期满 定时 成功：" + moved + " 1" in lines[2], lines
    failed_only = cli.invoke(main, ["ops", "runs", "--failed"], env=env)
    assert failed_only.output.strip() == "没有运行记录"


def test_one_run_of_a_job_at_a_time_failures_and_how_long_runs_are_kept(
    engine: Engine, clock: FrozenClock
) -> None:
    inner: dict[str, Any] = {}

    def outer_work() -> Outcome:
        inner["run"], inner["outcome"] = run_recorded(
            engine, clock, "publicity", Start.schedule(), lambda: Outcome({"closed": 1})
        )
        return Outcome({"closed": 2})

    outer, _ = run_recorded(engine, clock, "publicity", Start.cli(), outer_work)
    assert (outer.outcome, outer.counts) == ("ok", {"closed": 2})
    assert inner["run"].outcome == "skipped" and "尚未结束" in inner["run"].reason
    assert inner["outcome"].skipped == inner["run"].reason

    # a run whose process died two hours ago holds its job no longer
    with engine.begin() as conn:
        dead = conn.execute(
            insert(runs_t)
            .values(
                job="deadlines",
                trigger="schedule",
                started_at=clock.now() - dt.timedelta(hours=2),
                outcome="running",
            )
            .returning(runs_t.c.id)
        ).scalar_one()
    ran, _ = run_recorded(engine, clock, "deadlines", Start.schedule(), lambda: Outcome())
    assert ran.outcome == "ok"
    [closed] = [r for r in _runs(engine, "deadlines") if r.id == dead]
    assert closed.outcome == "failed" and closed.error.startswith("运行中断")
    # nor, at once, does a run whose process on this machine is gone (killed a minute ago)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    with engine.begin() as conn:
        killed = conn.execute(
            insert(runs_t)
            .values(
                job="deadlines",
                trigger="cli",
                started_at=clock.now() - dt.timedelta(minutes=1),
                outcome="running",
                runner=f"{socket.gethostname()}:{gone.pid}",
            )
            .returning(runs_t.c.id)
        ).scalar_one()
    assert run_recorded(engine, clock, "deadlines", Start.cli(), Outcome)[0].outcome == "ok"
    [closed] = [r for r in _runs(engine, "deadlines") if r.id == killed]
    assert closed.outcome == "failed" and closed.error.startswith("运行中断")

    def broken() -> Outcome:
        raise RuntimeError("磁盘已满")

    failed, nothing = run_recorded(engine, clock, "checks", Start.cli(), broken)
    assert nothing is None and failed.outcome_label == "失败"
    assert failed.error == "程序错误（RuntimeError）：磁盘已满"
    with pytest.raises(RuntimeError):
        run_recorded(engine, clock, "checks", Start.schedule(), broken, reraise=True)
    assert [r.outcome for r in _runs(engine, "checks")] == ["failed", "failed"]
    partly, _ = run_recorded(
        engine, clock, "checks", Start.cli(), lambda: Outcome({"x": 1}, problems=["事项7：冲突"])
    )
    assert (partly.outcome_label, partly.error) == ("部分失败", "事项7：冲突")

    # a month of runs is kept, and each job's last twenty whatever their age
    with engine.begin() as conn:
        conn.execute(
            insert(runs_t),
            [
                {
                    "job": "dispatch",
                    "trigger": "schedule",
                    "started_at": clock.now() - dt.timedelta(days=days, minutes=i),
                    "finished_at": clock.now() - dt.timedelta(days=days, minutes=i),
                    "outcome": "ok",
                }
                for days, n in ((40, 25), (10, 3))
                for i in range(n)
            ],
        )
    run_recorded(engine, clock, "dispatch", Start.schedule(), lambda: Outcome())
    kept = _runs(engine, "dispatch")
    assert len(kept) == 20
    assert sum(1 for r in kept if r.started_at > clock.now() - dt.timedelta(days=30)) == 4


# --- the page and its API --------------------------------------------------------------------
def test_a_province_officer_runs_a_job_now_and_nobody_else_finds_the_page(live: Live) -> None:
    db = live.services.db
    officer = _person(db, "province_officer")
    c, csrf = _sign_in(live, "province_officer")
    page = c.get("/admin/operations")
    assert page.status_code == 200
    _check_page(page.text)
    assert 'href="/admin/operations" aria-current="page">系统运行' in page.text
    for job in JOBS:
        assert f'id="job-{job.key}"' in page.text and job.label in page.text
    assert "每30秒" in page.text and "尚无运行记录" in page.text

    ran = c.post("/admin/operations/run", data={"csrf": csrf, "job": "deadlines"})
    assert ran.status_code == 303 and ran.headers["location"] == "/admin/operations#job-deadlines"
    [run] = _runs(db, "deadlines")
    assert (run.trigger, run.person_id, run.started_by) == ("manual", officer.id, officer.name)
    assert run.outcome == "ok" and run.finished_at is not None
    shown = c.get("/admin/operations").text
    assert "「逾期督办」已运行，成功：" in shown  # the one-time message
    row = re.search(r'<tr id="job-deadlines".*?</tr>', shown, re.S)
    assert row and f"手动（{officer.name}）" in row[0] and "成功" in row[0]

    forged = c.post("/admin/operations/run", data={"job": "deadlines"})
    assert forged.status_code == 403 and len(_runs(db, "deadlines")) == 1
    for path, data in (  # nothing of the kind: a Chinese 404 page, nothing run or changed
        ("/admin/operations/run", {"csrf": csrf, "job": "nope"}),
        ("/admin/operations/deliveries/99999/resend", {"csrf": csrf}),
        ("/admin/operations/deliveries/x/resend", {"csrf": csrf}),
    ):
        answer = c.post(path, data=data)
        assert answer.status_code == 404 and "未找到" in answer.text, path
    assert len(_runs(db)) == 1

    county, county_csrf = _sign_in(live, "county_officer")
    assert county.get("/admin/operations").status_code == 404
    assert 'href="/admin/operations"' not in county.get("/inbox").text
    refused = county.post("/admin/operations/run", data={"csrf": county_csrf, "job": "deadlines"})
    assert refused.status_code == 404 and len(_runs(db, "deadlines")) == 1

    api = live.client("province_officer")
    overview = api.get("/api/v1/operations").json()
    assert [j["key"] for j in overview["jobs"]] == [job.key for job in JOBS]
    deadlines = next(j for j in overview["jobs"] if j["key"] == "deadlines")
    assert deadlines["label"] == "逾期督办" and deadlines["schedule"] == "每5分钟"
    assert deadlines["last_run"]["trigger_label"] == f"手动（{officer.name}）"
    now = api.post("/api/v1/operations/publicity/run")
    assert now.status_code == 200, now.text
    assert (now.json()["outcome_label"], now.json()["summary"]) == ("成功", "没有需要处理的事项")
    listed = api.get("/api/v1/operations/runs", params={"job": "publicity"}).json()["items"]
    assert [r["id"] for r in listed] == [now.json()["id"]]
    assert api.post("/api/v1/operations/no-such-job/run").status_code == 404
    unknown = api.get("/api/v1/operations/runs", params={"job": "nope"})
    assert unknown.status_code == 422 and unknown.json()["field"] == "job"
    other = live.client("county_officer")
    for answer in (
        other.get("/api/v1/operations"),
        other.post("/api/v1/operations/publicity/run"),
        other.get("/api/v1/operations/deliveries"),
    ):
        assert answer.status_code == 404 and "无权" in answer.json()["message"]
    assert len(_runs(db, "publicity")) == 1


def _failed_delivery(live: Live, person_id: int, address: str) -> int:
    """A notice to ``address`` the dispatcher gave up on, as it leaves one."""
    now = live.clock.now()
    with live.services.db.begin() as conn:
        outbox_id = conn.execute(
            insert(table_of(OutboxMessage))
            .values(
                kind="audit_digest",
                recipient_id=person_id,
                payload={
                    "taken_at": "2026-09-01 01:30",
                    "fingerprint": "ab" * 32,
                    "file": "renshi-audit-20260901.json",
                    "cases": 3,
                    "breaks": 0,
                },
                created_at=now,
                status="expanded",
            )
            .returning(table_of(OutboxMessage).c.id)
        ).scalar_one()
        return int(
            conn.execute(
                insert(table_of(Delivery))
                .values(
                    outbox_id=outbox_id,
                    person_id=person_id,
                    channel="email",
                    target=address,
                    status="failed",
                    attempts=6,
                    next_attempt_at=now,
                    last_error=f"邮件服务器 127.0.0.1:25 拒收（550）：<{address}> mailbox full",
                )
                .returning(table_of(Delivery).c.id)
            ).scalar_one()
        )


def test_a_failing_job_and_a_failed_notice_sent_again(
    live: Live,
    smtp: tuple[Mailbox, int],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    box, port = smtp
    db = live.services.db
    officer = _person(db, "province_officer")
    address = "zhang.wei@school.test"
    delivery = _failed_delivery(live, officer.id, address)
    c, csrf = _sign_in(live, "province_officer")

    # email switched on without its server: the dispatch fails, and says which setting
    monkeypatch.setenv("RENSHI_CHANNELS", "inapp,email")
    monkeypatch.delenv("RENSHI_SMTP_HOST", raising=False)
    monkeypatch.delenv("RENSHI_SMS_FILE", raising=False)
    c.post("/admin/operations/run", data={"csrf": csrf, "job": "dispatch"})
    [failed] = _runs(db, "dispatch")
    assert failed.outcome == "failed" and "RENSHI_SMTP_HOST" in failed.error
    page = c.get("/admin/operations").text
    row = re.search(r'<tr id="job-dispatch" class="troubled">.*?</tr>', page, re.S)
    assert row, "the failed job is highlighted"
    assert "失败" in row[0] and "运行失败：已启用 email 渠道，但未设置 RENSHI_SMTP_HOST" in row[0]
    assert re.search(r'<details class="more danger" id="runs-dispatch" open>', page)

    # the notice that did not go out: listed, its address masked, even inside the error
    listing = re.search(rf'<tr id="delivery-{delivery}" class="troubled">.*?</tr>', page, re.S)
    assert listing, page
    assert f"{officer.name} zh***@school.test" in listing[0] and "审计摘要" in listing[0]
    assert "发送失败（已停止重试）" in listing[0] and "6 次" in listing[0]
    assert "拒收（550）" in listing[0] and address not in page
    api = live.client("province_officer")
    [item] = api.get("/api/v1/operations/deliveries").json()["items"]
    assert (item["id"], item["recipient"], item["channel_label"]) == (
        delivery,
        f"{officer.name} zh***@school.test",
        "邮件",
    )

    resent = c.post(f"/admin/operations/deliveries/{delivery}/resend", data={"csrf": csrf})
    assert resent.status_code == 303
    with db.connect() as conn:
        row2 = conn.execute(
            select(Delivery.status, Delivery.attempts).where(Delivery.id == delivery)
        ).one()
    assert (row2.status, row2.attempts) == ("pending", 0)
    again = c.get("/admin/operations").text
    assert "已重新排入发送队列" in again and "等待重新发送" in again
    assert f"/admin/operations/deliveries/{delivery}/resend" not in again
    twice = api.post(f"/api/v1/operations/deliveries/{delivery}/resend")
    assert twice.status_code == 404

    # the setting fixed, the next dispatch delivers it
    for key, value in {
        "RENSHI_SMTP_HOST": "127.0.0.1",
        "RENSHI_SMTP_PORT": str(port),
        "RENSHI_SMTP_FROM": "renshi@bureau.test",
    }.items():
        monkeypatch.setenv(key, value)
    done = api.post("/api/v1/operations/dispatch/run").json()
    assert done["outcome_label"] == "成功" and "邮件 1" in done["summary"], done
    assert [m["To"] for m in box.messages] == [address]
    assert "没有发送失败或重试中的通知" in c.get("/admin/operations").text
    with db.connect() as conn:
        assert (
            conn.execute(
                select(func.count()).select_from(runs_t).where(runs_t.c.job == "dispatch")
            ).scalar_one()
            == 2
        )


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_page_in_a_browser(live: Live) -> None:
    with chromium() as browser:
        page = browser.new_page(viewport=DESKTOP)
        escaped = offline(page, live.url)
        errors = console_errors(page)
        sign_in(page, live.url, "province_officer")
        page.get_by_role("link", name="系统运行").click()
        expect(page).to_have_url(re.compile(r"/admin/operations$"))
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="立即运行公示期满").click()
        expect(page.get_by_role("status")).to_contain_text("「公示期满」已运行，成功")
        expect(page.locator("#job-publicity")).to_contain_text("手动（")
        runs = page.locator("#runs-publicity")
        runs.locator("summary").click()
        expect(runs.locator("tbody tr")).to_have_count(1)
        page.once("dialog", lambda dialog: dialog.dismiss())  # 取消: nothing runs
        page.get_by_role("button", name="立即运行逾期督办").click()
        shot(page, "operations")
        assert escaped == [] and errors == []
    assert len(_runs(live.services.db, "publicity")) == 1
    assert _runs(live.services.db, "deadlines") == []
