"""Notices from the outbox to real servers: a real SMTP server (aiosmtpd), a local HTTP
server standing in for a group robot, and a dispatcher killed in the middle of a batch."""

from __future__ import annotations

import email
import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from notifications.channels import SmtpChannel, WebhookChannel
from notifications.dispatch import dispatch
from states.clock import bureau_time
from states.store.models import Delivery, Notification, OrgUnit, OutboxMessage, Person, table_of
from tests.live import free_port
from tests.world import Driver, World

RENSHI = str(Path(sys.executable).parent / "renshi")


class Mailbox:
    """An SMTP handler that keeps what it accepts; it can hold one message hostage."""

    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []
        self.hold_at: int | None = None
        self.arrived = threading.Event()
        self.release = threading.Event()
        self.seen = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.seen += 1
        if self.hold_at is not None and self.seen == self.hold_at:
            self.arrived.set()
            import asyncio

            while not self.release.is_set():
                await asyncio.sleep(0.05)
            return "451 4.3.0 try again later"  # the sender was killed meanwhile
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    def subjects(self) -> list[str]:
        return [
            str(email.header.make_header(email.header.decode_header(m["Subject"])))
            for m in self.messages
        ]


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    box.release.set()
    controller.stop()


class Robot(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Robot.received.append(
            {
                "path": self.path,
                "json": json.loads(body),
                "key": self.headers.get("X-Renshi-Idempotency-Key"),
            }
        )
        out = b'{"errcode": 0, "errmsg": "ok"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def robot() -> Iterator[str]:
    Robot.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Robot)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/cgi-bin/webhook/send?key=abc"
    server.shutdown()


def _wants_email(d: Driver, actor_key: str, address: str, quiet: str | None = None) -> None:
    with d.eng.db.begin() as conn:
        conn.execute(
            update(table_of(Person))
            .where(table_of(Person).c.id == d.world.actors[actor_key].person_id)
            .values(email=address, notify_channels=["email"], quiet_hours=quiet)
        )


def _declare_many(d: Driver, world: World, n: int) -> list[int]:
    return [d.declare(world.teacher(f"教师{i}")) for i in range(n)]


def test_in_app_notices_arrive_once(d: Driver, world: World) -> None:
    d.clock.set(bureau_time(2026, 9, 1, 10))
    teacher = world.teacher("站内")
    case_id = d.declare(teacher)
    d.fire(case_id, "school_approve", "school_officer")
    first = dispatch(d.eng.db, d.clock, {}, catalogue=d.eng.processes)
    assert first.sent["inapp"] >= 3  # two school officers told of the task, the teacher of the move
    again = dispatch(d.eng.db, d.clock, {}, catalogue=d.eng.processes)
    assert again.sent.get("inapp", 0) == 0, "a rerun sends nothing twice"
    with d.eng.db.connect() as conn:
        mine = (
            conn.execute(
                select(Notification.title).where(Notification.person_id == teacher.person_id)
            )
            .scalars()
            .all()
        )
    assert len(mine) == 1 and "学校审核通过" in mine[0]


def test_email_and_group_robot(
    d: Driver,
    world: World,
    smtp: tuple[Mailbox, int],
    robot: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    box, port = smtp
    monkeypatch.setenv("RENSHI_PUBLIC_URL", "https://renshi.jyj.example.cn/")
    d.clock.set(bureau_time(2026, 9, 1, 10))
    _wants_email(d, "school_officer", "officer@school.test")
    with d.eng.db.begin() as conn:
        conn.execute(
            update(table_of(OrgUnit))
            .where(table_of(OrgUnit).c.id == world.unit("urban"))
            .values(settings={"webhooks": [{"kind": "wecom", "url": robot}]})
        )
    d.declare(world.teacher("邮件"))
    channels = {
        "email": SmtpChannel("127.0.0.1", port, "renshi@bureau.test"),
        "webhook": WebhookChannel(),
    }
    report = dispatch(d.eng.db, d.clock, channels, catalogue=d.eng.processes)
    assert report.sent.get("email") == 1 and report.sent.get("webhook") == 1
    [mail] = box.messages
    assert mail["To"] == "officer@school.test" and "待办" in box.subjects()[0]
    # the link opens from a phone: the bureau's published address, not a path
    body = mail.get_payload(decode=True).decode() if not mail.is_multipart() else str(mail)
    assert re.search(r"https://renshi\.jyj\.example\.cn/cases/\d+", body), body
    [hook] = Robot.received
    assert hook["json"]["msgtype"] in ("markdown", "text") and hook["key"].startswith("renshi-")


def test_quiet_hours_defer_email_not_in_app(
    d: Driver, world: World, smtp: tuple[Mailbox, int]
) -> None:
    box, port = smtp
    d.clock.set(bureau_time(2026, 9, 1, 23))
    _wants_email(d, "school_officer", "night@school.test", quiet="22:00-07:00")
    d.declare(world.teacher("深夜"))
    channels = {"email": SmtpChannel("127.0.0.1", port, "renshi@bureau.test")}
    night = dispatch(d.eng.db, d.clock, channels, catalogue=d.eng.processes)
    assert night.sent.get("inapp") and not night.sent.get("email") and box.messages == []
    d.clock.set(bureau_time(2026, 9, 2, 7, 1))
    morning = dispatch(d.eng.db, d.clock, channels, catalogue=d.eng.processes)
    assert morning.sent.get("email") == 1 and len(box.messages) == 1


def test_channel_down_retries_then_records_the_failure(
    d: Driver, world: World, db_url: str
) -> None:
    d.clock.set(bureau_time(2026, 9, 1, 10))
    _wants_email(d, "school_officer", "officer@school.test")
    d.declare(world.teacher("宕机"))
    dead = {"email": SmtpChannel("127.0.0.1", free_port(), "renshi@bureau.test", timeout=2)}
    first = dispatch(d.eng.db, d.clock, dead, catalogue=d.eng.processes)
    assert first.retried == 1 and first.failed == 0
    for _ in range(10):
        d.clock.advance(hours=2)
        dispatch(d.eng.db, d.clock, dead, catalogue=d.eng.processes)
    with d.eng.db.connect() as conn:
        row = conn.execute(
            select(Delivery.status, Delivery.attempts, Delivery.last_error).where(
                Delivery.channel == "email"
            )
        ).one()
    assert row.status == "failed" and row.attempts == 6 and row.last_error
    listed = subprocess.run(
        [RENSHI, "notify", "failures"],
        capture_output=True,
        text=True,
        env={**os.environ, "RENSHI_DATABASE_URL": db_url},
        timeout=60,
    )
    assert "officer@school.test" in listed.stdout and "尝试6次" in listed.stdout


def test_killed_dispatch_rerun_sends_each_remaining_notice_once(
    d: Driver, world: World, smtp: tuple[Mailbox, int], db_url: str
) -> None:
    box, port = smtp
    d.clock.set(bureau_time(2026, 9, 1, 10))
    _wants_email(d, "school_officer", "officer@school.test")
    cases = _declare_many(d, world, 6)
    env = {
        **os.environ,
        "RENSHI_DATABASE_URL": db_url,
        "RENSHI_CHANNELS": "inapp,email",
        "RENSHI_SMTP_HOST": "127.0.0.1",
        "RENSHI_SMTP_PORT": str(port),
        "RENSHI_SMTP_FROM": "renshi@bureau.test",
    }
    box.hold_at = 4
    run = subprocess.Popen([RENSHI, "--at", "2026-09-01T10:00", "notify", "dispatch"], env=env)
    assert box.arrived.wait(60), "the fourth mail reached the server"
    run.send_signal(signal.SIGKILL)  # the dispatcher dies holding the rest of its batch
    run.wait(30)
    box.release.set()
    assert len(box.messages) == 3
    rerun = subprocess.run(
        [RENSHI, "--at", "2026-09-01T10:05", "notify", "dispatch"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert rerun.returncode == 0, rerun.stderr
    ids = [m["Message-ID"] for m in box.messages]
    assert len(ids) == len(cases) == len(set(ids)), "each notice exactly once"
    again = subprocess.run(
        [RENSHI, "--at", "2026-09-01T10:10", "notify", "dispatch"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 0 and len(box.messages) == len(cases)


def test_unset_smtp_host_is_a_configuration_error_at_start(db_url: str) -> None:
    env = {**os.environ, "RENSHI_DATABASE_URL": db_url, "RENSHI_CHANNELS": "inapp,email"}
    env.pop("RENSHI_SMTP_HOST", None)
    started = subprocess.run(
        [sys.executable, "-m", "flows.serve"], env=env, capture_output=True, text=True, timeout=120
    )
    assert started.returncode == 2 and "RENSHI_SMTP_HOST" in started.stderr


def test_a_notice_that_cannot_be_rendered_fails_alone(d: Driver, world: World) -> None:
    """A broken notice is recorded as failed; everyone else's in-app notices still arrive."""
    from sqlalchemy import insert

    d.clock.set(bureau_time(2026, 9, 1, 10))
    case_id = d.declare(world.teacher("坏通知"))
    with d.eng.db.begin() as conn:
        conn.execute(
            insert(table_of(OutboxMessage)).values(
                case_id=case_id,
                kind="no_such_kind",
                recipient_id=world.actors["county_officer"].person_id,
                payload={},
                created_at=d.clock.now(),
                status="pending",
            )
        )
    report = dispatch(d.eng.db, d.clock, {}, catalogue=d.eng.processes)
    assert report.sent["inapp"] == 2  # the two school officers' task notices
    with d.eng.db.connect() as conn:
        bad = conn.execute(
            select(Delivery.status, Delivery.last_error).where(
                Delivery.person_id == world.actors["county_officer"].person_id
            )
        ).one()
    assert bad.status == "failed" and "模板" in bad.last_error


def test_a_package_notice_reaches_the_inbox(
    d: Driver, world: World, smtp: tuple[Mailbox, int], tmp_path: Path
) -> None:
    """A process's own notice: its package declares the kind, the payload keys its template
    prints and the template in its own folder; the dispatcher copies exactly those keys from
    the payload (an absent one reads as empty) with nothing generic written for it."""
    from states.engine import build_catalogue
    from states.engine.outbox import notice, send
    from states.process.package import NoticeKind, ProcessPackage
    from states.processes import installed

    folder = tmp_path / "leave_notes" / "notices"
    folder.mkdir(parents=True)
    (folder / "leave_granted.txt.j2").write_text(
        "{% block subject %}【人事业务平台】请假获批：{{ leave_days }}天{% endblock %}\n"
        "{% block body %}\n{{ recipient_name }}：\n您好！您的请假已获批准，共{{ leave_days }}天"
        '{{ leave_reason|wrap("（", "）") }}。\n{% endblock %}\n'
        "{% block short %}【人事业务平台】请假已获批准，共{{ leave_days }}天。{% endblock %}\n",
        encoding="utf-8",
    )
    granted = NoticeKind(
        "leave_granted",
        frozenset({"leave_days", "leave_reason"}),
        "to the teacher: the leave is granted",
        {},
        folder,
    )
    catalogue = build_catalogue(
        (*installed(), ProcessPackage("leave_notes", "请假", (), notices=(granted,)))
    )
    box, port = smtp
    d.clock.set(bureau_time(2026, 9, 1, 10))
    _wants_email(d, "county_officer", "officer@county.test")
    officer = world.actors["county_officer"].person_id
    with d.eng.db.begin() as conn:
        send(
            conn, notice(None, "leave_granted", d.clock.now(), {"leave_days": 3}, person_id=officer)
        )
    channels = {"email": SmtpChannel("127.0.0.1", port, "renshi@bureau.test")}
    report = dispatch(d.eng.db, d.clock, channels, catalogue=catalogue)
    assert report.sent == {"inapp": 1, "email": 1} and report.failed == 0
    with d.eng.db.connect() as conn:
        note = conn.execute(
            select(Notification.title, Notification.body).where(Notification.person_id == officer)
        ).one()
    assert note.title == "【人事业务平台】请假获批：3天"
    assert "共3天。" in note.body and "（" not in note.body and "None" not in note.body
    assert box.subjects() == ["【人事业务平台】请假获批：3天"]
