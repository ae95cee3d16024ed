"""Registrations per second through HTTP at a closing-day peak: wrk with 8 connections on
loopback against one uvicorn worker on SQLite, each request a different applicant with a
verification code issued beforehand (code check, eligibility, case and applicant rows)."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from pathlib import Path

from sqlalchemy import insert

from benchmarks.common import fresh_db
from benchmarks.http import _drive, serving
from states.clock import FrozenClock, bureau_time
from states.engine import CaseEngine
from states.identity import make_id_number
from states.org import COUNTY_OFFICER
from states.processes import installed
from states.processes.recruitment import seed as recruitment
from states.seed import seed
from states.seed.builders import counties, stand_in
from states.store.models import VerificationCode, table_of
from states.verification import VALID, _hash

CODE = "246810"


def run(path: Path, *, registrations: int, seconds: float) -> dict[str, float]:
    db = fresh_db(path)
    seed(db, 2_000)
    now = bureau_time(2026, 9, 1)  # the benchmark server's frozen clock
    engine = CaseEngine(db, installed(), FrozenClock(now))
    with db.begin() as conn:
        county = counties(conn)[0]
    officer = stand_in(None, COUNTY_OFFICER, [county.unit], label="县人事股")
    round_id = recruitment.round_with_post(engine, officer, name="报名峰值", code="PEAK", seats=50)
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
    with serving(path, secrets.token_hex(16)) as url:
        result = _drive(url, jobs, seconds, path.parent)
    return {
        "register_per_s": round(result["per_s"], 1),
        "register_p50_ms": round(result["p50_ms"], 2),
        "register_p99_ms": round(result["p99_ms"], 2),
        "register_errors": int(result["errors"]),
    }
