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
from prefect.schedules import Cron, Interval

from flows.sweeps import (
    audit_digest_flow,
    deadline_sweep_flow,
    dispatch_flow,
    publicity_sweep_flow,
    reminder_sweep_flow,
)
from notifications.config import ConfigError, from_env

TZ = "Asia/Shanghai"


def _made(deployment: object) -> RunnerDeployment:
    """``to_deployment`` is typed sync-or-async; called from sync code it is a deployment."""
    assert isinstance(deployment, RunnerDeployment)
    return deployment


def deployments() -> list[RunnerDeployment]:
    return [_made(d) for d in _declared()]


def _declared() -> list[object]:
    return [
        deadline_sweep_flow.to_deployment(
            "deadlines", schedules=[Interval(300, timezone=TZ)], tags=["renshi"]
        ),
        reminder_sweep_flow.to_deployment(
            "reminders", schedules=[Cron("30 8 * * *", timezone=TZ)], tags=["renshi"]
        ),
        publicity_sweep_flow.to_deployment(
            "publicity", schedules=[Cron("5 * * * *", timezone=TZ)], tags=["renshi"]
        ),
        dispatch_flow.to_deployment(
            "dispatch", schedules=[Interval(30, timezone=TZ)], tags=["renshi"]
        ),
        audit_digest_flow.to_deployment(
            "audit-digest", schedules=[Cron("30 1 * * *", timezone=TZ)], tags=["renshi"]
        ),
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
