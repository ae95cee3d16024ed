"""A real HTTP server (uvicorn, in a thread) over a real database, for API and browser tests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn
from fastapi import FastAPI

from api.app import create_app
from api.auth import AuthConfig
from api.deps import Services
from api.files import FileStore
from states.clock import FrozenClock
from states.engine import CaseEngine
from states.process.package import ProcessPackage
from states.processes import installed
from states.store.db import make_engine

PASSWORD = "renshi2026"
# One TLS context for every test client: httpx reads the CA bundle for each new client it
# makes (30 ms; the suite makes thousands), though the test servers speak plain HTTP.
TLS = httpx.create_ssl_context()


@dataclass
class Live:
    url: str
    services: Services
    clock: FrozenClock

    def client(self, username: str | None = None) -> httpx.Client:
        c = httpx.Client(base_url=self.url, timeout=30, verify=TLS)
        if username:
            r = c.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
            assert r.status_code == 200, r.text
            c.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        return c


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# Apps no server is using, by the processes they were built for (the packages are kept with
# them, so that their ids are never reused). A fresh FastAPI app works out how to call each
# of its routes on its first request (half a second for this app's few hundred); everything
# a request learns of the test's world comes from ``app.state.services``, which each server
# sets to its own. Two servers at once get two apps.
_IDLE_APPS: dict[tuple[int, ...], tuple[Sequence[ProcessPackage], list[FastAPI]]] = {}
_APP_STATE = {"services", "web"}


def _take_app(svc: Services) -> tuple[tuple[int, ...], FastAPI]:
    packages = svc.engine.processes
    key = tuple(id(package) for package in packages)
    _, idle = _IDLE_APPS.setdefault(key, (tuple(packages), []))
    if idle:
        app = idle.pop()
        app.state.services = svc
        return key, app
    return key, create_app(svc)


def _give_back(key: tuple[int, ...], app: FastAPI) -> None:
    """Kept for the next server unless the app holds state of its own beyond the services
    (then the next server builds its own app, as before)."""
    if set(vars(app.state)["_state"]) == _APP_STATE and not app.dependency_overrides:
        app.state.services = None
        _IDLE_APPS[key][1].append(app)


@contextmanager
def serve(
    db_url: str,
    clock: FrozenClock,
    files: Path,
    packages: Sequence[ProcessPackage] | None = None,
) -> Iterator[Live]:
    """The app over ``db_url`` with the installed processes (or ``packages``)."""
    db = make_engine(db_url)
    svc = Services(
        db=db,
        engine=CaseEngine(db, installed() if packages is None else packages, clock),
        clock=clock,
        auth=AuthConfig(secret=b"test-secret-test-secret-0123456789"),
        files=FileStore(files),
    )
    port = free_port()
    key, app = _take_app(svc)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.02)
    try:
        yield Live(f"http://127.0.0.1:{port}", svc, clock)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        db.dispose()
        if not thread.is_alive():
            _give_back(key, app)


def add_account(
    live: Live, username: str, role: str, unit_id: int, *, person_id: int | None = None
) -> int:
    """Another login for a test: a new person (or an existing one) holding ``role`` at a unit."""
    from sqlalchemy import insert, update

    from states.store.models import Person, RoleBinding, table_of

    with live.services.db.begin() as conn:
        if person_id is None:
            person_id = conn.execute(
                insert(table_of(Person))
                .values(
                    name=username,
                    username=username,
                    password_hash=_hash(),
                    active=True,
                )
                .returning(table_of(Person).c.id)
            ).scalar_one()
        else:
            conn.execute(
                update(table_of(Person))
                .where(table_of(Person).c.id == person_id)
                .values(username=username, password_hash=_hash())
            )
        conn.execute(
            insert(table_of(RoleBinding)).values(
                person_id=person_id, role=role, org_unit_id=unit_id
            )
        )
    return int(person_id)


_HASH: list[str] = []


def _hash() -> str:
    from api.auth import hash_password

    if not _HASH:
        _HASH.append(hash_password(PASSWORD))
    return _HASH[0]
