"""Scale-out, started for real rather than described in a compose file: a Prefect server on
PostgreSQL, the deployments registered from deploy/prefect.yaml with ``prefect deploy``, a
process worker in the ``renshi`` pool running them against the application database on
PostgreSQL, and two API processes serving that same database.

Everything here is a plain process the machine can start (no container engine): the same
commands the compose file and the service units run.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import yaml
from sqlalchemy import insert, select, text

from states.clock import FrozenClock, bureau_time
from states.engine import CaseEngine
from states.org import SCHOOL_OFFICER
from states.processes import installed
from states.processes.title_review import seed as title_review
from states.seed import seed
from states.seed.builders import Unit, fire_current, stand_in
from states.store.db import make_engine
from states.store.migrate import upgrade
from states.store.models import Case, JobRun, Person, RoleBinding, table_of
from tests.conftest import PG_BASE_URL
from tests.live import PASSWORD, free_port

ROOT = Path(__file__).resolve().parent.parent
PREFECT_YAML = ROOT / "deploy" / "prefect.yaml"
BIN = Path(sys.executable).parent
WINDOW_OVER = "2026-10-14T00:05:00+08:00"  # the school's publicity window has run out


def _admin() -> psycopg.Connection[Any]:
    return psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test", autocommit=True)


@pytest.fixture
def prefect_database() -> Iterator[str]:
    """A database of its own for the Prefect server (as compose gives it one)."""
    name = f"renshi_prefect_{uuid.uuid4().hex[:10]}"
    with _admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    with _admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def app_database() -> Iterator[str]:
    """The application's database on PostgreSQL (a schema of its own: the worker's flow runs
    and the API processes connect to it by URL), migrated and seeded."""
    schema = f"renshi_w_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_BASE_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{PG_BASE_URL}?options=-csearch_path%3D{schema}"
    db = make_engine(url)
    upgrade(db)
    seed(db, 300)
    db.dispose()
    yield url
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _case_in_publicity(url: str) -> tuple[int, str]:
    """A declaration approved by its school, in the school's publicity window: the case, and
    the demo school officer's username (now bound to the case's school too)."""
    db = make_engine(url)
    eng = CaseEngine(db, installed(), FrozenClock(bureau_time(2026, 9, 30, 9)))
    with db.connect() as conn:
        [teacher] = title_review.eligible(conn, 1, ordinary_road=True)
    [case_id] = title_review.declare_for(eng, [teacher])
    with db.begin() as conn:
        case = conn.execute(select(Case.org_unit_id, Case.org_path).where(Case.id == case_id)).one()
        officer = conn.execute(
            select(Person.id).where(Person.username == "school_officer")
        ).scalar_one()
        binding = {"person_id": officer, "role": SCHOOL_OFFICER, "org_unit_id": case.org_unit_id}
        bound = conn.execute(
            select(RoleBinding.id).filter_by(**binding)  # type: ignore[arg-type]
        ).first()
        if bound is None:
            conn.execute(insert(table_of(RoleBinding)).values(binding))
    approver = stand_in(officer, SCHOOL_OFFICER, [Unit(case.org_unit_id, case.org_path)])
    fire_current(eng, case_id, "school_approve", approver)
    db.dispose()
    return case_id, "school_officer"


class Processes:
    """The processes a test starts, stopped (SIGINT, then kill) however it ends."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
        out = log.open("wb")
        # a session of its own: the server's and the worker's children are stopped with them
        proc = subprocess.Popen(
            args, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        for proc in reversed(self.procs):
            _signal(proc, signal.SIGINT)
        deadline = time.monotonic() + 5  # a graceful stop, or the end of it
        for proc in reversed(self.procs):
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            _signal(proc, signal.SIGKILL)  # whatever of its group is left
            proc.wait(timeout=10)


def _signal(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)


@pytest.fixture
def processes() -> Iterator[Processes]:
    started = Processes()
    yield started
    started.stop()


def _wait_for(check: Callable[[], bool], seconds: float, what: str, logs: Path) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    tails = "\n".join(
        f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in sorted(logs.glob("*.log"))
    )
    raise AssertionError(f"{what}: not done within {seconds} s\n{tails}")


def test_a_worker_runs_the_registered_deployments_and_two_apis_share_the_database(
    tmp_path: Path, prefect_database: str, app_database: str, processes: Processes
) -> None:
    case_id, username = _case_in_publicity(app_database)
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_API_URL": api,
        "PREFECT_API_DATABASE_CONNECTION_URL": prefect_database,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        # the runs this test asks for, nothing the schedules would add; polled every second
        "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        "RENSHI_HOME": str(ROOT),
        "RENSHI_DATABASE_URL": app_database,
        "RENSHI_CHANNELS": "inapp",
        "RENSHI_SECRET_KEY": "5e" * 32,
        "RENSHI_FILES": str(tmp_path / "files"),
        "RENSHI_VAR": str(tmp_path / "var"),
    }
    prefect = str(BIN / "prefect")

    # 1. the Prefect server, its own tables on PostgreSQL
    processes.start([prefect, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                    env, tmp_path / "server.log")  # fmt: skip
    _wait_for(lambda: httpx.get(f"{api}/health", timeout=2).status_code == 200, 120,
              "Prefect server", tmp_path)  # fmt: skip
    name = prefect_database.rsplit("/", 1)[1]  # its tables are in PostgreSQL, not SQLite
    with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={name}") as own:
        assert own.execute("SELECT count(*) FROM deployment").fetchone() == (0,)

    # 2. the pool, and every deployment of deploy/prefect.yaml registered by `prefect deploy`
    made = subprocess.run(
        [prefect, "work-pool", "create", "renshi", "--type", "process"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert made.returncode == 0, made.stdout + made.stderr
    deploy = subprocess.run(
        [prefect, "deploy", "--all", "--no-prompt", "--prefect-file", str(PREFECT_YAML)],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert deploy.returncode == 0, deploy.stdout[-4000:] + deploy.stderr[-4000:]
    declared = {d["name"] for d in yaml.safe_load(PREFECT_YAML.read_text())["deployments"]}
    registered = httpx.post(f"{api}/deployments/filter", json={"limit": 200}, timeout=10).json()
    by_name = {d["name"]: d for d in registered}
    assert set(by_name) == declared
    assert {d["work_pool_name"] for d in registered} == {"renshi"}

    # 3. a process worker polling the pool (not flow.serve)
    processes.start([prefect, "worker", "start", "--pool", "renshi", "--type", "process"],
                    env, tmp_path / "worker.log")  # fmt: skip

    def run(deployment: str, params: dict[str, Any]) -> str:
        r = httpx.post(
            f"{api}/deployments/{by_name[deployment]['id']}/create_flow_run",
            json={"parameters": params},
            timeout=10,
        )
        assert r.status_code in (200, 201), r.text
        return str(r.json()["id"])

    def finished(run_id: str) -> Callable[[], bool]:
        def check() -> bool:
            state = httpx.get(f"{api}/flow_runs/{run_id}", timeout=5).json()["state"]
            assert state["type"] not in ("FAILED", "CRASHED"), state
            return bool(state["type"] == "COMPLETED")

        return check

    publicity = run("publicity", {"at": WINDOW_OVER})
    # an automated compliance check (合规检查): a deployment of its own with its key
    checks = run("compliance-task_overdue", {"key": "compliance-task_overdue", "at": WINDOW_OVER})
    for flow_run in (publicity, checks):
        _wait_for(finished(flow_run), 240, f"flow run {flow_run}", tmp_path)
    runs = httpx.post(f"{api}/flow_runs/filter", json={"limit": 10}, timeout=10).json()
    assert {r["work_pool_name"] for r in runs if r["id"] in (publicity, checks)} == {"renshi"}

    # the runs acted on the application's database, and recorded themselves there
    db = make_engine(app_database)
    with db.connect() as conn:
        state, version = conn.execute(
            select(Case.state, Case.version).where(Case.id == case_id)
        ).one()
        jobs = dict(
            conn.execute(
                select(table_of(JobRun).c.job, table_of(JobRun).c.outcome).where(
                    table_of(JobRun).c.trigger == "schedule"
                )
            ).all()
        )
    db.dispose()
    assert state == "school_recommend"
    assert jobs.get("publicity") == "ok" and jobs.get("compliance-task_overdue") == "ok"

    # 4. two API processes on the same database, one signing key
    apis = []
    for n in range(2):
        api_port = free_port()
        processes.start(
            [str(BIN / "uvicorn"), "api.app:create_app", "--factory", "--host", "127.0.0.1",
             "--port", str(api_port), "--workers", "1"],
            env, tmp_path / f"api{n}.log",
        )  # fmt: skip
        apis.append(f"http://127.0.0.1:{api_port}")
    for url in apis:
        _wait_for(lambda u=url: httpx.get(f"{u}/readyz", timeout=2).status_code == 200, 60,  # type: ignore[misc]
                  f"API {url}", tmp_path)  # fmt: skip
    a, b = (httpx.Client(base_url=u, timeout=30) for u in apis)
    token = a.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert token.status_code == 200, token.text
    for client in (a, b):  # a sign-in on one is good on the other
        client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
    seen = b.get(f"/api/v1/cases/{case_id}")
    assert seen.status_code == 200, seen.text
    assert (seen.json()["state"], seen.json()["version"]) == ("school_recommend", version)
    back = {"event": "send_back", "expected_version": version,
            "payload": {"reason": "推荐材料缺少近三年考核结果，请补充"}}  # fmt: skip
    first = a.post(f"/api/v1/cases/{case_id}/events", json=back)
    assert first.status_code == 200, first.text
    # the same step from the other process, on the version both read: refused, not doubled
    again = b.post(f"/api/v1/cases/{case_id}/events", json=back)
    assert again.status_code == 409, again.text
    assert b.get(f"/api/v1/cases/{case_id}").json()["state"] == "returned"
