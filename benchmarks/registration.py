"""Registrations per second through HTTP at a closing-day peak: wrk with 8 connections on
loopback against one uvicorn worker on SQLite, each request a different applicant with a
verification code issued beforehand (code check, eligibility, case and applicant rows)."""

from __future__ import annotations

import datetime as dt
import json
import secrets
import subprocess
import sys
from pathlib import Path

from sqlalchemy import insert

from benchmarks.common import fresh_db
from benchmarks.http import _drive, _free_port, _wait
from states.clock import FrozenClock, bureau_time
from states.engine import CaseEngine, Move
from states.identity import make_id_number
from states.org import COUNTY_OFFICER, SYSTEM_ACTOR, Actor, Binding
from states.processes import installed
from states.processes.recruitment import steps as rec
from states.seed import seed
from states.store.models import OrgUnit, VerificationCode, table_of
from states.verification import VALID, _hash

CODE = "246810"


def run(path: Path, *, registrations: int, seconds: float) -> dict[str, float]:
    db = fresh_db(path)
    seed(db, 2_000)
    now = bureau_time(2026, 9, 1)  # the benchmark server's frozen clock
    engine = CaseEngine(db, installed(), FrozenClock(now))
    with db.begin() as conn:
        round_id = rec.open_round(
            conn,
            province_id=1,
            year=2026,
            name="报名峰值",
            registration_opens=dt.date(2026, 8, 25),
            registration_closes=dt.date(2026, 9, 10),
        )
        county = conn.execute(
            table_of(OrgUnit).select().where(table_of(OrgUnit).c.tier == "county").limit(1)
        ).one()
        school = conn.execute(
            table_of(OrgUnit).select().where(table_of(OrgUnit).c.parent_id == county.id).limit(1)
        ).one()
    officer = Actor(None, "县人事股", (Binding(COUNTY_OFFICER, county.id, county.path),))
    plan = rec.declare_plan(
        engine,
        officer,
        round_id,
        county.id,
        [
            {
                "code": "PEAK",
                "subject": "语文",
                "school_level": "primary",
                "count": 50,
                "min_education": "bachelor",
                "seats": [{"school_id": school.id, "seats": 50}],
            }
        ],
    )
    for event in ("submit", "city_pass", "approve"):
        engine.fire_many("recruitment_plan", [Move(plan, event)], SYSTEM_ACTOR)
    phones = [f"1{3 + n % 7}{n:09d}"[:11] for n in range(registrations)]
    with db.begin() as conn:
        conn.execute(
            insert(table_of(VerificationCode)),
            [
                {
                    "phone": p,
                    "code_hash": _hash(p, CODE),
                    "created_at": now,
                    "expires_at": now + VALID,
                    "attempts": 0,
                }
                for p in phones
            ],
        )
    db.dispose()
    jobs = []
    for n, phone in enumerate(phones):
        birth = dt.date(1995, 1, 1) + dt.timedelta(days=n // 400)
        body = {
            "id_number": make_id_number("110101", birth, (n % 400) * 2, "M"),
            "name": f"峰值{n}",
            "phone": phone,
            "code": CODE,
            "education": "bachelor",
            "cert_level": "primary",
            "post_code": "PEAK",
        }
        jobs.append(
            (
                f"/api/v1/public/recruitment/{round_id}/registrations",
                "-",
                json.dumps(body, ensure_ascii=False),
            )
        )
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "benchmarks.http_server",
            "--url",
            f"sqlite:///{path}",
            "--port",
            str(port),
            "--secret",
            secrets.token_hex(16),
        ]
    )
    try:
        _wait(f"http://127.0.0.1:{port}")
        result = _drive(f"http://127.0.0.1:{port}", jobs, seconds, path.parent)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {
        "register_per_s": round(result["per_s"], 1),
        "register_p50_ms": round(result["p50_ms"], 2),
        "register_p99_ms": round(result["p99_ms"], 2),
        "register_errors": int(result["errors"]),
    }
