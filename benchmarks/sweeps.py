"""The reminder sweep over a province's open tasks, and notices dispatched per second.

One reminder sweep over ``tasks`` open tasks of which ``due`` fall due: the time to select,
mark and enqueue. Then the dispatcher: in-app notices written per second, and mail sent per
second to a real SMTP server (aiosmtpd) on loopback.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy import Engine, func, select, text, update

from benchmarks.common import fresh_db
from notifications.channels import SmtpChannel
from notifications.dispatch import dispatch
from states.clock import FrozenClock, bureau_time
from states.engine import CaseEngine, build_catalogue
from states.processes import installed
from states.seed import seed
from states.store.models import OutboxMessage, Person, table_of
from states.sweeps import reminder_sweep

TODAY = dt.date(2026, 9, 15)  # a Tuesday, a working day


def _fill(db: Engine, tasks: int, due: int) -> list[int]:
    """``tasks`` open tasks over cases of seeded teachers; ``due`` of them due today, each
    named to a teacher so that every reminder is one in-app notice. Raw executemany: this
    is set-up, not what is measured."""
    with db.connect() as conn:
        people = conn.execute(
            text("select person_id, school_id from teachers order by person_id")
        ).all()
        paths: dict[int, str] = {
            r.id: r.path for r in conn.execute(text("select id, path from org_units"))
        }
    per_case = 10
    n_cases = -(-tasks // per_case)
    now = bureau_time(2026, 9, 1).astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ")
    raw = db.raw_connection()
    try:
        cur = raw.cursor()
        cur.executemany(
            "insert into cases (id, process, year, state, org_unit_id, org_path, applicant_id,"
            " subject_id, data, slot_key, version, seq, audit_head, opened_at, updated_at)"
            " values (?, 'title_review', 2026, 'school_review', ?, ?, ?, ?, '{}', null, 2, 2,"
            " ?, ?, ?)",
            [
                (
                    i + 1,
                    people[i % len(people)][1],
                    paths[people[i % len(people)][1]],
                    people[i % len(people)][0],
                    people[i % len(people)][0],
                    "0" * 64,
                    now,
                    now,
                )
                for i in range(n_cases)
            ],
        )
        far = (TODAY + dt.timedelta(days=60)).isoformat()
        cur.executemany(
            "insert into tasks (case_id, state, kind, role, org_unit_id, assignee_id, opened_on,"
            " due_on, due_flag, status, opened_at, remind_level) values (?, 'school_review',"
            " 'act', 'school_officer', ?, ?, '2026-09-01', ?, null, 'open', ?, 0)",
            [
                (
                    i // per_case + 1,
                    people[i % len(people)][1],
                    people[i % len(people)][0],
                    TODAY.isoformat() if i % (tasks // due) == 0 else far,
                    now,
                )
                for i in range(tasks)
            ],
        )
        raw.commit()
    finally:
        raw.close()
    return [p[0] for p in people]


def run(path: Path, *, tasks: int, due: int, mails: int) -> dict[str, float]:
    db = fresh_db(path)
    seed(db, 2_000)
    people = _fill(db, tasks, due)
    clock = FrozenClock(bureau_time(TODAY.year, TODAY.month, TODAY.day, 8, 30))
    engine = CaseEngine(db, installed(), clock)
    t0 = time.perf_counter()
    report = reminder_sweep(engine)
    sweep_s = time.perf_counter() - t0
    reminded = report.counts.get("reminder_due_today", 0)
    assert reminded == due, report.counts

    t0 = time.perf_counter()
    sent = dispatch(db, clock, {}, catalogue=engine.processes)
    inapp_s = time.perf_counter() - t0
    assert sent.sent.get("inapp") == due, sent

    mail_per_s = _smtp(db, clock, people[:mails])
    db.dispose()
    key = "sweep_1m_s" if tasks >= 1_000_000 else f"sweep_{tasks // 1000}k_s"
    return {
        key: round(sweep_s, 3),
        "sweep_reminders": reminded,
        "inapp_per_s": round(due / inapp_s, 1),
        "smtp_per_s": round(mail_per_s, 1),
    }


class _Sink:
    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.count += 1
        return "250 OK"


def _smtp(db: Engine, clock: FrozenClock, people: list[int]) -> float:
    """Mail ``len(people)`` notices to a real SMTP server on loopback; mails per second."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    sink = _Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    outbox, people_t = table_of(OutboxMessage), table_of(Person)
    try:
        with db.begin() as conn:
            conn.execute(
                update(people_t)
                .where(people_t.c.id.in_(people))
                .values(
                    email=func.printf("t%d@school.test", people_t.c.id), notify_channels=["email"]
                )
            )
            conn.execute(
                outbox.insert(),
                [
                    {
                        "case_id": i + 1,
                        "kind": "urge",
                        "recipient_id": p,
                        "recipient_role": None,
                        "recipient_unit_id": None,
                        "created_at": clock.now(),
                        "status": "pending",
                        "payload": {
                            "case_id": i + 1,
                            "state": "school_review",
                            "by": "县教育局",
                            "note": "",
                            "due_on": None,
                        },
                    }
                    for i, p in enumerate(people)
                ],
            )
        channel = SmtpChannel("127.0.0.1", port, "renshi@bureau.test")
        t0 = time.perf_counter()
        report = dispatch(db, clock, {"email": channel}, catalogue=build_catalogue(installed()))
        elapsed = time.perf_counter() - t0
        channel.close()
        assert report.sent.get("email") == len(people) == sink.count, (report, sink.count)
        with db.connect() as conn:
            assert conn.execute(select(func.count()).select_from(outbox)).scalar_one() > 0
    finally:
        controller.stop()
    return len(people) / elapsed
