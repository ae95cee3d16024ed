"""Channels: how one rendered notice leaves the building (e-mail, SMS, group robots).

A channel sends one message or raises DeliveryError saying whether a later retry could
succeed. Everything else — retries, backoff, leases, exactly-once bookkeeping, quiet hours —
belongs to the dispatcher and the ``deliveries`` table: a channel keeps no state that
matters after a crash. Because a crash can land between "sent" and "recorded as sent", a
retried message carries the same idempotency key (``renshi-<delivery id>``): as the
Message-ID of an e-mail (mail clients fold duplicates), as the ``id`` of an SMS (the gateway
can drop a repeat) and as a header to robots.

The in-app channel is written by the dispatcher straight into the database and is not here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import smtplib
import socket
import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from types import TracebackType
from typing import Any, Protocol, Self

import httpx

from states.clock import BUREAU_TZ

IDEMPOTENCY_HEADER = "X-Renshi-Idempotency-Key"
_EXCERPT = 200  # characters of a peer's answer kept in a failure reason


@dataclass(frozen=True)
class Message:
    kind: str
    target: str  # e-mail address, phone number, or "wecom:<url>" / "dingtalk:<url>"
    subject: str
    body: str
    short: str
    idempotency_key: str


class DeliveryError(Exception):
    """A send that did not happen. ``temporary`` tells the dispatcher whether to try again
    later; ``str()`` is the reason an officer reads in the failed-deliveries list."""

    def __init__(self, reason: str, temporary: bool) -> None:
        # Both in args, so the error survives pickling (a flow runner may ship it elsewhere).
        super().__init__(reason, temporary)
        self.reason = reason
        self.temporary = temporary

    def __str__(self) -> str:
        return self.reason


class Channel(Protocol):
    name: str

    def send(self, message: Message) -> None: ...


def close_all(channels: Mapping[str, Channel]) -> None:
    """Close what build_channels opened; the Protocol has no close() so that a dispatcher's
    own fakes need none."""
    for channel in channels.values():
        close = getattr(channel, "close", None)
        if callable(close):
            close()


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _EXCERPT else text[: _EXCERPT - 1] + "…"


# --- e-mail ---------------------------------------------------------------------------------

_ADDRESS = re.compile(r"[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+")
_SAFE_ID = re.compile(r"[A-Za-z0-9._+\-]{1,64}")


def message_id(idempotency_key: str, domain: str) -> str:
    """The same key always gives the same Message-ID, so a retried mail is one mail to the
    reader; a key that is not safe in a Message-ID is hashed instead of mangled."""
    local = (
        idempotency_key
        if _SAFE_ID.fullmatch(idempotency_key)
        else hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:32]
    )
    return f"<{local}@{domain}>"


def _smtp_code(exc: smtplib.SMTPException) -> int | None:
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return max(codes) if codes else None
    return None


def _smtp_text(exc: smtplib.SMTPException) -> str:
    raw: Any = None
    if isinstance(exc, smtplib.SMTPResponseException):
        raw = exc.smtp_error
    elif isinstance(exc, smtplib.SMTPRecipientsRefused) and exc.recipients:
        raw = next(iter(exc.recipients.values()))[1]
    if isinstance(raw, bytes):
        return _excerpt(raw.decode("utf-8", "replace"))
    return _excerpt(str(raw if raw is not None else exc))


class SmtpChannel:
    """E-mail over SMTP, keeping one connection open across sends.

    A connection per mail costs a TCP and EHLO (and TLS, and AUTH) round trip per notice,
    which caps a reminder sweep at a few dozen mails a second; reused, the same server
    takes hundreds. A server that dropped the idle connection is met with one reconnect.
    One lock serialises sends on the connection, so a channel may be shared between threads;
    a dispatcher that wants parallel SMTP sessions makes one channel per worker.
    """

    name = "email"

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        *,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout: float = 10.0,
        message_id_domain: str | None = None,
        local_hostname: str | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.envelope_from = parseaddr(sender)[1] or sender
        self.username = username
        self.password = password
        self.starttls = starttls
        self.timeout = timeout
        domain = message_id_domain or self.envelope_from.rpartition("@")[2]
        # Two deployments (test and production) sending as the same domain would mint equal
        # Message-IDs for equal delivery ids; message_id_domain keeps them apart.
        self.message_id_domain = domain if domain.isascii() and domain else "renshi.invalid"
        self._local_hostname = local_hostname
        self._smtp: smtplib.SMTP | None = None
        self._lock = threading.Lock()

    # The connection --------------------------------------------------------------------

    def _connect(self) -> smtplib.SMTP:
        if self._local_hostname is None:
            # smtplib would resolve this on every connect; a slow resolver then costs seconds.
            self._local_hostname = socket.getfqdn()
        smtp = smtplib.SMTP(
            self.host, self.port, local_hostname=self._local_hostname, timeout=self.timeout
        )
        try:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.username is not None:
                smtp.login(self.username, self.password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _drop(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()

    def close(self) -> None:
        with self._lock:
            self._drop()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # Sending -----------------------------------------------------------------------------

    def compose(self, message: Message) -> EmailMessage:
        if not _ADDRESS.fullmatch(message.target):
            raise DeliveryError(f"收件邮箱地址无效：{message.target!r}", temporary=False)
        mail = EmailMessage()
        try:
            mail["From"] = self.sender
            mail["To"] = message.target
            mail["Subject"] = message.subject
            mail["Date"] = format_datetime(dt.datetime.now(BUREAU_TZ))
            mail["Message-ID"] = message_id(message.idempotency_key, self.message_id_domain)
            # RFC 3834: no out-of-office replies to a machine's notice.
            mail["Auto-Submitted"] = "auto-generated"
            mail[IDEMPOTENCY_HEADER] = message.idempotency_key
        except ValueError as exc:  # a CR/LF in a header value: never send a forged header
            raise DeliveryError(f"邮件头无效：{exc}", temporary=False) from exc
        mail.set_content(message.body, charset="utf-8")
        return mail

    def send(self, message: Message) -> None:
        mail = self.compose(message)
        with self._lock:
            reused = self._smtp is not None
            try:
                self._transmit(mail, message.target)
                return
            except (smtplib.SMTPException, OSError) as exc:
                if not (reused and self._stale(exc)):
                    raise self._failure(exc) from exc
            # The server dropped the connection we kept (idle timeout, restart): once more
            # on a fresh one. A failure now is the server's real answer.
            self._drop()
            try:
                self._transmit(mail, message.target)
            except (smtplib.SMTPException, OSError) as exc:
                raise self._failure(exc) from exc

    def _transmit(self, mail: EmailMessage, target: str) -> None:
        if self._smtp is None:
            self._smtp = self._connect()
        self._smtp.send_message(mail, from_addr=self.envelope_from, to_addrs=[target])

    @staticmethod
    def _stale(exc: BaseException) -> bool:
        """The kept connection is dead: disconnected, or a 421 "closing channel"."""
        if isinstance(exc, smtplib.SMTPServerDisconnected):
            return True
        return isinstance(exc, smtplib.SMTPException) and _smtp_code(exc) == 421

    def _failure(self, exc: BaseException) -> DeliveryError:
        """Map an smtplib or socket failure to temporary / permanent, and drop the connection
        unless the server answered in an orderly way (then smtplib has reset it to reuse)."""
        where = f"{self.host}:{self.port}"
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            self._drop()
            # Our settings, not the message, are wrong: temporary, so that the notices go
            # out once an administrator fixes the password.
            return DeliveryError(
                f"邮件服务器 {where} 认证失败（{exc.smtp_code}）：{_smtp_text(exc)}；"
                "请检查 RENSHI_SMTP_USER / RENSHI_SMTP_PASSWORD",
                temporary=True,
            )
        if isinstance(exc, smtplib.SMTPNotSupportedError):
            self._drop()
            return DeliveryError(f"邮件服务器 {where} 不支持所需功能：{exc}", temporary=True)
        if isinstance(exc, smtplib.SMTPServerDisconnected):
            self._drop()
            return DeliveryError(f"邮件服务器 {where} 断开了连接：{exc}", temporary=True)
        if isinstance(exc, smtplib.SMTPException):
            code = _smtp_code(exc)
            if code is None or code == 421 or isinstance(exc, smtplib.SMTPConnectError):
                self._drop()
            if code is not None and 500 <= code < 600:
                return DeliveryError(
                    f"邮件服务器 {where} 拒收（{code}）：{_smtp_text(exc)}", temporary=False
                )
            return DeliveryError(
                f"邮件服务器 {where} 暂时无法投递（{code or '无应答码'}）：{_smtp_text(exc)}",
                temporary=True,
            )
        self._drop()
        return DeliveryError(f"无法连接邮件服务器 {where}：{exc}", temporary=True)


# --- HTTP channels --------------------------------------------------------------------------


def _post(
    client: httpx.Client, url: str, payload: Mapping[str, Any], headers: Mapping[str, str], who: str
) -> httpx.Response:
    """POST JSON; a network failure (refused, reset, timed out) is always worth a retry."""
    try:
        return client.post(
            url,
            content=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
            headers={"Content-Type": "application/json; charset=utf-8", **headers},
        )
    except httpx.TimeoutException as exc:
        raise DeliveryError(f"{who}应答超时：{url}", temporary=True) from exc
    except httpx.TransportError as exc:
        raise DeliveryError(f"无法连接{who}：{url}（{exc}）", temporary=True) from exc


def _status_failure(response: httpx.Response, who: str) -> DeliveryError:
    code = response.status_code
    # 408 and 429 are "not now", like a 5xx; any other 4xx will not change on a retry.
    temporary = code >= 500 or code in (408, 429)
    return DeliveryError(f"{who}返回 HTTP {code}：{_excerpt(response.text)}", temporary=temporary)


ROBOT_LABELS = {"wecom": "企业微信群机器人", "dingtalk": "钉钉群机器人"}
# Answers that mean "too fast / busy, try later"; every other non-zero errcode is final.
ROBOT_RETRY_CODES = {"wecom": frozenset({45009, -1}), "dingtalk": frozenset({130101, -1})}


def parse_robot_target(target: str) -> tuple[str, str]:
    """Split "wecom:<url>" into its kind and URL."""
    kind, sep, url = target.partition(":")
    if not sep or kind not in ROBOT_LABELS or not url.startswith(("http://", "https://")):
        raise ValueError(f"群机器人地址无效：{target!r}（应为 wecom:<url> 或 dingtalk:<url>）")
    return kind, url


def robot_payload(kind: str, message: Message) -> dict[str, Any]:
    """The text message both robots accept alike. The short line, not the letter: everyone
    in the group reads it, so it says what is due and where, and no more."""
    return {"msgtype": "text", "text": {"content": message.short}}


class WebhookChannel:
    """Group robots of WeCom (企业微信) and DingTalk (钉钉), one shared HTTP client (and so
    one pool of kept-alive connections) for every robot URL."""

    name = "webhook"

    def __init__(self, timeout: float = 5.0) -> None:
        self.timeout = timeout
        self._client = httpx.Client(timeout=timeout)

    def send(self, message: Message) -> None:
        try:
            kind, url = parse_robot_target(message.target)
        except ValueError as exc:
            raise DeliveryError(str(exc), temporary=False) from exc
        who = ROBOT_LABELS[kind]
        response = _post(
            self._client,
            url,
            robot_payload(kind, message),
            {IDEMPOTENCY_HEADER: message.idempotency_key},
            who,
        )
        if response.status_code != 200:
            raise _status_failure(response, who)
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict) or "errcode" not in answer:
            raise DeliveryError(f"{who}的应答无法识别：{_excerpt(response.text)}", temporary=False)
        errcode = answer["errcode"]
        if errcode == 0:
            return
        errmsg = _excerpt(str(answer.get("errmsg", "")))
        raise DeliveryError(
            f"{who}返回错误 {errcode}：{errmsg}",
            temporary=errcode in ROBOT_RETRY_CODES[kind],
        )

    def close(self) -> None:
        self._client.close()


class SmsFile:
    """SMS written to a local file instead of a gateway (``RENSHI_SMS_FILE``), for a demo
    or a training room without one: each message is one line — the time (bureau time),
    the mobile number and the text, separated by tabs — so that whoever finishes a
    registration by hand reads the code there. Never for a real deployment: the file holds
    every code sent."""

    name = "sms"

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()

    def send(self, message: Message) -> None:
        if not message.target.strip():
            raise DeliveryError("手机号为空", temporary=False)
        at = dt.datetime.now(BUREAU_TZ).strftime("%Y-%m-%d %H:%M:%S")
        text = " ".join(message.short.split())  # one message, one line
        line = f"{at}\t{message.target}\t{text}\n"
        try:
            with self._lock, open(self.path, "a", encoding="utf-8") as f:
                f.write(line)
        except OSError as exc:
            raise DeliveryError(
                f"无法写入短信文件 {self.path}：{exc.strerror}；请检查 RENSHI_SMS_FILE",
                temporary=True,
            ) from exc


class SmsGateway:
    """The bureau's SMS gateway: one JSON POST per message, the delivery's key as ``id``."""

    name = "sms"

    def __init__(self, url: str, *, token: str | None = None, timeout: float = 5.0) -> None:
        self.url = url
        self.timeout = timeout
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.Client(timeout=timeout, headers=headers)

    def send(self, message: Message) -> None:
        if not message.target.strip():
            raise DeliveryError("手机号为空", temporary=False)
        response = _post(
            self._client,
            self.url,
            {"phone": message.target, "text": message.short, "id": message.idempotency_key},
            {IDEMPOTENCY_HEADER: message.idempotency_key},
            "短信网关",
        )
        if not response.is_success:
            raise _status_failure(response, "短信网关")

    def close(self) -> None:
        self._client.close()
