"""PostgreSQL under contention: many clients on one case, many clients on many cases, and the
API process killed in the middle of a load.

PostgreSQL only, on purpose: SQLite serialises writers before they read, so races that the
row lock (``SELECT ... FOR UPDATE``) and the version check must settle never happen there.
The fixtures fail, never skip, when PostgreSQL is missing.
"""

from __future__ import annotations

import datetime as dt
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, insert, select, text, update

from api.auth import hash_password
from states.audit import GENESIS, canonical, case_digest, event_hash
from states.audit_keys import sealer
from states.clock import FrozenClock, bureau_time
from states.engine import CaseEngine, ledger
from states.errors import Conflict, EventNotAllowed
from states.org import SCHOOL_OFFICER, Actor
from states.processes import installed
from states.store.audit_store import verify_trail
from states.store.models import (
    AuditEvent,
    Base,
    Case,
    OutboxMessage,
    Person,
    Task,
    Teacher,
    table_of,
)
from tests.live import PASSWORD, free_port, serve
from tests.world import World, build_world

cases_t, audit_t, outbox_t = table_of(Case), table_of(AuditEvent), table_of(OutboxMessage)
people_t, teachers_t, tasks_t = table_of(Person), table_of(Teacher), table_of(Task)

AT = bureau_time(2026, 9, 1)
FORM = {"target_title": "senior", "subject": "数学", "statement": "任教十八年，教学成绩突出。"}
APPROVE = "school_approve"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def pg(pg_engine: Engine) -> Engine:
    """The session's PostgreSQL schema, emptied for this test."""
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with pg_engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    return pg_engine


@pytest.fixture
def world(pg: Engine) -> World:
    return build_world(pg, experts=0)


def declared(db: Engine, world: World, n: int, school: str = "urban") -> list[int]:
    """``n`` teachers who each declared for 高级 and wait in 学校审核, written set-wise.

    Going through ``start`` + ``submit`` would cost two transitions per case (tens of
    seconds for ten thousand); the rows here are what those two write — case, a two-link
    audit chain sealed the engine's way, its ledger row, the school's open task — so
    ``fire`` (and ``verify_trail``) cannot tell.
    """
    unit_id, path = world.units[school]
    with db.begin() as conn:
        people = list(
            conn.execute(
                insert(people_t).returning(people_t.c.id, sort_by_parameter_order=True),
                [{"name": f"教师{i}", "active": True} for i in range(n)],
            ).scalars()
        )
        conn.execute(
            insert(teachers_t),
            [
                {
                    "person_id": pid,
                    "school_id": unit_id,
                    "gender": "F",
                    "birth_date": dt.date(1985, 1, 1),
                    "subject": "数学",
                    "school_level": "junior",
                    "title": "grade1",
                    "title_date": dt.date(2019, 3, 1),
                    "education": "bachelor",
                    "started_teaching_on": dt.date(2008, 9, 1),
                    "joined_school_on": dt.date(2012, 9, 1),
                    "rural_years": 2.0,
                }
                for pid in people
            ],
        )
        # Case ids first: each audit hash covers its case id.
        ids = list(
            conn.execute(
                text(
                    "SELECT nextval(pg_get_serial_sequence('cases', 'id'))"
                    " FROM generate_series(1, :n)"
                ),
                {"n": n},
            ).scalars()
        )
        cases, audits = [], []
        created, submitted = canonical({"form": FORM}), canonical({})
        seal = sealer()
        for case_id, pid in zip(ids, people, strict=True):
            label = f"教师{pid}"
            link = {"case_id": case_id, "at": AT, "actor_id": pid, "actor_label": label}
            row = case_digest(
                process="title_review", year=2026, org_unit_id=unit_id, org_path=path,
                applicant_id=pid, subject_id=pid, parent_id=None, slot_key=None, data=FORM,
            )  # fmt: skip
            first = event_hash(
                seal,
                GENESIS,
                **link,
                seq=1,
                version=1,
                event="create",
                from_state=None,
                to_state="draft",
                payload=created,
                data=row,
            )
            second = event_hash(
                seal,
                first,
                **link,
                seq=2,
                version=2,
                event="submit",
                from_state="draft",
                to_state="school_review",
                payload=submitted,
                data=row,
            )
            sealed = {"key_id": seal.key_id, "data_digest": row}
            audits += [
                {
                    **link,
                    **sealed,
                    "seq": 1,
                    "version": 1,
                    "event": "create",
                    "from_state": None,
                    "to_state": "draft",
                    "payload": created,
                    "idempotency_key": None,
                    "prev_hash": GENESIS,
                    "hash": first,
                },
                {
                    **link,
                    **sealed,
                    "seq": 2,
                    "version": 2,
                    "event": "submit",
                    "from_state": "draft",
                    "to_state": "school_review",
                    "payload": submitted,
                    "idempotency_key": None,
                    "prev_hash": first,
                    "hash": second,
                },
            ]
            cases.append(
                {
                    "id": case_id,
                    "process": "title_review",
                    "year": 2026,
                    "state": "school_review",
                    "org_unit_id": unit_id,
                    "org_path": path,
                    "applicant_id": pid,
                    "subject_id": pid,
                    "data": FORM,
                    "slot_key": None,
                    "version": 2,
                    "seq": 2,
                    "audit_head": second,
                    "opened_at": AT,
                    "updated_at": AT,
                }
            )
        conn.execute(insert(cases_t), cases)
        conn.execute(insert(audit_t), audits)
        ledger.append(conn, [(a["case_id"], a["hash"]) for a in audits if a["seq"] == 1], AT)
        conn.execute(
            insert(tasks_t),
            [
                {
                    "case_id": case_id,
                    "state": "school_review",
                    "kind": "act",
                    "role": SCHOOL_OFFICER,
                    "org_unit_id": unit_id,
                    "assignee_id": None,
                    "opened_on": AT.date(),
                    "due_on": dt.date(2026, 9, 8),
                    "due_flag": None,
                    "status": "open",
                    "opened_at": AT,
                    "remind_level": 0,
                }
                for case_id in ids
            ],
        )
    return ids


def trail_breaks(db: Engine) -> list[str]:
    with db.connect() as conn:
        return [str(b) for b in verify_trail(conn)]


def approvals_per_case(db: Engine) -> Counter[int]:
    with db.connect() as conn:
        rows = conn.execute(select(audit_t.c.case_id).where(audit_t.c.event == APPROVE))
        return Counter(r.case_id for r in rows)


def notices_per_case(db: Engine) -> Counter[int]:
    """The applicant's 'your case moved' notices for the approval, one per transition."""
    with db.connect() as conn:
        rows = conn.execute(
            select(outbox_t.c.case_id, outbox_t.c.payload).where(outbox_t.c.kind == "case_update")
        )
        return Counter(r.case_id for r in rows if r.payload["event"] == APPROVE)


def race(n: int, attempt: Any) -> list[Any]:
    """Run ``attempt(i)`` in ``n`` threads released together; each returns its outcome."""
    barrier = threading.Barrier(n)
    outcomes: list[Any] = [None] * n

    def one(i: int) -> None:
        barrier.wait(timeout=30)
        try:
            outcomes[i] = attempt(i)
        except Exception as exc:  # the outcome under test, whatever it is
            outcomes[i] = exc

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return outcomes


# --- 16 clients, one case -------------------------------------------------------------------
def test_sixteen_officers_approve_one_case_once(pg: Engine, world: World) -> None:
    eng = CaseEngine(pg, installed(), FrozenClock(AT))
    officer = world.actors["school_officer"]
    for case_id in declared(pg, world, 5):
        outcomes = race(16, lambda _i, c=case_id: eng.fire(c, APPROVE, officer, expected_version=2))
        won = [o for o in outcomes if not isinstance(o, Exception)]
        lost = [o for o in outcomes if isinstance(o, Conflict | EventNotAllowed)]
        assert len(won) == 1 and won[0].to_state == "school_publicity"
        assert len(lost) == 15, outcomes  # anything else (a deadlock, a 500) fails here
        # the losers waited on the row lock, then saw the new version: "refresh and retry"
        assert all(e.status == 409 and "刷新" in e.message for e in lost), lost
    assert set(approvals_per_case(pg).values()) == {1}
    assert set(notices_per_case(pg).values()) == {1}
    with pg.connect() as conn:
        states = conn.execute(select(cases_t.c.state, cases_t.c.version, cases_t.c.seq)).all()
        dup = conn.execute(
            select(audit_t.c.case_id, audit_t.c.seq)
            .group_by(audit_t.c.case_id, audit_t.c.seq)
            .having(func.count() > 1)
        ).all()
    assert set(states) == {("school_publicity", 3, 3)}
    assert dup == []
    assert trail_breaks(pg) == []


def test_sixteen_http_clients_on_one_case_get_one_200(
    pg: Engine, world: World, pg_url: str, tmp_path: Path
) -> None:
    case_id = declared(pg, world, 1)[0]
    _give_login(pg, world.actors["school_officer"], "racer")
    with serve(pg_url, FrozenClock(AT), tmp_path / "files") as live:
        signed_in = live.client("racer")
        token = signed_in.headers["Authorization"]
        signed_in.close()
        clients = [
            httpx.Client(base_url=live.url, timeout=30, headers={"Authorization": token})
            for _ in range(16)
        ]
        body = {"event": APPROVE, "expected_version": 2, "payload": {"comment": "同意"}}
        try:
            responses = race(
                16, lambda i: clients[i].post(f"/api/v1/cases/{case_id}/events", json=body)
            )
        finally:
            for c in clients:
                c.close()
    codes = Counter(r.status_code for r in responses)
    assert codes == {200: 1, 409: 15}, codes
    refused = next(r for r in responses if r.status_code == 409)
    assert "版本" in refused.json()["message"] or "不能" in refused.json()["message"]
    assert approvals_per_case(pg) == {case_id: 1}
    assert trail_breaks(pg) == []


# --- 16 clients, 10,000 cases ----------------------------------------------------------------
def test_ten_thousand_cases_by_sixteen_clients_each_applied_once(pg: Engine, world: World) -> None:
    ids = declared(pg, world, 10_000)
    eng = CaseEngine(pg, installed(), FrozenClock(AT))
    officer = world.actors["school_officer"]
    work: queue.SimpleQueue[int] = queue.SimpleQueue()
    for n, case_id in enumerate(ids):
        work.put(case_id)
        if n % 10 == 0:  # a second client on every tenth case, right behind the first
            work.put(case_id)
    done: list[list[int]] = [[] for _ in range(16)]
    errors: list[BaseException] = []

    def client(i: int) -> None:
        while True:
            try:
                case_id = work.get_nowait()
            except queue.Empty:
                return
            try:
                eng.fire(case_id, APPROVE, officer, expected_version=2)
            except Exception as exc:  # only the second approval of a case is refused
                errors.append(exc)
            else:
                done[i].append(case_id)

    race(16, client)
    assert len(errors) == 1_000, Counter(type(e).__name__ for e in errors)
    assert all(isinstance(e, Conflict | EventNotAllowed) for e in errors)
    applied = [c for d in done for c in d]
    assert sorted(applied) == sorted(ids)
    assert all(len(d) > 0 for d in done), "every client got work"
    approvals = approvals_per_case(pg)
    assert len(approvals) == 10_000 and set(approvals.values()) == {1}
    notices = notices_per_case(pg)
    assert len(notices) == 10_000 and set(notices.values()) == {1}
    with pg.connect() as conn:
        states = Counter(conn.execute(select(cases_t.c.state, cases_t.c.version)).all())
        open_tasks = Counter(
            conn.execute(select(tasks_t.c.case_id).where(tasks_t.c.status == "open")).scalars()
        )
    assert states == {("school_publicity", 3): 10_000}
    # the school's task closed, the publicity window opened, once per case
    assert len(open_tasks) == 10_000 and set(open_tasks.values()) == {1}
    assert trail_breaks(pg) == []


# --- the API killed mid-load ---------------------------------------------------------------
def _give_login(db: Engine, actor: Actor, username: str) -> None:
    with db.begin() as conn:
        conn.execute(
            update(people_t)
            .where(people_t.c.id == actor.person_id)
            .values(username=username, password_hash=hash_password(PASSWORD))
        )


@pytest.fixture
def api_env(pg_url: str, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "RENSHI_DATABASE_URL": pg_url,
        "RENSHI_VAR": str(tmp_path / "var"),
        "RENSHI_FILES": str(tmp_path / "files"),
        "RENSHI_SECRET_KEY": "5e" * 32,
    }


def _start_api(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "api.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=ROOT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the API process exited with {proc.returncode} at start")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return proc, url
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the API process did not become ready within 60 s")


@pytest.fixture
def api(api_env: dict[str, str]) -> Iterator[list[subprocess.Popen[bytes]]]:
    """The API processes a test starts, killed at its end whatever happened."""
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait(30)


def _sign_in(url: str, username: str) -> dict[str, str]:
    r = httpx.post(
        f"{url}/api/v1/auth/token", json={"username": username, "password": PASSWORD}, timeout=30
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_sigkill_mid_load_loses_no_transition_and_no_notice(
    pg: Engine, world: World, api_env: dict[str, str], api: list[subprocess.Popen[bytes]]
) -> None:
    ids = declared(pg, world, 2_000)
    _give_login(pg, world.actors["school_officer"], "loader")
    proc, url = _start_api(api_env)
    api.append(proc)
    auth = _sign_in(url, "loader")
    work: queue.SimpleQueue[int] = queue.SimpleQueue()
    for case_id in ids:
        work.put(case_id)
    answered: dict[int, int] = {}  # case -> status, for answers received before the kill
    in_flight: set[int] = set()
    enough = threading.Event()
    body = {"event": APPROVE, "expected_version": 2}

    def client() -> None:
        with httpx.Client(base_url=url, timeout=30, headers=auth) as c:
            while True:
                try:
                    case_id = work.get_nowait()
                except queue.Empty:
                    return
                in_flight.add(case_id)
                try:
                    r = c.post(f"/api/v1/cases/{case_id}/events", json=body)
                except httpx.TransportError:
                    return  # the server died under this request: its outcome is unknown
                answered[case_id] = r.status_code
                in_flight.discard(case_id)
                if len(answered) >= 300:
                    enough.set()

    loaders = [threading.Thread(target=client) for _ in range(8)]
    for t in loaders:
        t.start()
    assert enough.wait(120), f"only {len(answered)} answers before the deadline"
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    for t in loaders:
        t.join(60)
    assert not work.empty(), "the kill came after the load ended"
    assert set(answered.values()) == {200}, Counter(answered.values())

    proc, url = _start_api(api_env)
    api.append(proc)

    with pg.connect() as conn:
        # the end of each chain: rows in seq order, the last one per case wins
        last = {
            r.case_id: r
            for r in conn.execute(
                select(audit_t.c.case_id, audit_t.c.to_state, audit_t.c.seq).order_by(
                    audit_t.c.case_id, audit_t.c.seq
                )
            )
        }
        cases = {
            r.id: r for r in conn.execute(select(cases_t.c.id, cases_t.c.state, cases_t.c.seq))
        }
    # Every case is where its audit chain says it is: nothing half-applied.
    assert {c: (r.state, r.seq) for c, r in cases.items()} == {
        c: (r.to_state, r.seq) for c, r in last.items()
    }
    assert trail_breaks(pg) == []
    approvals = approvals_per_case(pg)
    assert set(approvals.values()) == {1}
    assert all(approvals[c] == 1 for c in answered), "an approval answered 200 is applied"
    assert notices_per_case(pg) == approvals, "every transition kept its notice"
    unapplied = sorted(set(ids) - set(approvals))
    assert unapplied, "the kill left work undone"
    print(
        f"\nkilled after {len(answered)} answers; {len(in_flight)} in flight;"
        f" {len(approvals)} applied in all"
    )

    # The restarted server serves: the row locks of the killed process are gone.
    auth = _sign_in(url, "loader")
    with httpx.Client(base_url=url, timeout=30, headers=auth) as c:
        for case_id in sorted(in_flight & set(unapplied))[:3] + unapplied[-1:]:
            r = c.post(f"/api/v1/cases/{case_id}/events", json=body)
            assert r.status_code == 200, r.text
            assert r.json()["to_state"] == "school_publicity"
        again = c.post(f"/api/v1/cases/{unapplied[-1]}/events", json=body)
        assert again.status_code == 409
    assert trail_breaks(pg) == []
