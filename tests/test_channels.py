"""The sending channels against real servers on loopback: an aiosmtpd SMTP server and a
threaded HTTP server standing in for the group robots and the SMS gateway. No mocks."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import pickle
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from notifications.channels import (
    IDEMPOTENCY_HEADER,
    DeliveryError,
    Message,
    SmsGateway,
    SmtpChannel,
    WebhookChannel,
    close_all,
    message_id,
)
from notifications.config import (
    ConfigError,
    NotifyConfig,
    build_channels,
    from_env,
    public_url,
    validate_webhooks,
)
from notifications.render import SAMPLE_CONTEXTS, render


def _free_port() -> int:
    """A port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _message(target: str, key: str = "renshi-1", kind: str = "task_assigned") -> Message:
    out = render(kind, SAMPLE_CONTEXTS[kind])
    return Message(kind, target, out.subject, out.body, out.short, key)


# --- a real SMTP server ---------------------------------------------------------------------


@dataclass
class Mailbox:
    """What the SMTP server received, and how it should answer next."""

    envelopes: list[Envelope] = field(default_factory=list)
    peers: list[Any] = field(default_factory=list)
    sessions: list[SMTP] = field(default_factory=list)
    rcpt_reply: str | None = None
    data_reply: str | None = None

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.data_reply:
            return self.data_reply
        self.envelopes.append(envelope)
        self.peers.append(session.peer)
        self.sessions.append(server)
        return "250 Message accepted for delivery"

    def mail(self, i: int = -1) -> email.message.EmailMessage:
        content = self.envelopes[i].original_content or b""
        parsed = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(parsed, email.message.EmailMessage)
        return parsed


@dataclass
class SmtpServer:
    controller: Controller
    box: Mailbox
    port: int

    def drop_connections(self) -> None:
        """Close every client connection from the server side, as an idle timeout would."""

        async def close() -> None:
            for smtp in self.box.sessions:
                if smtp.transport is not None:
                    smtp.transport.close()

        asyncio.run_coroutine_threadsafe(close(), self.controller.loop).result(timeout=5)


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    box = Mailbox()
    port = _free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer(controller, box, port)
    finally:
        controller.stop()


def _smtp(port: int, sender: str = "noreply@jyj.example.cn") -> SmtpChannel:
    return SmtpChannel("127.0.0.1", port, sender, timeout=5.0, local_hostname="renshi.test")


def test_smtp_delivers_utf8_mail_with_stable_message_id(smtp_server: SmtpServer) -> None:
    msg = _message("wangfang@school.example.cn", key="renshi-41")
    with _smtp(smtp_server.port, "人事业务平台 <noreply@jyj.example.cn>") as channel:
        channel.send(msg)
        channel.send(msg)  # a retry of the same delivery

    box = smtp_server.box
    assert len(box.envelopes) == 2
    assert box.envelopes[0].mail_from == "noreply@jyj.example.cn"
    assert box.envelopes[0].rcpt_tos == ["wangfang@school.example.cn"]
    first, second = box.mail(0), box.mail(1)
    assert first["Subject"] == msg.subject
    assert "人事业务平台" in str(first["From"])
    assert first["To"] == "wangfang@school.example.cn"
    assert first.get_content().strip() == msg.body
    assert first.get_content_charset() == "utf-8"
    assert first["Message-ID"] == "<renshi-41@jyj.example.cn>"
    assert first["Message-ID"] == message_id("renshi-41", "jyj.example.cn")
    assert second["Message-ID"] == first["Message-ID"]
    assert first[IDEMPOTENCY_HEADER] == "renshi-41"
    assert first["Auto-Submitted"] == "auto-generated"


def test_message_id_hashes_a_key_unsafe_in_a_header() -> None:
    odd = message_id("renshi 7 <x>", "jyj.example.cn")
    assert odd == message_id("renshi 7 <x>", "jyj.example.cn")
    assert " " not in odd and odd.count("<") == 1 and odd.endswith("@jyj.example.cn>")


def test_smtp_reuses_one_connection_for_many_mails(smtp_server: SmtpServer) -> None:
    with _smtp(smtp_server.port) as channel:
        for i in range(20):
            channel.send(_message(f"t{i}@school.example.cn", key=f"renshi-{i}"))
    box = smtp_server.box
    assert len(box.envelopes) == 20
    assert len(set(box.peers)) == 1  # one SMTP session carried all twenty
    assert [e.rcpt_tos for e in box.envelopes] == [[f"t{i}@school.example.cn"] for i in range(20)]


def test_smtp_reconnects_once_when_the_server_dropped_the_connection(
    smtp_server: SmtpServer,
) -> None:
    with _smtp(smtp_server.port) as channel:
        channel.send(_message("a@school.example.cn", key="renshi-1"))
        smtp_server.drop_connections()
        channel.send(_message("b@school.example.cn", key="renshi-2"))
    box = smtp_server.box
    assert [e.rcpt_tos for e in box.envelopes] == [["a@school.example.cn"], ["b@school.example.cn"]]
    assert len(set(box.peers)) == 2


def test_smtp_451_is_temporary_and_the_connection_stays_usable(smtp_server: SmtpServer) -> None:
    box = smtp_server.box
    with _smtp(smtp_server.port) as channel:
        channel.send(_message("a@school.example.cn", key="renshi-1"))
        box.data_reply = "451 4.3.0 Mailbox busy, try again later"
        with pytest.raises(DeliveryError) as err:
            channel.send(_message("b@school.example.cn", key="renshi-2"))
        assert err.value.temporary is True
        assert "451" in str(err.value)
        box.data_reply = None
        channel.send(_message("b@school.example.cn", key="renshi-2"))
    assert len(box.envelopes) == 2
    assert len(set(box.peers)) == 1


def test_smtp_550_is_permanent(smtp_server: SmtpServer) -> None:
    smtp_server.box.rcpt_reply = "550 5.1.1 No such user"
    with _smtp(smtp_server.port) as channel, pytest.raises(DeliveryError) as err:
        channel.send(_message("nobody@school.example.cn"))
    assert err.value.temporary is False
    assert "550" in str(err.value)
    assert smtp_server.box.envelopes == []


def test_smtp_554_at_data_is_permanent(smtp_server: SmtpServer) -> None:
    smtp_server.box.data_reply = "554 5.7.1 Message rejected as spam"
    with _smtp(smtp_server.port) as channel, pytest.raises(DeliveryError) as err:
        channel.send(_message("a@school.example.cn"))
    assert err.value.temporary is False


def test_smtp_server_down_is_temporary() -> None:
    with _smtp(_free_port()) as channel, pytest.raises(DeliveryError) as err:
        channel.send(_message("a@school.example.cn"))
    assert err.value.temporary is True
    assert "127.0.0.1" in str(err.value)


@pytest.mark.parametrize("target", ["", "not-an-address", "a@b.cn\r\nBcc: x@evil.cn", "a@b"])
def test_smtp_bad_address_is_permanent_and_sends_nothing(target: str) -> None:
    with _smtp(_free_port()) as channel, pytest.raises(DeliveryError) as err:
        channel.send(_message(target))
    assert err.value.temporary is False


def test_delivery_error_survives_pickling() -> None:
    err = pickle.loads(pickle.dumps(DeliveryError("短信网关返回 HTTP 429", temporary=True)))
    assert isinstance(err, DeliveryError)
    assert err.temporary is True
    assert str(err) == "短信网关返回 HTTP 429"


# --- a real HTTP server: group robots and the SMS gateway -----------------------------------


class _Handler(BaseHTTPRequestHandler):
    server: HttpServer

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.server.requests.append((self.path, headers, json.loads(raw.decode("utf-8"))))
        if self.path == "/hang":
            self.server.release.wait(10)
        route = urlsplit(self.path).path
        status, answer = self.server.routes.get(route, (404, {"error": "not found"}))
        if not isinstance(answer, bytes):
            answer = json.dumps(answer, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class HttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[tuple[str, dict[str, str], Any]] = []
        self.routes: dict[str, tuple[int, Any]] = {}
        self.release = threading.Event()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def http_server() -> Iterator[HttpServer]:
    server = HttpServer()
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def webhook() -> Iterator[WebhookChannel]:
    channel = WebhookChannel(timeout=5.0)
    try:
        yield channel
    finally:
        channel.close()


def test_wecom_robot_gets_a_text_message_with_the_key(
    http_server: HttpServer, webhook: WebhookChannel
) -> None:
    http_server.routes["/cgi-bin/webhook/send"] = (200, {"errcode": 0, "errmsg": "ok"})
    msg = _message(f"wecom:{http_server.base}/cgi-bin/webhook/send?key=abc", key="renshi-9")
    webhook.send(msg)
    [(path, headers, payload)] = http_server.requests
    assert path == "/cgi-bin/webhook/send?key=abc"
    assert payload == {"msgtype": "text", "text": {"content": msg.short}}
    assert headers[IDEMPOTENCY_HEADER.lower()] == "renshi-9"
    assert headers["content-type"].startswith("application/json")


def test_dingtalk_robot_gets_a_text_message_with_the_key(
    http_server: HttpServer, webhook: WebhookChannel
) -> None:
    http_server.routes["/robot/send"] = (200, {"errcode": 0, "errmsg": "ok"})
    msg = _message(f"dingtalk:{http_server.base}/robot/send", key="renshi-10", kind="urge")
    webhook.send(msg)
    [(_, headers, payload)] = http_server.requests
    assert payload == {"msgtype": "text", "text": {"content": msg.short}}
    assert "催办" in payload["text"]["content"]
    assert headers[IDEMPOTENCY_HEADER.lower()] == "renshi-10"


@pytest.mark.parametrize(
    ("kind", "status", "answer", "temporary"),
    [
        ("wecom", 200, {"errcode": 45009, "errmsg": "api freq out of limit"}, True),
        ("wecom", 200, {"errcode": 93000, "errmsg": "invalid webhook url"}, False),
        ("dingtalk", 200, {"errcode": 130101, "errmsg": "send too fast"}, True),
        ("dingtalk", 200, {"errcode": 310000, "errmsg": "keywords not in content"}, False),
        ("wecom", 500, {"error": "internal"}, True),
        ("dingtalk", 502, {"error": "bad gateway"}, True),
        ("wecom", 404, {"error": "not found"}, False),
        ("wecom", 200, b"<html>login</html>", False),
    ],
)
def test_robot_failures_are_classified(
    http_server: HttpServer,
    webhook: WebhookChannel,
    kind: str,
    status: int,
    answer: Any,
    temporary: bool,
) -> None:
    http_server.routes["/send"] = (status, answer)
    with pytest.raises(DeliveryError) as err:
        webhook.send(_message(f"{kind}:{http_server.base}/send"))
    assert err.value.temporary is temporary
    if isinstance(answer, dict) and "errcode" in answer:
        assert str(answer["errcode"]) in str(err.value)


def test_robot_down_is_temporary(webhook: WebhookChannel) -> None:
    with pytest.raises(DeliveryError) as err:
        webhook.send(_message(f"wecom:http://127.0.0.1:{_free_port()}/send"))
    assert err.value.temporary is True


def test_robot_that_does_not_answer_in_time_is_temporary(http_server: HttpServer) -> None:
    channel = WebhookChannel(timeout=0.2)
    try:
        with pytest.raises(DeliveryError) as err:
            channel.send(_message(f"dingtalk:{http_server.base}/hang"))
    finally:
        channel.close()
    assert err.value.temporary is True


@pytest.mark.parametrize("target", ["slack:http://x/y", "wecom:ftp://x/y", "http://x/y", ""])
def test_robot_bad_target_is_permanent(webhook: WebhookChannel, target: str) -> None:
    with pytest.raises(DeliveryError) as err:
        webhook.send(_message(target))
    assert err.value.temporary is False


def test_sms_gateway_posts_phone_text_and_id(http_server: HttpServer) -> None:
    http_server.routes["/sms"] = (200, {"ok": True})
    gateway = SmsGateway(f"{http_server.base}/sms", token="s3cret")
    try:
        msg = _message("13800138000", key="renshi-77", kind="reminder_due_today")
        gateway.send(msg)
    finally:
        gateway.close()
    [(_, headers, payload)] = http_server.requests
    assert payload == {"phone": "13800138000", "text": msg.short, "id": "renshi-77"}
    assert headers["authorization"] == "Bearer s3cret"
    assert headers[IDEMPOTENCY_HEADER.lower()] == "renshi-77"


def test_sms_gateway_without_token_sends_no_authorization(http_server: HttpServer) -> None:
    http_server.routes["/sms"] = (202, {})
    gateway = SmsGateway(f"{http_server.base}/sms")
    try:
        gateway.send(_message("13800138000"))
    finally:
        gateway.close()
    [(_, headers, _)] = http_server.requests
    assert "authorization" not in headers


@pytest.mark.parametrize(
    ("status", "temporary"), [(429, True), (500, True), (503, True), (400, False), (401, False)]
)
def test_sms_gateway_failures_are_classified(
    http_server: HttpServer, status: int, temporary: bool
) -> None:
    http_server.routes["/sms"] = (status, {"error": "号码格式错误" if status == 400 else "busy"})
    gateway = SmsGateway(f"{http_server.base}/sms")
    try:
        with pytest.raises(DeliveryError) as err:
            gateway.send(_message("13800138000"))
    finally:
        gateway.close()
    assert err.value.temporary is temporary
    assert str(status) in str(err.value)
    if status == 400:
        assert "号码格式错误" in str(err.value)  # the gateway's own words reach the officer


def test_sms_gateway_down_is_temporary() -> None:
    gateway = SmsGateway(f"http://127.0.0.1:{_free_port()}/sms")
    try:
        with pytest.raises(DeliveryError) as err:
            gateway.send(_message("13800138000"))
    finally:
        gateway.close()
    assert err.value.temporary is True


# --- configuration --------------------------------------------------------------------------


def test_the_public_address_links_point_at() -> None:
    """Links in notices are absolute: the published address, else where make run serves;
    an address that is not one stops the start naming the variable."""
    assert public_url({}) == "http://127.0.0.1:8000"
    assert public_url({"RENSHI_HOST": "0.0.0.0", "RENSHI_PORT": "9000"}) == "http://0.0.0.0:9000"
    assert public_url({"RENSHI_PUBLIC_URL": "https://rs.example.cn/"}) == "https://rs.example.cn"
    with pytest.raises(ConfigError, match="RENSHI_PUBLIC_URL"):
        from_env({"RENSHI_PUBLIC_URL": "rs.example.cn"})


def test_config_defaults_to_inapp_only() -> None:
    cfg = from_env({})
    assert cfg == NotifyConfig(channels=frozenset({"inapp"}))
    assert build_channels(cfg) == {}


def test_config_reads_every_variable() -> None:
    cfg = from_env(
        {
            "RENSHI_CHANNELS": " email, SMS ,webhook",
            "RENSHI_SMTP_HOST": "smtp.jyj.example.cn",
            "RENSHI_SMTP_PORT": "587",
            "RENSHI_SMTP_FROM": "人事业务平台 <noreply@jyj.example.cn>",
            "RENSHI_SMTP_USER": "noreply",
            "RENSHI_SMTP_PASSWORD": "pw",
            "RENSHI_SMTP_STARTTLS": "1",
            "RENSHI_SMS_URL": "https://sms.example.cn/send",
            "RENSHI_SMS_TOKEN": "tok",
            "RENSHI_WEBHOOK_TIMEOUT": "3",
        }
    )
    assert cfg.channels == frozenset({"inapp", "email", "sms", "webhook"})
    assert (cfg.smtp_host, cfg.smtp_port, cfg.smtp_starttls) == ("smtp.jyj.example.cn", 587, True)
    assert (cfg.smtp_username, cfg.smtp_password) == ("noreply", "pw")
    assert (cfg.sms_url, cfg.sms_token, cfg.webhook_timeout) == (
        "https://sms.example.cn/send",
        "tok",
        3.0,
    )
    channels = build_channels(cfg)
    try:
        assert set(channels) == {"email", "sms", "webhook"}
        assert isinstance(channels["email"], SmtpChannel)
        assert isinstance(channels["sms"], SmsGateway)
        assert isinstance(channels["webhook"], WebhookChannel)
        assert {name: ch.name for name, ch in channels.items()} == {
            "email": "email",
            "sms": "sms",
            "webhook": "webhook",
        }
    finally:
        close_all(channels)


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"RENSHI_CHANNELS": "inapp,fax"}, "RENSHI_CHANNELS"),
        ({"RENSHI_CHANNELS": "email", "RENSHI_SMTP_FROM": "a@b.cn"}, "RENSHI_SMTP_HOST"),
        ({"RENSHI_CHANNELS": "email", "RENSHI_SMTP_HOST": "smtp"}, "RENSHI_SMTP_FROM"),
        (
            {"RENSHI_CHANNELS": "email", "RENSHI_SMTP_HOST": "smtp", "RENSHI_SMTP_FROM": "nobody"},
            "RENSHI_SMTP_FROM",
        ),
        (
            {
                "RENSHI_CHANNELS": "email",
                "RENSHI_SMTP_HOST": "smtp",
                "RENSHI_SMTP_FROM": "a@b.cn",
                "RENSHI_SMTP_PORT": "twenty-five",
            },
            "RENSHI_SMTP_PORT",
        ),
        ({"RENSHI_SMTP_PORT": "70000"}, "RENSHI_SMTP_PORT"),
        ({"RENSHI_SMTP_STARTTLS": "yes"}, "RENSHI_SMTP_STARTTLS"),
        (
            {
                "RENSHI_CHANNELS": "email",
                "RENSHI_SMTP_HOST": "smtp",
                "RENSHI_SMTP_FROM": "a@b.cn",
                "RENSHI_SMTP_USER": "me",
            },
            "RENSHI_SMTP_PASSWORD",
        ),
        ({"RENSHI_CHANNELS": "sms"}, "RENSHI_SMS_URL"),
        ({"RENSHI_CHANNELS": "sms", "RENSHI_SMS_URL": "sms.example.cn"}, "RENSHI_SMS_URL"),
        ({"RENSHI_WEBHOOK_TIMEOUT": "soon"}, "RENSHI_WEBHOOK_TIMEOUT"),
    ],
)
def test_config_errors_name_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        from_env(env)


def test_build_channels_checks_a_config_built_in_code() -> None:
    with pytest.raises(ConfigError, match="RENSHI_SMTP_HOST"):
        build_channels(NotifyConfig(channels=frozenset({"inapp", "email"})))


def test_configured_email_channel_sends_through_a_real_server(smtp_server: SmtpServer) -> None:
    cfg = from_env(
        {
            "RENSHI_CHANNELS": "email",
            "RENSHI_SMTP_HOST": "127.0.0.1",
            "RENSHI_SMTP_PORT": str(smtp_server.port),
            "RENSHI_SMTP_FROM": "noreply@jyj.example.cn",
        }
    )
    channels = build_channels(cfg)
    try:
        channels["email"].send(_message("a@school.example.cn", kind="escalation"))
    finally:
        close_all(channels)
    assert "督办" in str(smtp_server.box.mail()["Subject"])


def test_validate_webhooks_gives_targets_in_order_without_repeats() -> None:
    settings = {
        "webhooks": [
            {"kind": "wecom", "url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=1"},
            {"kind": "dingtalk", "url": "https://oapi.dingtalk.com/robot/send?access_token=2"},
            {"kind": "wecom", "url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=1"},
        ]
    }
    assert validate_webhooks(settings) == [
        "wecom:https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=1",
        "dingtalk:https://oapi.dingtalk.com/robot/send?access_token=2",
    ]
    assert validate_webhooks({}) == []
    assert validate_webhooks({"other": 1}) == []


@pytest.mark.parametrize(
    ("settings", "where"),
    [
        (
            {
                "webhooks": [
                    {"kind": "wecom", "url": "http://a/b"},
                    {"kind": "slack", "url": "http://a"},
                ]
            },
            "webhooks[1]",
        ),
        ({"webhooks": [{"kind": "wecom", "url": "ftp://a/b"}]}, "webhooks[0]"),
        ({"webhooks": [{"kind": "dingtalk"}]}, "webhooks[0]"),
        ({"webhooks": ["wecom:http://a/b"]}, "webhooks[0]"),
        ({"webhooks": {"kind": "wecom"}}, "webhooks"),
    ],
)
def test_validate_webhooks_names_the_bad_entry(settings: dict[str, Any], where: str) -> None:
    with pytest.raises(ConfigError) as err:
        validate_webhooks(settings)
    assert str(err.value).startswith(where)
