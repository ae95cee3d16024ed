"""The real deployments' flows under the Prefect test harness: a publicity window closes, the
reminder and deadline sweeps run, and the dispatch flow delivers the notices to a real SMTP
server and a local group-robot endpoint."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update

from states.clock import bureau_time
from states.org import INSPECTOR
from states.store.models import OrgUnit, OutboxMessage, Person, table_of
from tests.live import free_port
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
    assert set(deps) == {
        "deadlines",
        "reminders",
        "publicity",
        "dispatch",
        "audit-digest",
        "checks",
        "support-checkins",
        "compliance-ethics_pledge",
        "compliance-cert_registration",
        "compliance-rural_honour",
        "compliance-rotation_targets",
        "compliance-rotation_school_targets",
        "compliance-task_overdue",
    }
    reminders = deps["reminders"].schedules[0].schedule
    assert reminders.cron == "30 8 * * *" and reminders.timezone == "Asia/Shanghai"
    nightly = deps["audit-digest"].schedules[0].schedule
    assert nightly.cron == "30 1 * * *" and nightly.timezone == "Asia/Shanghai"


def test_audit_digest_flow_writes_outside_the_database_and_tells_the_inspectors(
    prefect_server: None,
    d: Driver,
    world: World,
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flows.sweeps import audit_digest_flow

    world.officer("inspector", INSPECTOR, "province")
    d.declare(world.teacher("摘要"))
    monkeypatch.setenv("RENSHI_DATABASE_URL", db_url)
    monkeypatch.setenv("RENSHI_AUDIT_DIGESTS", str(tmp_path / "digests"))
    made = audit_digest_flow(at="2026-09-02T01:30:00+08:00")
    assert made["cases"] == 1 and made["breaks"] == 0
    path = Path(made["file"])
    assert path.parent == tmp_path / "digests"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == made["fingerprint"]
    with d.eng.db.connect() as conn:
        sent = conn.execute(
            select(OutboxMessage.payload).where(OutboxMessage.kind == "audit_digest")
        ).scalars()
        assert [p["fingerprint"] for p in sent] == [made["fingerprint"]]


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


def test_served_deployments_run_on_schedule(tmp_path: Path, sqlite_template: Path) -> None:
    """A real ``prefect server`` and ``flows.serve``: the scheduler creates runs of our
    deployments and the served process completes them. (This is what broke when the server
    met a SQLAlchemy it could not work with: deployments registered, nothing ever ran.) The
    same server must take the requests ``prefect deploy`` makes for deploy/prefect.yaml."""
    shutil.copy(sqlite_template, tmp_path / "renshi.db")
    db_url = f"sqlite:///{tmp_path / 'renshi.db'}"
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_API_URL": api,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "1",
        "DO_NOT_TRACK": "1",
        "RENSHI_DATABASE_URL": db_url,
        "RENSHI_CHANNELS": "inapp",
    }
    prefect = str(Path(sys.executable).with_name("prefect"))
    server = subprocess.Popen(
        [prefect, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    served: subprocess.Popen[bytes] | None = None
    try:
        _wait_for(lambda: httpx.get(f"{api}/health", timeout=2).status_code == 200, 120)
        served = subprocess.Popen([sys.executable, "-m", "flows.serve"], env=env)

        def completed() -> bool:
            runs = httpx.post(
                f"{api}/flow_runs/filter",
                json={
                    "limit": 20,
                    "offset": 0,
                    "flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}},
                },
                timeout=5,
            ).json()
            return len(runs) > 0

        _wait_for(completed, 150)

        # `prefect deploy` (deploy/prefect.yaml) asks for a pool's workers with "limit": null;
        # a server on FastAPI 0.151 or later refuses that with 422 and the deploy stops.
        pool = httpx.post(
            f"{api}/work_pools/", json={"name": "renshi", "type": "process"}, timeout=5
        )
        assert pool.status_code in (200, 201), pool.text
        workers = httpx.post(
            f"{api}/work_pools/renshi/workers/filter",
            json={"offset": None, "limit": None},
            timeout=5,
        )
        assert workers.status_code == 200, workers.text
    finally:
        for proc in (served, server):
            if proc is not None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()


def _wait_for(check: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise AssertionError(f"not done within {seconds} s")
