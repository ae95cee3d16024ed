"""The real deployments' flows under the Prefect test harness: a publicity window closes, the
reminder and deadline sweeps run, and the dispatch flow delivers the notices to a real SMTP
server and a local group-robot endpoint."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy import update

from states.clock import bureau_time
from states.store.models import OrgUnit, Person, table_of
from tests.test_dispatch import Mailbox, Robot, robot, smtp  # noqa: F401 - fixtures
from tests.world import Driver, World


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


def test_deployments_are_scheduled_in_bureau_time() -> None:
    from flows.serve import deployments

    deps = {d.name: d for d in deployments()}
    assert set(deps) == {"deadlines", "reminders", "publicity", "dispatch"}
    reminders = deps["reminders"].schedules[0].schedule
    assert reminders.cron == "30 8 * * *" and reminders.timezone == "Asia/Shanghai"


def test_flows_close_a_window_and_deliver_the_notices(
    prefect_server: None,
    d: Driver,
    world: World,
    smtp: tuple[Mailbox, int],  # noqa: F811
    robot: str,  # noqa: F811
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flows.sweeps import (
        deadline_sweep_flow,
        dispatch_flow,
        publicity_sweep_flow,
        reminder_sweep_flow,
    )

    box, port = smtp
    d.clock.set(bureau_time(2026, 9, 30, 9))
    case_id = d.declare(world.teacher("流程"))
    d.fire(case_id, "school_approve", "school_officer")
    with d.eng.db.begin() as conn:
        conn.execute(
            update(table_of(Person))
            .where(table_of(Person).c.id == world.actors["school_officer"].person_id)
            .values(email="officer@school.test", notify_channels=["email"])
        )
        conn.execute(
            update(table_of(OrgUnit))
            .where(table_of(OrgUnit).c.id == world.unit("urban"))
            .values(settings={"webhooks": [{"kind": "dingtalk", "url": robot}]})
        )
    for key, value in {
        "RENSHI_DATABASE_URL": db_url,
        "RENSHI_CHANNELS": "inapp,email,webhook",
        "RENSHI_SMTP_HOST": "127.0.0.1",
        "RENSHI_SMTP_PORT": str(port),
        "RENSHI_SMTP_FROM": "renshi@bureau.test",
    }.items():
        monkeypatch.setenv(key, value)
    assert os.environ["RENSHI_DATABASE_URL"] == db_url

    at = "2026-10-14T00:05:00+08:00"
    closed = publicity_sweep_flow(at=at)
    assert closed == {"skipped": None, "close_publicity:school_recommend": 1}
    assert d.case(case_id).state == "school_recommend"
    assert reminder_sweep_flow(at="2026-10-14T08:30:00+08:00")["skipped"] is None
    assert deadline_sweep_flow(at=at)["skipped"] is None
    sent = dispatch_flow(at=at)
    assert sent["email"] >= 1 and sent["webhook"] >= 1 and sent["failed"] == 0
    assert any("学校推荐" in s for s in box.subjects()), box.subjects()
    assert Robot.received and Robot.received[0]["json"]["msgtype"] == "text"
