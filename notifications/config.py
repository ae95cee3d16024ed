"""Which notice channels a deployment runs, read from the environment once at start-up.

Every error names the variable (or the org-settings entry) to fix: a channel that is switched
on but cannot work must stop the service at start-up, not fail each notice at 3 a.m.

Variables:
    RENSHI_CHANNELS         comma list of inapp, email, sms, webhook (default "inapp";
                            inapp is always on: it is the record every other channel copies)
    RENSHI_SMTP_HOST        required with email
    RENSHI_SMTP_PORT        default 25
    RENSHI_SMTP_FROM        required with email: "noreply@jyj.example.cn" or
                            "人事业务平台 <noreply@jyj.example.cn>"
    RENSHI_SMTP_USER        with RENSHI_SMTP_PASSWORD, both or neither
    RENSHI_SMTP_PASSWORD
    RENSHI_SMTP_STARTTLS    0 or 1 (default 0)
    RENSHI_SMS_URL          required with sms: the gateway's http(s) URL
    RENSHI_SMS_TOKEN        optional bearer token for the gateway
    RENSHI_SMS_FILE         demos and training only: SMS are appended to this local file
                            (one line each: time, mobile, text) instead of a gateway; it
                            switches the sms channel on by itself (``make run`` sets it)
    RENSHI_WEBHOOK_TIMEOUT  seconds, default 5

Group-robot URLs are not here: each unit keeps its own in its org settings
(``{"webhooks": [{"kind": "wecom", "url": "https://..."}]}``), see validate_webhooks.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any
from urllib.parse import urlsplit

from notifications.channels import (
    ROBOT_LABELS,
    Channel,
    SmsFile,
    SmsGateway,
    SmtpChannel,
    WebhookChannel,
)

CHANNELS = frozenset({"inapp", "email", "sms", "webhook"})
TARGET_MAX = 512  # deliveries.target


class ConfigError(ValueError):
    """A notice setting that cannot work; the message names the variable or entry."""


@dataclass(frozen=True)
class NotifyConfig:
    channels: frozenset[str] = frozenset({"inapp"})
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_sender: str | None = None
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    sms_url: str | None = None
    sms_token: str | None = None
    sms_file: str | None = None
    webhook_timeout: float = 5.0

    @property
    def sms(self) -> bool:
        """Whether a text can reach a phone: the gateway, or the demo's file."""
        return "sms" in self.channels


def _get(env: Mapping[str, str], name: str) -> str | None:
    """An empty variable counts as unset: that is what `VAR=` in a unit file means."""
    value = env.get(name, "").strip()
    return value or None


def _is_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def from_env(env: Mapping[str, str]) -> NotifyConfig:
    names = {c.strip().lower() for c in (_get(env, "RENSHI_CHANNELS") or "inapp").split(",")}
    names.discard("")
    unknown = sorted(names - CHANNELS)
    if unknown:
        raise ConfigError(
            f"RENSHI_CHANNELS：未知的通知渠道 {', '.join(unknown)}"
            f"（可选：{', '.join(sorted(CHANNELS))}）"
        )
    sms_file = _get(env, "RENSHI_SMS_FILE")
    channels = frozenset(names | {"inapp"} | ({"sms"} if sms_file else set()))

    # Typed values are checked whether or not their channel is on: a bad value left in the
    # environment would otherwise surface only on the day someone switches the channel on.
    port_text = _get(env, "RENSHI_SMTP_PORT")
    port = 25
    if port_text is not None:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ConfigError(f"RENSHI_SMTP_PORT 应为 1–65535 的端口号，实际为 {port_text!r}")
        port = int(port_text)
    starttls_text = _get(env, "RENSHI_SMTP_STARTTLS") or "0"
    if starttls_text not in ("0", "1"):
        raise ConfigError(f"RENSHI_SMTP_STARTTLS 应为 0 或 1，实际为 {starttls_text!r}")
    timeout_text = _get(env, "RENSHI_WEBHOOK_TIMEOUT")
    timeout = 5.0
    if timeout_text is not None:
        try:
            timeout = float(timeout_text)
        except ValueError:
            timeout = -1.0
        if not 0 < timeout <= 300:
            raise ConfigError(
                f"RENSHI_WEBHOOK_TIMEOUT 应为 0–300 之间的秒数，实际为 {timeout_text!r}"
            )

    cfg = NotifyConfig(
        channels=channels,
        smtp_host=_get(env, "RENSHI_SMTP_HOST"),
        smtp_port=port,
        smtp_sender=_get(env, "RENSHI_SMTP_FROM"),
        smtp_username=_get(env, "RENSHI_SMTP_USER"),
        smtp_password=_get(env, "RENSHI_SMTP_PASSWORD"),
        smtp_starttls=starttls_text == "1",
        sms_url=_get(env, "RENSHI_SMS_URL"),
        sms_token=_get(env, "RENSHI_SMS_TOKEN"),
        sms_file=sms_file,
        webhook_timeout=timeout,
    )
    check(cfg)
    public_url(env)  # a bad address stops the start here, not the first notice
    return cfg


def public_url(env: Mapping[str, str] | None = None) -> str:
    """Where the people a notice reaches open its link: ``RENSHI_PUBLIC_URL`` (the address
    the bureau publishes, e.g. https://renshi.jyj.example.cn), else the address ``make run``
    serves (``RENSHI_HOST``:``RENSHI_PORT``). A link in an email or a text message must be
    absolute — it is opened on a phone, far from the site it came from."""
    env = os.environ if env is None else env
    explicit = _get(env, "RENSHI_PUBLIC_URL")
    if explicit is not None:
        if not _is_http_url(explicit):
            raise ConfigError(f"RENSHI_PUBLIC_URL 应为 http(s):// 开头的网址，实际为 {explicit!r}")
        return explicit.rstrip("/")
    host = _get(env, "RENSHI_HOST") or "127.0.0.1"
    port = _get(env, "RENSHI_PORT") or "8000"
    return f"http://{host}:{port}"


def check(cfg: NotifyConfig) -> None:
    """Raise ConfigError if an enabled channel lacks what it needs (also for a config built
    in code, which build_channels checks too)."""
    unknown = sorted(cfg.channels - CHANNELS)
    if unknown:
        raise ConfigError(f"RENSHI_CHANNELS：未知的通知渠道 {', '.join(unknown)}")
    if "email" in cfg.channels:
        if not cfg.smtp_host:
            raise ConfigError("已启用 email 渠道，但未设置 RENSHI_SMTP_HOST（邮件服务器地址）")
        if not cfg.smtp_sender:
            raise ConfigError("已启用 email 渠道，但未设置 RENSHI_SMTP_FROM（发件人地址）")
        if "@" not in parseaddr(cfg.smtp_sender)[1]:
            raise ConfigError(f"RENSHI_SMTP_FROM 不是有效的发件地址：{cfg.smtp_sender!r}")
        if (cfg.smtp_username is None) != (cfg.smtp_password is None):
            missing = "RENSHI_SMTP_PASSWORD" if cfg.smtp_password is None else "RENSHI_SMTP_USER"
            raise ConfigError(
                f"RENSHI_SMTP_USER 与 RENSHI_SMTP_PASSWORD 须同时设置，缺少 {missing}"
            )
    if "sms" in cfg.channels:
        if cfg.sms_url and cfg.sms_file:
            raise ConfigError(
                "RENSHI_SMS_URL 与 RENSHI_SMS_FILE 只能设置一个（短信网关，或演示用的本地文件）"
            )
        if not cfg.sms_url and not cfg.sms_file:
            raise ConfigError(
                "已启用 sms 渠道，但未设置 RENSHI_SMS_URL（短信网关地址；"
                "演示环境可改设 RENSHI_SMS_FILE，把短信写入本地文件）"
            )
        if cfg.sms_url and not _is_http_url(cfg.sms_url):
            raise ConfigError(f"RENSHI_SMS_URL 应为 http(s) 地址，实际为 {cfg.sms_url!r}")


def build_channels(cfg: NotifyConfig) -> dict[str, Channel]:
    """The sending channels for the enabled names (inapp is the dispatcher's own)."""
    check(cfg)
    out: dict[str, Channel] = {}
    if "email" in cfg.channels:
        assert cfg.smtp_host is not None and cfg.smtp_sender is not None  # check() said so
        out["email"] = SmtpChannel(
            cfg.smtp_host,
            cfg.smtp_port,
            cfg.smtp_sender,
            username=cfg.smtp_username,
            password=cfg.smtp_password,
            starttls=cfg.smtp_starttls,
        )
    if "sms" in cfg.channels and cfg.sms_file:
        out["sms"] = SmsFile(cfg.sms_file)
    elif "sms" in cfg.channels:
        assert cfg.sms_url is not None
        out["sms"] = SmsGateway(cfg.sms_url, token=cfg.sms_token)
    if "webhook" in cfg.channels:
        out["webhook"] = WebhookChannel(timeout=cfg.webhook_timeout)
    return out


def validate_webhooks(settings: Mapping[str, Any] | None) -> list[str]:
    """A unit's group robots as delivery targets ("wecom:<url>"), in order, without repeats
    (a repeat would be the same target twice for one notice, which the deliveries table's
    unique key refuses)."""
    if not settings:
        return []
    entries = settings.get("webhooks")
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise ConfigError(f"webhooks 应为列表，实际为 {type(entries).__name__}")
    targets: list[str] = []
    for i, entry in enumerate(entries):
        where = f"webhooks[{i}]"
        if not isinstance(entry, Mapping):
            raise ConfigError(f'{where} 应为 {{"kind": ..., "url": ...}}，实际为 {entry!r}')
        kind = entry.get("kind")
        url = entry.get("url")
        if kind not in ROBOT_LABELS:
            raise ConfigError(
                f"{where}：未知的机器人类型 {kind!r}（可选：{', '.join(sorted(ROBOT_LABELS))}）"
            )
        if not isinstance(url, str) or not _is_http_url(url.strip()):
            raise ConfigError(f"{where}：url 应为 http(s) 地址，实际为 {url!r}")
        target = f"{kind}:{url.strip()}"
        if len(target) > TARGET_MAX:
            raise ConfigError(f"{where}：url 过长（不超过 {TARGET_MAX - len(kind) - 1} 个字符）")
        if target not in targets:
            targets.append(target)
    return targets
