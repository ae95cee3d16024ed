"""The server side of the HTTP benchmark: the real app, plus a bare endpoint issuing the same
database statements as one approval request (sign-in lookups and the transition's statements)
with none of Renshi's logic. Benchmark-only; never mounted in the product."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import time

import uvicorn
from fastapi import FastAPI, Header
from sqlalchemy import literal, select, union_all

from api.app import create_app
from api.auth import AuthConfig, read_token
from api.deps import Services
from api.files import FileStore
from benchmarks.fire import raw_transition, sealers
from states import audit_keys
from states.clock import FrozenClock, bureau_time
from states.engine import CaseEngine
from states.processes import installed
from states.store.db import make_engine, reader
from states.store.models import OrgUnit, Person, RoleBinding, Teacher


def build(url: str, secret: str) -> FastAPI:
    db = make_engine(url)
    clock = FrozenClock(bureau_time(2026, 9, 1))
    cfg = AuthConfig(secret=secret.encode())
    svc = Services(
        db=db,
        engine=CaseEngine(db, installed(), clock),
        clock=clock,
        auth=cfg,
        files=FileStore(__import__("pathlib").Path("/tmp/renshi-bench-files")),
    )
    app = create_app(svc)
    due = dt.date(2026, 9, 8)

    @app.post("/bench/bare/{case_id}")
    def bare(case_id: int, authorization: str = Header("")) -> dict[str, int]:
        who = read_token(authorization.removeprefix("Bearer "), clock.now(), cfg)
        person_id = who.person_id if who is not None else None
        with reader(db).connect() as conn:  # the statements load_actor issues
            conn.execute(
                select(Person.id, Person.name, Person.active).where(Person.id == person_id)
            ).one()
            conn.execute(
                union_all(
                    select(literal(0).label("k"), Teacher.school_id, OrgUnit.path)
                    .join(OrgUnit, OrgUnit.id == Teacher.school_id)
                    .where(Teacher.person_id == person_id),
                    select(literal(1).label("k"), RoleBinding.org_unit_id, OrgUnit.path)
                    .join(OrgUnit, OrgUnit.id == RoleBinding.org_unit_id)
                    .where(RoleBinding.person_id == person_id),
                ).order_by("k")
            ).all()
        raw_transition(db, case_id, clock.now(), due)
        return {"case_id": case_id}

    rings = sealers()
    held: list[contextlib.AbstractContextManager[object]] = []

    @app.post("/bench/seal/{kind}")
    def seal(kind: str) -> dict[str, str]:
        """Seal audit events with the plain hash from now on, or back with the keyed seal of
        the ring (the comparison of benchmarks/http.py)."""
        while held:
            held.pop().__exit__(None, None, None)
        if kind == "plain":
            pin = audit_keys.pinned(rings["plain"])
            pin.__enter__()
            held.append(pin)
        return {"sealing": kind}

    @app.get("/bench/cpu")
    def cpu() -> dict[str, float]:
        """The server's CPU seconds so far: what a run of requests cost it, whatever else
        the machine was doing meanwhile."""
        return {"cpu": time.process_time()}

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", required=True)
    args = parser.parse_args()
    uvicorn.run(
        build(args.url, args.secret),
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
