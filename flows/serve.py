"""The process that serves Renshi's scheduled deployments (needs a real Prefect server).

Schedules are in the bureau's time zone: reminders on weekday and weekend mornings alike —
the reminder sweep itself asks the official calendar whether today is a working day — and
the audit digest every night, weekends included: history can be rewritten on any day.
"""

from __future__ import annotations

import os
import sys

from prefect import serve
from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron, Interval, Schedule

from flows.jobs import JOBS, Job
from flows.sweeps import FLOWS, PARAMETERS
from notifications.config import ConfigError, from_env

TZ = "Asia/Shanghai"


def _made(deployment: object) -> RunnerDeployment:
    """``to_deployment`` is typed sync-or-async; called from sync code it is a deployment."""
    assert isinstance(deployment, RunnerDeployment)
    return deployment


def deployments() -> list[RunnerDeployment]:
    return [_made(d) for d in _declared()]


def _schedule(job: Job) -> Schedule:
    if job.every is not None:
        return Interval(job.every, timezone=TZ)
    assert job.cron is not None
    return Cron(job.cron, timezone=TZ)


def _declared() -> list[object]:
    """One deployment per scheduled job of flows.jobs, named by its key, on its schedule: the
    operations page reads the same declarations, so the two cannot drift apart."""
    scheduled = [job for job in JOBS if job.scheduled]
    missing = {job.key for job in scheduled} ^ set(FLOWS)
    if missing:
        raise RuntimeError(f"scheduled jobs and flows differ: {sorted(missing)}")
    return [
        FLOWS[job.key].to_deployment(
            job.key,
            parameters=PARAMETERS.get(job.key, {}),
            schedules=[_schedule(job)],
            tags=["renshi"],
            description=f"{job.label}：{job.what}",
        )
        for job in scheduled
    ]


def main() -> None:
    try:
        from_env(os.environ)  # a missing SMTP host or gateway URL stops us here, not at 2 a.m.
    except ConfigError as exc:
        print(f"通知渠道配置错误：{exc}", file=sys.stderr)
        raise SystemExit(2) from None
    serve(*deployments(), print_starting_message=False, pause_on_shutdown=False)


if __name__ == "__main__":
    main()
