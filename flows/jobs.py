"""The scheduled jobs, declared once: what each is called in the bureau's words, when it
runs, what it does, and the work itself.

``flows/serve.py`` builds its Prefect deployments from :data:`JOBS`, the operations page
(``api/ops_pages.py``) lists them, and ``renshi sweep`` runs them, so the page cannot name a
job the schedule does not run, nor describe a schedule other than the one served. Every run,
whichever door it came through, goes through :func:`run_job` and so through
``states.ops.run_recorded``: one record of it in our own tables.

No Prefect here: the API imports this module, and starting an API worker must not start
Prefect's machinery.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from notifications.channels import close_all
from notifications.config import build_channels, from_env
from notifications.dispatch import dispatch
from states.audit_digest import write_digest
from states.engine import CaseEngine
from states.ops import Outcome, Run, Start, run_recorded
from states.process.package import Catalogue
from states.processes import installed
from states.sweeps import (
    SweepReport,
    checks_sweep,
    deadline_sweep,
    publicity_sweep,
    reminder_sweep,
)

# Dispatch rounds when an officer runs it from the page (the page waits for it); the
# schedule's own runs go on until nothing is due (the dispatcher's own bound).
PAGE_ROUNDS: Final = 3


@dataclass(frozen=True)
class Context:
    """What a job's work runs with: the engine (database, clock, processes), and whether
    someone is waiting on the page for it to end."""

    engine: CaseEngine
    waiting: bool = False


@dataclass(frozen=True)
class Job:
    """One scheduled job. ``every`` (seconds) or ``cron`` ("M H * * *", bureau time) is its
    schedule; neither: it runs only when started by hand. ``counts`` names what its counts
    mean ("" leaves a count out of the summary)."""

    key: str
    label: str
    what: str
    work: Callable[[Context], Outcome]
    every: int | None = None
    cron: str | None = None
    note: str = ""
    counts: Mapping[str, str] = field(default_factory=dict)
    # How long an unfinished run holds the job when its process may have died on another
    # machine (on this one a dead process is seen at once): well beyond a normal run.
    stale_after: dt.timedelta = dt.timedelta(minutes=15)

    @property
    def scheduled(self) -> bool:
        return self.every is not None or self.cron is not None

    @property
    def schedule(self) -> str:
        """The schedule in words: 每30秒, 每天 8:30, 每小时第5分."""
        if self.every is not None:
            words = _every(self.every)
        elif self.cron is not None:
            words = _cron(self.cron)
        else:
            words = "不定时"
        return f"{words}（{self.note}）" if self.note else words


def _every(seconds: int) -> str:
    for size, unit in ((3600, "小时"), (60, "分钟"), (1, "秒")):
        if seconds % size == 0:
            n = seconds // size
            return f"每{unit}" if n == 1 and unit != "秒" else f"每{n}{unit}"
    raise AssertionError("unreachable")


def _cron(expr: str) -> str:
    """The three shapes the schedule uses; any other is refused at import rather than shown
    wrongly."""
    minute, hour, day, *rest = expr.split()
    if rest != ["*", "*"] or not minute.isdigit():
        raise ValueError(f"no words for the schedule {expr!r}: add them to flows/jobs.py")
    if day.isdigit() and hour.isdigit():
        return f"每月{int(day)}日 {int(hour)}:{int(minute):02d}"
    if day != "*":
        raise ValueError(f"no words for the schedule {expr!r}: add them to flows/jobs.py")
    if hour == "*":
        return f"每小时第{int(minute)}分"
    if hour.isdigit():
        return f"每天 {int(hour)}:{int(minute):02d}"
    raise ValueError(f"no words for the schedule {expr!r}: add them to flows/jobs.py")


# --- the work --------------------------------------------------------------------------------
def _swept(report: SweepReport) -> Outcome:
    return Outcome(counts=dict(report.counts), skipped=report.skipped, problems=report.errors)


def _deadlines(ctx: Context) -> Outcome:
    return _swept(deadline_sweep(ctx.engine))


def _reminders(ctx: Context) -> Outcome:
    return _swept(reminder_sweep(ctx.engine))


def _publicity(ctx: Context) -> Outcome:
    return _swept(publicity_sweep(ctx.engine))


def _checks(ctx: Context) -> Outcome:
    return _swept(checks_sweep(ctx.engine))


def _dispatch(ctx: Context) -> Outcome:
    """The channels are read from the environment at each run: a setting that cannot work
    fails the run with the variable to fix, where the province's officers see it."""
    channels = build_channels(from_env(os.environ))
    engine = ctx.engine
    try:
        if ctx.waiting:
            report = dispatch(
                engine.db, engine.clock, channels, catalogue=engine.processes, rounds=PAGE_ROUNDS
            )
        else:
            report = dispatch(engine.db, engine.clock, channels, catalogue=engine.processes)
    finally:
        close_all(channels)
    counts: dict[str, Any] = {
        "expanded": report.expanded,
        **report.sent,
        "retried": report.retried,
        "failed": report.failed,
    }
    problems = (
        [f"{report.failed}条通知发送失败，已停止重试（见“通知发送失败”）"] if report.failed else []
    )
    return Outcome(counts=counts, problems=problems)


def _audit_digest(ctx: Context, out: Path | None = None) -> Outcome:
    digest = write_digest(ctx.engine.db, ctx.engine.clock, out)
    counts = {
        "cases": digest.cases,
        "breaks": digest.breaks,
        "fingerprint": digest.fingerprint,
        "file": str(digest.path),
    }
    problems = (
        [f"审计核验发现{digest.breaks}处记录与审计链不符，请督查员按审计说明核查"]
        if digest.breaks
        else []
    )
    return Outcome(counts=counts, problems=problems)


def _own(name: str) -> Callable[[Context], Outcome]:
    """A process's check on a schedule of its own (``ScheduledCheck.own``): the monthly
    check-ins of support teaching, each automated compliance check (合规检查)."""

    def work(ctx: Context) -> Outcome:
        check = ctx.engine.processes.own_check(name)
        return Outcome(counts=dict(check.run(ctx.engine)))

    return work


SWEEP_COUNTS: Final = {"errors": "出错"}
# The installed processes' checks with schedules of their own, each a job (and a Prefect
# deployment) named by the check: declared in their packages, listed here for the schedule.
OWN_CHECKS: Final = tuple(Catalogue(installed()).own_checks())

JOBS: Final[tuple[Job, ...]] = (
    Job(
        key="deadlines",
        label="逾期督办",
        what="办理期限已过的待办，按各环节的规定向上级单位督办或自动退回；休假代理按起止日期交出和收回。",
        work=_deadlines,
        every=300,
        counts={
            **SWEEP_COUNTS,
            "escalated": "向上级督办",
            "delegations_started": "代理开始",
            "delegations_ended": "代理结束",
            "due_dates_fixed": "补定办理期限",
            "still_flagged": "仍待日历确定期限",
        },
    ),
    Job(
        key="reminders",
        label="催办提醒",
        what="即将到期、今日到期、已经逾期的待办，各向待办人提醒一次。",
        work=_reminders,
        cron="30 8 * * *",
        note="非工作日自动跳过",
        counts={
            **SWEEP_COUNTS,
            "reminder_due_soon": "即将到期提醒",
            "reminder_due_today": "今日到期提醒",
            "reminder_overdue": "逾期提醒",
        },
    ),
    Job(
        key="publicity",
        label="公示期满",
        what="最后一个工作日已过的公示自动结束，事项转入下一环节；有异议暂停的公示不动。",
        work=_publicity,
        cron="5 * * * *",
        counts=SWEEP_COUNTS,
    ),
    Job(
        key="dispatch",
        label="通知发送",
        what="把待发通知送达各人：站内消息、邮件、短信、群机器人；发不出的按间隔重试，多次失败后列入“通知发送失败”。",
        work=_dispatch,
        every=30,
        counts={
            "expanded": "新通知",
            "inapp": "站内消息",
            "email": "邮件",
            "sms": "短信",
            "webhook": "群机器人",
            "retried": "待重试",
            "failed": "发送失败",
        },
        stale_after=dt.timedelta(minutes=5),
    ),
    Job(
        key="audit-digest",
        label="审计核验与摘要",
        what="核验全部审计记录，把每个事项审计链的末条记录写入数据库以外的摘要文件，并把摘要指纹通知省级督查员。",
        work=_audit_digest,
        cron="30 1 * * *",
        counts={"cases": "事项", "breaks": "不符之处", "fingerprint": "摘要指纹", "file": ""},
        stale_after=dt.timedelta(hours=1),
    ),
    Job(
        key="checks",
        label="自动检查",
        what="运行各业务流程自己声明的定时检查（如任务清单的节点提醒与督办、交流轮岗的截止与到期提醒、支教期满），一项出错不影响其他各项。",
        work=_checks,
        cron="0 8 * * *",
        counts=SWEEP_COUNTS,
        stale_after=dt.timedelta(hours=1),
    ),
    *(
        Job(
            key=check.name,
            label=check.own.label,
            what=check.own.what,
            work=_own(check.name),
            cron=check.own.cron,
            counts=check.own.counts,
            stale_after=dt.timedelta(hours=1),
        )
        for check in OWN_CHECKS
        if check.own is not None
    ),
)
BY_KEY: Final[Mapping[str, Job]] = {job.key: job for job in JOBS}
SCHEDULES: Final = {job.key: job.schedule for job in JOBS}  # no words for one: fails here


def job(key: str) -> Job:
    return BY_KEY[key]


def run_job(
    key: str,
    engine: CaseEngine,
    start: Start,
    *,
    waiting: bool = False,
    reraise: bool = False,
) -> tuple[Run, Outcome | None]:
    """Run one job now and record the run: the schedule's flows, ``renshi sweep`` /
    ``renshi notify dispatch`` and the page's 「立即运行」 all come here. ``waiting``: an
    officer is waiting on the page (the dispatch does fewer rounds). ``reraise``: a failure
    is raised again after it is recorded (the flows, so that Prefect retries)."""
    found = BY_KEY[key]
    ctx = Context(engine, waiting)
    return run_recorded(
        engine.db,
        engine.clock,
        key,
        start,
        lambda: found.work(ctx),
        stale_after=found.stale_after,
        reraise=reraise,
    )


def take_digest(
    engine: CaseEngine, start: Start, out: Path | None = None
) -> tuple[Run, Outcome | None]:
    """The audit digest taken by hand (``renshi audit digest``), into ``out`` if given: a run
    of the same job the schedule runs, so that the 系统运行 page lists it with the nightly ones
    and a digest already being taken is not taken twice at once."""
    found = BY_KEY["audit-digest"]
    ctx = Context(engine)
    return run_recorded(
        engine.db,
        engine.clock,
        found.key,
        start,
        lambda: _audit_digest(ctx, out),
        stale_after=found.stale_after,
    )


__all__ = ["BY_KEY", "JOBS", "OWN_CHECKS", "Context", "Job", "job", "run_job", "take_digest"]
